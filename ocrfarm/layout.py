"""Reading order, blocks and the text of a page, from its recognised lines and their boxes.

Pure functions on lines as the result holds them ({"text", "confidence", "box"}, the box four
corners in the page as it was sent), so that every engine gets the same order. The page is looked at
as a reader would hold it: turned upright by the rotation the engine found, and straightened by the
skew of its lines (a page fed 3 degrees off straight rises 50 pixels across an A4 line, more than a
line's height, so nothing row-based works on the boxes as they lie).

Reading order (issue 12): a page in columns is read column after column, not row by row across the
gutter. A column gutter is a vertical strip that no line of the region crosses, except lines that
span it (a title above the columns, a footer, a page number below), which are read in place and cut
the columns into sections read one after the other. Only strips between two sides that look like
columns of text count: each side at least two lines, at least COLUMN_MIN_WIDTH line heights wide,
its lines filling most of its width. That keeps a receipt's prices, a table's figures and labels
scattered over a photo in rows, as before: what cannot be read as columns is read in rows, top to
bottom and left to right.

Blocks: consecutive lines of the reading order close above one another, of one size, overlapping
sideways, form a block; lines side by side in one row (a receipt's item and price) belong to the
same row of a block. The text is the blocks separated by a blank line. Within a block, a row that
reaches the block's right edge (the next row's first word would not have fitted after it) was
wrapped, and is joined to the next row with a space, or with nothing where either side is Chinese or
Japanese; other rows stay on lines of their own (addresses, lists, receipts). A hyphen at the end of
a wrapped Latin row is kept and the rows are joined without a space ("well-known" stays right,
"docu-ment" keeps a visible hyphen): removing it would join compounds wrongly, and keeping it loses
nothing.
"""

from __future__ import annotations

import math
import statistics
import unicodedata

# A side of a gutter is a column when it is at least this many median line heights wide...
COLUMN_MIN_WIDTH = 6.0
# ...and its lines are, at the median, at least this share of its width (prose fills its column;
# a column of prices or figures does not, nor does a lone label).
COLUMN_FILL = 0.4
# A gutter is at least this many median line heights wide.
GUTTER_MIN_WIDTH = 0.8
# A line wider than this share of the region is not counted in the search for gutters (a title).
SPANNING_SHARE = 0.55
# Lines are in one row when their middles are within this share of the lower one's height.
ROW_SHIFT = 0.5
# A heading or footer over or under one column only: this many lines at most, set off by a gap of
# this many line heights.
APART_MAX_LINES, APART_GAP = 2, 0.9
# Lines of one block: the gap between rows at most this many line heights, heights within this ratio.
BLOCK_MAX_GAP = 1.0
BLOCK_HEIGHT_RATIO = 1.3
# ...and characters as wide, within this ratio.
BLOCK_CHAR_RATIO = 1.35
# ...and the next row's pitch at most this times the block's own (once it has two rows), else the
# page's usual pitch; the gap is the rule only where the page has no pitch to go by.
BLOCK_PITCH_RATIO = 1.3
# The page's pitch compares every pair of lines: on pages of more lines than this, the gap rule.
PITCH_MAX_LINES = 400
# A row shorter than this (characters) is never taken as wrapped prose.
WRAPPED_MIN_LATIN, WRAPPED_MIN_CJK = 30, 12
# Skew below this (degrees) is taken as straight; above the limit it is not skew but something else.
SKEW_MIN, SKEW_MAX = 0.3, 15.0


