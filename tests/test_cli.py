"""scripts/ocr, run as users run it, against the farm as users run it (scripts/run on a free port and a
temporary spool): the real engine where the text read matters, the fake one for the protocol."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
from PIL import Image

from client.cli import parser
from harness.farm import free_port
from tests.farm_process import ROOT, FarmProcess
from tests.helpers import SAMPLE_LINES, assert_reads, blank_image, render_text

pytestmark = pytest.mark.system

OCR = ROOT / "scripts" / "ocr"
TOKEN = "cli-test-token"


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """The real engine; files dropped into its inbox that are not images are failed after 2 s."""
    with FarmProcess(tmp_path_factory.mktemp("farm"), workers=1, decode_grace=2) as farm:
        yield farm


@pytest.fixture(scope="module")
def busy_farm(tmp_path_factory):
    """The fake engine at three seconds a file, room for one job, an API token, and two model sets."""
    with FarmProcess(
        tmp_path_factory.mktemp("busy"),
        workers=1,
        engine="fake",
        fake_delay=3,
        max_queue=1,
        api_token=TOKEN,
        models="ppocrv3,ppocrv6",
    ) as farm:
        yield farm


def ocr(*args, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """scripts/ocr in a clean environment (no OCRFARM_* from the shell running the tests)."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(cwd)),
        "LANG": "C.UTF-8",
        **(env or {}),
    }
    return subprocess.run(
        [str(OCR), *map(str, args)], cwd=cwd, env=clean, capture_output=True, text=True, timeout=timeout
    )


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pdf_of(*pages: bytes) -> bytes:
    images = [Image.open(io.BytesIO(data)).convert("RGB") for data in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=100)
    return buffer.getvalue()


