"""The project's engine code, called the way a worker (workers/loop.py) calls it.

One place for it, because raw.py and baseline.py both run the engine outside the farm and must do
exactly what a worker does per job: decode the upload into page images, then recognize each page with
the settings' default per-request options.
"""

from __future__ import annotations


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
    """engine.recognize() with the options a job gets when its request sets none (min_confidence and
    model are applied around the engine, as the worker loop does)."""
    defaults = settings.option_defaults
    return engine.recognize(image, angle_cls=defaults["angle_cls"], det_limit_side=defaults["det_limit_side"])
