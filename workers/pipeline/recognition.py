"""Line recognition with a CTC model: straightened crops in, (text, confidence) out.

Each crop is resized to the model's height keeping its aspect ratio, normalised to [-1, 1] and padded
with zeros on the right, as PaddleOCR 2.10 does.

Decoding differs. PaddleOCR takes the best class of every step (repeats and blanks removed; the
confidence is the mean probability of the characters kept): the most probable path, which is not
always the most probable text. A narrow letter, or the gap between two words, often spreads over two
steps that each give it a little under half ("I" at 0.45 and 0.47 beside the blank at 0.49 and 0.47,
in "CAUTION"): nearly every path through those steps spells the letter, but the best single path
skips it. Where the best path may not spell the most probable text, that text is found by a prefix
beam search over the stretch (most_probable_text); elsewhere the best path is kept as it is.

Batching differs too. PaddleOCR sorts crops by aspect ratio and pads batches of six to the
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
    # "text": the most probable text where a step is in doubt (the module's docstring); "path":
    # PaddleOCR's best path everywhere (tests/test_pipeline.py compares the two pipelines with it).
    decoder: str = "text"


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
        """Each line's text and confidence from its steps' class probabilities (steps x classes)."""
        out = []
        for steps in probabilities:
            if self.config.decoder == "path":
                labels, probs = best_path(steps)
            else:
                labels, probs = most_probable_text(steps)
            text = "".join(self.characters[i] for i in labels)
            out.append((text, float(np.mean(probs)) if len(probs) else 0.0))
        return out


# A blank step whose other classes together have less than this probability is sure: stretches are
# cut there (what passes through those other classes is left out of the sums).
RIVAL = 0.01
# Classes below this probability at a step are not followed by the beam search.
UNLIKELY = 0.01
BEAM = 8
BEHIND = 1e-4


def best_path(steps: np.ndarray) -> tuple[list[int], list[float]]:
    """PaddleOCR's greedy CTC decoding: the best class per step, repeats merged, blanks (0) dropped;
    with each character the probability of the first step of its run."""
    best = steps.argmax(axis=1)
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    return best[keep].tolist(), steps[np.arange(len(best)), best][keep].tolist()


def most_probable_text(steps: np.ndarray) -> tuple[list[int], list[float]]:
    """The best path, with each stretch where it may not spell the most probable text replaced by
    that text.

    Stretches are cut at sure blanks, and each gets the most probable text of its own steps: a blank
    between two stretches keeps their characters apart (even two of the same), and the characters
    of a stretch stay where they were seen (the text of the whole line is not summed over ways of
    sharing it out between stretches). A stretch whose best path alone has a probability of at
    least one half spells its most probable text (no other text can have more); so does one whose
    best path's text has a half over all its paths. Only the rest are searched, and a line with none
    reads exactly as best_path() reads it."""
    best = steps.argmax(axis=1)
    best_p = steps[np.arange(len(best)), best]
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    cuts = np.flatnonzero((best == 0) & (best_p > 1 - RIVAL))
    starts = np.concatenate(([0], cuts + 1))
    ends = np.concatenate((cuts, [len(best)]))
    # log P(best path) of each stretch, from a running sum (an empty stretch has 0).
    running = np.concatenate(([0.0], np.cumsum(np.log(np.maximum(best_p, 1e-30)))))
    doubtful = np.flatnonzero(running[ends] - running[starts] < np.log(0.5))
    labels: list[int] = []
    probs: list[float] = []
    done = 0
    for start, end in zip(starts[doubtful].tolist(), ends[doubtful].tolist(), strict=True):
        kept = np.flatnonzero(keep[done:start]) + done
        labels += best[kept].tolist()
        probs += best_p[kept].tolist()
        stretch = steps[start:end]
        kept = np.flatnonzero(keep[start:end]) + start
        path_text = best[kept].tolist()
        # The best path's text summed over all its paths: at least a half, and it is the answer.
        text = path_text if text_probability(stretch, path_text) >= 0.5 else prefix_beam_search(stretch)
        if text == path_text:
            probs += best_p[kept].tolist()
        else:
            # Each character's confidence: its best step in the stretch.
            probs += [float(stretch[:, label].max()) for label in text]
        labels += text
        done = end
    kept = np.flatnonzero(keep[done:]) + done
    return labels + best[kept].tolist(), probs + best_p[kept].tolist()


def text_probability(steps: np.ndarray, text: list[int]) -> float:
    """P(text) summed over every path that spells it: the CTC forward recursion, over the text with
    a blank before, between and after its characters."""
    extended = [0]
    for label in text:
        extended += [label, 0]
    rows = steps[:, extended].tolist()
    # Where a step may come straight from two states back: a character, not the same as the one
    # before it (a repeated character needs the blank between).
    skip = [s >= 2 and extended[s] != 0 and extended[s] != extended[s - 2] for s in range(len(extended))]
    alpha = [rows[0][0], rows[0][1] if len(extended) > 1 else 0.0] + [0.0] * (len(extended) - 2)
    for row in rows[1:]:
        alpha = [
            (alpha[s] + (alpha[s - 1] if s else 0.0) + (alpha[s - 2] if skip[s] else 0.0)) * row[s]
            for s in range(len(extended))
        ]
    return alpha[-1] + (alpha[-2] if len(extended) > 1 else 0.0)


def prefix_beam_search(steps: np.ndarray) -> list[int]:
    """CTC prefix beam search without a language model: the labelling (blank 0) with the highest
    probability summed over all its paths, among the BEAM best prefixes kept at each step."""
    # Only the classes that reach UNLIKELY somewhere in the stretch are followed (a handful of the
    # model's thousands), as plain floats: this runs in Python, step by step.
    classes = np.flatnonzero(steps.max(axis=0) >= UNLIKELY)
    classes = classes[classes != 0]
    rows = steps[:, classes].tolist()
    blanks = steps[:, 0].tolist()
    labels = classes.tolist()
    # prefix -> [probability of the prefix with its last step a blank, ... with it a character]
    beams: dict[tuple[int, ...], list[float]] = {(): [1.0, 0.0]}
    for row, blank_p in zip(rows, blanks, strict=True):
        candidates = [(label, p) for label, p in zip(labels, row, strict=True) if p >= UNLIKELY]
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (blank, char) in beams.items():
            entry = grown.get(prefix)
            if entry is None:
                entry = grown[prefix] = [0.0, 0.0]
            entry[0] += (blank + char) * blank_p
            last = prefix[-1] if prefix else None
            for label, p in candidates:
                longer = prefix + (label,)
                if longer not in grown:
                    grown[longer] = [0.0, 0.0]
                if label == last:
                    # The same character again needs a blank between; without one it is the same run.
                    grown[longer][1] += blank * p
                    entry[1] += char * p
                else:
                    grown[longer][1] += (blank + char) * p
        totals = {prefix: blank + char for prefix, (blank, char) in grown.items()}
        if len(totals) > BEAM:
            totals = dict(sorted(totals.items(), key=lambda item: -item[1])[:BEAM])
        # Prefixes far behind the best cannot catch up over a stretch of a few steps.
        floor = max(totals.values()) * BEHIND
        beams = {prefix: grown[prefix] for prefix, total in totals.items() if total >= floor}
    return list(max(beams, key=lambda prefix: beams[prefix][0] + beams[prefix][1]))


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
