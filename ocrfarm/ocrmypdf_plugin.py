"""An OCRmyPDF 17 OCR-engine plugin whose text comes from the farm (issue 12).

OCRmyPDF does the PDF work: it keeps a PDF's pages as they are, turns images into pages, rasterises
each page for OCR, and lays an invisible text layer on it with its fpdf2 renderer and glyphless font
(which spaces CJK text too), optionally as PDF/A. This plugin only answers `generate_ocr()` for a
page: an OcrElement tree of lines and words with boxes in the pixels of the image OCRmyPDF gave it.

Two ways to get the farm's lines:
- `--farm-result FILE`: the farm's own result record (JSON) for the document, already read by a
  farm job. The front and the drop folder use this (ocrfarm/searchable.py): the OCR ran as a farm
  job on a worker's loaded models, and OCRmyPDF only assembles the PDF.
- `--farm-url URL`: for people who already use OCRmyPDF, `ocrmypdf --plugin ocrfarm.ocrmypdf_plugin
  --farm-url http://ocr.lan:8080 in.pdf out.pdf` sends each page image to that farm as a job
  (POST /v1/ocr, then GET its URL until it ends) and waits for its result.

Boxes are scaled from the page the farm read (its `width` x `height`) to OCRmyPDF's image, so the
farm's rendering DPI and OCRmyPDF's need not agree.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import time
import unicodedata
from pathlib import Path

from ocrmypdf import hookimpl
from ocrmypdf.exceptions import BadArgsError, ExitCode, ExitCodeException
from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence
from PIL import Image

log = logging.getLogger(__name__)

# How long the URL mode waits for one page's job before giving up on the document.
PAGE_WAIT_S = 600.0


class FarmError(ExitCodeException):
    """The farm refused a page or its job failed."""

    exit_code = ExitCode.child_process_error


@hookimpl
def add_options(parser):
    farm = parser.add_argument_group("ocrfarm", "Text from an ocrfarm farm")
    farm.add_argument("--farm-url", help="read each page with the farm at this URL (http://host:port)")
    farm.add_argument("--farm-token", help="the farm's API token (OCRFARM_API_TOKEN), if it has one")
    farm.add_argument("--farm-model", help="one of the farm's loaded model sets; its default otherwise")
    farm.add_argument("--farm-result", help="a farm result (JSON) for this document: no OCR is run")


@hookimpl
def check_options(options):
    url, result = _option(options, "farm_url"), _option(options, "farm_result")
    if bool(url) == bool(result):
        raise BadArgsError("the ocrfarm plugin needs exactly one of --farm-url and --farm-result")


@hookimpl
def get_ocr_engine(options):
    # Loaded with --plugin, this engine is the one OCRmyPDF's "auto" picks (plugins loaded later are
    # asked first); it stands aside if another engine is named.
    if options is not None and getattr(options, "ocr_engine", "auto") not in ("auto", "ocrfarm"):
        return None
    return FarmOcrEngine()


def _option(options, name: str):
    try:
        return getattr(options, name)
    except AttributeError:
        return None


class FarmOcrEngine(OcrEngine):
    @staticmethod
    def version() -> str:
        try:
            return importlib.metadata.version("ocrfarm")
        except importlib.metadata.PackageNotFoundError:
            return "from a checkout"

    @staticmethod
    def creator_tag(options) -> str:
        return f"ocrfarm {FarmOcrEngine.version()}"

    def __str__(self) -> str:
        return f"ocrfarm {self.version()}"

    @staticmethod
    def languages(options) -> set[str]:
        # The farm's model sets read what they read; OCRmyPDF's -l has no say (an empty set skips
        # its language check).
        return set()

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)

    @staticmethod
    def get_deskew(input_file: Path, options) -> float:
        return 0.0

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(input_file: Path, options, page_number: int = 0) -> tuple[OcrElement, str]:
        with Image.open(input_file) as image:
            width, height = image.size
            dpi = image.info.get("dpi", (300, 300))[0]
        result_file = _option(options, "farm_result")
        if result_file:
            page = _page_of(_load(result_file), page_number)
        else:
            page = _read_over_http(input_file, options)
        tree = page_tree(page, width, height, float(dpi), page_number)
        return tree, "\n".join(line["text"] for line in _ocr_lines(page))

    @staticmethod
    def generate_hocr(input_file, output_hocr, output_text, options) -> None:
        raise NotImplementedError("the ocrfarm engine answers generate_ocr() (OCRmyPDF's fpdf2 renderer)")

    @staticmethod
    def generate_pdf(input_file, output_pdf, output_text, options) -> None:
        raise NotImplementedError("the ocrfarm engine answers generate_ocr() (OCRmyPDF's fpdf2 renderer)")


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _page_of(result: dict, page_number: int) -> dict:
    pages = result.get("pages") or []
    if not 0 <= page_number < len(pages):
        raise FarmError(
            f"the farm's result has {len(pages)} pages; OCRmyPDF asked for page {page_number + 1}"
        )
    return pages[page_number]


def _ocr_lines(page: dict) -> list[dict]:
    # A page read from the PDF's own text layer keeps that layer; nothing is laid over it.
    return [] if page.get("source") == "text_layer" else page.get("lines", [])


# ---- the OcrElement tree ----------------------------------------------------------------------------


def page_tree(page: dict, width: int, height: int, dpi: float, page_number: int) -> OcrElement:
    """The farm's page (lines with four-corner boxes, in pixels of a `page["width"]` x
    `page["height"]` image) as OCRmyPDF's tree for an image of `width` x `height`."""
    sx = width / page["width"] if page.get("width") else 1.0
    sy = height / page["height"] if page.get("height") else 1.0
    lines = _ocr_lines(page)
    # Paragraphs from the result's blocks when it has them (each naming its lines by index, or
    # holding them); else one paragraph of every line, as the lines come in reading order.
    blocks = (page.get("blocks") if page.get("source") != "text_layer" else None) or [
        {"lines": list(range(len(lines)))}
    ]
    paragraphs = []
    for block in blocks:
        members = []
        for ref in block.get("lines", []):
            line = (
                ref
                if isinstance(ref, dict)
                else lines[ref]
                if isinstance(ref, int) and 0 <= ref < len(lines)
                else None
            )
            element = _line_element(line, sx, sy, width, height) if line else None
            if element is not None:
                members.append(element)
        if members:
            paragraphs.append(
                OcrElement(
                    ocr_class=OcrClass.PARAGRAPH, bbox=_union([m.bbox for m in members]), children=members
                )
            )
    return OcrElement(
        ocr_class=OcrClass.PAGE,
        bbox=BoundingBox(0, 0, width, height),
        dpi=dpi,
        page_number=page_number,
        children=paragraphs,
    )


