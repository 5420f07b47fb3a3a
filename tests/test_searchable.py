"""Searchable PDF, hOCR, born-digital PDFs and passwords, in-process: OCRmyPDF with the farm's plugin
fed results whose boxes are where the test drew the words (the real engine and farm are in
test_searchable_system.py)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pypdfium2
import pytest

from ocrfarm import documents, hocr, searchable
from ocrfarm.exceptions import ImageError
from ocrfarm.ocrmypdf_plugin import page_tree, split_words
from tests.documents_drawn import (
    CJK_FONT,
    assert_words_where_drawn,
    draw_page,
    encode,
    pdf_of,
    pdf_text,
    pdf_words,
)

LIMITS = documents.Limits(max_pixels=10**8, max_pages=10, dpi=200)
XHTML = "{http://www.w3.org/1999/xhtml}"


def result_for(pages, scale: float = 1.0) -> dict:
    """A farm result that read every drawn word exactly where it was drawn, one line per drawn line,
    on pages `scale` times the drawn size (as the farm renders a PDF at its own DPI)."""
    out = []
    for number, drawn in enumerate(pages, start=1):
        lines = []
        for text in drawn.lines:
            words = [w for w in drawn.words if w.text in text.split()][: len(text.split())]
            left, top = min(w.box[0] for w in words) * scale, min(w.box[1] for w in words) * scale
            right, bottom = max(w.box[2] for w in words) * scale, max(w.box[3] for w in words) * scale
            box = [[left, top], [right, top], [right, bottom], [left, bottom]]
            lines.append({"text": text, "confidence": 0.95, "box": box})
        out.append(
            {
                "page": number,
                "width": round(drawn.image.width * scale),
                "height": round(drawn.image.height * scale),
                "lines": lines,
                "text": "\n".join(drawn.lines),
                "source": "ocr",
            }
        )
    return {"id": "0" * 32, "filename": "scan.png", "pages": out, "options": {}}


def test_an_image_becomes_a_one_page_pdf_at_its_resolution_with_words_where_they_are(tmp_path):
    drawn = draw_page(["Invoice 2026-11-22 paid", "Total 1234.56 EUR"])
    data = encode(drawn.image, "PNG", dpi=(150, 150))
    pdf = searchable.make_pdf(data, result_for([drawn]), LIMITS)
    document = pypdfium2.PdfDocument(pdf)
    assert len(document) == 1
    width_pt, height_pt = document[0].get_size()
    assert (round(width_pt), round(height_pt)) == (
        round(drawn.image.width * 72 / 150),
        round(drawn.image.height * 72 / 150),
    )
    found = pdf_words(pdf, tmp_path, [drawn.image.size])
    assert_words_where_drawn(found, drawn.words, tolerance=1.0)
    # The page shows the very pixels sent (the text layer draws nothing).
    assert np.array_equal(np.asarray(only_image(pdf)), np.asarray(drawn.image))


def only_image(pdf: bytes):
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        (image,) = document.pages[0].images.values()
        return pikepdf.PdfImage(image).as_pil_image().convert("RGB")


def test_a_pdf_keeps_its_pages_and_gets_words_on_every_page_scaled_from_the_farms_rendering(tmp_path):
    pages = [
        draw_page([f"Page {n} of the annual report", f"Section {n}.1 begins here"], page=n) for n in (1, 2, 3)
    ]
    data = pdf_of(pages, dpi=150)
    # The farm rendered the pages at 200 dpi: its boxes are 200/150 of the drawn ones.
    pdf = searchable.make_pdf(data, result_for(pages, scale=200 / 150), LIMITS)
    before, after = pypdfium2.PdfDocument(data), pypdfium2.PdfDocument(pdf)
    assert len(after) == 3
    for number in range(3):
        assert after[number].get_size() == pytest.approx(before[number].get_size())
        a = np.asarray(before[number].render(scale=1).to_pil().convert("L"), dtype=int)
        b = np.asarray(after[number].render(scale=1).to_pil().convert("L"), dtype=int)
        assert a.shape == b.shape and np.abs(a - b).mean() < 1, "the page looks as it did"
    found = pdf_words(pdf, tmp_path, [drawn.image.size for drawn in pages])
    assert_words_where_drawn(found, [w for drawn in pages for w in drawn.words], tolerance=1.0)


def test_chinese_text_is_searchable_in_the_pdf(tmp_path):
    drawn = draw_page(["发票号码 12345", "合计金额人民币"], font_path=CJK_FONT)
    pdf = searchable.make_pdf(encode(drawn.image), result_for([drawn]), LIMITS)
    text = pdf_text(pdf, tmp_path)[0]
    assert "发票号码" in text and "合计金额人民币" in text
    # pypdfium2 finds it too, as a search in a viewer would.
    textpage = pypdfium2.PdfDocument(pdf)[0].get_textpage()
    assert textpage.search("金额").get_next() is not None
    found = pdf_words(pdf, tmp_path, [drawn.image.size])
    cjk_line = next(w for w in found if "合计" in w.text)
    drawn_line = next(w for w in drawn.words if w.text == "合计金额人民币")
    assert abs(cjk_line.centre[1] - drawn_line.centre[1]) < 20


def test_words_are_split_for_a_text_layer():
    assert split_words("Total 1234.56  EUR") == ["Total", "1234.56", "EUR"]
    assert split_words("合计 12元") == ["合", "计", "12", "元"]


def test_the_plugins_tree_scales_boxes_to_ocrmypdfs_image():
    page = {
        "width": 1000,
        "height": 500,
        "lines": [{"text": "a b", "confidence": 0.9, "box": [[100, 50], [300, 50], [300, 100], [100, 100]]}],
    }
    tree = page_tree(page, 500, 250, 100.0, 0)
    (line,) = tree.lines
    assert (line.bbox.left, line.bbox.top, line.bbox.right, line.bbox.bottom) == (50, 25, 150, 50)
    assert [w.text for w in line.words] == ["a", "b"]
    assert line.words[0].bbox.right < line.words[1].bbox.left
    assert page_tree({**page, "source": "text_layer"}, 500, 250, 100.0, 0).lines == []


def test_hocr_has_the_specs_required_classes_and_properties_and_ocrmypdf_reads_it(tmp_path):
    from ocrmypdf.hocrtransform import HocrParser

    pages = [draw_page(["Invoice 2026-11-22 paid", "Total 1234.56 EUR"], page=n) for n in (1, 2)]
    record = result_for(pages)
    text = hocr.document(record)
    root = ET.fromstring(text)  # well-formed XHTML
    metas = {m.get("name"): m.get("content") for m in root.iter(f"{XHTML}meta")}
    assert metas["ocr-system"] == "ocrfarm"
    capabilities = set(metas["ocr-capabilities"].split())
    assert {"ocr_page", "ocr_line", "ocrx_word"} <= capabilities

    def elements(cls):
        return [e for e in root.iter() if cls in (e.get("class") or "").split()]

    def bbox(element):
        properties = dict(p.strip().split(" ", 1) for p in element.get("title").split(";"))
        return tuple(int(v) for v in properties["bbox"].split())

    used = {c for e in root.iter() for c in (e.get("class") or "").split() if c.startswith("ocr")}
    assert used <= capabilities, "every class used is declared"
    page_elements = elements("ocr_page")
    assert len(page_elements) == 2
    for page_element, drawn in zip(page_elements, pages, strict=True):
        assert bbox(page_element) == (0, 0, *drawn.image.size)
        assert "ppageno" in page_element.get("title")
        lines = [e for e in page_element.iter() if e.get("class") == "ocr_line"]
        assert [
            " ".join(w.text for w in line if w.get("class") == "ocrx_word") for line in lines
        ] == drawn.lines
        for line in lines:
            l0, t0, r0, b0 = bbox(line)
            for word in line:
                left, top, right, bottom = bbox(word)
                assert l0 <= left < right <= r0 and t0 <= top < bottom <= b0, "a word inside its line"
                assert "x_wconf" in word.get("title")
    path = tmp_path / "doc.hocr"
    path.write_text(text, encoding="utf-8")
    parsed = HocrParser(path).parse()  # OCRmyPDF's own hOCR reader: a real consumer
    assert [w.text for w in parsed.words] == pages[0].lines[0].split() + pages[0].lines[1].split()


def born_digital(lines: list[str]) -> bytes:
    """A PDF with real text, made with fpdf2 as an office program would: no image, no OCR."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(400, 200))
    pdf.add_page()
    pdf.set_font("Helvetica", size=20)
    for index, line in enumerate(lines):
        pdf.text(40, 60 + index * 40, line)
    return bytes(pdf.output())


