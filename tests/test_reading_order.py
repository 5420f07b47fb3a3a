"""Pages the test draws, read by the real engine as a worker reads them (engine, then workers/loop.py's
page_of: reading order, blocks, text): two columns under a title and over a footer, in Latin and
Chinese script, as sent upright, turned by 90, 180 and 270 degrees and skewed by a few degrees. The
expected text, its order, the page's turn and where each line is on the page are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.scoring import cer
from ocrfarm.settings import Settings
from workers.__main__ import build_engine
from workers.loop import page_of

pytestmark = pytest.mark.engine

# Debian's fonts-dejavu-core and fonts-wqy-zenhei (scripts/system-packages).
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CJK = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
OPTIONS = {"min_confidence": 0.5}

LATIN = {
    "title": "Harbour News, Spring Issue",
    "left": [
        "The ferry to the islands leaves the",
        "north pier every hour from seven in",
        "the morning until late evening.",
        "Tickets are sold on board and at the",
        "kiosk beside the harbour office.",
    ],
    "right": [
        "The fish market opens on Saturday",
        "mornings and closes at noon. Stalls",
        "are let by the month at the office.",
        "Parking on the quay is reserved for",
        "delivery vans before nine o'clock.",
    ],
    "footer": "Printed on recycled paper, page 2",
}
CHINESE = {
    "title": "社区通讯",
    "left": ["本公司将于下个月起调整营业", "时间，请各位顾客留意。会议", "定于星期三上午九点举行。"],
    "right": ["图书馆在考试期间延长开放时", "间至晚上十点。请保持公共场", "所的清洁，不要乱扔垃圾。"],
    "footer": "如需更多信息，请致电服务台。",
}


def render(content: dict, font: str, size: int) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """The page upright (BGR) and the centre of each drawn line, by its text."""
    width, margin, gap = 1240, 80, 100
    column = (width - 2 * margin - gap) // 2
    step = int(size * 1.7)
    rows = max(len(content["left"]), len(content["right"]))
    height = margin * 2 + int(size * 2.5) + rows * step + int(size * 3.5)
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)
    face, heading = (
        ImageFont.truetype(font, size),
        ImageFont.truetype(BOLD if font == SANS else font, size + 12),
    )
    centres = {}

    def text(x, y, value, typeface):
        left, top, right, bottom = draw.textbbox((x, y), value, font=typeface)
        assert right <= width - margin + 1, f"{value!r} does not fit its column"
        draw.text((x, y), value, fill="black", font=typeface)
        centres[value] = ((left + right) / 2, (top + bottom) / 2)

    text(margin, margin, content["title"], heading)
    top = margin + int(size * 2.5)
    for x, lines in ((margin, content["left"]), (margin + column + gap, content["right"])):
        for n, value in enumerate(lines):
            assert draw.textlength(value, font=face) <= column, f"{value!r} is wider than its column"
            text(x, top + n * step, value, face)
    text(margin, top + rows * step + size * 1.5, content["footer"], face)
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR), centres


def as_sent(image: np.ndarray, turn: float) -> np.ndarray:
    """The page as scanned: `turn` of 90/180/270 is the clockwise turn that makes it upright again;
    any other value is a skew in degrees (counterclockwise) on the page's own size."""
    if turn == 90:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if turn == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if turn == 270:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), turn, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=(255, 255, 255))


def sent_point(point, turn: float, width: int, height: int) -> tuple[float, float]:
    """Where a point of the upright page (width x height) is in the page as sent."""
    x, y = point
    if turn == 90:  # sent turned a quarter counterclockwise
        return y, width - x
    if turn == 180:
        return width - x, height - y
    if turn == 270:
        return height - y, x
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), turn, 1.0)
    return tuple(matrix @ np.array([x, y, 1.0]))


_engines: dict[str, object] = {}


@pytest.fixture(scope="module", params=["ppocrv3", "ppocrv6"])
def engine(request):
    if request.param not in _engines:
        _engines[request.param] = build_engine(
            Settings.from_env({}, engine="onnx", models=request.param, threads=1)
        )
    return _engines[request.param]


def read(engine, image: np.ndarray) -> dict:
    reading = engine.read(image, angle_cls=True)
    height, width = image.shape[:2]
    return page_of(reading, width, height, OPTIONS)


def expected_order(content: dict) -> list[str]:
    return [content["title"], *content["left"], *content["right"], content["footer"]]


@pytest.mark.parametrize("turn", [0, 90, 180, 270, 3.0, -2.5])
@pytest.mark.parametrize("script", ["latin", "chinese"])
def test_a_page_in_columns_is_read_upright_in_reading_order(engine, script, turn):
    content, font, size = (LATIN, SANS, 24) if script == "latin" else (CHINESE, CJK, 30)
    upright, centres = render(content, font, size)
    image = as_sent(upright, turn)
    page = read(engine, image)
    expected = expected_order(content)
    # The whole text in reading order, as a user gets it: title, left column, right column, footer.
    whole = "".join(item["text"] for item in page["lines"])
    assert cer("".join(expected), whole) < 0.03, [item["text"] for item in page["lines"]]
    assert page["rotation"] == (turn if turn in (90, 180, 270) else 0)
    # Each line's box is where that line is on the page as sent (centres within half a line).
    height, width = upright.shape[:2]
    for item in page["lines"]:
        drawn = min(expected, key=lambda value: cer(value, item["text"]))
        x, y = sent_point(centres[drawn], turn, width, height)
        box = np.array(item["box"])
        assert np.hypot(*(box.mean(axis=0) - (x, y))) < size * 0.8, (item["text"], box.tolist(), (x, y))
        assert (
            (box >= 0).all() and (box[:, 0] <= image.shape[1]).all() and (box[:, 1] <= image.shape[0]).all()
        )
    # Blocks: the title, each column's paragraph, the footer; the text keeps them apart by a blank line.
    assert len(page["blocks"]) == 4, [block["text"] for block in page["blocks"]]
    paragraphs = page["text"].split("\n\n")
    joiner = " " if script == "latin" else ""
    for found, lines in zip(
        paragraphs, [[content["title"]], content["left"], content["right"]], strict=False
    ):
        assert cer(joiner.join(lines), found) < 0.05, (found, lines)


def test_a_skewed_page_reads_as_well_as_the_straight_one(engine):
    upright, _ = render(LATIN, SANS, 24)
    straight = read(engine, upright)
    for turn in (3.0, -3.0):
        skewed = read(engine, as_sent(upright, turn))
        reference = "".join(expected_order(LATIN))
        assert cer(reference, skewed["text"]) <= cer(reference, straight["text"]) + 0.01


def test_an_upright_page_of_one_column_keeps_its_order_and_is_not_turned(engine):
    lines = LATIN["left"] + LATIN["right"]
    page = Image.new("RGB", (700, 60 + 44 * len(lines)), "white")
    draw = ImageDraw.Draw(page)
    face = ImageFont.truetype(SANS, 24)
    for n, value in enumerate(lines):
        draw.text((40, 30 + 44 * n), value, fill="black", font=face)
    result = read(engine, cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR))
    assert result["rotation"] == 0
    assert all(cer(want, item["text"]) < 0.1 for want, item in zip(lines, result["lines"], strict=True))
