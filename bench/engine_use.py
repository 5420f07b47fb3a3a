"""The project's engine code, called the way a worker (workers/loop.py) calls it.

One place for it, because raw.py and baseline.py both run the engine outside the farm and must do
exactly what a worker does per job: decode the upload into page images, then recognize each page with
the settings' default per-request options.
"""

from __future__ import annotations

import inspect


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
    try:
        from ocrfarm import documents
    except ImportError:  # before documents.py: a single image
        from ocrfarm import images

        return images.decode(data, settings.max_pixels)
    info = documents.inspect(data, settings.limits)
    if "info" in inspect.signature(documents.pages).parameters:
        return next(iter(documents.pages(data, settings.limits, info)))
    return next(iter(documents.pages(data, settings.limits)))


def recognize(engine, image, settings):
    """engine.recognize() with the options a job gets when its request sets none."""
    accepted = inspect.signature(engine.recognize).parameters
    defaults = getattr(settings, "option_defaults", {})
    return engine.recognize(image, **{k: v for k, v in defaults.items() if k in accepted})
