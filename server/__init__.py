"""The web front: a Flask app factory. It queues uploads and waits for results; it never runs OCR.

Served by gunicorn (see server/gunicorn_conf.py); `create_app()` reads the OCRFARM_* settings once.
"""

from __future__ import annotations

from flask import Flask

from ocrfarm import logs, metrics
from ocrfarm.queue import open_queue
from ocrfarm.settings import Settings
from server import errors
from server.waiter import ResultWaiter

# Multipart framing around the file; the file itself is held to max_upload_bytes exactly.
FORM_OVERHEAD = 64 * 1024


class Front:
    """What the routes need, built once per app: settings, the queue, the result waiter."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.queue = open_queue(settings, on_close=metrics.finished)
        metrics.init(self.queue.metrics_dir)
        self.waiter = ResultWaiter(self.queue, settings.poll_interval, settings.max_waiting)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.setup(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + FORM_OVERHEAD,
        # Recognised text is mostly not ASCII: send it as UTF-8, not as \\u escapes.
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.extensions["ocrfarm"] = Front(settings)

    from server import api, monitoring, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(monitoring.bp)
    app.register_blueprint(pages.bp)
    errors.register(app)
    return app
