"""The HTTP API. Routes check the request, hand it to the queue, and shape what comes back.

Nothing a client sends is used as a path: job ids are checked against their exact shape first, and
uploads are stored under names the queue makes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from ocrfarm import documents, hocr, metrics, options, searchable
from ocrfarm.durable import no_room
from ocrfarm.exceptions import ImageError, QueueFull, QueueUnavailable
from ocrfarm.jobs import SOURCE_HTTP, Job, State, valid_job_id
from server import annotate
from server import openapi as openapi_document
from server.errors import ApiError, from_image_error
from server.offload import offload

bp = Blueprint("api", __name__)

FORMATS = ("json", "text", "annotated", "pdf", "hocr")
# Request fields that are not OCR options.
NOT_OPTIONS = {"file", "format", "page"}
# Open without a token: health checks, the API description, and the page (which asks for the token).
OPEN_ENDPOINTS = {"api.healthz", "api.readyz", "api.openapi", "static", None}


def farm():
    return current_app.extensions["ocrfarm"]


@bp.before_app_request
def check_token():
    token = farm().settings.api_token
    if token is None or request.endpoint in OPEN_ENDPOINTS or request.endpoint.startswith("pages."):
        return None
    sent = request.headers.get("Authorization", "")
    if not (sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode())):
        raise ApiError(
            401,
            "unauthorized",
            "this farm needs an API token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None


# ---- the API -------------------------------------------------------------------------------------


@bp.post("/v1/ocr")
def ocr():
    """Spool the upload, wait for its result; 202 with the job's URL if it takes longer than the wait."""
    fmt = _format()
    job = _submit(*_read_upload())
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    return _answer(job.id, record, fmt)


@bp.post("/v1/jobs")
def create_job():
    """Spool the upload and answer at once with the job's id and URL."""
    job = _submit(*_read_upload())
    return _answer(job.id, None, "json")


@bp.post("/v1/idcard")
def idcard():
    """An identity card's fields. The upload and the result are deleted as soon as they are answered
    (personal data, issue 14); a job of kind=idcard through /v1/jobs is kept like any other."""
    data, filename, job_options = _read_upload()
    job = _submit(data, filename, {**job_options, options.KIND: options.IDCARD, options.ANSWER_ONCE: True})
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    return _answer(job.id, record, "json")


@bp.get("/v1/jobs/<job_id>")
def get_job(job_id: str):
    fmt = _format()
    record = _known(job_id)
    if record["status"] in (State.DONE, State.FAILED):
        return _answer(job_id, record, fmt)
    return _answer(job_id, None, fmt)


@bp.delete("/v1/jobs/<job_id>")
def cancel_job(job_id: str):
    _known(job_id)
    outcome = farm().queue.cancel(job_id)
    if outcome == "running":
        raise ApiError(409, "job_running", "the job is already running and cannot be cancelled")
    if outcome == "finished":
        raise ApiError(409, "job_finished", "the job has already finished")
    if outcome == "unknown":
        raise ApiError(404, "not_found", f"no job with id {job_id!r}")
    return jsonify(_view(farm().queue.result(job_id)))


@bp.get("/v1/jobs/<job_id>/pages/<int:number>")
def page_image(job_id: str, number: int):
    """Page `number` (from 1) of the job's document as PNG, at the size its boxes refer to."""
    record = _known(job_id)
    page = _page(job_id, number, _password(record))
    return Response(annotate.encode(page, "png"), mimetype="image/png")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document.document(farm().settings.model_sets))


@bp.get("/healthz")
def healthz():
    """The front is up and answering."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready when at least one worker has loaded its model and shown a recent heartbeat (with a
    shared queue: a worker on any host), and the queue answers."""
    queue, settings = farm().queue, farm().settings
    try:
        workers = queue.live_workers(settings.heartbeat_max_age)
        oldest = queue.oldest_age()
        body = {
            "ready": bool(workers),
            "queue": queue.kind,
            "workers": len(workers),
            "queue_depth": queue.depth(),
            "oldest_job_age_s": None if oldest is None else round(oldest, 3),
            **queue.room(),
            # What the `model` option may name; the first is the default.
            "models": list(settings.model_sets),
        }
    except QueueUnavailable as exc:
        return jsonify({"ready": False, "queue": queue.kind, "error": str(exc)}), 503
    return jsonify(body), 200 if workers else 503


# ---- the seeds' clients, unchanged ----------------------------------------------------------------


@bp.post("/v1/img/ocr")
def text_confidence_pairs():
    """Multipart `file` in; a list of [text, confidence] pairs out."""
    job = _submit(*_read_upload())
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    if record is not None and record["status"] == State.DONE:
        return jsonify([[line["text"], line["confidence"]] for line in record["lines"]])
    return _answer(job.id, record, "json")


