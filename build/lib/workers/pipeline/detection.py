"""Text detection with a DB (differentiable binarisation) model: a page in, quadrilaterals out.

Resizing, normalisation and box extraction are PaddleOCR 2.10's for its defaults (DetResizeForTest
with limit type "max", NormalizeImage, DBPostProcess with score mode "fast", quad boxes, thresholds
0.3 / 0.6, unclip ratio 1.5, then filter_tag_det_res and sorted_boxes), so that the same weights find
the same boxes. Only the normalisation differs between model sets (PP-OCRv6's detector wants mean and
standard deviation 0.5).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pyclipper

from workers.pipeline import runtime

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass(frozen=True)
class DetectorConfig:
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    thresh: float = 0.3  # a pixel is text above this probability
    box_thresh: float = 0.6  # a box is kept when its mean probability is above this
    unclip_ratio: float = 1.5  # how far a shrunk text kernel is grown back into its box
    max_candidates: int = 1000
    min_size: int = 3


class Detector:
    def __init__(self, session, config: DetectorConfig = DetectorConfig()):
        self.session = session
        self.config = config
        # Applied to the BGR array as PaddleOCR does (its mean and std are listed in RGB order but
        # used on BGR pixels; the weights were trained that way).
        self.mean = np.array(config.mean, np.float32).reshape(1, 1, 3)
        self.std = np.array(config.std, np.float32).reshape(1, 1, 3)

    def __call__(self, image: np.ndarray, limit_side: int) -> list[np.ndarray]:
        """Boxes (4 x 2 float32, clockwise from the top left) in reading order, top to bottom."""
        src_h, src_w = image.shape[:2]
        resized, ratio_h, ratio_w = resize(image, limit_side)
        normalised = (resized.astype(np.float32) * np.float32(1 / 255) - self.mean) / self.std
        batch = normalised.transpose(2, 0, 1)[np.newaxis].copy()
        probabilities = runtime.run(self.session, batch)[0, 0]
        boxes = self.boxes(probabilities, src_w, src_h)
        return sorted_boxes(filter_boxes(boxes, src_h, src_w))

    def boxes(self, probabilities: np.ndarray, dest_width: int, dest_height: int) -> list[np.ndarray]:
        """DBPostProcess.boxes_from_bitmap: one minimum-area rectangle per text region, grown back
        by the unclip ratio and scaled to the page."""
        config = self.config
        height, width = probabilities.shape
        bitmap = (probabilities > config.thresh).astype(np.uint8) * 255
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        out = []
        for contour in contours[: config.max_candidates]:
            points, short_side = mini_box(contour)
            if short_side < config.min_size:
                continue
            if box_score(probabilities, points) < config.box_thresh:
                continue
            grown = unclip(points, config.unclip_ratio)
            if len(grown) != 1:
                continue
            box, short_side = mini_box(np.array(grown[0]).reshape(-1, 1, 2))
            if short_side < config.min_size + 2:
                continue
            box[:, 0] = np.clip(np.round(box[:, 0] / width * dest_width), 0, dest_width)
            box[:, 1] = np.clip(np.round(box[:, 1] / height * dest_height), 0, dest_height)
            out.append(box.astype(np.int32))
        return out


def resize(image: np.ndarray, limit_side: int) -> tuple[np.ndarray, float, float]:
    """DetResizeForTest, limit type "max": the longer side down to `limit_side` (never up), both sides
    rounded to a multiple of 32 as the network needs; tiny images are padded to 32 first."""
    h, w = image.shape[:2]
    if h + w < 64:
        padded = np.zeros((max(32, h), max(32, w), 3), np.uint8)
        padded[:h, :w] = image
        image = padded
        h, w = image.shape[:2]
    ratio = float(limit_side) / max(h, w) if max(h, w) > limit_side else 1.0
    resize_h = max(int(round(int(h * ratio) / 32) * 32), 32)
    resize_w = max(int(round(int(w * ratio) / 32) * 32), 32)
    return cv2.resize(image, (resize_w, resize_h)), resize_h / h, resize_w / w


def mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    """The contour's minimum-area rectangle, corners ordered as DBPostProcess.get_mini_boxes orders them."""
    rect = cv2.minAreaRect(contour)
    points = sorted(list(cv2.boxPoints(rect)), key=lambda p: p[0])
    left = (0, 1) if points[1][1] > points[0][1] else (1, 0)
    right = (2, 3) if points[3][1] > points[2][1] else (3, 2)
    box = np.array([points[left[0]], points[right[0]], points[right[1]], points[left[1]]], np.float32)
    return box, min(rect[1])


def box_score(probabilities: np.ndarray, box: np.ndarray) -> float:
    """Mean text probability inside the box (score mode "fast")."""
    h, w = probabilities.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), np.uint8)
    shifted = box - np.array([xmin, ymin], np.float32)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(probabilities[ymin : ymax + 1, xmin : xmax + 1], mask)[0]


def unclip(box: np.ndarray, ratio: float) -> list:
    """Grow the box by area * ratio / perimeter (the DB paper's offset), with rounded corners."""
    points = box.astype(np.float64)
    x, y = points[:, 0], points[:, 1]
    area = abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2
    perimeter = np.sum(np.hypot(*(np.roll(points, -1, axis=0) - points).T))
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return offset.Execute(area * ratio / perimeter)


def order_clockwise(points: np.ndarray) -> np.ndarray:
    rect = np.zeros((4, 2), np.float32)
    sums = points.sum(axis=1)
    rect[0] = points[np.argmin(sums)]
    rect[2] = points[np.argmax(sums)]
    rest = np.delete(points, (np.argmin(sums), np.argmax(sums)), axis=0)
    diff = np.diff(np.array(rest), axis=1)
    rect[1] = rest[np.argmin(diff)]
    rect[3] = rest[np.argmax(diff)]
    return rect


def filter_boxes(boxes: list[np.ndarray], height: int, width: int) -> list[np.ndarray]:
    """filter_tag_det_res: corners clockwise, clipped to the page, slivers of 3 pixels or less dropped."""
    kept = []
    for box in boxes:
        box = order_clockwise(box)
        box[:, 0] = np.clip(box[:, 0], 0, width - 1).astype(np.int32)
        box[:, 1] = np.clip(box[:, 1], 0, height - 1).astype(np.int32)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        kept.append(box)
    return kept


def sorted_boxes(boxes: list[np.ndarray]) -> list[np.ndarray]:
    """Top to bottom, and left to right among boxes whose tops are within 10 pixels (PaddleOCR's order)."""
    ordered = sorted(boxes, key=lambda b: (b[0][1], b[0][0]))
    for i in range(len(ordered) - 1):
        for j in range(i, -1, -1):
            if abs(ordered[j + 1][0][1] - ordered[j][0][1]) < 10 and ordered[j + 1][0][0] < ordered[j][0][0]:
                ordered[j], ordered[j + 1] = ordered[j + 1], ordered[j]
            else:
                break
    return ordered
