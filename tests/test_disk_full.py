"""A spool on a disk that really fills up: a small tmpfs mounted for each test (the tests run as root,
as CI does). An upload that does not fit is refused whole with 507; a worker keeps a finished result
until there is room for it; the intake leaves a file in the inbox; and every job still ends with
exactly one record, without spending an attempt on the farm's own trouble."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrfarm.settings import Settings
from ocrfarm.spool import Spool
from server import create_app
from tests.helpers import blank_image, wait_for
from workers.engine import FakeEngine
from workers.intake import Intake
from workers.loop import Worker

DISK_MB = 8


class Disk:
    """A mounted tmpfs of DISK_MB, filled and freed on demand with one filler file."""

    def __init__(self, root: Path):
        self.root = root
        self.filler = root / "filler"

    def fill(self, leave: int = 0) -> None:
        """Take all the room there is, then give `leave` bytes of it back."""
        chunk = b"\0" * 4096
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            while True:
                os.write(fd, chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
        if leave:
            size = self.filler.stat().st_size
            with open(self.filler, "r+b") as f:
                f.truncate(max(0, size - leave))

    def free(self) -> None:
        self.filler.unlink()


@pytest.fixture
def disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(
            f"could not mount a {DISK_MB} MB tmpfs for the full-disk tests (they need root): "
            f"{mounted.stderr.strip()}"
        )
    try:
        yield Disk(mount)
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: about 3 bytes a pixel."""
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def settings_for(disk: Disk, **values) -> Settings:
    return Settings.from_env({}, spool=disk.root / "spool", engine="fake", poll_interval=0.05, **values)


class FillingEngine(FakeEngine):
    """Fills the disk while it reads the first image, so that its result finds no room."""

    def __init__(self, disk: Disk):
        super().__init__()
        self.disk = disk
        self.filled = threading.Event()

    def recognize(self, image, **options):
        lines = super().recognize(image, **options)
        if not self.filled.is_set():
            self.disk.fill()
            self.filled.set()
        return lines


@contextlib.contextmanager
def worker_out_of_room(disk: Disk, spool: Spool, settings: Settings, caplog, **work):
    """A worker thread whose first result meets a full disk; yields (worker, thread) once it waits
    for room, and stops it at the end whatever happened."""
    worker = Worker(spool, FillingEngine(disk), settings, "w")
    thread = threading.Thread(target=worker.work, kwargs=work, daemon=True)
    caplog.set_level(logging.ERROR, logger="workers.loop")
    thread.start()
    try:
        wait_for(
            lambda: "the spool's disk is full" in caplog.text,
            timeout=30,
            message="the worker to find no room for its result",
        )
        yield worker, thread
    finally:
        worker.stop()
        thread.join(timeout=10)


def test_an_upload_the_disk_cannot_hold_is_refused_whole_with_507(disk):
    settings = settings_for(disk)
    client = create_app(settings).test_client()
    spool = Spool.from_settings(settings).ensure()
    upload = noise_png(400, 400)
    assert len(upload) > 400_000

    def post():
        return client.post(
            "/v1/jobs", data={"file": (io.BytesIO(upload), "big.png")}, content_type="multipart/form-data"
        )

    disk.fill(leave=len(upload) // 2)
    assert client.get("/readyz").get_json()["disk_free_bytes"] < len(upload), (
        "readiness shows the disk filling"
    )
    refused = post()
    assert refused.status_code == 507, refused.get_data(as_text=True)
    assert refused.get_json()["error"] == {
        "code": "insufficient_storage",
        "message": "the spool's disk is full; try again later",
    }
    assert list(spool.queue.iterdir()) == [] and list(spool.tmp.iterdir()) == [], "no part of it was kept"

    disk.free()
    assert client.get("/readyz").get_json()["disk_free_bytes"] > DISK_MB * 2**20 // 2
    accepted = post()
    assert accepted.status_code == 202
    assert [p.name for p in spool.queue.iterdir()] == [accepted.get_json()["id"]]


def test_a_worker_keeps_a_finished_result_until_the_disk_has_room(disk, caplog):
    settings = settings_for(disk)
    spool = Spool.from_settings(settings).ensure()
    # The dropped file first, so that its delivery to the outbox is what meets the full disk.
    (spool.inbox / "scans").mkdir()
    (spool.inbox / "scans" / "page.png").write_bytes(blank_image(50, 40))
    dropped = spool.accept_dropped(spool.inbox / "scans" / "page.png")
    uploaded = spool.submit(blank_image(), source="http", filename="upload.png")
    with worker_out_of_room(disk, spool, settings, caplog, burst=True) as (_, thread):
        assert spool.result(uploaded.id) is None and spool.result(dropped.id) is None
        assert {p.name for p in spool.queue.iterdir()} == {uploaded.id, dropped.id}, "both jobs still queued"
        disk.free()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker wrote both results once there was room, and left"

    for job in (uploaded, dropped):
        record = spool.result(job.id)
        assert record["status"] == "done", record
        assert [a["outcome"] for a in record["attempts"]] == ["done"], "the full disk cost no attempt"
    assert sorted(p.name for p in (spool.outbox / "scans").iterdir()) == [
        "page.json",
        "page.pdf",
        "page.txt",
    ]  # the searchable PDF too
    assert sorted(p.name for p in (spool.done / "scans").iterdir()) == ["page.png"]
    assert list(spool.queue.iterdir()) == [] and list(spool.tmp.iterdir()) == []


def test_a_worker_asked_to_stop_while_the_disk_is_full_lets_the_job_go(disk, caplog):
    settings = settings_for(disk)
    spool = Spool.from_settings(settings).ensure()
    job = spool.submit(blank_image(), source="http")
    with worker_out_of_room(disk, spool, settings, caplog) as (worker, thread):
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "a stop request ends the wait for room"
    assert spool.result(job.id) is None and (spool.queue / job.id).is_dir(), (
        "the job is queued again, not lost"
    )

    disk.free()
    Worker(spool, FakeEngine(), settings, "w2").work(burst=True)
    record = spool.result(job.id)
    assert record["status"] == "done" and [a["outcome"] for a in record["attempts"]] == ["error", "done"]


def test_the_intake_leaves_a_file_in_the_inbox_while_the_disk_is_full(disk):
    settings = settings_for(disk, quiet_period=2)
    spool = Spool.from_settings(settings).ensure()
    now = [1000.0]
    intake = Intake(spool, settings, clock=lambda: now[0])
    try:
        dropped = spool.inbox / "scan.png"
        dropped.write_bytes(blank_image())
        assert intake.step() == 0, "just seen"
        disk.fill()
        now[0] += 3
        assert intake.step() == 0
        assert dropped.exists(), "the file stays where it was put"
        assert list(spool.queue.iterdir()) == [] and list(spool.tmp.iterdir()) == []

        disk.free()
        now[0] += 1
        assert intake.step() == 0, "tried again after another quiet period, not in a tight loop"
        now[0] += 2
        assert intake.step() == 1
        assert not dropped.exists() and len(list(spool.queue.iterdir())) == 1
    finally:
        intake.watch.close()
        intake.stopping.close()
