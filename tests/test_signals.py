"""A real worker process and real signals: the first SIGTERM finishes the job, a second leaves now."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ocrfarm.spool import Spool
from tests.helpers import blank_image, wait_for
from workers.engine import HANG_WIDTH

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def start_worker(tmp_path):
    spool = Spool(tmp_path / "spool").ensure()
    started = []

    def start(**settings):
        env = {
            "PATH": os.environ["PATH"],
            "OCRFARM_SPOOL": str(spool.root),
            "OCRFARM_ENGINE": "fake",
            "OCRFARM_POLL_INTERVAL": "0.1",
            **{f"OCRFARM_{k.upper()}": str(v) for k, v in settings.items()},
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "workers", "--name", "w"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        wait_for(
            lambda: (spool.heartbeats / "w").exists() or process.poll() is not None,
            timeout=30,
            message="the worker to start",
        )
        return process

    yield spool, start
    for process in started:
        process.kill()
        process.wait()


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for `signum` (SigCgt in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    raise AssertionError("no SigCgt line")


def running(spool, job_id):
    return spool.status(job_id)["status"] == "running"


def test_first_sigterm_finishes_the_current_job_then_exits(start_worker):
    spool, start = start_worker
    worker = start(fake_delay=2)
    job = spool.submit(blank_image(), source="http")
    wait_for(lambda: running(spool, job.id), timeout=10, message="the job to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert spool.result(job.id)["status"] == "done"
    assert "stopping on request" in worker.stdout.read()


def test_second_sigterm_leaves_at_once_and_the_job_is_taken_again(start_worker):
    spool, start = start_worker
    worker = start(fake_delay=60)
    job = spool.submit(blank_image(), source="http")
    wait_for(lambda: running(spool, job.id), timeout=10, message="the job to start")
    worker.send_signal(signal.SIGTERM)
    # The first TERM has been taken when the worker stops catching TERM (its handler resets it).
    wait_for(lambda: not catches(worker.pid, signal.SIGTERM), timeout=10, message="the first TERM to land")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == -signal.SIGTERM
    assert spool.result(job.id) is None
    replacement = start()
    record = wait_for(lambda: spool.result(job.id), timeout=30, message="the job to be finished")
    assert record["status"] == "done"
    assert [a["outcome"] for a in record["attempts"]] == ["worker_died", "done"]
    replacement.send_signal(signal.SIGTERM)
    assert replacement.wait(timeout=30) == 0


def test_hung_ocr_call_is_ended_from_outside(start_worker):
    spool, start = start_worker
    worker = start(job_timeout=2)
    job = spool.submit(blank_image(HANG_WIDTH, 10), source="http")
    assert worker.wait(timeout=30) == 4, "the worker leaves so that a fresh one can start"
    status = spool.status(job.id)
    assert status["status"] == "queued" and status["attempts"] == 1
    assert "job timeout of 2 s" in worker.stdout.read()


def test_idle_worker_stops_promptly(start_worker):
    spool, start = start_worker
    worker = start(poll_interval=3600)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0
