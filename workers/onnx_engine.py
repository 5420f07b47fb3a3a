"""The farm's own pipeline (workers/pipeline/) on onnxruntime: the default engine for ONNX weights.

Same weights and the same pre- and post-processing as PaddleOCR 2.10 (paddle_engine.py, kept as the
reference and selectable), with two changes, both measured in scripts/bench's accuracy and limit
sections: crops are recognised in batches of similar width instead of batches padded to their widest
crop, and the angle classifier only nominates lines to turn, the recogniser's confidence decides.
It also says how a page was turned (issue 12): upside down when most of its lines read better turned
over, a quarter when most of its lines stand on end. Putting the lines in reading order is not the
engine's business: ocrfarm/layout.py does it for every engine, from the boxes and the rotation.
"""

from __future__ import annotations

import cv2
import numpy as np

from workers.engine import Engine, Line, Reading
from workers.models import ModelSet
from workers.pipeline import orientation, runtime
from workers.pipeline.crops import crop
from workers.pipeline.detection import Detector, DetectorConfig
from workers.pipeline.recognition import Recognizer, characters_of


class OnnxEngine(Engine):
    name = "onnx"

    def __init__(self, models: ModelSet, *, threads: int):
        self.models = models
        self.threads = threads
        self.detector = Detector(
            runtime.session(models.det, threads), DetectorConfig(mean=models.det_mean, std=models.det_std)
        )
        rec_session = runtime.session(models.rec, threads)
        self.recognizer = Recognizer(rec_session, characters_of(rec_session, models.rec_dict))
        self.classifier = orientation.Classifier(runtime.session(models.cls, threads)) if models.cls else None

    def recognize(
        self, image: np.ndarray, *, angle_cls: bool = True, det_limit_side: int = 960
    ) -> list[Line]:
        return self.read(image, angle_cls=angle_cls, det_limit_side=det_limit_side).lines

    def read(self, image: np.ndarray, *, angle_cls: bool = True, det_limit_side: int = 960) -> Reading:
        boxes = self.detector(image, det_limit_side)
        frame, sent_boxes = image, boxes
        # A page whose lines mostly stand on end is turned a quarter. It is read turned clockwise,
        # where its lines lie flat, upright or upside down (the classifier's question, as for any
        # page), and found again there: the detector, trained on lines lying flat, cuts standing
        # lines into pieces more often. The boxes are given back in the page as sent.
        quarter = angle_cls and self.classifier is not None and orientation.quarter_turned(boxes)
        if quarter:
            frame = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
            boxes = self.detector(frame, det_limit_side)
            sent_boxes = [orientation.unquarter_box(box, image.shape[0]) for box in boxes]
        crops = [crop(frame, box) for box in boxes]
        readings = self.recognizer(crops)
        turned = [False] * len(crops)
        if angle_cls and self.classifier is not None and crops:
            nominated = [i for i, yes in enumerate(self.classifier.nominated(crops)) if yes]
            self.reread_turned(crops, nominated, readings, turned)
            if orientation.page_is_upside_down(turned):
                # The page is upside down: its other lines are very likely so too, whatever the
                # classifier made of them (it misses some); each is read turned as well.
                rest = [i for i in range(len(crops)) if i not in set(nominated)]
                self.reread_turned(crops, rest, readings, turned)
        lines = [
            Line(text, confidence, [[float(x), float(y)] for x, y in box])
            for box, (text, confidence) in zip(sent_boxes, readings, strict=True)
        ]
        # Most lines read better turned over: the page (or the quarter-turned frame) is upside down.
        rotation = (90 if quarter else 0) + (180 if orientation.page_is_upside_down(turned) else 0)
        return Reading(lines, rotation)

    def reread_turned(self, crops, indices: list[int], readings: list, turned: list[bool]) -> None:
        """Read crops `indices` turned over too; keep the more confident reading of each."""
        second = self.recognizer([orientation.turned(crops[i]) for i in indices])
        for i, reading in zip(indices, second, strict=True):
            readings[i], turned[i] = orientation.choose(readings[i], reading)

    def describe(self) -> dict:
        return {"engine": self.name, "threads": self.threads, **self.models.describe()}
