"""The drop folder with real files and the real farm (supervisord, intake, PaddleOCR workers)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.farm_process import FarmProcess
from tests.helpers import assert_reads, render_text, wait_for

pytestmark = pytest.mark.system


def numbered_image(n: int) -> bytes:
    return render_text([f"Page {n:04d}"], size=40)


def digits(text: str) -> str:
    return "".join(re.findall(r"\d", text))


def outbox_results(spool: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (spool / "outbox").rglob("*.json")]


def drop_batch(inbox: Path, count: int, prefix: str = "page") -> dict[str, str]:
    """Write `count` numbered images straight into the inbox; returns file name -> expected digits."""
    expected = {}
    for n in range(count):
        name = f"{prefix}{n:04d}.png"
        (inbox / name).write_bytes(numbered_image(n))
        expected[name] = f"{n:04d}"
    return expected


def check_exactly_once(spool: Path, expected: dict[str, str]) -> None:
    results = outbox_results(spool)
    by_file = {}
    for record in results:
        assert record["filename"] not in by_file, f"two results for {record['filename']}"
        by_file[record["filename"]] = record
    assert set(by_file) == set(expected), "every dropped file has a result"
    misread = {name: r["text"] for name, r in by_file.items() if digits(r["text"]) != expected[name]}
    assert len(misread) <= len(expected) // 50, f"misread: {misread}"
    assert list((spool / "inbox").iterdir()) == [], "nothing left behind in the inbox"
    assert list((spool / "queue").iterdir()) == []
    assert list((spool / "failed").iterdir()) == []
    assert sorted(p.name for p in (spool / "done").iterdir()) == sorted(expected)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    # No searchable PDFs here: these tests count results under load, and a PDF per file would
    # double their run time. The PDFs are tested in test_searchable_system.py and test_dropfolder.py;
    # the restart test below runs with them on.
    with FarmProcess(
        tmp_path_factory.mktemp("dropfarm"), workers=2, quiet_period=2, decode_grace=4, outbox_pdf="false"
    ) as farm:
        yield farm


def test_slow_writer_is_taken_only_when_complete_and_once(farm):
    data = render_text(fmt="JPEG")
    path = farm.spool / "inbox" / "slow.jpg"
    chunks = [data[i : i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
            f.flush()
            # The writer's own pace (a scanner over FTP): 0.5 s between chunks, 4 s in all.
            time.sleep(0.5)
            assert path.exists(), "taken while still being written"
            assert not (farm.spool / "outbox" / "slow.json").exists()
    result = wait_for(
        lambda: (
            (farm.spool / "outbox" / "slow.json").exists()
            and json.loads((farm.spool / "outbox" / "slow.json").read_text())
        ),
        timeout=60,
        message="the slow file's result",
    )
    assert result["status"] == "done"
    assert_reads(result["text"].splitlines())
    assert (farm.spool / "outbox" / "slow.txt").read_text() == result["text"] + "\n"
    assert sorted(p.name for p in (farm.spool / "outbox").glob("slow*")) == ["slow.json", "slow.txt"]


def test_junk_symlinks_and_a_fake_jpeg(farm, tmp_path):
    inbox = farm.spool / "inbox"
    junk = [".DS_Store", "._scan.png", "Thumbs.db", "desktop.ini", "@eaDir/scan.png", "scan.png.part"]
    for rel in junk:
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        (inbox / rel).write_bytes(render_text())
    outside = tmp_path / "outside.png"
    outside.write_bytes(render_text())
    (inbox / "link.png").symlink_to(outside)
    (inbox / "notes.jpg").write_text("a text file, renamed to look like a photo\n")
    (inbox / "real.png").write_bytes(render_text())

    error_file = farm.spool / "failed" / "notes.jpg.error.json"
    wait_for(lambda: error_file.exists(), timeout=60, message="the fake JPEG to fail")
    # The original is in failed/ no later than its reason.
    error = json.loads(error_file.read_text())
    assert error["error"]["code"] == "unsupported_type"
    assert "not an image" in error["error"]["message"]
    assert (farm.spool / "failed" / "notes.jpg").exists()
    wait_for(lambda: (farm.spool / "outbox" / "real.json").exists(), timeout=60, message="the real image")

    assert all((inbox / rel).exists() for rel in junk), "junk is ignored, not taken"
    assert (inbox / "link.png").is_symlink(), "the symlink is left alone"
    assert outside.read_bytes() == render_text(), "its target is untouched"
    assert not (farm.spool / "outbox" / "link.json").exists()
    assert "leaves link.png alone: a symlink" in farm.log_text()
    for rel in junk + ["link.png"]:
        (inbox / rel).unlink()
    (inbox / "@eaDir").rmdir()


def test_three_hundred_files_dropped_at_once_come_out_exactly_once(farm):
    for folder in ("outbox", "done"):
        for p in (farm.spool / folder).iterdir():
            p.unlink()
    for p in (farm.spool / "failed").iterdir():
        p.unlink()
    expected = drop_batch(farm.spool / "inbox", 300)
    wait_for(
        lambda: len(outbox_results(farm.spool)) >= 300 and not list((farm.spool / "queue").iterdir()),
        timeout=600,
        interval=0.5,
        message="300 results",
    )
    check_exactly_once(farm.spool, expected)


def test_restarting_the_whole_farm_mid_batch_loses_nothing(tmp_path):
    farm = FarmProcess(tmp_path, workers=2, quiet_period=1)
    try:
        farm.start()
        expected = drop_batch(farm.spool / "inbox", 120, prefix="batch")
        wait_for(lambda: len(outbox_results(farm.spool)) >= 10, timeout=120, message="the batch to start")
        assert farm.stop() == 0
        done_before = len(outbox_results(farm.spool))
        assert done_before < 120, "stopped mid-batch"
        farm.start()
        wait_for(
            lambda: len(outbox_results(farm.spool)) >= 120 and not list((farm.spool / "queue").iterdir()),
            timeout=600,
            interval=0.5,
            message="the rest of the batch after the restart",
        )
        check_exactly_once(farm.spool, expected)
        assert list((farm.spool / "tmp").iterdir()) == [], "no temp files left"
    finally:
        farm.stop()
    print(f"restart mid-batch: {done_before} of 120 done before the stop, all 120 exactly once after")
