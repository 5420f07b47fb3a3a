"""The engine interface: an image in, text lines out. Everything else in the worker is engine-agnostic.

Queue and loop tests use FakeEngine, so they never import paddle; the real engine is in paddle_engine.py.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import numpy as np


@dataclasses.dataclass(frozen=True)
class Line:
    text: str
    confidence: float
    # Four [x, y] corners in image pixels, clockwise from top-left (PaddleOCR's order).
    box: list[list[float]]

    def to_json(self) -> dict:
        return {"text": self.text, "confidence": round(self.confidence, 4), "box": self.box}


@dataclasses.dataclass(frozen=True)
class Reading:
    """What an engine read on one page: its lines, boxes in the page as it was sent, and the turn
    (degrees clockwise: 0, 90, 180 or 270) that made the page upright for reading."""

    lines: list[Line]
    rotation: int = 0


class Engine:
    """One engine per worker process, used by one thread at a time (PaddleOCR is not thread-safe)."""

    name = "none"

    def recognize(
        self, image: np.ndarray, *, angle_cls: bool = True, det_limit_side: int = 960
    ) -> list[Line]:
        """`image` is an H x W x 3 BGR uint8 array. `angle_cls`: also read text turned upside down;
        `det_limit_side`: the detector scales the longest side down to this."""
        raise NotImplementedError

    def read(self, image: np.ndarray, *, angle_cls: bool = True, det_limit_side: int = 960) -> Reading:
        """The page's lines and its rotation. Engines that do not turn pages read them as they are."""
        return Reading(self.recognize(image, angle_cls=angle_cls, det_limit_side=det_limit_side))

    def describe(self) -> dict:
        """What the worker's heartbeat says about this engine."""
        return {"engine": self.name}


# The fake engine misbehaves on purpose for images of these widths, so that a test picks the
# failure it needs by the image it sends.
HANG_WIDTH = 4041  # never answers: exercises the job timeout
CRASH_WIDTH = 4042  # kills its own process, as a segfault in native code would: a poison file
FAIL_WIDTH = 4043  # raises: an engine error


class FakeEngine(Engine):
    """Reads nothing: answers one line naming the image's size. For tests of the queue and the loop."""

    name = "fake"

    def __init__(self, delay: float = 0.0, model: str = "ppocrv3"):
        self.delay = delay
        # Only named, never loaded: a farm of fake engines can "load" several model sets at no cost.
        self.model = model

    def describe(self) -> dict:
        return {"engine": self.name, "models": self.model}

    def recognize(
        self, image: np.ndarray, *, angle_cls: bool = True, det_limit_side: int = 960
    ) -> list[Line]:
        height, width = image.shape[:2]
        if width == HANG_WIDTH:
            while True:
                time.sleep(3600)
        if width == CRASH_WIDTH:
            os.kill(os.getpid(), signal.SIGKILL)
        if width == FAIL_WIDTH:
            raise RuntimeError("the fake engine fails on images 4043 pixels wide")
        if self.delay:
            time.sleep(self.delay)
        box = [[0.0, 0.0], [float(width), 0.0], [float(width), float(height)], [0.0, float(height)]]
        return [Line(f"{width}x{height}", 1.0, box)]
