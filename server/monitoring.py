"""GET /metrics: the shared counters of every process, plus gauges read off the spool when scraped."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("monitoring", __name__)


class SpoolCollector:
    """Queue depth, oldest job age, live workers and free disk, as they are at the moment of the scrape."""

    def __init__(self, farm):
        self.farm = farm

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        queue, settings = self.farm.queue, self.farm.settings
        yield GaugeMetricFamily("ocrfarm_queue_depth", "Jobs waiting or running", value=queue.depth())
        oldest = queue.oldest_age()
        yield GaugeMetricFamily(
            "ocrfarm_oldest_job_age_seconds", "Age of the oldest job in the queue", value=oldest or 0.0
        )
        yield GaugeMetricFamily(
            "ocrfarm_workers_live",
            "Workers with a fresh heartbeat",
            value=len(queue.live_workers(settings.heartbeat_max_age)),
        )
        yield GaugeMetricFamily(
            "ocrfarm_spool_disk_free_bytes", "Free space on the spool's disk", value=queue.free_bytes()
        )


@bp.get("/metrics")
def scrape():
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    farm = current_app.extensions["ocrfarm"]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(farm.queue.metrics_dir))
    registry.register(SpoolCollector(farm))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
