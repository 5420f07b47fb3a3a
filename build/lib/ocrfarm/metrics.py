"""Counters and histograms that add up across processes (prometheus_client's multiprocess mode).

Every process that counts calls init() with the same folder first: the web front's processes, the
intake and the workers each write their own small files there, and GET /metrics sums them. Gauges
(queue depth, oldest job, live workers) are not kept here: the front reads them off the spool when
it is scraped, so a killed process never leaves a stale one behind.
"""

from __future__ import annotations

import os
from pathlib import Path

_counters = None

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


def init(folder: Path) -> None:
    """Start counting into `folder` (spool/metrics). Must run before prometheus_client is imported."""
    global _counters
    if _counters is not None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    # prometheus_client reads this variable, at import, to choose its multiprocess storage.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    from prometheus_client import Counter, Histogram

    _counters = {
        "accepted": Counter(
            "ocrfarm_jobs_accepted_total", "Jobs accepted, by source (http, inbox)", ["source"]
        ),
        "finished": Counter(
            "ocrfarm_jobs_finished_total",
            "Jobs ended, by source and status (done, failed)",
            ["source", "status"],
        ),
        "ocr": Histogram("ocrfarm_ocr_seconds", "Engine time per job, all pages", buckets=BUCKETS),
        "total": Histogram("ocrfarm_job_seconds", "From submission to result", ["source"], buckets=BUCKETS),
    }


def accepted(source: str) -> None:
    if _counters is not None:
        _counters["accepted"].labels(source).inc()


def finished(record: dict) -> None:
    """Count a job's final record (the spool calls this for every job it closes)."""
    if _counters is None:
        return
    source = record.get("source", "unknown")
    _counters["finished"].labels(source, record["status"]).inc()
    timings = record.get("timings") or {}
    if "ocr_s" in timings:
        _counters["ocr"].observe(timings["ocr_s"])
    _counters["total"].labels(source).observe(max(0.0, record["finished"] - record["submitted"]))