@bp.route("/tyocr", methods=["GET", "POST"])
def text_from_base64_form():
    """Form field `imgbase64` in; {"sign": 0, "text": ...} out, or {"sign": -1, "text": <reason>}."""
    if request.method == "GET":
        return "<h1>Image find words! please use post</h1>"
    try:
        data = _b64decode(request.form.get("imgbase64"), "imgbase64")
        job = _submit(data, "imgbase64", {})
    except ApiError as exc:
        return _sign_error(exc)
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    if record is None:
        url = url_for("api.get_job", job_id=job.id)
        return jsonify(
            {
                "sign": -1,
                "text": f"time out: the job goes on; its result will be at {url}",
                "id": job.id,
                "url": url,
            }
        ), 202
    if record["status"] == State.FAILED:
        return _sign_error(ApiError(422, record["error"]["code"], record["error"]["message"]))
    return jsonify({"sign": 0, "text": record["text"] + "\n" if record["text"] else "", "id": job.id})


@bp.post("/predictor")
def picture_with_boxes():
    """A raw base64 body in; the picture with its boxes drawn, as base64 JPEG, out."""
    data = _b64decode(request.get_data(cache=False), "the request body")
    job = _submit(data, "", {})
    record = farm().waiter.wait(job.id, farm().settings.wait_timeout)
    if record is None or record["status"] != State.DONE:
        return _answer(job.id, record, "json")
    picture = annotate.annotate(_page(job.id, 1, None), record["pages"][0]["lines"])
    return Response(base64.b64encode(annotate.encode(picture, "jpeg")), mimetype="text/plain")


# ---- helpers -------------------------------------------------------------------------------------


