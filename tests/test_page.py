"""The page in a real browser: headless Chromium (Debian's package) driven by Playwright, against the
farm as users run it (scripts/run: supervisord, gunicorn, a PaddleOCR worker) on a free port.

Screenshots go to test-output/ (ignored by git). docs/page.png is one of them, copied by hand.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.farm_process import ROOT, FarmProcess
from tests.helpers import SAMPLE_LINES, assert_reads, render_text

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = ROOT / "test-output"
HOSTILE_NAME = "<img src=x onerror=alert(1)>.png"
API_TOKEN = "page-test-token"
# A job's first OCR call loads the models; later ones take well under a second.
RESULT_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with FarmProcess(tmp_path_factory.mktemp("farm"), workers=1) as farm:
        yield farm


@pytest.fixture(scope="module")
def guarded_farm(tmp_path_factory):
    """A farm that needs an API token and holds one job at a time, with the fake engine taking a
    second a page: for the protocol, not the text."""
    with FarmProcess(
        tmp_path_factory.mktemp("guarded"),
        workers=1,
        engine="fake",
        fake_delay=1,
        max_queue=1,
        api_token=API_TOKEN,
    ) as farm:
        yield farm


@pytest.fixture(scope="module")
def slow_farm(tmp_path_factory):
    """One worker with the fake engine taking two seconds a page: a job stays queued long enough to
    be cancelled."""
    with FarmProcess(tmp_path_factory.mktemp("slow"), workers=1, engine="fake", fake_delay=2) as farm:
        yield farm


@pytest.fixture(scope="module")
def two_set_farm(tmp_path_factory):
    """A farm that has loaded two model sets (the fake engine only names them): the page offers the choice."""
    with FarmProcess(
        tmp_path_factory.mktemp("two-sets"), workers=1, engine="fake", models="ppocrv3,ppocrv6"
    ) as farm:
        yield farm


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Tab:
    """A fresh browser context on the farm's page, recording what a user could not see directly:
    dialogs (alert, confirm, prompt), script errors, and every address the page asked for."""

    def __init__(self, browser, farm: FarmProcess):
        self.farm = farm
        self.context = browser.new_context(viewport={"width": 1280, "height": 820}, accept_downloads=True)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=farm.url)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.addresses: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.addresses.append(request.url))

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self):
        self.page.goto(self.farm.url + "/")
        expect(self.page.locator("body")).to_have_attribute("data-ready", "true")
        # Every status a card shows, in order, per file name: the progress a user watches.
        self.page.evaluate("""() => {
            window.seenStatuses = {};
            new MutationObserver((changes) => {
                for (const change of changes) {
                    const card = change.target;
                    if (!card.classList || !card.classList.contains("job")) continue;
                    const name = card.querySelector(".job-name").textContent;
                    const seen = (window.seenStatuses[name] = window.seenStatuses[name] || []);
                    if (seen[seen.length - 1] !== card.dataset.status) seen.push(card.dataset.status);
                }
            }).observe(document.getElementById("jobs"), {subtree: true, attributes: true, attributeFilter: ["data-status"]});
        }""")
        return self

    def add_files(self, *files: tuple[str, str, bytes]):
        self.page.set_input_files(
            "#files", [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
        )

    def card(self, name: str):
        return self.page.locator(".job").filter(
            has=self.page.locator(".job-name", has_text=re.compile("^" + re.escape(name) + "$"))
        )

    def wait_until(self, name: str, status: str):
        expect(self.card(name)).to_have_attribute("data-status", status, timeout=RESULT_TIMEOUT_MS)

    def statuses(self, name: str) -> list[str]:
        return self.page.evaluate("(name) => window.seenStatuses[name] || []", name)

    def foreign_addresses(self) -> list[str]:
        farm = urlsplit(self.farm.url)
        return [
            a for a in self.addresses if not (a.startswith(("blob:", "data:")) or urlsplit(a)[:2] == farm[:2])
        ]

    def screenshot(self, name: str) -> Path:
        OUTPUT.mkdir(exist_ok=True)
        path = OUTPUT / name
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        self.context.close()


def opened_tab(browser, farm):
    """A tab on `farm`'s page for one test, closed after it whatever happens."""
    tab = Tab(browser, farm).open()
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture
def tab(browser, farm):
    yield from opened_tab(browser, farm)