class _Item:
    """A line in the upright, straightened page: its index in the input and its rectangle there."""

    __slots__ = ("index", "text", "x0", "y0", "x1", "y1", "height")

    def __init__(self, index: int, text: str, points: list[tuple[float, float]]):
        """`points`: the four corners clockwise from the top left."""
        self.index, self.text = index, text
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self.x0, self.x1, self.y0, self.y1 = min(xs), max(xs), min(ys), max(ys)
        # The line's height is its box's own (left and right sides), which straightening a skewed
        # page does not inflate as it does the upright extent of a long line.
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = points[:4]
        self.height = max(1.0, (math.hypot(dx - ax, dy - ay) + math.hypot(cx - bx, cy - by)) / 2)

    @property
    def width(self) -> float:
        return max(1.0, self.x1 - self.x0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


# ---- frames: the page as sent, upright, straightened ------------------------------------------------


def to_upright(point, rotation: int, width: float, height: float) -> tuple[float, float]:
    """A point of the page as sent, in the page turned clockwise by `rotation` degrees."""
    x, y = point
    if rotation == 90:
        return height - y, x
    if rotation == 180:
        return width - x, height - y
    if rotation == 270:
        return y, width - x
    return x, y


def from_upright(point, rotation: int, width: float, height: float) -> tuple[float, float]:
    """The inverse of to_upright()."""
    x, y = point
    if rotation == 90:
        return y, height - x
    if rotation == 180:
        return width - x, height - y
    if rotation == 270:
        return width - y, x
    return x, y


def skew_of(boxes: list[list[tuple[float, float]]]) -> float:
    """The page's skew in degrees (counterclockwise positive, as the text rises to the right), from
    the top edges of its long lines, weighted by length; 0 when there is no clear skew."""
    angles, weights = [], []
    for box in boxes:
        (x0, y0), (x1, y1), _, (x3, y3) = box[:4]
        length, side = math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)
        if length < 3 * side or x1 <= x0:
            continue
        angles.append(math.degrees(math.atan2(y0 - y1, x1 - x0)))
        weights.append(length)
    if not angles:
        return 0.0
    angle = _weighted_median(angles, weights)
    return angle if SKEW_MIN <= abs(angle) <= SKEW_MAX else 0.0


def _weighted_median(values: list[float], weights: list[float]) -> float:
    pairs = sorted(zip(values, weights, strict=True))
    half, total = sum(weights) / 2, 0.0
    for value, weight in pairs:
        total += weight
        if total >= half:
            return value
    return pairs[-1][0]


def _turn(point, angle: float, centre) -> tuple[float, float]:
    """`point` turned by `angle` degrees counterclockwise (on the page, y down) about `centre`."""
    a = math.radians(angle)
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    return (centre[0] + dx * math.cos(a) + dy * math.sin(a), centre[1] - dx * math.sin(a) + dy * math.cos(a))


# ---- reading order ------------------------------------------------------------------------------


def _rows(items: list[_Item]) -> list[list[_Item]]:
    """Items in rows, top to bottom; a row is items whose middles are within ROW_SHIFT of a box's
    height from the row's mean middle; left to right. (Middles, not tops within some pixels: a
    photographed receipt's price sits a little higher or lower than its item, a short word's box is
    lower than a tall one's; and not any overlap: a table's cell of two lines would pull the next
    row's cells up into its first line's row, and a header set half a line lower would join.)"""
    if not items:
        return []
    # A box much taller than the others (a cell of two lines, a stamp) belongs to the row of its
    # top line: it is placed by that line's middle, not its own.
    usual = statistics.median(i.y1 - i.y0 for i in items)

    def middle(item: _Item) -> float:
        return item.cy if item.y1 - item.y0 <= 1.5 * usual else item.y0 + usual / 2

    def extent(item: _Item) -> float:
        return min(item.y1 - item.y0, 1.5 * usual)

    rows: list[list[_Item]] = []
    for item in sorted(items, key=lambda i: (middle(i), i.x0)):
        if rows:
            row = rows[-1]
            centre = sum(middle(i) for i in row) / len(row)
            if abs(middle(item) - centre) <= ROW_SHIFT * max(extent(item), extent(row[0])):
                rows[-1].append(item)
                continue
        rows.append([item])
    return [sorted(row, key=lambda i: i.x0) for row in rows]


