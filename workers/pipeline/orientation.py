"""Which way up a line is: the angle classifier proposes, the recogniser decides.

PaddleOCR turns every crop its mobile classifier calls "180" above 0.9. That classifier sees a crop
squeezed to 48 x 192 pixels, so a long line becomes a smear: it calls upright long lines upside down
(the recogniser then reads them turned over: nothing, or garbage; on clean printed pages that loses
whole lines the detector found), and misses long lines that really are upside down. Two changes:

- A long crop is shown to the classifier in pieces of its own height and 4 times as wide (the shape
  the classifier was trained on, text at its real size), and the pieces' "180" probabilities are
  averaged: many views of one line, not one smear.
- The classifier only nominates: a crop it would turn is read both ways, and the reading with the
  higher recogniser confidence wins. That costs a second recognition only for the crops nominated,
  keeps every upright line, and still reads a line or a page that really is upside down.
"""

from __future__ import annotations

import cv2
import numpy as np

from workers.pipeline import runtime
from workers.pipeline.crops import model_input

CLS_SHAPE = (3, 48, 192)
CLS_BATCH = 6
# A crop is nominated when its pieces' mean "180" probability is above this: PaddleOCR's cls_thresh.
# Lower thresholds nominate short upright crops ("¥3" at 0.87), and for two or three characters a
# reading of the crop turned over can come out more confident than the right one ("E夫").
NOMINATE_ABOVE = 0.9
PIECE_RATIO = CLS_SHAPE[2] / CLS_SHAPE[1]  # 4: a piece is as wide as the classifier's input, in heights


class Classifier:
    def __init__(self, session):
        self.session = session

    def nominated(self, crops: list[np.ndarray]) -> list[bool]:
        """True for each crop that the classifier, over its pieces, calls upside down."""
        owners, views = [], []
        for i, crop in enumerate(crops):
            for view in pieces(crop):
                owners.append(i)
                views.append(normalise(view))
        upside_down = np.zeros(len(crops))
        for start in range(0, len(views), CLS_BATCH):
            probabilities = runtime.run(self.session, np.stack(views[start : start + CLS_BATCH]))
            np.add.at(upside_down, owners[start : start + CLS_BATCH], probabilities[:, 1])
        counts = np.bincount(owners, minlength=len(crops))
        return [
            bool(total / count > NOMINATE_ABOVE) for total, count in zip(upside_down, counts, strict=True)
        ]


def pieces(crop: np.ndarray) -> list[np.ndarray]:
    """The crop cut across into pieces about PIECE_RATIO heights wide; a short crop is its own piece."""
    h, w = crop.shape[:2]
    count = max(1, round(w / (h * PIECE_RATIO)))
    edges = np.linspace(0, w, count + 1).astype(int)
    return [crop[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def normalise(crop: np.ndarray) -> np.ndarray:
    """The classifier's input (TextClassifier.resize_norm_img): height 48, width up to 192."""
    return model_input(crop, CLS_SHAPE[1], CLS_SHAPE[2])


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


# A box is a line standing on end (or lying flat) when one side is this many times the other;
# crops.crop() turns a crop this much taller than wide a quarter by itself.
ON_END = 1.5


def quarter_turned(boxes: list[np.ndarray]) -> bool:
    """Most of the page's text, by length, is in lines standing on end: the page is turned a quarter
    (90 or 270 degrees). Boxes near square (a word of two letters, a digit) say nothing. A page of
    text written in vertical columns (traditional Chinese and Japanese) is taken as turned too; the
    recogniser reads only horizontal text, and crops.crop() turned such lines on their own before."""
    standing = lying = 0.0
    for box in boxes:
        width = float(np.linalg.norm(box[1] - box[0]))
        height = float(np.linalg.norm(box[3] - box[0]))
        if height >= ON_END * width:
            standing += height
        elif width >= ON_END * height:
            lying += width
    return standing > lying


def unquarter_box(box: np.ndarray, page_height: int) -> np.ndarray:
    """A box found in the page turned 90 degrees clockwise (cv2.ROTATE_90_CLOCKWISE: pixel (x, y)
    of a page `page_height` high goes to (page_height - 1 - y, x)) in the page as sent, corners
    clockwise from its top left there, as the detector orders them (detection.order_clockwise)."""
    points = np.stack([box[:, 1], page_height - 1 - box[:, 0]], axis=1).astype(np.float32)
    ring = points[np.argsort(np.arctan2(*(points - points.mean(axis=0)).T[::-1]))]
    return np.roll(ring, -int(np.argmin(ring.sum(axis=1))), axis=0)
