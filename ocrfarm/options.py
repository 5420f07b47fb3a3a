"""Per-request OCR options: the only ones there are, each checked; an unknown one is an error.

They arrive as form fields or query parameters (strings) or inside a JSON body (typed values). Each
option is the per-request form of a setting of the same name (its default), so its kind and bounds
are the setting's declaration (ocrfarm/settings.py); `model` is the one whose choices are the farm's.
"""

from __future__ import annotations

from collections.abc import Mapping

from ocrfarm import kinds
from ocrfarm.exceptions import OcrFarmError
from ocrfarm.settings import DECLARED


class OptionError(OcrFarmError):
    pass


# What each does, for the API's description (server/openapi.py).
DESCRIPTIONS = {
    # Off is a little faster.
    "angle_cls": "also read text turned upside down",
    "det_limit_side": "the detector scales the longest side down to this",
    "min_confidence": "lines read with less confidence are left out",
    "force_ocr": "also read PDF pages that have text of their own (by default their text is taken)",
}
OPTIONS = {name: DECLARED[name].kind for name in DESCRIPTIONS}
# Which of the farm's loaded model sets reads the document (settings.model_sets; the first is the
# default). Its choices are the farm's, so parse() adds it.
MODEL = "model"
# A password-protected PDF's password: the one option that is no setting's per-request form (a
# farm has no default password). Never shown back: answers say only that one was given.
PASSWORD = "password"
PASSWORD_MAX = 1024
# What the job reads: lines ("ocr", the default) or also an identity card's fields ("idcard",
# issue 14). A choice of the request's, not the per-request form of a setting.
KIND = "kind"
KINDS = ("ocr", "idcard")
IDCARD = "idcard"
# Not a request option: set by POST /v1/idcard on its jobs, whose record and upload are deleted once
# answered (personal data, issue 14). Kept in the job's options so that every path sees it.
ANSWER_ONCE = "answer_once"


def _model(value, loaded: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip().lower() not in loaded:
        raise OptionError(
            f"option {MODEL} must be a model set this farm has loaded: {', '.join(loaded)}; got {value!r}"
        )
    return value.strip().lower()


def parse(raw: Mapping[str, object], model_sets: tuple[str, ...]) -> dict:
    """Checked options from a request to a farm that has loaded `model_sets`; raises OptionError
    naming the first bad or unknown one."""
    options = {}
    for name, value in raw.items():
        if name == MODEL:
            options[name] = _model(value, model_sets)
            continue
        if name == PASSWORD:
            if not isinstance(value, str) or not 0 < len(value) <= PASSWORD_MAX:
                raise OptionError(f"option {PASSWORD} must be a string of 1 to {PASSWORD_MAX} characters")
            options[name] = value
            continue
        if name == KIND:
            if not isinstance(value, str) or value.strip().lower() not in KINDS:
                raise OptionError(f"option {KIND} must be one of {', '.join(KINDS)}; got {value!r}")
            options[name] = value.strip().lower()
            continue
        kind = OPTIONS.get(name)
        if kind is None:
            known = sorted([*OPTIONS, MODEL, PASSWORD, KIND])
            raise OptionError(f"unknown option {name!r}; the options are " + ", ".join(known))
        try:
            options[name] = kind.check(value)
        except kinds.Invalid as exc:
            raise OptionError(f"option {name} must be {exc.want}, got {value!r}") from None
    return options
