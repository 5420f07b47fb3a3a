"""The drop folder in-process: the intake stepped by hand with its clock passed in, a fake engine."""

from __future__ import annotations

import json
import logging
import os

import pytest

from ocrfarm.settings import Settings
from ocrfarm.spool import Spool
from tests.helpers import blank_image, render_text
from workers.engine import FakeEngine
from workers.intake import Intake
from workers.loop import Worker


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def farm(tmp_path):
    settings = Settings.from_env({}, spool=tmp_path / "spool", engine="fake", quiet_period=2, decode_grace=10)
    spool = Spool.from_settings(settings)
    clock = Clock()
    intake = Intake(spool, settings, clock=clock)
    yield settings, spool, intake, clock
    intake.watch.close()
    intake.stopping.close()


def drop(spool: Spool, rel: str, data: bytes):
    path = spool.inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def settle(intake: Intake, clock: Clock, seconds: float = 3) -> int:
    """One look, then another after `seconds`: what the intake queues once files have been quiet."""
    intake.step()
    clock.now += seconds
    return intake.step()


def run_workers(spool, settings):
    Worker(spool, FakeEngine(), settings, "w").work(burst=True)


def test_dropped_file_is_taken_after_the_quiet_period_and_answered_in_the_outbox(farm):
    settings, spool, intake, clock = farm
    drop(spool, "scan.png", blank_image(40, 30))
    assert intake.step() == 0, "just seen: not yet quiet"
    clock.now += 1
    assert intake.step() == 0
    clock.now += 1.5
    assert intake.step() == 1
    assert not (spool.inbox / "scan.png").exists()
    run_workers(spool, settings)
    result = json.loads((spool.outbox / "scan.json").read_text())
    assert result["status"] == "done" and result["text"] == "40x30" and result["source"] == "inbox"
    assert result["filename"] == "scan.png"
    assert (spool.outbox / "scan.txt").read_text() == "40x30\n"
    assert (spool.done / "scan.png").read_bytes() == blank_image(40, 30)


def test_a_file_that_keeps_changing_is_not_taken(farm):
    settings, spool, intake, clock = farm
    path = drop(spool, "growing.png", b"")
    for n in range(5):
        with open(path, "ab") as f:
            f.write(b"x" * (n + 1))
        clock.now += 1.5
        assert intake.step() == 0
    path.write_bytes(blank_image())
    assert settle(intake, clock) == 1


def test_junk_and_temporary_names_are_ignored_until_renamed(farm):
    settings, spool, intake, clock = farm
    junk = [
        ".DS_Store",
        "._scan.png",
        "Thumbs.db",
        "desktop.ini",
        "@eaDir/scan.png",
        "__MACOSX/scan.png",
        ".stfolder/x.png",
        ".Trashes/x.png",
        ".hidden.png",
        "scan.png.part",
        "scan.png.tmp",
        "scan.png.crdownload",
        ".scan.png.Xa81Qz",
    ]
    for rel in junk:
        drop(spool, rel, blank_image())
    assert settle(intake, clock, 60) == 0
    assert all((spool.inbox / rel).exists() for rel in junk), "junk is left where it is"
    os.rename(spool.inbox / "scan.png.part", spool.inbox / "scan.png")
    assert settle(intake, clock) == 1


def test_subfolders_are_mirrored_and_same_names_do_not_collide(farm):
    settings, spool, intake, clock = farm
    drop(spool, "2026/march/scan.png", blank_image(11, 11))
    assert settle(intake, clock) == 1
    run_workers(spool, settings)
    drop(spool, "2026/march/scan.png", blank_image(22, 22))
    assert settle(intake, clock) == 1
    run_workers(spool, settings)
    folder = spool.outbox / "2026" / "march"
    texts = sorted(json.loads(p.read_text())["text"] for p in folder.glob("*.json"))
    assert texts == ["11x11", "22x22"], "the second scan.png got its own name"
    assert len(list(folder.glob("*.txt"))) == 2
    assert len(list((spool.done / "2026" / "march").glob("scan*.png"))) == 2


def test_symlinks_and_fifos_are_reported_and_left_alone(farm, tmp_path, caplog):
    settings, spool, intake, clock = farm
    outside = tmp_path / "secret.png"
    outside.write_bytes(blank_image())
    (spool.inbox / "link.png").symlink_to(outside)
    os.mkfifo(spool.inbox / "pipe.png")
    with caplog.at_level(logging.WARNING):
        assert settle(intake, clock, 60) == 0
        intake.step()
    assert (spool.inbox / "link.png").is_symlink() and outside.exists()
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("link.png" in w and "symlink" in w for w in warnings) == 1, "reported once"
    assert sum("pipe.png" in w and "FIFO" in w for w in warnings) == 1


def test_not_an_image_waits_out_its_grace_then_fails_with_the_reason(farm):
    settings, spool, intake, clock = farm
    drop(spool, "notes.jpg", b"this is a text file with a .jpg name\n")
    assert settle(intake, clock) == 0, "young: it may still be being written"
    clock.now += settings.decode_grace
    assert intake.step() == 1
    run_workers(spool, settings)
    error = json.loads((spool.failed / "notes.jpg.error.json").read_text())
    assert error["status"] == "failed"
    assert error["error"]["code"] == "unsupported_type"
    assert "not an image" in error["error"]["message"]
    assert (spool.failed / "notes.jpg").exists()
    assert list(spool.outbox.iterdir()) == []


