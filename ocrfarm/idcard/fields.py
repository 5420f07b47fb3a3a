"""A resident identity card's fields from the engine's lines: pure functions, no engine, no I/O.

The card is found by its printed labels (姓名, 性别, 民族, 出生, 住址, 公民身份号码 on the front;
签发机关, 有效期限 on the back). Which way up it lies comes from where two labels sit relative to each
other (姓名 above 公民身份号码, 签发机关 above 有效期限), so a photo turned by 90, 180 or 270 degrees
is read in the card's own frame. Lines are then grouped into rows, each row's text is read left to
right, and each field is the text after its label up to the next label; the address is its first row
and the rows below it up to the number's. A field's box is the part of its lines' boxes its
characters take, given back in the picture's own pixels.

Everything a field holds is personal data: nothing here logs.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import unicodedata

from ocrfarm.idcard import number as id_number

FRONT = ("name", "sex", "ethnicity", "birth_date", "address", "number")
BACK = ("issuing_authority", "validity_period")
LABELS = {
    "name": "姓名",
    "sex": "性别",
    "ethnicity": "民族",
    "birth_date": "出生",
    "address": "住址",
    "number": "公民身份号码",
    "issuing_authority": "签发机关",
    "validity_period": "有效期限",
}
# The back's title: marks the side even when its two fields are unreadable.
BACK_TITLE = ("中华人民共和国", "居民身份证")
# The 56 recognised ethnic groups, as the card prints them (without 族).
ETHNIC_GROUPS = frozenset(
    [
        "汉",
        "蒙古",
        "回",
        "藏",
        "维吾尔",
        "苗",
        "彝",
        "壮",
        "布依",
        "朝鲜",
        "满",
        "侗",
        "瑶",
        "白",
        "土家",
        "哈尼",
        "哈萨克",
        "傣",
        "黎",
        "傈僳",
        "佤",
        "畲",
        "高山",
        "拉祜",
        "水",
        "东乡",
        "纳西",
        "景颇",
        "柯尔克孜",
        "土",
        "达斡尔",
        "仫佬",
        "羌",
        "布朗",
        "撒拉",
        "毛南",
        "仡佬",
        "锡伯",
        "阿昌",
        "普米",
        "塔吉克",
        "怒",
        "乌孜别克",
        "俄罗斯",
        "鄂温克",
        "德昂",
        "保安",
        "裕固",
        "京",
        "塔塔尔",
        "独龙",
        "鄂伦春",
        "赫哲",
        "门巴",
        "珞巴",
        "基诺",
    ]
)
# Characters the recogniser puts between a label and its value, or reads off the card's pattern.
NOISE = re.compile(r"[\s:：,，。·‧•'\"`|_~]+")
BIRTH = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
DATE = r"(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})"
VALIDITY = re.compile(DATE + r"[-—–~至]+(?:" + DATE + r"|(长期))")


def _clean(text: str) -> str:
    # NFKC: full-width digits and letters (the recogniser gives some) as ASCII, U+3000 as a space.
    return NOISE.sub("", unicodedata.normalize("NFKC", text))


class NotAnIdCard(Exception):
    """No side of a card could be made out. `missing` names the fields not found."""

    def __init__(self, found: list[str], missing: list[str]):
        self.found = found
        self.missing = missing
        super().__init__(
            "not an identity card (or too unclear to read): fields not found: "
            + ", ".join(missing)
            + (f"; found only: {', '.join(found)}" if found else "")
        )


@dataclasses.dataclass
class _Line:
    text: str
    confidence: float
    quad: list[list[float]]  # in the card's upright frame

    @property
    def top(self) -> float:
        return min(p[1] for p in self.quad)

    @property
    def bottom(self) -> float:
        return max(p[1] for p in self.quad)

    @property
    def left(self) -> float:
        return min(p[0] for p in self.quad)

    @property
    def right(self) -> float:
        return max(p[0] for p in self.quad)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclasses.dataclass
class _Row:
    """Lines side by side, read left to right as one text; `spans` maps characters to lines."""

    lines: list[_Line]
    text: str = ""
    spans: list[tuple[int, int, _Line]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines.sort(key=lambda line: line.left)
        for line in self.lines:
            clean = _clean(line.text)
            self.spans.append((len(self.text), len(self.text) + len(clean), line))
            self.text += clean

    @property
    def top(self) -> float:
        return min(line.top for line in self.lines)

    @property
    def left(self) -> float:
        return min(line.left for line in self.lines)

    def part(self, start: int, end: int) -> dict:
        """Text, confidence and (upright) box of the characters start:end of this row."""
        pieces, confidence = [], 1.0
        for a, b, line in self.spans:
            lo, hi = max(a, start), min(b, end)
            if lo >= hi:
                continue
            confidence = min(confidence, line.confidence)
            pieces.append(_sub_quad(line.quad, (lo - a) / (b - a), (hi - a) / (b - a)))
        if not pieces:
            return {"text": "", "confidence": 0.0, "quad": None}
        quad = [pieces[0][0], pieces[-1][1], pieces[-1][2], pieces[0][3]]
        return {"text": self.text[start:end], "confidence": confidence, "quad": quad}


def _sub_quad(quad, a: float, b: float) -> list[list[float]]:
    """The part of a line's quad from fraction a to b of its length (characters taken as equal)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = quad

    def along(p, q, t):
        return [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t]

    top_a, top_b = along((x0, y0), (x1, y1), a), along((x0, y0), (x1, y1), b)
    bot_a, bot_b = along((x3, y3), (x2, y2), a), along((x3, y3), (x2, y2), b)
    return [top_a, top_b, bot_b, bot_a]