def _is_column(side: list[_Item], line_height: float) -> bool:
    if len(side) < 2:
        return False
    width = max(i.x1 for i in side) - min(i.x0 for i in side)
    if width < COLUMN_MIN_WIDTH * line_height:
        return False
    return statistics.median(i.width for i in side) >= COLUMN_FILL * width


def _gutter(items: list[_Item], line_height: float) -> tuple[float, float] | None:
    """The widest vertical strip between two columns of text, as (left, right), or None. Lines wider
    than SPANNING_SHARE of the region are left out of the search, and so is a strip's worth of
    stray lines: one line, and one more in twenty, may cross it (a page number in the gutter)."""
    left, right = min(i.x0 for i in items), max(i.x1 for i in items)
    narrow = [i for i in items if i.width <= SPANNING_SHARE * (right - left)]
    if len(narrow) < 4:
        return None
    allowed = 1 + len(narrow) // 20
    # Sweep the narrow lines' edges left to right, counting the lines over each stretch.
    edges = sorted([(i.x0, 1) for i in narrow] + [(i.x1, -1) for i in narrow])
    best, depth, start = None, 0, None
    for x, step in edges:
        before = depth
        depth += step
        if before > allowed >= depth:
            start = x
        elif before <= allowed < depth and start is not None:
            if x - start >= GUTTER_MIN_WIDTH * line_height and (
                best is None or x - start > best[1] - best[0]
            ):
                lefts = [i for i in narrow if i.x1 <= start]
                rights = [i for i in narrow if i.x0 >= x]
                if _is_column(lefts, line_height) and _is_column(rights, line_height):
                    best = (start, x)
            start = None
    return best


def _order(items: list[_Item], line_height: float) -> list[_Item]:
    gutter = _gutter(items, line_height) if len(items) >= 4 else None
    if gutter is None:
        return _rows_order(items)
    middle = (gutter[0] + gutter[1]) / 2
    out: list[_Item] = []
    section: list[_Item] = []
    # Lines over the gutter's middle are read where they stand; between two of them, the columns in
    # turn. A line that only reaches into the gutter from one side belongs to that side.
    for item in sorted(items, key=lambda i: i.cy):
        if item.x0 < middle < item.x1:
            out += _columns(section, gutter, line_height)
            section = []
            out.append(item)
        else:
            section.append(item)
    return out + _columns(section, gutter, line_height)


def _columns(section: list[_Item], gutter: tuple[float, float], line_height: float) -> list[_Item]:
    middle = (gutter[0] + gutter[1]) / 2
    lefts = [i for i in section if i.x1 <= middle]
    rights = [i for i in section if i.x0 >= middle]
    if not lefts or not rights:  # a section on one side only: no columns in it to speak of
        return _rows_order(section)
    head, body, tail = _head_and_tail(section, line_height)
    if head or tail:
        return _rows_order(head) + _columns(body, gutter, line_height) + _rows_order(tail)
    return _order(lefts, line_height) + _order(rights, line_height)


def _rows_order(items: list[_Item]) -> list[_Item]:
    return [item for row in _rows(items) for item in row]


def _head_and_tail(section: list[_Item], line_height: float):
    """A heading over the columns of a section, or a footer or page number under them, that does not
    cross the gutter (over one column, or in pieces on both sides): at most APART_MAX_LINES rows set
    off from all the rest by a gap of APART_GAP line heights across the whole width. Read before
    (after) the columns. A column that merely runs on below the other has no such gap."""
    bands: list[list[_Item]] = []
    bottom = -math.inf
    for item in sorted(section, key=lambda i: i.y0):
        if bands and item.y0 - bottom < APART_GAP * line_height:
            bands[-1].append(item)
        else:
            bands.append([item])
        bottom = max(bottom, item.y1)
    if len(bands) < 2:
        return [], section, []
    head = bands[0] if len(_rows(bands[0])) <= APART_MAX_LINES else []
    tail = bands[-1] if len(_rows(bands[-1])) <= APART_MAX_LINES else []
    body = [i for band in bands[1 if head else 0 : -1 if tail else None] for i in band]
    if not body:
        return [], section, []
    return head, body, tail


