"""Reading a card from a photo: the engine's lines, the fields in them, and another look when the
card lies turned.

The engine reads a line in any of the four directions, but it reads a card better upright: when the
first reading shows the card turned (fields.py tells which way from its labels), the picture is
turned upright and read again, and the reading that finds more of the card is kept. A picture whose
lines mostly run down the page with no card found is also tried at 90 and 270 degrees. Pictures of
upright cards, and of anything else with lines across, cost one reading.

A page-level orientation step in the engine would make the second look rarer; this does not rely on one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ocrfarm.idcard import fields
from ocrfarm.idcard.fields import NotAnIdCard


def read_card(
    image: np.ndarray, recognize: Callable[[np.ndarray], list[dict]]
) -> tuple[list[dict], dict | NotAnIdCard]:
    """(lines, card) for one picture; `recognize` gives result lines ({"text", "confidence", "box"})
    of a picture. Lines and boxes are in `image`'s own pixels. When no card is made out, `card` is
    the NotAnIdCard that says what the best reading missed."""
    height, width = image.shape[:2]
    lines = recognize(image)
    best = _attempt(lines, width, height)
    turns = []
    if isinstance(best[1], dict) and best[1]["turned"]:
        turns = [best[1]["turned"]]
    elif isinstance(best[1], NotAnIdCard) and _mostly_down(lines):
        turns = [90, 270]
    for turn in turns:
        # np.rot90 turns anticlockwise: k quarter turns undo a clockwise turn of k * 90 degrees.
        upright = np.ascontiguousarray(np.rot90(image, k=turn // 90))
        again = [
            {**line, "box": fields.to_picture(line["box"], turn, width, height)}
            for line in recognize(upright)
        ]
        candidate = _attempt(again, width, height)
        if _score(candidate[1]) >= _score(best[1]):
            best = candidate
        if isinstance(best[1], dict) and not best[1]["missing"]:
            break
    return best


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