# ---- which way up ------------------------------------------------------------------------------


def _turn(lines: list[dict]) -> int | None:
    """How far the card is turned clockwise in the picture (0, 90, 180, 270); None when it cannot
    be told. The lines' long sides say whether the card lies across or upright in the picture; two
    labels that lie one above the other on the card say which of the two ways round."""
    across, upright, centres = 0, 0, {}
    for line in lines:
        text = _clean(line["text"])
        xs, ys = [p[0] for p in line["box"]], [p[1] for p in line["box"]]
        if len(text) >= 4:
            wide = max(xs) - min(xs) > max(ys) - min(ys)
            across, upright = across + wide, upright + (not wide)
        for label in ("姓名", "公民身份号码", "签发机关", "有效期限", "中华人民共和国"):
            if label in text and label not in centres:
                centres[label] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    if not across and not upright:
        return None
    for upper, lower in (("姓名", "公民身份号码"), ("签发机关", "有效期限"), ("中华人民共和国", "有效期限")):
        if upper in centres and lower in centres:
            # Only the offset across the lines counts: a label read together with its value has its
            # centre further along the line.
            if across >= upright:
                return 0 if centres[lower][1] > centres[upper][1] else 180
            # The card's "down" points to the picture's left when it was turned clockwise.
            return 90 if centres[lower][0] < centres[upper][0] else 270
    return None


def _to_upright(point, turn: int, width: float, height: float) -> list[float]:
    x, y = point
    if turn == 90:  # the card was turned clockwise: its top is at the picture's right
        return [y, width - x]
    if turn == 180:
        return [width - x, height - y]
    if turn == 270:
        return [height - y, x]
    return [x, y]


def _from_upright(point, turn: int, width: float, height: float) -> list[float]:
    x, y = point
    if turn == 90:
        return [width - y, x]
    if turn == 180:
        return [width - x, height - y]
    if turn == 270:
        return [y, height - x]
    return [x, y]


def to_picture(box, turn: int, width: float, height: float) -> list[list[float]]:
    """A box in the card's upright frame as the picture (width x height) has it."""
    return _clockwise([_from_upright(p, turn, width, height) for p in box])


