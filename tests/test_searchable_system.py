"""Searchable PDFs, hOCR, born-digital and password-protected PDFs through the farm as users run it
(scripts/run: supervisord, gunicorn, a worker on the real engine), on documents the tests draw: the
PDF's words are checked with pdftotext, for their text and where they stand, on every page."""

from __future__ import annotations

import io
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pypdfium2
import pytest
import requests

from tests.documents_drawn import (
    CJK_FONT,
    assert_words_where_drawn,
    draw_page,
    encode,
    pdf_of,
    pdf_text,
    pdf_words,
)
from tests.farm_process import ROOT, FarmProcess
from tests.helpers import wait_for
from tests.test_searchable import born_digital, encrypted

pytestmark = pytest.mark.system

# Where a word of the text layer may stand off the drawn word's centre, in line heights: the farm
# reads lines, and places each word in its line in proportion to its characters.
TOLERANCE = 1.5


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with FarmProcess(tmp_path_factory.mktemp("searchable"), workers=1, quiet_period=1) as farm:
        yield farm


def post(farm, data: bytes, name: str, **fields):
    fmt = fields.pop("format", "json")
    return requests.post(
        f"{farm.url}/v1/ocr?format={fmt}", files={"file": (name, data)}, data=fields, timeout=300
    )


def test_an_image_comes_back_as_a_searchable_pdf_with_its_words_in_place(farm, tmp_path):
    drawn = draw_page(["Invoice 2026-11-22 paid", "Total 1234.56 EUR"])
    answer = post(farm, encode(drawn.image, "PNG", dpi=(150, 150)), "invoice.png", format="pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert 'filename="invoice.pdf"' in answer.headers["Content-Disposition"]
    document = pypdfium2.PdfDocument(answer.content)
    assert len(document) == 1
    assert document[0].get_size() == pytest.approx(
        (drawn.image.width * 72 / 150, drawn.image.height * 72 / 150), abs=0.1
    )
    found = pdf_words(answer.content, tmp_path, [drawn.image.size])
    assert_words_where_drawn(found, drawn.words, tolerance=TOLERANCE)


def test_a_multi_page_pdf_keeps_its_pages_and_every_page_is_searchable(farm, tmp_path):
    pages = [draw_page([f"Chapter {n} of the guide", f"Section {n}.1 opens here"], page=n) for n in (1, 2, 3)]
    data = pdf_of(pages, dpi=150)
    queued = requests.post(f"{farm.url}/v1/jobs", files={"file": ("guide.pdf", data)}, timeout=60).json()
    job_url = farm.url + queued["url"]
    wait_for(lambda: requests.get(job_url, timeout=30).json()["status"] == "done", 240, 0.5, "the job")
    answer = requests.get(job_url + "?format=pdf", timeout=300)
    assert answer.status_code == 200, answer.text
    before, after = pypdfium2.PdfDocument(data), pypdfium2.PdfDocument(answer.content)
    assert len(after) == 3
    for number in range(3):
        assert after[number].get_size() == pytest.approx(before[number].get_size())
    found = pdf_words(answer.content, tmp_path, [drawn.image.size for drawn in pages])
    assert_words_where_drawn(found, [w for drawn in pages for w in drawn.words], tolerance=TOLERANCE)


def test_chinese_is_selectable_and_searchable(farm, tmp_path):
    drawn = draw_page(["发票号码一二三", "合计金额人民币"], font_path=CJK_FONT, size=48)
    answer = post(farm, encode(drawn.image), "fapiao.png", format="pdf")
    assert answer.status_code == 200, answer.text
    text = "".join(pdf_text(answer.content, tmp_path)[0].split())
    assert "发票号码" in text and "合计金额" in text, text
    assert pypdfium2.PdfDocument(answer.content)[0].get_textpage().search("人民币").get_next() is not None


def test_hocr_of_a_real_reading(farm):
    drawn = draw_page(["Invoice 2026-11-22 paid", "Total 1234.56 EUR"])
    answer = post(farm, encode(drawn.image), "invoice.png", format="hocr")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/vnd.hocr+html")
    root = ET.fromstring(answer.text)
    classes = [element.get("class") for element in root.iter() if element.get("class")]
    assert classes.count("ocr_page") == 1 and classes.count("ocr_line") == 2
    words = [e.text for e in root.iter() if e.get("class") == "ocrx_word"]
    assert "Invoice" in words and "EUR" in words
    assert all("bbox " in e.get("title") for e in root.iter() if e.get("class", "").startswith("ocr"))


def test_a_born_digital_page_keeps_its_text_and_a_scanned_one_is_read(farm, tmp_path):
    from pypdf import PdfReader, PdfWriter

    scanned = draw_page(["Appendix scanned page"])
    writer = PdfWriter()
    for source in (born_digital(["Quarterly report 2026"]), pdf_of([scanned], dpi=150)):
        writer.add_page(PdfReader(io.BytesIO(source)).pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()

    body = post(farm, data, "report.pdf").json()
    assert body["text_layer_pages"] == [1]
    assert [page["source"] for page in body["pages"]] == ["text_layer", "ocr"]
    assert [line["text"] for line in body["pages"][0]["lines"]] == ["Quarterly report 2026"]
    assert "Appendix" in body["pages"][1]["text"]

    forced = post(farm, data, "report.pdf", force_ocr="true").json()
    assert forced["text_layer_pages"] == [] and forced["options"]["force_ocr"] is True
    assert "Quarterly" in forced["pages"][0]["text"], "read by OCR this time"

    pdf = post(farm, data, "report.pdf", format="pdf")
    assert pdf.status_code == 200, pdf.text
    first, second = pdf_text(pdf.content, tmp_path)
    assert first.split() == ["Quarterly", "report", "2026"], "its own text, once"
    assert "Appendix" in second


def test_a_password_protected_pdf(farm, tmp_path):
    data = encrypted(pdf_of([draw_page(["Confidential memo"])], dpi=150), "letmein")
    missing = post(farm, data, "memo.pdf")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "encrypted_pdf"
    assert "password" in missing.json()["error"]["message"]
    wrong = post(farm, data, "memo.pdf", password="guess")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_password"
    right = post(farm, data, "memo.pdf", password="letmein")
    assert right.status_code == 200, right.text
    assert "Confidential" in right.json()["text"]
    assert right.json()["options"]["password"] is True, "said to be given, never shown"
    assert "letmein" not in right.text
    pdf = requests.get(farm.url + right.json()["url"] + "?format=pdf", timeout=300)
    assert pdf.status_code == 200 and "Confidential" in pdf_text(pdf.content, tmp_path)[0]


def test_bad_input_for_a_pdf_is_still_a_clear_error(farm):
    not_a_document = post(farm, b"just some text", "notes.txt", format="pdf")
    assert not_a_document.status_code == 415
    assert not_a_document.json()["error"]["code"] == "unsupported_type"
    unknown = requests.post(f"{farm.url}/v1/ocr?format=docx", files={"file": ("a.png", b"x")}, timeout=30)
    assert unknown.status_code == 400 and "pdf" in unknown.json()["error"]["message"]


def test_the_drop_folder_writes_a_searchable_pdf_beside_the_json(farm, tmp_path):
    drawn = draw_page(["Delivery note 4471", "Received in good order"])
    inbox = farm.spool / "inbox" / "scans"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / ".note.png.part").write_bytes(encode(drawn.image))
    os.rename(inbox / ".note.png.part", inbox / "note.png")
    outbox = farm.spool / "outbox" / "scans"
    wait_for(lambda: (outbox / "note.json").exists(), 240, 0.2, "the dropped file's result")
    result = json.loads((outbox / "note.json").read_text())
    assert sorted(p.name for p in outbox.iterdir()) == ["note.json", "note.pdf", "note.txt"]
    assert "Delivery" in result["text"] and result["timings"]["pdf_s"] > 0
    found = pdf_words((outbox / "note.pdf").read_bytes(), tmp_path, [drawn.image.size])
    assert_words_where_drawn(found, drawn.words, tolerance=TOLERANCE)


def test_ocrmypdf_users_read_with_the_farm_through_the_plugin(farm, tmp_path):
    pages = [draw_page([f"Minutes of meeting {n}", "Agreed by all members"], page=n) for n in (1, 2)]
    source, output = tmp_path / "minutes.pdf", tmp_path / "minutes.ocr.pdf"
    source.write_bytes(pdf_of(pages, dpi=150))
    run = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ocrmypdf"),
            "--plugin",
            "ocrfarm.ocrmypdf_plugin",
            "--farm-url",
            farm.url,
            str(source),
            str(output),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found = pdf_words(output.read_bytes(), tmp_path, [drawn.image.size for drawn in pages])
    assert_words_where_drawn(found, [w for drawn in pages for w in drawn.words], tolerance=TOLERANCE)
