"""Reading order, blocks and text (ocrfarm/layout.py) on lines whose boxes are laid out by hand, as
a detector would give them: columns, receipts, labels, skewed and turned pages."""

from __future__ import annotations

import math

import pytest

from ocrfarm import layout

LINE_HEIGHT = 24
PITCH = 36


def line(text: str, x: float, y: float, width: float | None = None, height: float = LINE_HEIGHT) -> dict:
    width = len(text) * 11 if width is None else width
    box = [[x, y], [x + width, y], [x + width, y + height], [x, y + height]]
    return {"text": text, "confidence": 0.9, "box": box}


def column(texts: list[str], x: float, y: float, width: float | None = None) -> list[dict]:
    return [line(text, x, y + n * PITCH, width) for n, text in enumerate(texts)]


def texts(result: dict) -> list[str]:
    return [item["text"] for item in result["lines"]]


LEFT = [f"left column line {n} of the first article, set in a narrow measure" for n in range(8)]
RIGHT = [f"right column line {n} of the second article, in the same measure" for n in range(8)]


def two_columns(title: bool = True, footer: bool = True) -> tuple[list[dict], list[str]]:
    """A page of two columns 500 px wide, 60 px apart, a title over both and a footer under both;
    returned in the order a detector sorting top to bottom gives (row by row across the gutter)."""
    lines = []
    expected = []
    if title:
        lines.append(line("The title of the page, across both columns", 100, 60, width=1000))
        expected.append(lines[-1]["text"])
    lines += column(LEFT, 100, 140, width=500) + column(RIGHT, 660, 140, width=500)
    expected += LEFT + RIGHT
    if footer:
        lines.append(line("Page 3", 590, 140 + 9 * PITCH + 60, width=80))
        expected.append("Page 3")
    lines.sort(key=lambda item: (item["box"][0][1], item["box"][0][0]))
    return lines, expected


@pytest.mark.parametrize("title, footer", [(False, False), (True, False), (True, True)])
def test_columns_are_read_one_after_the_other(title, footer):
    lines, expected = two_columns(title, footer)
    result = layout.arrange(lines, 1240, 1754)
    assert texts(result) == expected
    assert len(result["lines"]) == len(lines)


def test_paragraph_gaps_at_the_same_height_in_both_columns_do_not_cut_the_columns():
    lines = column(LEFT[:4], 100, 100, 500) + column(LEFT[4:], 100, 100 + 5 * PITCH, 500)
    lines += column(RIGHT[:4], 660, 100, 500) + column(RIGHT[4:], 660, 100 + 5 * PITCH, 500)
    lines.sort(key=lambda item: (item["box"][0][1], item["box"][0][0]))
    result = layout.arrange(lines, 1240, 1754)
    assert texts(result) == LEFT + RIGHT
    assert [len(block["lines"]) for block in result["blocks"]] == [4, 4, 4, 4]


def test_a_footer_under_one_column_is_read_last():
    lines = column(LEFT, 100, 100, 500) + column(RIGHT, 660, 100, 500)
    lines.append(line("Printed on recycled paper.", 100, 100 + 8 * PITCH + 100, 300))
    result = layout.arrange(lines, 1240, 1754)
    assert texts(result) == LEFT + RIGHT + ["Printed on recycled paper."]


def test_a_longer_left_column_is_not_cut_at_the_bottom_of_the_right_one():
    lines = column(LEFT, 100, 100, 500) + column(RIGHT[:3], 660, 100, 500)
    result = layout.arrange(lines, 1240, 1754)
    assert texts(result) == LEFT + RIGHT[:3]


def test_receipt_rows_stay_rows_with_item_and_price_together():
    items = ["Milk 1L", "Bread wholemeal", "Eggs 10 pack", "Coffee beans 500g", "TOTAL"]
    prices = ["1.19", "2.45", "3.10", "6.99", "13.73"]
    lines = []
    for n, (item, price) in enumerate(zip(items, prices, strict=True)):
        lines.append(line(item, 30, 100 + n * PITCH))
        lines.append(line(price, 400, 100 + n * PITCH))
    result = layout.arrange(lines, 480, 400)
    assert texts(result) == [text for pair in zip(items, prices, strict=True) for text in pair]
    assert result["text"].splitlines() == [f"{i} {p}" for i, p in zip(items, prices, strict=True)]


def test_a_table_of_figures_is_read_row_by_row():
    rows = [("Paid-up capital", "147,500.00", "100,000.00"), ("Reserves", "231,760.16", "228,940.46")]
    rows += [(f"Item {n}", f"{n},000.00", f"{n},500.00") for n in range(1, 6)]
    lines = []
    for n, cells in enumerate(rows):
        for x, cell in zip((30, 500, 800), cells, strict=True):
            lines.append(line(cell, x, 100 + n * PITCH))
    result = layout.arrange(lines, 1000, 500)
    assert texts(result) == [cell for cells in rows for cell in cells]


def test_scattered_labels_keep_the_order_top_to_bottom_left_to_right():
    lines = [
        line("SALE", 400, 40, height=60),
        line("Fresh", 60, 200),
        line("Organic", 700, 210),
        line("$3.99 / kg", 380, 420, height=40),
        line("Origin: Spain", 40, 600),
    ]
    result = layout.arrange(lines, 900, 700)
    assert texts(result) == ["SALE", "Fresh", "Organic", "$3.99 / kg", "Origin: Spain"]


