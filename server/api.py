"""The HTTP API. Routes check the request, hand it to the spool, and shape what comes back."""

from __future__ import annotations

import errno

from flask import Blueprint, current_app, jsonify, request, url_for

from ocrfarm import images
from ocrfarm.exceptions import ImageError
from ocrfarm.spool import Job, State, valid_job_id
from server.errors import ApiError, from_image_error

bp = Blueprint("api", __name__)


def farm():
    return current_app.extensions["ocrfarm"]


@bp.post("/v1/ocr")
def ocr():
    """Spool the upload, wait for its result; 202 with the job's URL if it takes longer than the wait."""
    job = _submit_upload()
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    return _answer(job.id, record)


@bp.post("/v1/img/ocr")
def ocr_seed_000():
    """The seed service's endpoint, unchanged for its clients: a list of [text, confidence] pairs."""
    job = _submit_upload()
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    if record is not None and record["status"] == State.DONE:
        return jsonify([[line["text"], line["confidence"]] for line in record["lines"]])
    return _answer(job.id, record)


@bp.post("/v1/jobs")
def create_job():
    """Spool the upload and answer at once with the job's id and URL."""
    job = _submit_upload()
    return _answer(job.id, None)


@bp.get("/healthz")
def healthz():
    """The front is up and answering."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready when at least one worker has loaded its model and shown a recent heartbeat."""
    spool, settings = farm().spool, farm().settings
    workers = spool.live_workers(settings.heartbeat_max_age)
    oldest = spool.oldest_age()
    body = {
        "ready": bool(workers),
        "workers": len(workers),
        "queue_depth": spool.depth(),
        "oldest_job_age_s": None if oldest is None else round(oldest, 3),
    }
    return jsonify(body), 200 if workers else 503


@bp.get("/v1/jobs/<job_id>")
def get_job(job_id: str):
    # Ids are checked before they go near the spool: nothing a client sends becomes a path.
    record = farm().spool.status(job_id) if valid_job_id(job_id) else None
    if record is None:
        raise ApiError(404, "not_found", f"no job with id {job_id!r}")
    return jsonify(_view(record))


def _submit_upload() -> Job:
    settings = farm().settings
    if farm().spool.depth() >= settings.max_queue:
        # Refused before reading the body: nothing accepted so far is put at risk by a flood.
        raise ApiError(503, "busy", f"{settings.max_queue} jobs are already waiting; try again shortly",
                       headers={"Retry-After": "5"})
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "missing_file", "send the image as the multipart form field 'file'")
    data = upload.read()
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, "too_large", f"the file is {len(data)} bytes; the limit is {settings.max_upload_bytes}")
    try:
        images.sniff(data, settings.max_pixels)
    except ImageError as exc:
        raise from_image_error(exc) from None
    try:
        return farm().spool.submit(data, source="http", filename=upload.filename or "")
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ApiError(507, "insufficient_storage", "the spool's disk is full; try again later") from None
        raise


def _answer(job_id: str, record: dict | None):
    if record is None:
        pending = farm().spool.status(job_id) or {"id": job_id, "status": State.QUEUED}
        response = jsonify(_view(pending))
        response.status_code = 202
        response.headers["Location"] = url_for("api.get_job", job_id=job_id)
        response.headers["Retry-After"] = "1"
        return response
    if record["status"] == State.FAILED:
        view = _view(record)
        error = view.pop("error")
        raise ApiError(422, error["code"], error["message"], view)
    return jsonify(_view(record))


def _view(record: dict) -> dict:
    view = dict(record)
    view["url"] = url_for("api.get_job", job_id=record["id"])
    return view
