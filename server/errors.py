"""One error shape for every rejected request: {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ocrfarm.exceptions import ImageError

# How each image problem maps to an HTTP status.
IMAGE_ERROR_STATUS = {
    "empty_file": 400,
    "unsupported_type": 415,
    "too_many_pixels": 413,
    "too_many_pages": 413,
    "encrypted_pdf": 422,
    "wrong_password": 422,
    "undecodable": 422,
}


class ApiError(Exception):
    """A refused request. `extra` goes into the body beside "error" (a failed job's id and URL)."""

    def __init__(
        self, status: int, code: str, message: str, extra: dict | None = None, headers: dict | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, extra: dict | None = None):
    response = jsonify({**(extra or {}), "error": {"code": code, "message": message}})
    response.status_code = status
    return response


def from_image_error(exc: ImageError) -> ApiError:
    return ApiError(IMAGE_ERROR_STATUS.get(exc.code, 400), exc.code, exc.message)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        response = error_response(exc.status, exc.code, exc.message, exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Werkzeug's own refusals (404, 405, 413 from MAX_CONTENT_LENGTH, ...) in the same shape.
        code = (exc.name or "error").lower().replace(" ", "_")
        if exc.code == 413:
            code = "too_large"
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "the server failed to handle the request; see its log")