def test_a_born_digital_page_gives_its_own_text_with_positions():
    data = born_digital(["Quarterly report 2026", "Revenue grew by 12 percent"])
    (layer,) = documents.text_layers(data, LIMITS)
    assert [line["text"] for line in layer] == ["Quarterly report 2026", "Revenue grew by 12 percent"]
    scale = LIMITS.dpi / 72
    first = layer[0]["box"]
    # Drawn at x=40 pt with its baseline at y=60 pt from the top: the box starts there and sits on it.
    assert abs(first[0][0] - 40 * scale) < 3 * scale
    assert first[0][1] < 60 * scale < first[2][1] + 6 * scale
    scanned = pdf_of([draw_page(["Only pixels here"])])
    assert documents.text_layers(scanned, LIMITS) == [None]


def test_a_born_digital_page_keeps_its_text_layer_once_in_the_pdf(tmp_path):
    data = born_digital(["Quarterly report 2026"])
    (layer,) = documents.text_layers(data, LIMITS)
    record = {
        "pages": [
            {"page": 1, "width": 1111, "height": 556, "lines": layer, "text": "", "source": "text_layer"}
        ],
        "options": {},
    }
    pdf = searchable.make_pdf(data, record, LIMITS)
    assert pdf_text(pdf, tmp_path)[0].split() == ["Quarterly", "report", "2026"], "not doubled"


