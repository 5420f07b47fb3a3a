"""The project's engine code, called the way a worker (workers/loop.py) calls it.

One place for it, because raw.py and baseline.py both run the engine outside the farm and must do
exactly what a worker does per job: decode the upload into page images, then recognize each page with
the settings' default per-request options.
"""

from __future__ import annotations

import json


def load(**overrides):
    """Settings from the given values (nothing read from the environment) and an engine built from them,
    after capping native thread pools, as `python -m workers` does."""
    from ocrfarm.settings import Settings
    from workers.__main__ import build_engine, limit_native_threads

    settings = Settings.from_env({}, **overrides)
    limit_native_threads(settings.threads)
    return settings, build_engine(settings)


def settings_only(**overrides):
    from ocrfarm.settings import Settings

    return Settings.from_env({}, **overrides)


def decode(data: bytes, settings):
    """The first page of an upload as the BGR array the engine takes."""
    from ocrfarm import documents

    info = documents.inspect(data, settings.limits)
    return next(iter(documents.pages(data, settings.limits, info)))


def recognize(engine, image, settings):
    """read_page()'s lines."""
    return read_page(engine, image, settings)[0]


def read_page(engine, image, settings):
    """What a worker does with one page, with the options a job gets when its request sets none
    (the two engine options by name, as the worker loop passes them):
    the engine's reading, then the farm's reading order (workers/loop.py's page_of). Returns the
    engine's lines in that order, those under the confidence floor (which the farm leaves out) after
    them, and the rotation the page was read at."""
    from workers.loop import page_of

    defaults = settings.option_defaults
    reading = engine.read(image, angle_cls=defaults["angle_cls"], det_limit_side=defaults["det_limit_side"])
    height, width = image.shape[:2]
    page = page_of(reading, width, height, {"min_confidence": settings.min_confidence})
    # page_of() answers with the lines as JSON; give back the engine's own Line objects in its order.
    by_json = {(line.text, json.dumps(line.to_json()["box"])): line for line in reading.lines}
    ordered = [by_json[(item["text"], json.dumps(item["box"]))] for item in page["lines"]]
    dropped = [line for line in reading.lines if line.confidence < settings.min_confidence]
    return ordered + dropped, reading.rotation
