"""PaddleOCR's own pipeline (paddleocr 2.10) on a checked model set, with a fixed thread count.

Threads: PaddleOCR 2.10 makes its onnxruntime sessions with no SessionOptions unless given some, and
then each session uses every core; two such workers on two cores fight (3.8 img/s in all, against
7.4 img/s with one thread each). So ONNX sessions get SessionOptions with intra_op_num_threads set,
and Paddle Inference gets cpu_threads, which PaddleOCR only applies when oneDNN is on.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from workers.engine import Engine, Line
from workers.models import ModelSet
from workers.pipeline import runtime

log = logging.getLogger(__name__)


class PaddleEngine(Engine):
    name = "paddleocr"

    def __init__(self, models: ModelSet, *, threads: int, det_limit_side: int = 960):
        # Imported here so that code and tests that never build a real engine never import paddle.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # paddle warns at import that ccache is missing; irrelevant here
            from paddleocr import PaddleOCR
        logging.getLogger("ppocr").setLevel(logging.WARNING)

        self.models = models
        self.threads = threads
        # Loaded whenever the model set has one; each request says whether to use it.
        self.has_cls = models.cls is not None
        kwargs = dict(
            det_model_dir=str(models.det),
            rec_model_dir=str(models.rec),
            cls_model_dir=str(models.cls) if models.cls else None,
            use_angle_cls=self.has_cls,
            # Confidence filtering is the worker's (option min_confidence), not PaddleOCR's.
            drop_score=0.0,
            ocr_version=models.version,
            lang="ch",
            use_gpu=False,
            show_log=False,
            det_limit_side_len=det_limit_side,
            det_limit_type="max",
        )
        if models.rec_dict is not None:
            kwargs["rec_char_dict_path"] = str(models.rec_dict)
        if models.format == "onnx":
            kwargs.update(use_onnx=True, onnx_sess_options=runtime.session_options(threads))
        else:
            kwargs.update(enable_mkldnn=True, cpu_threads=threads)
        self.ocr = PaddleOCR(**kwargs)

    def recognize(
        self, image: np.ndarray, *, angle_cls: bool = True, det_limit_side: int = 960
    ) -> list[Line]:
        # Safe to change per call: one engine is only ever used by one thread.
        self.ocr.text_detector.preprocess_op[0].limit_side_len = det_limit_side
        self.ocr.text_detector.args.det_limit_side_len = det_limit_side
        pages = self.ocr.ocr(image, cls=angle_cls and self.has_cls)
        found = pages[0] if pages else None
        return [
            Line(text, float(confidence), [[float(x), float(y)] for x, y in box])
            for box, (text, confidence) in (found or [])
        ]

    def describe(self) -> dict:
        return {"engine": self.name, "threads": self.threads, **self.models.describe()}