def _read_upload() -> tuple[bytes, str, dict]:
    """(bytes, file name, options) from a multipart form or a JSON body with base64."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(
                400, "bad_request", "the JSON body must be an object with an 'image' field (base64)"
            )
        unknown = set(body) - {"image", "filename", "options"}
        if unknown:
            raise ApiError(
                400, "bad_request", f"unknown field(s) {sorted(unknown)}; send image, filename, options"
            )
        raw_options = body.get("options") or {}
        if not isinstance(raw_options, dict):
            raise ApiError(400, "bad_option", "'options' must be an object")
        filename = body.get("filename") or ""
        if not isinstance(filename, str):
            raise ApiError(400, "bad_request", "'filename' must be a string")
        return _b64decode(body.get("image"), "image"), filename, _options({**request.args, **raw_options})
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            400,
            "missing_file",
            "send the file as the multipart form field 'file' "
            "(or a JSON body with an 'image' field in base64)",
        )
    fields = {**request.args, **request.form}
    return upload.read(), upload.filename or "", _options(fields)


def _options(fields: dict) -> dict:
    try:
        return options.parse(
            {k: v for k, v in fields.items() if k not in NOT_OPTIONS}, farm().settings.model_sets
        )
    except options.OptionError as exc:
        raise ApiError(400, "bad_option", str(exc)) from None


def _b64decode(value, what: str) -> bytes:
    if not value:
        raise ApiError(400, "empty_file", f"{what} is missing or empty")
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        raise ApiError(400, "bad_base64", f"{what} must be a base64 string")
    # Tolerate data: URLs and line breaks, as browsers and mail clients produce them.
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_base64", f"{what} is not valid base64") from None


def _submit(data: bytes, filename: str, job_options: dict) -> Job:
    settings = farm().settings
    if len(data) > settings.max_upload_bytes:
        raise ApiError(
            413, "too_large", f"the file is {len(data)} bytes; the limit is {settings.max_upload_bytes}"
        )
    try:
        documents.inspect(data, settings.limits, job_options.get("password"))
    except ImageError as exc:
        raise from_image_error(exc) from None
    try:
        queue = farm().queue
        # The spool's fsyncs go to a thread; Redis's network calls already yield to the event loop
        # (and its pooled connections must stay with the loop's thread).
        submit = functools.partial(offload, queue.submit) if queue.kind == "spool" else queue.submit
        job = submit(data, source=SOURCE_HTTP, filename=filename, options=job_options)
    except QueueFull as exc:
        # Nothing accepted so far is put at risk by a flood: new work waits at the client.
        raise ApiError(503, "busy", f"{exc}; try again shortly", headers={"Retry-After": "5"}) from None
    except QueueUnavailable as exc:
        raise ApiError(
            503,
            "queue_unavailable",
            f"the farm's queue cannot be reached ({exc}); nothing was accepted, try again shortly",
            headers={"Retry-After": "5"},
        ) from None
    except OSError as exc:
        if no_room(exc):
            raise ApiError(507, "insufficient_storage", "the spool's disk is full; try again later") from None
        raise
    metrics.accepted(SOURCE_HTTP)
    return job


def _format() -> str:
    fmt = request.args.get("format") or request.form.get("format") or "json"
    if fmt not in FORMATS:
        raise ApiError(400, "bad_option", f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def _known(job_id: str) -> dict:
    # Ids are checked before they go near the spool.
    record = farm().queue.status(job_id) if valid_job_id(job_id) else None
    if record is None:
        raise ApiError(404, "not_found", f"no job with id {job_id!r}")
    return record


def _document(job_id: str) -> bytes:
    data = farm().queue.input_bytes(job_id)
    if data is None:
        raise ApiError(404, "not_found", "the job's document is no longer kept")
    return data


def _password(record: dict) -> str | None:
    password = record.get("options", {}).get("password")
    return password if isinstance(password, str) else None


def _page(job_id: str, number: int, password: str | None):
    data = _document(job_id)
    try:
        return documents.page_image(data, farm().settings.limits, number, password)
    except IndexError:
        raise ApiError(404, "not_found", f"the document has no page {number}") from None
    except ImageError as exc:
        raise from_image_error(exc) from None


def _answer(job_id: str, record: dict | None, fmt: str):
    """The response for a job: pending (202), failed (422) or its result in `fmt`. A result of POST
    /v1/idcard is deleted once this answer is made (after a 202, when its result is first fetched)."""
    try:
        return _respond(job_id, record, fmt)
    finally:
        if record is not None and record.get("options", {}).get(options.ANSWER_ONCE):
            farm().queue.forget(job_id)


def _respond(job_id: str, record: dict | None, fmt: str):
    if record is None:
        pending = farm().queue.status(job_id) or {"id": job_id, "status": State.QUEUED}
        response = jsonify(_view(pending))
        response.status_code = 202
        response.headers["Location"] = url_for("api.get_job", job_id=job_id)
        response.headers["Retry-After"] = "1"
        return response
    if record["status"] == State.FAILED:
        view = _view(record)
        error = view.pop("error")
        raise ApiError(422, error["code"], error["message"], view)
    if fmt == "text":
        return Response(record["text"] + "\n" if record["text"] else "", mimetype="text/plain")
    if fmt == "annotated":
        number = request.args.get("page", "1")
        if not number.isdigit() or not 1 <= int(number) <= len(record["pages"]):
            raise ApiError(
                400, "bad_option", f"page must be from 1 to {len(record['pages'])}, got {number!r}"
            )
        page = record["pages"][int(number) - 1]
        picture = annotate.annotate(_page(job_id, int(number), _password(record)), page["lines"])
        kind = (
            "jpeg"
            if request.accept_mimetypes.best_match(["image/png", "image/jpeg"]) == "image/jpeg"
            else "png"
        )
        return Response(annotate.encode(picture, kind), mimetype=f"image/{kind}")
    if fmt == "hocr":
        return Response(hocr.document(record), mimetype="text/vnd.hocr+html")
    if fmt == "pdf":
        return _searchable_pdf(job_id, record)
    return jsonify(_view(record))


def _searchable_pdf(job_id: str, record: dict):
    """The job's document with its text laid invisibly over it, assembled now by OCRmyPDF from the
    job's result (no OCR is run here: the job's lines are the text)."""
    data = _document(job_id)
    settings = farm().settings
    job = {"id": job_id, "url": url_for("api.get_job", job_id=job_id)}
    try:
        pdf = searchable.make_pdf(data, record, settings.limits, pdfa=settings.pdfa)
    except ImageError as exc:
        error = from_image_error(exc)
        raise ApiError(422, error.code, error.message, job) from None
    except searchable.PdfError as exc:
        raise ApiError(422, "pdf_failed", str(exc), job) from None
    stem = (record.get("filename") or job_id).rsplit("/", 1)[-1].rsplit(".", 1)[0] or job_id
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{_ascii_name(stem)}.pdf"'},
    )


def _ascii_name(stem: str) -> str:
    # A header carries Latin-1 only; anything else (and quotes) becomes "_".
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in stem)


def _view(record: dict) -> dict:
    view = {key: value for key, value in record.items() if key != "delivered"}
    view["url"] = url_for("api.get_job", job_id=record["id"])
    if "password" in view.get("options", {}):
        # Said to have been given, never shown back.
        view["options"] = {**view["options"], "password": True}
    return view


def _sign_error(exc: ApiError):
    response = jsonify({"sign": -1, "text": exc.message, "error": {"code": exc.code, "message": exc.message}})
    response.status_code = exc.status
    return response