def _clockwise(quad: list[list[float]]) -> list[list[float]]:
    """Four corners clockwise from the top left (the order the API's boxes have)."""
    cx = sum(p[0] for p in quad) / 4
    cy = sum(p[1] for p in quad) / 4
    ordered = sorted(quad, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    start = min(range(4), key=lambda i: ordered[i][0] + ordered[i][1])
    return [[round(v, 1) for v in p] for p in ordered[start:] + ordered[:start]]


def _tilt(lines: list[_Line]) -> float:
    """The card's slope in the upright frame, in degrees: the median slope of the long side of its
    lines of four characters or more (0 when there are none)."""
    slopes = []
    for line in lines:
        if len(line.text.strip()) < 4:
            continue
        q = line.quad
        edges = [(q[i], q[(i + 1) % 4]) for i in range(4)]
        (x0, y0), (x1, y1) = max(edges, key=lambda e: math.dist(e[0], e[1]))
        angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
        angle = (angle + 90) % 180 - 90  # a line's direction, either way along it
        if abs(angle) < 30:
            slopes.append(angle)
    if not slopes:
        return 0.0
    slopes.sort()
    median = slopes[len(slopes) // 2]
    return median if abs(median) >= 1.0 else 0.0


def _rotate(quad, degrees: float, cx: float, cy: float) -> list[list[float]]:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return [[cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c] for x, y in quad]


# ---- rows and fields ---------------------------------------------------------------------------


def _rows(lines: list[_Line]) -> list[_Row]:
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda line: line.middle):
        for row in rows:
            ref = row[0]
            overlap = min(line.bottom, ref.bottom) - max(line.top, ref.top)
            if overlap > 0.5 * max(min(line.height, ref.height), 1.0):
                row.append(line)
                break
        else:
            rows.append([line])
    return [_Row(row) for row in rows]


def _after(rows: list[_Row], label: str, stops: tuple[str, ...] = ()):
    """(row, start, end) of the text after `label` up to the first of `stops`, or None."""
    for row in rows:
        at = row.text.find(label)
        if at < 0:
            continue
        start = at + len(label)
        end = len(row.text)
        # A label read on its own with a stray character or two after it (a wide gap drawn between
        # its characters reads as one, "姓名藍"), and its value as the next line: the value starts there.
        for a, b, _line in row.spans:
            if a <= at < b and 0 < b - start <= 2 and b < len(row.text):
                start = b

        for stop in stops:
            found = row.text.find(stop, start)
            if found >= 0:
                end = min(end, found)
        return row, start, end
    return None


def _field(row: _Row, start: int, end: int, **extra) -> dict | None:
    part = row.part(start, end)
    if not part["text"]:
        return None
    return {**part, **extra}


def _front(rows: list[_Row]) -> dict[str, dict]:
    fields: dict[str, dict] = {}
    found = _after(rows, "姓名")
    if found:
        fields["name"] = _field(*found)
    # The sex and the ethnicity share a row; the recogniser may lose the 性 (seed 000 read "别男民族汉").
    for row in rows:
        if "民族" in row.text or "性别" in row.text:
            stop = row.text.find("民族")
            head = row.text[: stop if stop >= 0 else len(row.text)]
            sex = re.search("[男女]", head)
            if sex:
                fields["sex"] = _field(row, sex.start(), sex.end())
            if stop >= 0:
                start = stop + 2
                # The value is one of the 56 groups' names: a stray character read in the gap after
                # the label ("民族豪蒙古") is left out when what follows it is a name.
                value = row.text[start:]
                if value not in ETHNIC_GROUPS:
                    known = [g for g in ETHNIC_GROUPS if value.endswith(g) or value.startswith(g)]
                    if known:
                        group = max(known, key=len)
                        start = start + len(value) - len(group) if value.endswith(group) else start
                        value = group
                fields["ethnicity"] = _field(row, start, start + len(value))
            break
    for row in rows:
        birth = BIRTH.search(row.text)
        if birth:
            year, month, day = (int(g) for g in birth.groups())
            try:
                value = datetime.date(year, month, day).isoformat()
            except ValueError:
                value = None
            fields["birth_date"] = _field(row, birth.start(), birth.end(), value=value)
            break
    fields["number"] = _number(rows)
    fields["address"] = _address(rows)
    return {name: field for name, field in fields.items() if field}


def _number(rows: list[_Row]) -> dict | None:
    # After its label if that row has it, else any row with 18 characters that may be a number.
    labelled = [row for row in rows if "号码" in row.text]
    for row in labelled + [row for row in rows if row not in labelled]:
        start = row.text.find("号码") + 2 if row in labelled else 0
        raw = id_number.find(row.text[start:])
        if raw is None:
            continue
        at = row.text.find(raw, start)
        reading = id_number.read(raw)
        field = _field(row, at, at + len(raw))
        field["text"] = reading.number
        field["_reading"] = reading
        return field
    return None


def _address(rows: list[_Row]) -> dict | None:
    found = _after(rows, "住址")
    if not found:
        return None
    row, start, end = found
    parts = [row.part(start, end)] if end > start else []
    # Its continuation rows: below it, starting right of the label, until the number's row.
    column = row.spans[0][2].right if row.text.startswith("住址") and len(row.spans) > 1 else row.left
    for below in rows[rows.index(row) + 1 :]:
        if "号码" in below.text or id_number.find(below.text):
            break
        if below.left < column - 0.5 * below.lines[0].height or not below.text:
            break
        parts.append(below.part(0, len(below.text)))
        if len(parts) >= 4:
            break
    parts = [part for part in parts if part["text"]]
    if not parts:
        return None
    quad_points = [p for part in parts for p in part["quad"]]
    return {
        "text": "".join(part["text"] for part in parts),
        "confidence": min(part["confidence"] for part in parts),
        "quad": _bounding(quad_points),
        "lines": [part["text"] for part in parts],
    }


def _bounding(points) -> list[list[float]]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [[min(xs), min(ys)], [max(xs), min(ys)], [max(xs), max(ys)], [min(xs), max(ys)]]


def _back(rows: list[_Row]) -> dict[str, dict]:
    fields: dict[str, dict] = {}
    found = _after(rows, "机关")
    if found and found[2] > found[1]:
        fields["issuing_authority"] = _field(*found)
    for row in rows:
        validity = VALIDITY.search(row.text)
        if validity:
            g = validity.groups()
            try:
                start = datetime.date(int(g[0]), int(g[1]), int(g[2])).isoformat()
                until = None if g[6] else datetime.date(int(g[3]), int(g[4]), int(g[5])).isoformat()
                value = {"from": start, "until": until, "long_term": bool(g[6])}
            except ValueError:
                value = None
            fields["validity_period"] = _field(row, validity.start(), validity.end(), value=value)
            break
    return {name: field for name, field in fields.items() if field}


# ---- the card ----------------------------------------------------------------------------------


def extract(lines: list[dict], width: int, height: int) -> dict:
    """The card in `lines` (each {"text", "confidence", "box"}, as a result has them) of a picture
    `width` x `height`. Raises NotAnIdCard when neither side can be made out (fewer than half of a
    side's fields found, or none at all)."""
    turn = _turn(lines) or 0
    upright = [
        _Line(
            line["text"],
            float(line["confidence"]),
            [_to_upright(p, turn, width, height) for p in line["box"]],
        )
        for line in lines
    ]
    tilt = _tilt(upright)
    if tilt:
        # Rows are found level: a card photographed a little askew has its rows slope.
        for line in upright:
            line.quad = _rotate(line.quad, -tilt, width / 2, height / 2)
    rows = _rows(upright)
    front, back = _front(rows), _back(rows)
    back_title = any(title in row.text for row in rows for title in BACK_TITLE)
    side = "back" if len(back) * 3 > len(front) or (back_title and not front) else "front"
    names, found = (FRONT, front) if side == "front" else (BACK, back)
    missing = [name for name in names if name not in found]
    if len(found) * 2 < len(names) or not found:
        raise NotAnIdCard([name for name in names if name in found], missing)
    for field in found.values():
        if tilt and field.get("quad"):
            field["quad"] = _rotate(field["quad"], tilt, width / 2, height / 2)
    card = {"side": side, "turned": turn, "fields": {}, "missing": missing}
    for name in names:
        if name not in found:
            continue
        field = found[name]
        out = {
            "text": field["text"],
            "confidence": round(field["confidence"], 4),
            "box": to_picture(field["quad"], turn, width, height),
        }
        for key in ("value", "lines"):
            if key in field:
                out[key] = field[key]
        card["fields"][name] = out
    if side == "front":
        card.update(_number_checks(found))
    else:
        card.update(checks={}, corrections=[])
    return card


def _number_checks(found: dict) -> dict:
    if "number" not in found:
        return {"checks": {}, "corrections": []}
    reading: id_number.Reading = found["number"]["_reading"]
    birth = found.get("birth_date", {}).get("value")
    sex = found.get("sex", {}).get("text")
    checks = reading.checks(datetime.date.fromisoformat(birth) if birth else None, sex)
    corrections = (
        [
            {
                "field": "number",
                "read": reading.read,
                "corrected": reading.number,
                "reason": "check character holds",
            }
        ]
        if reading.corrected
        else []
    )
    return {"checks": checks, "corrections": corrections}