def text_of(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_help_explains_every_option(tmp_path):
    result = ocr("--help", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    for action in parser()._actions:
        assert action.help, f"{action.option_strings or action.dest} has no help"
        for option in action.option_strings:
            assert option in result.stdout
    for topic in ("results:", "retries:", "exit status:", "OCRFARM_API_TOKEN", "Retry-After"):
        assert topic in result.stdout


def test_a_folder_tree_is_read_and_mirrored_into_the_output_folder(farm, tmp_path):
    write(tmp_path / "scans" / "invoice.png", render_text())
    write(tmp_path / "scans" / "2026" / "march" / "note.jpg", render_text(["Hello world"], fmt="JPEG"))
    write(
        tmp_path / "scans" / "2026" / "march" / "letter.pdf",
        pdf_of(render_text(), render_text(["Hello world"])),
    )
    write(tmp_path / "scans" / "2026" / ".hidden" / "skipped.png", render_text())
    write(tmp_path / "scans" / "readme.md", b"not sent: not an image's name")
    write(tmp_path / "extra.png", render_text(["Hello world"]))

    result = ocr("scans", "extra.png", "--url", farm.url, "--out", "out", "-j", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 files: 4 read, 0 failed" in result.stderr
    assert re.search(r"ocr: 100%\|.*\| 4/4 \[.*file/s", result.stderr), "no progress bar with counts and rate"

    out = tmp_path / "out"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert written == [
        "extra.json",
        "extra.txt",
        "scans",
        "scans/2026",
        "scans/2026/march",
        "scans/2026/march/letter.json",
        "scans/2026/march/letter.txt",
        "scans/2026/march/note.json",
        "scans/2026/march/note.txt",
        "scans/invoice.json",
        "scans/invoice.txt",
    ]
    assert_reads(text_of(out / "scans" / "invoice.txt"), SAMPLE_LINES)
    assert_reads(text_of(out / "scans" / "2026" / "march" / "note.txt"), ["Hello world"])
    assert_reads(text_of(out / "extra.txt"), ["Hello world"])
    letter = json.loads((out / "scans" / "2026" / "march" / "letter.json").read_text(encoding="utf-8"))
    assert letter["status"] == "done" and letter["filename"] == "letter.pdf"
    assert [len(page["lines"]) for page in letter["pages"]] == [2, 1]
    assert_reads(text_of(out / "scans" / "2026" / "march" / "letter.txt"), SAMPLE_LINES + ["Hello world"])
    invoice = json.loads((out / "scans" / "invoice.json").read_text(encoding="utf-8"))
    assert all(len(line["box"]) == 4 for line in invoice["lines"])


def test_a_bad_file_fails_the_run_and_is_named_with_its_reason(farm, tmp_path):
    write(tmp_path / "good.png", render_text())
    write(tmp_path / "broken.png", b"this is not an image")
    write(tmp_path / "same.jpg", render_text(["Hello world"], fmt="JPEG"))
    write(tmp_path / "same.png", render_text())

    result = ocr(".", "nowhere.png", "--url", farm.url, "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    failed = result.stderr.split("failed:\n", 1)[1].splitlines()
    assert len(failed) == 2, result.stderr
    assert re.fullmatch(
        r"  \S*broken\.png: the file is not an image .*\(unsupported_type, HTTP 415\)", failed[0]
    )
    assert failed[1] == "  nowhere.png: no such file or folder"
    assert "5 files: 3 read, 2 failed" in result.stderr
    assert "ocr:" not in result.stderr.split("scripts/ocr:")[0], "-q still drew a progress bar"
    # The good files' results are there all the same, next to them; names that would clash keep their suffix.
    assert_reads(text_of(tmp_path / "good.txt"), SAMPLE_LINES)
    assert_reads(text_of(tmp_path / "same.jpg.txt"), ["Hello world"])
    assert_reads(text_of(tmp_path / "same.png.txt"), SAMPLE_LINES)
    assert not (tmp_path / "broken.json").exists() and not (tmp_path / "broken.txt").exists()


def test_a_full_farm_is_waited_for_as_it_asks_not_failed(busy_farm, tmp_path):
    for n in range(3):
        write(tmp_path / "batch" / f"page{n}.png", blank_image(100 + n, 50))
    # Someone else's job fills the farm for three seconds: the client starts into a full queue.
    response = requests.post(
        busy_farm.url + "/v1/jobs",
        files={"file": ("other.png", blank_image())},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    result = ocr("batch", "--url", busy_farm.url, "--token", TOKEN, "-j", "3", "-v", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 files: 3 read, 0 failed" in result.stderr
    assert re.search(r"the farm was busy \d+ times", result.stderr)
    assert re.search(
        r"page\d\.png: the farm is busy: .*\(busy, HTTP 503\); sending again in 5 s", result.stderr
    )
    # The farm really refused while full (its access log), and every file was read in the end.
    assert re.search(r'"POST /v1/jobs HTTP/1\.1" 503', busy_farm.log_text())
    for n in range(3):
        assert (tmp_path / "batch" / f"page{n}.txt").read_text() == f"{100 + n}x50\n"


def test_the_token_comes_from_the_option_or_the_environment(busy_farm, tmp_path):
    write(tmp_path / "a.png", blank_image(60, 40))
    write(tmp_path / "b.png", blank_image(61, 40))

    without = ocr("a.png", "b.png", "--url", busy_farm.url, cwd=tmp_path)
    assert without.returncode == 1
    assert "the farm refused the token: this farm needs an API token" in without.stderr
    assert "pass --token or set $OCRFARM_API_TOKEN" in without.stderr
    assert not (tmp_path / "a.json").exists()

    wrong = ocr("a.png", "--url", busy_farm.url, "--token", "nope", cwd=tmp_path)
    assert wrong.returncode == 1 and "unauthorized, HTTP 401" in wrong.stderr

    from_env = ocr(
        "a.png",
        "b.png",
        "-j",
        "1",
        cwd=tmp_path,
        env={"OCRFARM_URL": busy_farm.url, "OCRFARM_API_TOKEN": TOKEN},
    )
    assert from_env.returncode == 0, from_env.stderr
    assert (tmp_path / "a.txt").read_text() == "60x40\n" and (tmp_path / "b.txt").read_text() == "61x40\n"


def test_a_farm_that_does_not_answer_yet_is_tried_again(tmp_path):
    write(tmp_path / "early.png", blank_image(70, 30))
    (tmp_path / "late").mkdir()
    farm = FarmProcess(tmp_path / "late", workers=1, engine="fake")
    client = subprocess.Popen(
        [str(OCR), "early.png", "--url", farm.url, "--retries", "6", "-v"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        farm.start()  # after the client: its first tries find nothing listening
        _, stderr = client.communicate(timeout=120)
    finally:
        client.kill()
        farm.stop()
    assert client.returncode == 0, stderr
    assert "no answer from the farm (connection refused); trying again in 1 s" in stderr
    assert (tmp_path / "early.txt").read_text() == "70x30\n"


def test_no_farm_at_all_fails_after_the_retries_with_the_reason(tmp_path):
    write(tmp_path / "lonely.png", blank_image())
    result = ocr("lonely.png", "--url", f"http://127.0.0.1:{free_port()}", "--retries", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert re.search(
        r"lonely\.png: no answer from the farm at http://127\.0\.0\.1:\d+/ after 2 tries: "
        r"connection refused",
        result.stderr,
    ), result.stderr


def test_spool_mode_drops_into_the_inbox_and_reads_the_outbox(farm, tmp_path):
    write(tmp_path / "drop" / "invoice.png", render_text())
    write(tmp_path / "drop" / "sub" / "note.png", render_text(["Hello world"]))
    result = ocr("--spool", farm.spool, "drop", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 files: 2 read, 0 failed" in result.stderr
    assert_reads(text_of(tmp_path / "out" / "drop" / "invoice.txt"), SAMPLE_LINES)
    assert_reads(text_of(tmp_path / "out" / "drop" / "sub" / "note.txt"), ["Hello world"])
    # The farm took them from the inbox at their place in the tree, and delivered there.
    record = json.loads((farm.spool / "outbox" / "drop" / "sub" / "note.json").read_text(encoding="utf-8"))
    assert record["source"] == "inbox" and record["filename"] == "drop/sub/note.png"
    assert not list((farm.spool / "inbox").rglob("*.png"))

    # The same names again, other contents and a bad file: each result is this run's own, even
    # though the outbox already holds results under those names.
    write(tmp_path / "drop" / "invoice.png", render_text(["Hello world"]))
    write(tmp_path / "drop" / "sub" / "note.png", render_text())
    write(tmp_path / "drop" / "sub" / "broken.png", b"still not an image")
    again = ocr("--spool", farm.spool, "drop", "--out", "out", cwd=tmp_path)
    assert again.returncode == 1
    assert_reads(text_of(tmp_path / "out" / "drop" / "invoice.txt"), ["Hello world"])
    assert_reads(text_of(tmp_path / "out" / "drop" / "sub" / "note.txt"), SAMPLE_LINES)
    assert re.search(r"drop/sub/broken\.png: .*not an image.*\(unsupported_type\)", again.stderr), (
        again.stderr
    )
    delivered = sorted(p.name for p in (farm.spool / "outbox" / "drop" / "sub").glob("note*.json"))
    assert len(delivered) == 2 and "note.json" in delivered, delivered
    assert any(re.fullmatch(r"note-[0-9a-f]{8}\.json", name) for name in delivered), delivered


def test_spool_mode_refuses_a_folder_that_is_not_a_spool(tmp_path):
    write(tmp_path / "a.png", blank_image())
    result = ocr("--spool", tmp_path / "nothing-here", "a.png", cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "is not a spool: it has no inbox/ folder" in result.stderr


def test_model_picks_one_of_the_farms_sets_and_an_unknown_one_fails_naming_them(busy_farm, tmp_path):
    env = {"OCRFARM_URL": busy_farm.url, "OCRFARM_API_TOKEN": TOKEN}
    picked = write(tmp_path / "picked.png", blank_image(31, 17))
    result = ocr("--model", "ppocrv6", picked, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "picked.json").read_text())["options"]["model"] == "ppocrv6"
    unknown = write(tmp_path / "unknown.png", blank_image(31, 17))
    result = ocr("--model", "ppocrv9", unknown, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "option model must be a model set this farm has loaded: ppocrv3, ppocrv6" in result.stderr
    assert not (tmp_path / "unknown.json").exists()


def test_model_is_refused_with_spool_mode(tmp_path):
    result = ocr(
        "--spool",
        tmp_path,
        "--model",
        "ppocrv6",
        write(tmp_path / "a.png", blank_image()),
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--model needs HTTP" in result.stderr


def test_pdf_writes_a_searchable_pdf_beside_each_result_over_http_and_through_the_spool(farm, tmp_path):
    import pypdfium2

    def words(path: Path) -> list[str]:
        return pypdfium2.PdfDocument(path.read_bytes())[0].get_textpage().get_text_range().split()

    write(tmp_path / "scans" / "invoice.png", render_text())
    write(tmp_path / "scans" / "report.pdf", pdf_of(render_text(["Hello world"])))
    result = ocr("--pdf", "--url", farm.url, "scans", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_reads([" ".join(words(tmp_path / "scans" / "invoice.pdf"))], [" ".join(SAMPLE_LINES)])
    # report.pdf is the file sent: its searchable copy takes another name and the original stays.
    assert_reads([" ".join(words(tmp_path / "scans" / "report.ocr.pdf"))], ["Hello world"])
    assert words(tmp_path / "scans" / "report.pdf") == [], "the original is left as it was"

    spooled = ocr("--pdf", "--spool", farm.spool, "scans/invoice.png", "--out", "out", cwd=tmp_path)
    assert spooled.returncode == 0, spooled.stderr
    assert_reads([" ".join(words(tmp_path / "out" / "invoice.pdf"))], [" ".join(SAMPLE_LINES)])
