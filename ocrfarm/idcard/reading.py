"""Reading a card from a photo: the engine's lines, the fields in them, and another look when the
card is small in the picture or lies turned.

- Small: the detector sees the picture scaled down to its side limit, so a card that fills a fifth
  of a phone photo reaches it as a few hundred pixels and its shortest lines (a last line of the
  address of one character) are lost. When the first reading's lines all lie within less than half
  the picture each way, that region (with a margin) is read again on its own.
- Turned: the engine reads lines in any of the four directions, but reads a card better upright.
  When the reading shows the card turned (fields.py tells which way from its labels), the card is
  turned upright and read again. A picture whose lines mostly run down it with no card found is
  tried at 90 and 270 degrees.

Each further reading is kept only if it finds at least as much of the card. Upright cards that fill
the picture, and anything that is not a card but has lines across it, cost one reading. A page-level
orientation step in the engine would make the turned case rarer; this does not rely on one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ocrfarm.idcard import fields
from ocrfarm.idcard.fields import NotAnIdCard

# A card whose lines span less than this share of the picture, both ways, is read again on its own.
SMALL = 0.4
MARGIN = 0.08  # of the picture's longer side, around the lines' region


def read_card(
    image: np.ndarray, recognize: Callable[[np.ndarray], list[dict]]
) -> tuple[list[dict], dict | NotAnIdCard]:
    """(lines, card) for one picture; `recognize` gives result lines ({"text", "confidence", "box"})
    of a picture. Lines and boxes are in `image`'s own pixels. When no card is made out, `card` is
    the NotAnIdCard that says what the best reading missed."""
    height, width = image.shape[:2]
    best = _attempt(recognize(image), width, height)
    view = (0, 0, width, height)  # the part of the picture later readings look at
    region = _small_region(best[0], width, height)
    if region is not None:
        candidate = _attempt(_read_view(image, region, 0, recognize), width, height)
        if _score(candidate[1]) >= _score(best[1]):
            best, view = candidate, region
    turns = []
    if isinstance(best[1], dict) and best[1]["turned"]:
        turns = [best[1]["turned"]]
    elif isinstance(best[1], NotAnIdCard) and _mostly_down(best[0]):
        turns = [90, 270]
    for turn in turns:
        candidate = _attempt(_read_view(image, view, turn, recognize), width, height)
        if _score(candidate[1]) >= _score(best[1]):
            best = candidate
        if isinstance(best[1], dict) and not best[1]["missing"]:
            break
    return best


def _read_view(image: np.ndarray, view: tuple[int, int, int, int], turn: int, recognize) -> list[dict]:
    """The lines of the part `view` of the picture turned upright by `turn`, in the picture's pixels."""
    x0, y0, x1, y1 = view
    part = image[y0:y1, x0:x1]
    # np.rot90 turns anticlockwise: k quarter turns undo a clockwise turn of k * 90 degrees.
    upright = np.ascontiguousarray(np.rot90(part, k=turn // 90) if turn else part)
    out = []
    for line in recognize(upright):
        box = fields.to_picture(line["box"], turn, x1 - x0, y1 - y0)
        out.append({**line, "box": [[round(x + x0, 1), round(y + y0, 1)] for x, y in box]})
    return out


def _small_region(lines: list[dict], width: int, height: int) -> tuple[int, int, int, int] | None:
    points = [p for line in lines for p in line["box"]]
    if len(lines) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if max(xs) - min(xs) >= SMALL * width or max(ys) - min(ys) >= SMALL * height:
        return None
    margin = MARGIN * max(width, height)
    return (
        max(0, int(min(xs) - margin)),
        max(0, int(min(ys) - margin)),
        min(width, int(max(xs) + margin) + 1),
        min(height, int(max(ys) + margin) + 1),
    )


def card_in(lines: list[dict], width: int, height: int) -> dict | NotAnIdCard:
    """The card in lines already read (a PDF page's own text), without another look."""
    return _attempt(lines, width, height)[1]


def _attempt(lines: list[dict], width: int, height: int) -> tuple[list[dict], dict | NotAnIdCard]:
    try:
        return lines, fields.extract(lines, width, height)
    except NotAnIdCard as exc:
        return lines, exc


def _score(card) -> tuple[int, float]:
    if isinstance(card, NotAnIdCard):
        return (len(card.found), 0.0)
    values = card["fields"].values()
    return (len(card["fields"]), sum(f["confidence"] for f in values) / max(len(values), 1))


def _mostly_down(lines: list[dict]) -> bool:
    """Most lines of four characters or more are taller than wide."""
    tall = wide = 0
    for line in lines:
        if len(line["text"].strip()) < 4:
            continue
        xs, ys = [p[0] for p in line["box"]], [p[1] for p in line["box"]]
        if max(ys) - min(ys) > max(xs) - min(xs):
            tall += 1
        else:
            wide += 1
    return tall > wide
