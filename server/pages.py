"""Pages for people: the upload form."""

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    return render_template("index.html", action="/v1/ocr")


@bp.get("/v1/img/ocr")
def seed_000_form():
    # The seed service showed its upload form at this address too.
    return render_template("index.html", action="/v1/img/ocr")
