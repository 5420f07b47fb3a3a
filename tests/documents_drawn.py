"""Documents the searchable-PDF tests draw themselves, so the words and where they stand are known,
and the words a PDF text extractor (poppler's pdftotext, from scripts/system-packages) finds in a
PDF, with their boxes."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from html import unescape
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@dataclasses.dataclass(frozen=True)
class Word:
    page: int  # from 1
    text: str
    box: tuple[float, float, float, float]  # left, top, right, bottom, in pixels of the drawn page

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


@dataclasses.dataclass
class Drawn:
    image: Image.Image
    words: list[Word]
    lines: list[str]


def draw_page(lines: list[str], *, page: int = 1, font_path: str = LATIN_FONT, size: int = 40) -> Drawn:
    """`lines` drawn black on white, one under the other, each word's box noted."""
    font = ImageFont.truetype(font_path, size)
    margin = size
    width = max(int(font.getlength(line)) for line in lines) + 2 * margin
    height = len(lines) * size * 2 + margin
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    words = []
    for index, line in enumerate(lines):
        y = margin // 2 + index * size * 2
        draw.text((margin, y), line, fill="black", font=font)
        for match in re.finditer(r"\S+", line):
            left = margin + font.getlength(line[: match.start()])
            right = margin + font.getlength(line[: match.end()])
            _, top, _, bottom = draw.textbbox((margin, y), line, font=font)
            words.append(Word(page, match.group(), (left, top, right, bottom)))
    return Drawn(image, words, lines)


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def pdf_of(pages: list[Drawn], dpi: int = 150) -> bytes:
    """A scanned document: each drawn page an image at `dpi`."""
    images = [drawn.image for drawn in pages]
    return encode(images[0], "PDF", save_all=True, append_images=images[1:], resolution=dpi)


def pdf_words(pdf: bytes, tmp: Path, sizes: list[tuple[int, int]] | None = None) -> list[Word]:
    """Every word pdftotext finds, page by page; boxes in points, or in pixels of a page of
    `sizes[page - 1]` (width, height) when given."""
    path = tmp / "extract.pdf"
    path.write_bytes(pdf)
    xhtml = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    words = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", xhtml, re.S), start=1):
        page_w = float(re.search(r'width="([\d.]+)"', page).group(1))
        page_h = float(re.search(r'height="([\d.]+)"', page).group(1))
        sx = sizes[number - 1][0] / page_w if sizes else 1.0
        sy = sizes[number - 1][1] / page_h if sizes else 1.0
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page
        ):
            box = (float(x0) * sx, float(y0) * sy, float(x1) * sx, float(y1) * sy)
            words.append(Word(number, unescape(text), box))
    return words


def pdf_text(pdf: bytes, tmp: Path) -> list[str]:
    """pdftotext's plain text of each page."""
    path = tmp / "extract.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def assert_words_where_drawn(found: list[Word], drawn: list[Word], *, tolerance: float) -> None:
    """Every drawn word is found, on its page, with its centre within `tolerance` times the line's
    height of where it was drawn (case and a stray character aside: the OCR's reading)."""
    import difflib

    for word in drawn:
        height = word.box[3] - word.box[1]
        candidates = [
            w
            for w in found
            if w.page == word.page
            and difflib.SequenceMatcher(None, w.text.casefold(), word.text.casefold()).ratio() >= 0.75
        ]
        assert candidates, (
            f"{word.text!r} of page {word.page} is not in the PDF's text: {[w.text for w in found]}"
        )
        best = min(candidates, key=lambda w: _distance(w.centre, word.centre))
        dx, dy = (abs(a - b) for a, b in zip(best.centre, word.centre, strict=True))
        assert dx <= tolerance * height and dy <= tolerance * height / 2, (
            f"{word.text!r} found at {best.box}, drawn at {word.box} (off by {dx:.0f}, {dy:.0f} px)"
        )


def _distance(a, b) -> float:
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5