def _line_element(line: dict, sx: float, sy: float, width: int, height: int) -> OcrElement | None:
    bbox = _bbox(line["box"], sx, sy, width, height)
    if bbox is None or not line["text"].strip():
        return None
    return OcrElement(
        ocr_class=OcrClass.LINE,
        bbox=bbox,
        confidence=line.get("confidence"),
        children=_words(line["text"], bbox, line.get("confidence")),
    )


def _bbox(box, sx: float, sy: float, width: int, height: int) -> BoundingBox | None:
    xs = [min(max(point[0] * sx, 0), width) for point in box]
    ys = [min(max(point[1] * sy, 0), height) for point in box]
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    if right - left < 1 or bottom - top < 1:
        return None
    return BoundingBox(left, top, right, bottom)


def _union(boxes: list[BoundingBox]) -> BoundingBox:
    return BoundingBox(
        min(b.left for b in boxes),
        min(b.top for b in boxes),
        max(b.right for b in boxes),
        max(b.bottom for b in boxes),
    )


def split_words(text: str) -> list[str]:
    """Words as a text layer wants them: runs between spaces, and each CJK character on its own
    (CJK has no spaces; one character a word lets a search land on the right character)."""
    words, current = [], ""
    for char in text:
        if char.isspace():
            if current:
                words.append(current)
            current = ""
        elif is_cjk(char):
            if current:
                words.append(current)
            words.append(char)
            current = ""
        else:
            current += char
    if current:
        words.append(current)
    return words


def is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH", "IDEOGRAPHIC"))


def _words(text: str, line: BoundingBox, confidence) -> list[OcrElement]:
    """The line's words, each given a share of the line's width in proportion to its characters
    (a space counts as one): the farm reads lines, not words, and this puts each word close to
    where it is printed."""
    words = split_words(text)
    if not words:
        return []
    weights = [_width_of(word) for word in words]
    gaps = [0.0 if is_cjk(a[-1]) and is_cjk(b[0]) else 1.0 for a, b in zip(words, words[1:], strict=False)]
    unit = line.width / (sum(weights) + sum(gaps))
    out, x = [], line.left
    for index, (word, weight) in enumerate(zip(words, weights, strict=True)):
        right = min(line.right, x + weight * unit)
        out.append(
            OcrElement(
                ocr_class=OcrClass.WORD,
                bbox=BoundingBox(x, line.top, max(right, x), line.bottom),
                text=word,
                confidence=confidence,
            )
        )
        x = right + (gaps[index] * unit if index < len(gaps) else 0)
    return out


def _width_of(word: str) -> float:
    # A CJK character is about twice as wide as a Latin one.
    return sum(2.0 if is_cjk(char) else 1.0 for char in word)


# ---- standalone: pages read by a farm over HTTP ------------------------------------------------------


def _read_over_http(input_file: Path, options) -> dict:
    import requests

    url = _option(options, "farm_url").rstrip("/")
    headers = {}
    token = _option(options, "farm_token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    fields = {}
    model = _option(options, "farm_model")
    if model:
        fields["model"] = model
    deadline = time.monotonic() + PAGE_WAIT_S
    with open(input_file, "rb") as f:
        answer = requests.post(
            f"{url}/v1/ocr",
            files={"file": (Path(input_file).name, f)},
            data=fields,
            headers=headers,
            timeout=120,
        )
    while answer.status_code in (202, 503):
        if time.monotonic() > deadline:
            raise FarmError(f"the farm at {url} did not finish a page within {PAGE_WAIT_S:g} s")
        time.sleep(float(answer.headers.get("Retry-After", "1")))
        if answer.status_code == 503:  # the farm is full: send the page again
            with open(input_file, "rb") as f:
                answer = requests.post(
                    f"{url}/v1/ocr",
                    files={"file": (Path(input_file).name, f)},
                    data=fields,
                    headers=headers,
                    timeout=120,
                )
        else:
            answer = requests.get(url + answer.json()["url"], headers=headers, timeout=60)
            if answer.status_code == 200 and answer.json().get("status") != "done":
                answer.status_code = 202
    if answer.status_code != 200:
        try:
            reason = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            reason = answer.text[:200]
        raise FarmError(f"the farm at {url} answered {answer.status_code}: {reason}")
    return answer.json()["pages"][0]
