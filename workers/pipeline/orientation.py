"""Which way up a line is: the angle classifier proposes, the recogniser decides.

PaddleOCR turns every crop its mobile classifier calls "180" above 0.9. That classifier sees a crop
squeezed to 48 x 192 pixels, so a long upright line becomes a smear it often calls upside down, and
the recogniser then reads the line turned over: nothing, or garbage. Measured on clean printed pages,
that loses whole lines the detector found. Here the classifier only nominates: a crop it would turn
is read both ways, and the reading with the higher recogniser confidence wins. That costs a second
recognition only for the few crops nominated, keeps every upright line, and still reads a line or a
page that really is upside down.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from workers.pipeline import runtime

CLS_SHAPE = (3, 48, 192)
CLS_BATCH = 6
CLS_THRESHOLD = 0.9  # PaddleOCR's cls_thresh: below it a crop is not even nominated


class Classifier:
    def __init__(self, session):
        self.session = session

    def nominated(self, crops: list[np.ndarray]) -> list[bool]:
        """True for each crop the classifier calls upside down with confidence above the threshold."""
        out = [False] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        for start in range(0, len(order), CLS_BATCH):
            chunk = order[start: start + CLS_BATCH]
            probabilities = runtime.run(self.session, np.stack([normalise(crops[i]) for i in chunk]))
            for i, p in zip(chunk, probabilities):
                out[i] = bool(p.argmax() == 1 and p[1] > CLS_THRESHOLD)
        return out


def normalise(crop: np.ndarray) -> np.ndarray:
    """PaddleOCR's TextClassifier.resize_norm_img: height 48, width up to 192, padded with zeros."""
    channels, height, width = CLS_SHAPE
    h, w = crop.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / h)))
    resized = cv2.resize(crop, (resized_w, height)).astype(np.float32)
    padded = np.zeros(CLS_SHAPE, np.float32)
    padded[:, :, :resized_w] = (resized.transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return padded


def turned(crop: np.ndarray) -> np.ndarray:
    return cv2.rotate(crop, cv2.ROTATE_180)


def choose(as_is: tuple[str, float], turned_over: tuple[str, float]) -> tuple[tuple[str, float], bool]:
    """The more confident of the two readings of a nominated crop, and whether it was the turned one.
    A tie keeps the crop as it is: upright text is by far the common case."""
    if turned_over[1] > as_is[1]:
        return turned_over, True
    return as_is, False


def page_is_upside_down(turned_flags: list[bool]) -> bool:
    """Most of the page's lines read better turned over: the page itself is upside down, so its
    lines run bottom to top (reading order is a decision for the whole page, not for a line)."""
    return sum(turned_flags) * 2 > len(turned_flags) > 0