def test_wrapped_latin_rows_join_with_a_space_and_short_rows_stay_lines():
    paragraph = [
        "The committee met on Tuesday to review the budget for the coming",
        "year and the new office lease, and agreed that the heating costs",
        "must be checked first.",
    ]
    address = ["Ms Laura Hughes", "12 Willow Lane, Flat 3", "Leeds LS1 1AB"]
    lines = column(paragraph, 100, 100) + column(address, 100, 100 + 5 * PITCH)
    # The wrapped rows reach the paragraph's right edge; the last row does not.
    lines[0]["box"] = line(paragraph[0], 100, 100, 700)["box"]
    lines[1]["box"] = line(paragraph[1], 100, 100 + PITCH, 700)["box"]
    result = layout.arrange(lines, 900, 600)
    assert [block["text"] for block in result["blocks"]] == [" ".join(paragraph), "\n".join(address)]
    assert result["text"] == " ".join(paragraph) + "\n\n" + "\n".join(address)


def test_chinese_rows_join_with_nothing_and_a_hyphen_is_kept():
    chinese = ["本公司将于下个月起调整营业时间，请各位顾客留", "意。会议定于星期三上午九点举行。"]
    lines = [line(chinese[0], 100, 100, 700), line(chinese[1], 100, 100 + PITCH, 400)]
    assert layout.arrange(lines, 900, 400)["text"] == "".join(chinese)
    assert layout.join_wrapped("a well-", "known answer") == "a well-known answer"
    assert layout.join_wrapped("the docu-", "ment") == "the docu-ment"
    assert layout.join_wrapped("costs -", "and more") == "costs - and more"
    assert layout.join_wrapped("Total", "12.50") == "Total 12.50"


def _turned(lines: list[dict], degrees: float, centre: tuple[float, float]) -> list[dict]:
    """The lines as on the page skewed by `degrees` counterclockwise about `centre`."""
    a = math.radians(degrees)

    def turn(x, y):
        dx, dy = x - centre[0], y - centre[1]
        return [
            centre[0] + dx * math.cos(a) + dy * math.sin(a),
            centre[1] - dx * math.sin(a) + dy * math.cos(a),
        ]

    return [{**item, "box": [turn(x, y) for x, y in item["box"]]} for item in lines]


@pytest.mark.parametrize("degrees", [-3.0, 2.0, 4.0])
def test_a_skewed_page_is_read_as_the_straight_one(degrees):
    lines, expected = two_columns()
    straight = layout.arrange(lines, 1240, 1754)
    skewed = _turned(lines, degrees, (620, 877))
    # At this skew the title rises or falls more than a line height from end to end.
    assert abs(skewed[0]["box"][1][1] - skewed[0]["box"][0][1]) > LINE_HEIGHT
    result = layout.arrange(sorted(skewed, key=lambda item: min(y for _, y in item["box"])), 1240, 1754)
    assert texts(result) == expected
    assert [b["text"] for b in result["blocks"]] == [b["text"] for b in straight["blocks"]]


def _as_sent(lines: list[dict], rotation: int, width: int, height: int) -> list[dict]:
    """The lines of an upright page (width x height as read) in the page as scanned, which turned
    clockwise by `rotation` is upright again."""
    sent_w, sent_h = (height, width) if rotation in (90, 270) else (width, height)
    return [
        {**item, "box": [list(layout.from_upright(p, rotation, sent_w, sent_h)) for p in item["box"]]}
        for item in lines
    ]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_a_turned_page_is_ordered_upright_and_its_boxes_stay_in_the_page_as_sent(rotation):
    lines, expected = two_columns()
    sent = _as_sent(lines, rotation, 1240, 1754)
    sent_w, sent_h = (1754, 1240) if rotation in (90, 270) else (1240, 1754)
    result = layout.arrange(sent[::-1], sent_w, sent_h, rotation)
    assert texts(result) == expected
    # The lines are the very objects given, boxes untouched; blocks are boxes in the page as sent.
    by_text = {item["text"]: item for item in sent}
    assert all(item is by_text[item["text"]] for item in result["lines"])
    for block in result["blocks"]:
        xs = [x for x, _ in block["box"]]
        ys = [y for _, y in block["box"]]
        assert min(xs) >= 0 and max(xs) <= sent_w and min(ys) >= 0 and max(ys) <= sent_h
        for member in block["lines"]:
            for x, y in member["box"]:
                assert min(xs) - 1 <= x <= max(xs) + 1 and min(ys) - 1 <= y <= max(ys) + 1


def test_frames_round_trip():
    for rotation in (0, 90, 180, 270):
        for point in ((0, 0), (10, 20), (300, 5)):
            up = layout.to_upright(point, rotation, 400, 300)
            assert layout.from_upright(up, rotation, 400, 300) == pytest.approx(point)


def test_no_lines_no_blocks():
    assert layout.arrange([], 100, 100) == {"lines": [], "blocks": [], "text": ""}
