"""A result as hOCR 1.2 (http://kba.github.io/hocr-spec/1.2/): the format tools that consume OCR
with positions read (OCRmyPDF's hocrtransform, hocr-tools, Tesseract's own output).

One `ocr_page` per page (bbox, image size, page number), `ocr_carea` and `ocr_par` per block when
the result has blocks (else one per page), `ocr_line` per line and `ocrx_word` per word, each with
its `bbox` in pixels of the page the farm read, and `x_wconf` (0-100) for words. The farm reads
lines; words are placed in the line's box in proportion to their characters, as in the searchable
PDF (ocrfarm/ocrmypdf_plugin.py, whose word splitting this shares).
"""

from __future__ import annotations

from html import escape

from ocrfarm.ocrmypdf_plugin import is_cjk, split_words

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title>{title}</title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
<meta name="ocr-system" content="ocrfarm"/>
<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word"/>
<meta name="ocr-number-of-pages" content="{pages}"/>
</head>
<body>
"""


def document(record: dict) -> str:
    """The whole result (a done record) as one hOCR document."""
    out = [
        HEADER.format(
            title=escape(record.get("filename") or record.get("id", "")), pages=len(record["pages"])
        )
    ]
    for page in record["pages"]:
        out.append(_page(page))
    out.append("</body>\n</html>\n")
    return "".join(out)


def _page(page: dict) -> str:
    number = page["page"]
    width, height = page["width"], page["height"]
    out = [
        f"<div class='ocr_page' id='page_{number}' title='image \"page-{number}.png\"; "
        f"bbox 0 0 {width} {height}; ppageno {number - 1}'>\n"
    ]
    lines = page.get("lines", [])
    blocks = page.get("blocks") or ([{"lines": list(range(len(lines)))}] if lines else [])
    for b, block in enumerate(blocks, start=1):
        members = [_line_of(lines, ref) for ref in block.get("lines", [])]
        members = [line for line in members if line is not None and _bbox(line["box"])]
        if not members:
            continue
        box = _union([_bbox(line["box"]) for line in members])
        ident = f"{number}_{b}"
        out.append(f"<div class='ocr_carea' id='block_{ident}' title='bbox {_fmt(box)}'>\n")
        out.append(f"<p class='ocr_par' id='par_{ident}' title='bbox {_fmt(box)}'>\n")
        for n, line in enumerate(members, start=1):
            out.append(_line(line, f"{ident}_{n}"))
        out.append("</p>\n</div>\n")
    out.append("</div>\n")
    return "".join(out)


def _line_of(lines: list[dict], ref) -> dict | None:
    """A block names its lines by index into the page's lines, or holds them itself."""
    if isinstance(ref, dict):
        return ref
    if isinstance(ref, int) and 0 <= ref < len(lines):
        return lines[ref]
    return None


def _line(line: dict, ident: str) -> str:
    box = _bbox(line["box"])
    left, top, right, bottom = box
    out = [f"<span class='ocr_line' id='line_{ident}' title='bbox {_fmt(box)}; baseline 0 0'>"]
    words = split_words(line["text"])
    weights = [sum(2 if is_cjk(c) else 1 for c in word) for word in words]
    gaps = [0 if is_cjk(a[-1]) and is_cjk(b[0]) else 1 for a, b in zip(words, words[1:], strict=False)]
    unit = (right - left) / max(1, sum(weights) + sum(gaps))
    conf = round(100 * float(line.get("confidence", 0)))
    x = float(left)
    for w, (word, weight) in enumerate(zip(words, weights, strict=True), start=1):
        end = min(right, x + weight * unit)
        word_box = (round(x), top, max(round(end), round(x) + 1), bottom)
        out.append(
            f"<span class='ocrx_word' id='word_{ident}_{w}' title='bbox {_fmt(word_box)}; x_wconf {conf}'>"
            f"{escape(word)}</span>"
        )
        if w <= len(gaps):
            if gaps[w - 1]:
                out.append(" ")
            x = end + gaps[w - 1] * unit
    out.append("</span>\n")
    return "".join(out)


def _bbox(box) -> tuple[int, int, int, int] | None:
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    left, top, right, bottom = round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))
    if right <= left or bottom <= top:
        return None
    return max(0, left), max(0, top), right, bottom


def _union(boxes) -> tuple[int, int, int, int]:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _fmt(box) -> str:
    return " ".join(str(int(v)) for v in box)