# ---- blocks and text ----------------------------------------------------------------------------


def _cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH", "IDEOGRAPHIC"))


def join_wrapped(first: str, second: str) -> str:
    """Two rows of one paragraph as one: nothing between them where either side is CJK, nothing after
    a hyphen that ends a word, else a space."""
    first, second = first.rstrip(), second.lstrip()
    if not first or not second:
        return first + second
    if _cjk(first[-1]) or _cjk(second[0]):
        return first + second
    if first[-1] == "-" and len(first) > 1 and first[-2].isalpha() and second[0].isalpha():
        return first + second
    return first + " " + second


def _wrapped(row: list[_Item], following: list[_Item], right_edge: float) -> bool:
    """True when `row` was broken only because the next row's first word did not fit after it."""
    if len(row) != 1 or len(following) != 1:
        return False
    line, text, after = row[0], row[0].text.strip(), following[0].text.strip()
    if not text or not after:
        return False
    char_width = line.width / len(text)
    if _cjk(text[-1]) or _cjk(after[0]):
        shortest, needed = WRAPPED_MIN_CJK, 2.0 * char_width
    else:
        shortest, needed = WRAPPED_MIN_LATIN, (len(after.split()[0]) + 1.5) * char_width
    # Short rows are an address's, a list's or a form's, even when one of them is the widest.
    if len(text) < shortest:
        return False
    return right_edge - line.x1 < needed


def _char_width(item: _Item) -> float | None:
    text = item.text.strip()
    return item.width / len(text) if len(text) >= 4 else None


def _same_size(block: list[_Item], item: _Item) -> bool:
    """The item is set in the block's type size, judged by the width of its characters (a box's
    height varies by a quarter with ascenders and descenders; a heading's characters are wider)."""
    widths = [w for w in map(_char_width, block) if w]
    mine = _char_width(item)
    if not widths or mine is None:
        return True
    theirs = statistics.median(widths)
    return max(theirs, mine) <= BLOCK_CHAR_RATIO * min(theirs, mine)


def _page_pitch(items: list[_Item]) -> float | None:
    """The page's usual line pitch, in line heights: from each line to the nearest line below it
    that it overlaps sideways by half, top to top, the median over the page."""
    pitches = []
    for item in items:
        below = [
            other.y0 - item.y0
            for other in items
            if other.y0 > item.y0 + 0.5 * item.height
            and min(item.x1, other.x1) - max(item.x0, other.x0) >= 0.5 * min(item.width, other.width)
        ]
        if below:
            pitches.append(min(below) / item.height)
    return statistics.median(pitches) if pitches else None


def _blocks(ordered: list[_Item]) -> list[list[list[_Item]]]:
    """The ordered items as blocks of rows."""
    page_pitch = _page_pitch(ordered) if len(ordered) <= PITCH_MAX_LINES else None
    blocks: list[list[list[_Item]]] = []
    for item in ordered:
        if blocks:
            row = blocks[-1][-1]
            last = row[-1]
            same_row = abs(item.cy - last.cy) < 0.5 * min(item.height, last.height) and item.x0 >= last.x1 - 2
            if same_row:
                row.append(item)
                continue
            rows = blocks[-1]
            top = min(i.y0 for i in row)
            bottom = max(i.y1 for i in row)
            height = statistics.median([i.height for r in rows for i in r])
            left = min(i.x0 for r in rows for i in r)
            right = max(i.x1 for r in rows for i in r)
            overlap = min(right, item.x1) - max(left, item.x0)
            # Line pitch tells a paragraph's next line from the next paragraph's first better than
            # any fixed share of the line height: the block's own once it has rows, else the page's.
            pitches = [
                min(i.y0 for i in b) - min(i.y0 for i in a) for a, b in zip(rows, rows[1:], strict=False)
            ]
            if pitches:
                pitch_ok = item.y0 - top <= BLOCK_PITCH_RATIO * statistics.median(pitches)
            elif page_pitch:
                pitch_ok = item.y0 - top <= BLOCK_PITCH_RATIO * page_pitch * height
            else:
                pitch_ok = item.y0 - bottom <= BLOCK_MAX_GAP * (height + item.height) / 2
            if (
                item.y0 >= top + 0.5 * height
                and pitch_ok
                and max(height, item.height) <= BLOCK_HEIGHT_RATIO * min(height, item.height)
                and _same_size([i for r in rows for i in r], item)
                and overlap >= 0.5 * item.width
            ):
                blocks[-1].append([item])
                continue
        blocks.append([[item]])
    return blocks


