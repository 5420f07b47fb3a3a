"""A detected line cut out of its page and straightened (PaddleOCR 2.10's get_rotate_crop_image), and
made into a model's input."""

from __future__ import annotations

import math

import cv2
import numpy as np


def crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The quadrilateral `box` warped to an upright rectangle; a crop much taller than wide is a
    vertical line and is turned a quarter so that it reads left to right."""
    points = box.astype(np.float32)
    width = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    height = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(points, target)
    out = cv2.warpPerspective(
        image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if out.shape[0] / out.shape[1] >= 1.5:
        out = np.rot90(out)
    return out


def model_input(crop: np.ndarray, height: int, width: int) -> np.ndarray:
    """PaddleOCR's resize_norm_img for the classifier and the recogniser: the crop resized to `height`
    keeping its aspect ratio (squeezed if wider than `width`), scaled to [-1, 1], zeros on the right;
    3 x height x width float32."""
    h, w = crop.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / h)))
    resized = cv2.resize(crop, (resized_w, height)).astype(np.float32)
    padded = np.zeros((3, height, width), np.float32)
    padded[:, :, :resized_w] = (resized.transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return padded
