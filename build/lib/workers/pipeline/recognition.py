"""Line recognition with a CTC model: straightened crops in, (text, confidence) out.

Each crop is resized to the model's height keeping its aspect ratio, normalised to [-1, 1] and padded
with zeros on the right, then decoded greedily (best class per step, repeats and blanks removed; the
confidence is the mean probability of the characters kept), all as PaddleOCR 2.10 does.

Batching is where this differs. PaddleOCR sorts crops by aspect ratio and pads batches of six to the
widest crop in each, and never narrower than 320 pixels. On a CPU the padding costs more than the
batch saves: a short line batched with a long one is computed at the long one's width. A batch here
only takes crops whose padded widths are within `width_tolerance` of each other; measured on one
core, batches of similar width were no faster than one crop at a time (docs/bench/findings-*.md),
so the default is one crop per call. Each crop is still padded to at least `min_width` (PaddleOCR's
320), as PaddleOCR reads it at batch size one.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from workers.pipeline import runtime
from workers.pipeline.crops import model_input


@dataclasses.dataclass(frozen=True)
class RecognizerConfig:
    height: int = 48
    min_width: int = 320  # PaddleOCR's rec_image_shape width: narrower crops are padded to it
    max_batch: int = 1
    # A batch takes crops whose padded widths are within this fraction of its first (narrowest) one.
    width_tolerance: float = 0.1
    # Columns of padding every crop gets on its right: two of the recogniser's output steps (it reads
    # one character slot per 8 columns). A crop that fills its input to the last column (as a lone
    # crop does in PaddleOCR, and the widest of each batch) often loses its last character, mostly a
    # final "." or ")": on printed pages 16 of 36 final full stops were read flush against the edge,
    # 23 of 36 with 8 columns or more (PaddleOCR's batches: 21); a thin "）" at the end of a 17-pixel
    # line of Chinese needed 16.
    right_margin: int = 16


class Recognizer:
    def __init__(self, session, characters: list[str], config: RecognizerConfig = RecognizerConfig()):
        self.session = session
        self.config = config
        # Index 0 is the CTC blank; the model's character list follows, and a space last.
        self.characters = ["", *characters]

    def __call__(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for indices, width in self.batches(crops):
            batch = np.stack([self.normalise(crops[i], width) for i in indices])
            for i, reading in zip(indices, self.decode(runtime.run(self.session, batch)), strict=True):
                results[i] = reading
        return results

    def padded_width(self, crop: np.ndarray) -> int:
        h, w = crop.shape[:2]
        return max(self.config.min_width, int(self.config.height * (w / h)) + self.config.right_margin)

    def batches(self, crops: list[np.ndarray]) -> list[tuple[list[int], int]]:
        """Groups of crop indices of similar width (narrowest first), each with the width it is padded to."""
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        out: list[tuple[list[int], int]] = []
        for i in order:
            width = self.padded_width(crops[i])
            if out:
                group, first_width = out[-1][0], self.padded_width(crops[out[-1][0][0]])
                if len(group) < self.config.max_batch and width <= first_width * (
                    1 + self.config.width_tolerance
                ):
                    group.append(i)
                    out[-1] = (group, width)
                    continue
            out.append(([i], width))
        return out

    def normalise(self, crop: np.ndarray, width: int) -> np.ndarray:
        return model_input(crop, self.config.height, width)

    def decode(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        """Greedy CTC decoding (CTCLabelDecode with duplicates removed)."""
        best = probabilities.argmax(axis=2)
        best_p = probabilities.max(axis=2)
        out = []
        for indices, probs in zip(best, best_p, strict=True):
            keep = np.ones(len(indices), bool)
            keep[1:] = indices[1:] != indices[:-1]
            keep &= indices != 0
            text = "".join(self.characters[i] for i in indices[keep])
            confidence = float(np.mean(probs[keep])) if keep.any() else 0.0
            out.append((text, confidence))
        return out


def characters_of(session, dictionary: str | None = None) -> list[str]:
    """The recogniser's character list: from a dictionary file when one is given (a custom model),
    else from the model's own metadata (PP-OCRv3 and PP-OCRv6 ONNX files carry it), plus the space."""
    if dictionary is not None:
        with open(dictionary, encoding="utf-8") as f:
            chars = [line.rstrip("\r\n") for line in f]
    else:
        listed = runtime.metadata(session).get("character")
        if listed is None:
            raise ValueError("the recognition model carries no character list; give its dictionary file")
        chars = listed.splitlines()
    return [*chars, " "]