@pytest.fixture
def guarded_tab(browser, guarded_farm):
    yield from opened_tab(browser, guarded_farm)


@pytest.fixture
def slow_tab(browser, slow_farm):
    yield from opened_tab(browser, slow_farm)


@pytest.fixture
def two_set_tab(browser, two_set_farm):
    yield from opened_tab(browser, two_set_farm)


def pdf_of(*pages: bytes) -> bytes:
    """A PDF with one page per picture (at 100 dpi; the farm renders it at its own resolution)."""
    images = [Image.open(io.BytesIO(data)).convert("RGB") for data in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=100)
    return buffer.getvalue()


def box_rects(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#boxes polygon.box", "nodes => nodes.map(n => n.getBoundingClientRect().toJSON())"
    )


def test_an_image_is_read_and_its_boxes_are_drawn_over_it(tab):
    page = tab.page
    tab.add_files(
        ("invoice.png", "image/png", render_text()),
        ("greeting.jpg", "image/jpeg", render_text(["Hello world"], fmt="JPEG")),
    )
    tab.wait_until("invoice.png", "done")
    tab.wait_until("greeting.jpg", "done")
    assert tab.statuses("invoice.png")[0] == "uploading"
    assert tab.statuses("invoice.png")[-1] == "done"
    expect(tab.card("invoice.png").locator(".job-state")).to_have_text(re.compile(r"^Done: 2 lines"))
    expect(tab.card("greeting.jpg").locator(".job-state")).to_have_text(re.compile(r"^Done: 1 line\b"))

    # The first result opens by itself; a click on a card shows that one: the file's own
    # picture, with one box per line over it.
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-name")).to_have_text(re.compile(r"^(invoice\.png|greeting\.jpg)$"))
    tab.card("invoice.png").click()
    expect(page.locator("#viewer-name")).to_have_text("invoice.png")
    assert_reads(page.locator("#lines .line-text").all_inner_texts(), SAMPLE_LINES)
    expect(page.locator("#boxes polygon.box")).to_have_count(2)
    expect(page.locator("#sheet")).to_have_attribute("data-boxes", "2")
    expect(page.locator("#sheet")).to_have_attribute("data-picture", "shown")
    expect(page.locator("#sheet")).to_have_attribute("data-origin", "file")
    assert (
        page.eval_on_selector("#page-image", "img => img.naturalWidth")
        == Image.open(io.BytesIO(render_text())).width
    )

    # Boxes sit on the picture, the first line's above the second's.
    sheet = page.locator("#sheet").bounding_box()
    first, second = box_rects(page)
    for rect in (first, second):
        assert sheet["x"] <= rect["left"] < rect["right"] <= sheet["x"] + sheet["width"] + 1
        assert sheet["y"] <= rect["top"] < rect["bottom"] <= sheet["y"] + sheet["height"] + 1
    assert first["bottom"] <= second["top"]

    # Pointing at a line lights its box, and pointing at a box lights its line.
    lines, boxes = page.locator("#lines .line"), page.locator("#boxes polygon.box")
    lines.nth(0).hover()
    expect(boxes.nth(0)).to_have_class(re.compile(r"\bhot\b"))
    expect(boxes.nth(1)).not_to_have_class(re.compile(r"\bhot\b"))
    boxes.nth(1).hover()
    expect(lines.nth(1)).to_have_class(re.compile(r"\bhot\b"))
    expect(lines.nth(0)).not_to_have_class(re.compile(r"\bhot\b"))
    # A click keeps it lit after the pointer leaves; a second click lets go.
    lines.nth(0).click()
    page.mouse.move(5, 5)
    expect(boxes.nth(0)).to_have_class(re.compile(r"\bpicked\b"))
    lines.nth(0).click()
    expect(boxes.nth(0)).not_to_have_class(re.compile(r"\bpicked\b"))
    tab.screenshot("page-result.png")
    lines.nth(1).hover()
    tab.screenshot("page.png")

    # One click copies the text; the downloads are the text and the whole result.
    page.click("#copy-text")
    expect(page.locator("#copy-text")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert_reads(copied.splitlines(), SAMPLE_LINES)
    with page.expect_download() as download:
        page.click("#download-txt")
    assert download.value.suggested_filename == "invoice.txt"
    assert Path(download.value.path()).read_text(encoding="utf-8") == copied + "\n"
    with page.expect_download() as download:
        page.click("#download-json")
    assert download.value.suggested_filename == "invoice.json"
    record = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert record["status"] == "done" and record["filename"] == "invoice.png"
    assert [line["text"] for line in record["lines"]] == page.locator("#lines .line-text").all_inner_texts()

    assert tab.foreign_addresses() == [], "the page asked for something outside the farm"
    assert tab.errors == [] and tab.dialogs == []


def test_several_files_at_once_each_with_its_own_outcome_and_names_shown_as_text(tab):
    page = tab.page
    tab.add_files(
        (HOSTILE_NAME, "image/png", render_text(["Hello world"])),
        ("notes.txt", "text/plain", b"not an image at all"),
        ("scan.tiff", "image/tiff", render_text(fmt="TIFF")),
    )
    for name in (HOSTILE_NAME, "scan.tiff"):
        tab.wait_until(name, "done")
    tab.wait_until("notes.txt", "failed")
    expect(tab.card("notes.txt").locator(".job-state")).to_have_text(
        re.compile(r"^Failed: the file is not an image")
    )
    for name in (HOSTILE_NAME, "scan.tiff"):
        seen = tab.statuses(name)
        # A small image can be read before the upload's answer leaves the farm, so queued and
        # running may pass unseen here (the guarded farm's test sees them, a page at a time).
        assert seen[0] == "uploading" and seen[-1] == "done", seen
        assert seen[1:-1] in ([], ["queued"], ["running"], ["queued", "running"]), seen

    # The hostile name is shown as the characters it is made of; nothing it says was run.
    expect(tab.card(HOSTILE_NAME)).to_have_count(1)
    tab.card(HOSTILE_NAME).click()
    expect(page.locator("#viewer-name")).to_have_text(HOSTILE_NAME)
    assert_reads(page.locator("#lines .line-text").all_inner_texts(), ["Hello world"])
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('#jobs img, #viewer-name img').length") == 0
    assert tab.dialogs == [], tab.dialogs

    # A TIFF: the browser cannot show the file itself, so the boxes go over the farm's rendering.
    tab.card("scan.tiff").click()
    expect(page.locator("#viewer-name")).to_have_text("scan.tiff")
    assert_reads(page.locator("#lines .line-text").all_inner_texts(), SAMPLE_LINES)
    expect(page.locator("#boxes polygon.box")).to_have_count(2)
    expect(page.locator("#sheet")).to_have_attribute("data-picture", "shown")
    expect(page.locator("#sheet")).to_have_attribute("data-origin", "farm")
    page.locator("#lines .line").nth(1).hover()
    tab.screenshot("page-several.png")
    assert tab.errors == [] and tab.dialogs == []


def test_a_pdf_is_shown_page_by_page_over_the_farms_rendering(tab):
    page = tab.page
    tab.add_files(("letter.pdf", "application/pdf", pdf_of(render_text(), render_text(["Hello world"]))))
    tab.wait_until("letter.pdf", "done")
    expect(tab.card("letter.pdf").locator(".job-state")).to_have_text(re.compile(r"^Done: 3 lines, 2 pages"))
    expect(page.locator("#viewer-name")).to_have_text("letter.pdf")
    with page.expect_download() as download:
        page.click("#download-json")
    record = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    sizes = {p["page"]: (p["width"], p["height"]) for p in record["pages"]}

    expect(page.locator("#page-label")).to_have_text("Page 1 of 2")
    expect(page.locator("#page-prev")).to_be_disabled()
    assert_reads(page.locator("#lines .line-text").all_inner_texts(), SAMPLE_LINES)
    expect(page.locator("#boxes polygon.box")).to_have_count(2)
    expect(page.locator("#sheet")).to_have_attribute("data-picture", "shown")
    expect(page.locator("#sheet")).to_have_attribute("data-origin", "farm")
    assert page.eval_on_selector("#page-image", "i => [i.naturalWidth, i.naturalHeight]") == list(sizes[1])
    tab.screenshot("page-pdf-1.png")

    page.click("#page-next")
    expect(page.locator("#page-label")).to_have_text("Page 2 of 2")
    expect(page.locator("#page-next")).to_be_disabled()
    expect(page.locator("#boxes polygon.box")).to_have_count(1)
    assert_reads(page.locator("#lines .line-text").all_inner_texts(), ["Hello world"])
    expect(page.locator("#sheet")).to_have_attribute("data-picture", "shown")
    assert page.eval_on_selector("#page-image", "i => [i.naturalWidth, i.naturalHeight]") == list(sizes[2])
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#page-label")).to_have_text("Page 1 of 2")
    assert tab.errors == [] and tab.dialogs == []


def test_token_is_asked_for_once_and_kept_and_progress_and_a_full_farm_are_shown(guarded_tab):
    tab, page = guarded_tab, guarded_tab.page
    page.evaluate("""() => {
        window.tokenQuestions = 0;
        new MutationObserver(() => { if (document.getElementById("token-dialog").open) window.tokenQuestions++; })
            .observe(document.getElementById("token-dialog"), {attributes: true, attributeFilter: ["open"]});
    }""")
    # Two files at once, no token yet: the farm answers 401 to both, and the page asks once.
    tab.add_files(
        ("report.pdf", "application/pdf", pdf_of(*[render_text([f"Page {n}"]) for n in (1, 2, 3)])),
        ("note.png", "image/png", render_text()),
    )
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#token-message")).to_have_text(re.compile("needs an API token"))
    expect(tab.card("note.png").locator(".job-state")).to_have_text("Waiting for the API token")
    page.fill("#token-input", "not-the-token")
    page.click("#token-ok")
    expect(page.locator("#token-message")).to_have_text(re.compile("refused that token"))
    expect(dialog).to_be_visible()
    page.fill("#token-input", API_TOKEN)
    page.click("#token-ok")
    expect(dialog).to_be_hidden()

    # The farm takes about a second a page here: the card counts the pages as they are read.
    expect(tab.card("report.pdf").locator(".job-state")).to_have_text(
        re.compile(r"^Running: [12] of 3 pages done$"), timeout=RESULT_TIMEOUT_MS
    )
    tab.wait_until("report.pdf", "done")
    tab.wait_until("note.png", "done")
    assert "running" in tab.statuses("report.pdf")
    assert (
        page.evaluate("window.tokenQuestions") == 2
    )  # the first question, and once more for the wrong token
    assert page.evaluate("sessionStorage.getItem('ocrfarm.token')") == API_TOKEN

    # This farm holds one job at a time: a file sent while another runs is refused with 503, and
    # the card says so and counts down to the next try, which the farm then accepts.
    tab.add_files(("second.pdf", "application/pdf", pdf_of(*[render_text([f"Page {n}"]) for n in (1, 2, 3)])))
    tab.wait_until("second.pdf", "running")
    tab.add_files(("waits.png", "image/png", render_text()))
    expect(tab.card("waits.png").locator(".job-state")).to_have_text(
        re.compile(r"^The farm is busy \(.+\); trying again in \d s$")
    )
    tab.wait_until("waits.png", "done")
    assert "waiting" in tab.statuses("waits.png")

    # Kept for the tab: a reload and another file, and no more questions.
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    tab.add_files(("later.png", "image/png", render_text()))
    tab.wait_until("later.png", "done")
    expect(page.locator("#sheet")).to_have_attribute("data-picture", "shown")
    assert page.locator("#token-dialog[open]").count() == 0
    assert tab.foreign_addresses() == []
    assert tab.errors == [] and tab.dialogs == []


def test_files_dropped_on_the_page_are_sent(tab):
    page = tab.page
    dropped = base64.b64encode(render_text(["Hello world"])).decode()
    page.evaluate(
        """(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
        const zone = document.querySelector(".drop-label");
        for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
        }
    }""",
        dropped,
    )
    tab.wait_until("dropped.png", "done")
    expect(page.locator("#viewer-name")).to_have_text("dropped.png")
    assert_reads(page.locator("#lines .line-text").all_inner_texts(), ["Hello world"])
    assert tab.errors == [] and tab.dialogs == []


def test_the_seed_form_still_posts_one_file_without_script(tab):
    page = tab.page
    page.goto(tab.farm.url + "/v1/img/ocr")
    assert page.locator("script").count() == 0
    page.set_input_files(
        "input[type=file]", {"name": "card.png", "mimeType": "image/png", "buffer": render_text()}
    )
    with page.expect_navigation():
        page.click("button[type=submit]")
    pairs = json.loads(page.locator("body").inner_text())
    assert_reads([text for text, _ in pairs], SAMPLE_LINES)


def test_a_queued_job_is_cancelled_and_ended_ones_are_removed(slow_tab):
    tab, page = slow_tab, slow_tab.page
    tab.add_files(("long.pdf", "application/pdf", pdf_of(*[render_text([f"Page {n}"]) for n in (1, 2, 3)])))
    tab.wait_until("long.pdf", "running")
    expect(tab.card("long.pdf").locator(".job-action")).to_be_hidden()  # the farm cannot stop a running job
    tab.add_files(("cancel-me.png", "image/png", render_text()), ("after.png", "image/png", render_text()))
    tab.wait_until("cancel-me.png", "queued")
    tab.card("cancel-me.png").get_by_role("button", name="Cancel cancel-me.png").click()
    tab.wait_until("cancel-me.png", "cancelled")
    expect(tab.card("cancel-me.png").locator(".job-state")).to_have_text("Cancelled")
    # The farm agrees: the job's record says it was cancelled, and no worker ever ran it.
    answer = page.request.get(f"{tab.farm.url}/v1/jobs/{tab.card('cancel-me.png').get_attribute('data-job')}")
    assert answer.status == 422 and answer.json()["error"]["code"] == "cancelled", answer.text()
    tab.wait_until("long.pdf", "done")
    tab.wait_until("after.png", "done")
    assert "running" not in tab.statuses("cancel-me.png")

    # An ended job can be taken off the list; the one on show leaves the viewer with it.
    expect(page.locator("#viewer-name")).to_have_text("long.pdf")
    tab.card("long.pdf").get_by_role("button", name="Remove long.pdf").click()
    expect(tab.card("long.pdf")).to_have_count(0)
    expect(page.locator("#viewer")).to_be_hidden()
    tab.card("cancel-me.png").get_by_role("button", name="Remove cancel-me.png").click()
    expect(page.locator(".job .job-name")).to_have_text(["after.png"])
    tab.card("after.png").click()
    expect(page.locator("#viewer-name")).to_have_text("after.png")
    assert tab.errors == [] and tab.dialogs == []


def test_a_file_waiting_for_a_busy_farm_is_cancelled_without_being_sent(guarded_tab):
    tab, page = guarded_tab, guarded_tab.page
    page.evaluate("(token) => sessionStorage.setItem('ocrfarm.token', token)", API_TOKEN)
    tab.add_files(("busy.pdf", "application/pdf", pdf_of(*[render_text([f"Page {n}"]) for n in (1, 2, 3)])))
    tab.wait_until("busy.pdf", "running")
    # This farm holds one job at a time: the next file is refused with 503 and waits its turn.
    tab.add_files(("never.png", "image/png", render_text()))
    expect(tab.card("never.png").locator(".job-state")).to_have_text(re.compile(r"^The farm is busy"))
    tab.card("never.png").get_by_role("button", name="Cancel never.png").click()
    tab.wait_until("never.png", "cancelled")
    tab.wait_until("busy.pdf", "done")
    assert tab.statuses("never.png")[-1] == "cancelled" and "queued" not in tab.statuses("never.png")
    assert tab.card("never.png").get_attribute("data-job") is None, "the farm never took it"
    assert tab.errors == [] and tab.dialogs == []


def test_the_model_set_picked_on_the_page_reads_the_file_and_the_result_says_so(
    two_set_tab, browser, slow_farm
):
    tab, page = two_set_tab, two_set_tab.page
    choice = page.locator("select#model")
    expect(choice).to_have_value("ppocrv3")  # the farm's default comes first
    assert choice.locator("option").evaluate_all("nodes => nodes.map(n => n.value)") == ["ppocrv3", "ppocrv6"]
    choice.select_option("ppocrv6")
    tab.add_files(("six.png", "image/png", render_text()))
    choice.select_option("ppocrv3")  # a file keeps the choice it was added with
    tab.add_files(("three.png", "image/png", render_text()))
    for name, model in (("six.png", "ppocrv6"), ("three.png", "ppocrv3")):
        tab.wait_until(name, "done")
        record = page.request.get(f"{tab.farm.url}/v1/jobs/{tab.card(name).get_attribute('data-job')}").json()
        assert record["options"]["model"] == model, record
        tab.card(name).click()
        expect(page.locator("#viewer-summary")).to_contain_text(f"by {model}")
    assert tab.errors == [] and tab.dialogs == [] and tab.foreign_addresses() == []

    # A farm with one set offers no choice.
    one = Tab(browser, slow_farm).open()
    try:
        expect(one.page.locator("#model")).to_have_count(0)
    finally:
        one.close()


def test_the_searchable_pdf_is_downloaded_from_the_page_and_renders_in_chromium(tab, tmp_path):
    import numpy as np

    from tests.documents_drawn import pdf_text

    page = tab.page
    tab.add_files(("invoice.png", "image/png", render_text()))
    tab.wait_until("invoice.png", "done")
    tab.card("invoice.png").click()
    with page.expect_download(timeout=RESULT_TIMEOUT_MS) as download:
        page.click("#download-pdf")
    assert download.value.suggested_filename == "invoice.pdf"
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert_reads([" ".join(pdf_text(pdf, tmp_path)[0].split())], [" ".join(SAMPLE_LINES)])
    expect(page.locator("#download-pdf")).to_have_text("Download searchable PDF")
    assert tab.errors == [] and tab.dialogs == []

    # The same PDF opened in Chromium's own viewer (pdfium): it loads with its one page, and the
    # page is drawn (dark text on white where the scan's lines are).
    viewer = tab.context.new_page()
    try:
        viewer.route(
            "http://pdf.invalid/invoice.pdf",
            lambda route: route.fulfill(body=pdf, content_type="application/pdf"),
        )
        viewer.goto("http://pdf.invalid/invoice.pdf")
        frame = None
        for _ in range(100):
            frame = next((f for f in viewer.frames if f.url.startswith("chrome-extension://")), None)
            if frame is not None:
                break
            viewer.wait_for_timeout(100)
        assert frame is not None, "Chromium's PDF viewer did not open the file"
        selector = frame.locator("viewer-page-selector").first
        selector.wait_for(timeout=30_000)
        expect(selector).to_have_js_property("docLength", 1)
        OUTPUT.mkdir(exist_ok=True)
        shot = OUTPUT / "searchable-pdf-in-chromium.png"
        viewer.wait_for_timeout(500)  # let the viewer paint the page it has loaded
        viewer.screenshot(path=str(shot))
        pixels = np.asarray(Image.open(shot).convert("L"))
        # The viewer is dark grey around a white page: inside the white page's bounds, the text.
        rows, cols = np.nonzero(pixels > 240)
        assert rows.size > 0.02 * pixels.size, "a white page is shown"
        sheet = pixels[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (sheet < 100).sum() > 300, "with the scan's dark text on it"
    finally:
        viewer.close()