def test_truncated_jpeg_waits_for_the_rest(farm):
    settings, spool, intake, clock = farm
    jpeg = render_text(fmt="JPEG")
    path = drop(spool, "scan.jpg", jpeg[: len(jpeg) // 2])
    assert settle(intake, clock) == 0
    with open(path, "ab") as f:
        f.write(jpeg[len(jpeg) // 2 :])
    assert settle(intake, clock) == 1
    run_workers(spool, settings)
    assert json.loads((spool.outbox / "scan.json").read_text())["status"] == "done"


def test_originals_can_be_deleted_instead_of_kept(tmp_path):
    settings = Settings.from_env({}, spool=tmp_path / "spool", engine="fake", keep_originals=False)
    spool = Spool.from_settings(settings)
    clock = Clock()
    intake = Intake(spool, settings, clock=clock)
    drop(spool, "scan.png", blank_image())
    assert settle(intake, clock) == 1
    run_workers(spool, settings)
    assert (spool.outbox / "scan.json").exists()
    assert list(spool.done.iterdir()) == []


def test_a_file_taken_but_not_queued_before_a_crash_is_queued_on_restart(farm):
    settings, spool, intake, clock = farm
    path = drop(spool, "scan.png", blank_image())
    job = spool.accept_dropped(path)
    # As if the intake died between taking the file and publishing its job.
    os.rename(spool.queue / job.id, spool.tmp / job.id)
    assert spool.depth() == 0
    assert spool.recover_dropped() == 1
    run_workers(spool, settings)
    assert (spool.outbox / "scan.json").exists()


def test_redelivery_after_a_crash_keeps_one_result_under_one_name(farm, monkeypatch):
    import errno

    from tests.helpers import fail_first_result_write

    settings, spool, intake, clock = farm
    drop(spool, "scan.png", blank_image())
    assert settle(intake, clock) == 1
    # The outbox file is delivered, then writing the result fails: the job runs again.
    failures = fail_first_result_write(monkeypatch, spool, OSError(errno.EIO, "I/O error"))
    run_workers(spool, settings)
    assert failures
    # The searchable PDF too is there once, under the name of its result.
    assert sorted(p.name for p in spool.outbox.iterdir()) == ["scan.json", "scan.pdf", "scan.txt"]
    assert len(json.loads((spool.outbox / "scan.json").read_text())["attempts"]) == 2
    assert [p.name for p in spool.done.iterdir()] == ["scan.png"], "archived once"
    assert list(spool.tmp.iterdir()) == [], "no staging file left behind"


def test_a_dropped_job_answered_but_not_archived_is_archived_when_retired(farm):
    settings, spool, intake, clock = farm
    drop(spool, "scan.png", blank_image())
    assert settle(intake, clock) == 1
    # As an older farm left it: the result written, the original not yet in done/, the worker dead.
    claim = spool.claim("w")
    job = claim.job
    (spool.results / f"{job.id}.json").write_text(
        json.dumps(
            {
                "id": job.id,
                "status": "done",
                "source": "inbox",
                "filename": "scan.png",
                "size": job.size,
                "submitted": job.submitted,
                "text": "",
            }
        )
    )
    claim.lock.release()
    assert spool.claim("w") is None, "retired from its result, not run again"
    assert [p.name for p in spool.done.iterdir()] == ["scan.png"]
    assert not (spool.queue / job.id).exists()


def test_two_intakes_on_one_inbox_queue_each_file_once(farm):
    settings, spool, first, clock = farm
    second = Intake(spool, settings, clock=clock)
    try:
        for n in range(20):
            drop(spool, f"f{n:02d}.png", blank_image(10 + n, 10))
        first.step()
        second.step()
        clock.now += 3
        # Both see every file settled; whoever renames a file first has it.
        queued = first.step() + second.step()
        assert queued == 20
        late = drop(spool, "late.png", blank_image(99, 9))
        assert spool.accept_dropped(late) is not None
        assert spool.accept_dropped(late) is None, "the same file cannot become a second job"
        run_workers(spool, settings)
        names = sorted(json.loads(p.read_text())["filename"] for p in spool.outbox.glob("*.json"))
        assert names == sorted([f"f{n:02d}.png" for n in range(20)] + ["late.png"])
    finally:
        second.watch.close()
        second.stopping.close()


def test_the_outbox_gets_a_searchable_pdf_beside_the_json_unless_turned_off(farm, tmp_path):
    import pypdfium2

    settings, spool, intake, clock = farm
    drop(spool, "letters/scan.png", render_text())
    assert settle(intake, clock) == 1
    run_workers(spool, settings)
    result = json.loads((spool.outbox / "letters" / "scan.json").read_text())
    assert "pdf_s" in result["timings"]
    document = pypdfium2.PdfDocument((spool.outbox / "letters" / "scan.pdf").read_bytes())
    # The fake engine reads one line naming the image's size: that is the PDF's text.
    assert document[0].get_textpage().get_text_range().split() == [result["text"]]

    off = Settings.from_env({}, spool=tmp_path / "off", engine="fake", quiet_period=2, outbox_pdf=False)
    spool_off = Spool.from_settings(off)
    intake_off = Intake(spool_off, off, clock=clock)
    try:
        drop(spool_off, "scan.png", render_text())
        assert settle(intake_off, clock) == 1
        run_workers(spool_off, off)
    finally:
        intake_off.watch.close()
        intake_off.stopping.close()
    assert sorted(p.name for p in spool_off.outbox.iterdir()) == ["scan.json", "scan.txt"]