def _block_text(rows: list[list[_Item]]) -> str:
    right_edge = max(i.x1 for row in rows for i in row)
    text = " ".join(i.text.strip() for i in rows[0])
    for previous, row in zip(rows, rows[1:], strict=False):
        row_text = " ".join(i.text.strip() for i in row)
        text = join_wrapped(text, row_text) if _wrapped(previous, row, right_edge) else text + "\n" + row_text
    return text


def _clockwise(points: list[tuple[float, float]]) -> list[list[float]]:
    """Four corners clockwise from the top left of the page as sent (the detector's convention)."""
    cx, cy = sum(p[0] for p in points) / 4, sum(p[1] for p in points) / 4
    ring = sorted(points, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    start = min(range(4), key=lambda k: ring[k][0] + ring[k][1])
    return [[round(float(x), 1), round(float(y), 1)] for x, y in ring[start:] + ring[:start]]


def arrange(lines: list[dict], width: int, height: int, rotation: int = 0) -> dict:
    """The page's lines in reading order, its blocks and its text. `lines`: {"text", "confidence",
    "box"} in the page as sent (W x H), which `rotation` degrees clockwise turn upright. Returns
    {"lines": the same line objects reordered, "blocks": [{"box", "lines", "text"}], "text"}."""
    if not lines:
        return {"lines": [], "blocks": [], "text": ""}
    upright_w, upright_h = (height, width) if rotation in (90, 270) else (width, height)
    centre = (upright_w / 2, upright_h / 2)
    upright = [[to_upright(p, rotation, width, height) for p in line["box"]] for line in lines]
    # Corners of each box, top left first, in the upright page: the skew comes from its top edges.
    upright = [[(float(x), float(y)) for x, y in _clockwise(box)] for box in upright]
    skew = skew_of(upright)
    straight = [[_turn(p, -skew, centre) for p in box] for box in upright] if skew else upright
    items = [_Item(n, line["text"], box) for n, (line, box) in enumerate(zip(lines, straight, strict=True))]
    line_height = statistics.median(i.height for i in items)
    ordered = _order(items, line_height)
    blocks = []
    for rows in _blocks(ordered):
        members = [i for row in rows for i in row]
        corners = [
            (min(i.x0 for i in members), min(i.y0 for i in members)),
            (max(i.x1 for i in members), min(i.y0 for i in members)),
            (max(i.x1 for i in members), max(i.y1 for i in members)),
            (min(i.x0 for i in members), max(i.y1 for i in members)),
        ]
        back = [from_upright(_turn(p, skew, centre), rotation, width, height) for p in corners]
        blocks.append(
            {
                "box": _clockwise(back),
                "lines": [lines[i.index] for i in members],
                "text": _block_text(rows),
            }
        )
    return {
        "lines": [line for block in blocks for line in block["lines"]],
        "blocks": blocks,
        "text": "\n\n".join(block["text"] for block in blocks),
    }
