"""Pages for people: the upload page, and the seed service's plain form.

The page's script and style are served from server/static/ by the app itself, so it works on a
machine with no internet. Its Content-Security-Policy allows nothing else: no other origin, no
inline script, and pictures only from the farm and from the files the browser holds.
"""

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _page(action: str, enhanced: bool):
    # The model sets are written into the page itself, so it offers the choice with no request of
    # its own (and the form without script sends it too).
    model_sets = current_app.extensions["ocrfarm"].settings.model_sets
    response = render_template("index.html", action=action, enhanced=enhanced, model_sets=model_sets)
    return response, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}


@bp.get("/")
def index():
    # Without script, the form still posts one file to /v1/ocr and shows the JSON answer.
    return _page("/v1/ocr", enhanced=True)


@bp.get("/v1/img/ocr")
def upload_form_of_the_first_service():
    # The seed service showed its plain upload form at this address; it still does.
    return _page("/v1/img/ocr", enhanced=False)
