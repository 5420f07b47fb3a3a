"""Per-request OCR options: the only ones there are, each checked; an unknown one is an error.

They arrive as form fields or query parameters (strings) or inside a JSON body (typed values).
"""

from __future__ import annotations

from collections.abc import Mapping

from ocrfarm.exceptions import OcrFarmError


class OptionError(OcrFarmError):
    pass


def _boolean(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.lower() in ("1", "true", "yes", "on")
    raise OptionError(f"option {name} must be true or false, got {value!r}")


def _number(kind, low, high):
    def parse(name: str, value):
        if isinstance(value, bool):
            raise OptionError(f"option {name} must be a number from {low} to {high}, got {value!r}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise OptionError(f"option {name} must be a number from {low} to {high}, got {value!r}") from None
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise OptionError(f"option {name} must be a whole number, got {value!r}")
        if not low <= number <= high:
            raise OptionError(f"option {name} must be a number from {low} to {high}, got {value!r}")
        return number

    return parse


def _one_of_loaded(loaded: tuple[str, ...]):
    def parse(name: str, value) -> str:
        if not isinstance(value, str) or value.strip().lower() not in loaded:
            raise OptionError(
                f"option {name} must be a model set this farm has loaded: {', '.join(loaded)}; got {value!r}"
            )
        return value.strip().lower()

    return parse


OPTIONS = {
    # Run the angle classifier (reads text turned upside down); off is a little faster.
    "angle_cls": _boolean,
    # The detector scales the image's longest side down to this many pixels.
    "det_limit_side": _number(int, 32, 20000),
    # Lines read with less confidence than this are left out.
    "min_confidence": _number(float, 0.0, 1.0),
}
# Which of the farm's loaded model sets reads the document (settings.model_sets; the first is the
# default). Its choices are the farm's, so parse() adds it.
MODEL = "model"


def parse(raw: Mapping[str, object], model_sets: tuple[str, ...]) -> dict:
    """Checked options from a request to a farm that has loaded `model_sets`; raises OptionError
    naming the first bad or unknown one."""
    parsers = {**OPTIONS, MODEL: _one_of_loaded(model_sets)}
    options = {}
    for name, value in raw.items():
        parser = parsers.get(name)
        if parser is None:
            raise OptionError(f"unknown option {name!r}; the options are " + ", ".join(sorted(parsers)))
        options[name] = parser(name, value)
    return options