def encrypted(data: bytes, user: str, owner: str = "owner-secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(data)).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user, owner_password=owner)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_password_protected_pdfs_need_the_right_password(tmp_path):
    drawn = draw_page(["Confidential memo"])
    data = encrypted(pdf_of([drawn]), "letmein")
    with pytest.raises(ImageError) as missing:
        documents.inspect(data, LIMITS)
    assert missing.value.code == "encrypted_pdf" and "password" in missing.value.message
    with pytest.raises(ImageError) as wrong:
        documents.inspect(data, LIMITS, "guess")
    assert wrong.value.code == "wrong_password" and "wrong" in wrong.value.message
    info = documents.inspect(data, LIMITS, "letmein")
    assert info.encrypted and info.pages == 1
    assert len(list(documents.pages(data, LIMITS, info, "letmein"))) == 1
    record = result_for([drawn], scale=200 / 150)
    record["options"] = {"password": "letmein"}
    pdf = searchable.make_pdf(data, record, LIMITS)
    assert "Confidential" in pdf_text(pdf, tmp_path)[0]


def test_an_owner_password_alone_opens_without_one_and_is_still_made_searchable(tmp_path):
    drawn = draw_page(["Printing restricted"])
    data = encrypted(pdf_of([drawn]), user="")
    info = documents.inspect(data, LIMITS)
    assert info.encrypted
    pdf = searchable.make_pdf(data, result_for([drawn], scale=200 / 150), LIMITS)
    assert "restricted" in pdf_text(pdf, tmp_path)[0]


def test_pdfa_when_asked(tmp_path):
    import pikepdf

    drawn = draw_page(["Archived statement 2026"])
    pdf = searchable.make_pdf(encode(drawn.image), result_for([drawn]), LIMITS, pdfa=True)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert document.open_metadata().pdfa_status == "2B"
    assert pdf_text(pdf, tmp_path)[0].split() == ["Archived", "statement", "2026"]


@pytest.mark.parametrize("size", [(1, 1), (2, 40), (30000, 3)], ids=["1x1", "2x40", "30000x3"])
def test_images_too_small_or_too_long_for_a_pdf_page_at_their_dpi_still_become_one(size, tmp_path):
    from PIL import Image

    image = Image.new("RGB", size, "white")
    width, height = size
    record = {
        "pages": [{"page": 1, "width": width, "height": height, "lines": [], "text": ""}],
        "options": {},
    }
    pdf = searchable.make_pdf(encode(image), record, LIMITS)
    page_w, page_h = pypdfium2.PdfDocument(pdf)[0].get_size()
    assert min(page_w, page_h) >= 3 - 0.01 and max(page_w, page_h) <= 14400 + 0.01
    if size != (30000, 3):  # a sliver no page shape can hold
        assert page_w / page_h == pytest.approx(width / height, rel=0.01)


def test_blocks_in_a_result_become_paragraphs_of_the_text_layer():
    box = [[10, 10], [100, 10], [100, 30], [10, 30]]
    lines = [
        {"text": f"line {n}", "confidence": 0.9, "box": [[x, y + 40 * n] for x, y in box]} for n in range(3)
    ]
    page = {"width": 200, "height": 200, "lines": lines, "blocks": [{"lines": [0, 1]}, {"lines": [2]}]}
    tree = page_tree(page, 200, 200, 72.0, 0)
    assert [[line.words[1].text for line in par.lines] for par in tree.paragraphs] == [["0", "1"], ["2"]]
    assert len(page_tree({**page, "blocks": None}, 200, 200, 72.0, 0).paragraphs) == 1
