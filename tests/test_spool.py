"""The spool protocol, in-process on a temporary spool (plus one real process killed mid-job)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ocrfarm.spool import Spool, new_job_id, valid_job_id
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def spool(tmp_path) -> Spool:
    return Spool(tmp_path / "spool", max_attempts=3).ensure()


def test_submitted_job_is_claimed_once_and_finished(spool):
    job = spool.submit(b"image bytes", source="http", filename="a.png")
    assert spool.status(job.id)["status"] == "queued"

    claim = spool.claim("w1")
    assert claim is not None and claim.job.id == job.id
    assert claim.read_input() == b"image bytes"
    assert spool.status(job.id)["status"] == "running"
    # A second worker finds nothing to do while the first holds the job.
    assert spool.claim("w2") is None

    claim.finish({"lines": [], "text": "hello"})
    record = spool.result(job.id)
    assert record["status"] == "done" and record["text"] == "hello"
    assert record["attempts"][0]["outcome"] == "done"
    assert spool.depth() == 0
    assert list(spool.locks.iterdir()) == [], "finished jobs leave no lock files behind"
    assert spool.claim("w1") is None


def test_claims_oldest_first(spool):
    ids = [spool.submit(b"x", source="http").id for _ in range(5)]
    claimed = []
    while (claim := spool.claim("w")) is not None:
        claimed.append(claim.job.id)
        claim.finish({})
    assert claimed == ids


def test_nothing_half_written_is_visible(spool):
    # Whatever sits in tmp/ (a writer that died mid-upload) is never a job.
    (spool.tmp / new_job_id()).mkdir()
    assert spool.claim("w") is None
    assert spool.depth() == 0


def test_failed_attempt_is_retried_then_given_up_with_its_history(spool):
    job = spool.submit(b"x", source="http")
    for attempt in (1, 2, 3):
        claim = spool.claim("w")
        assert claim.attempt == attempt
        claim.retry(f"engine error number {attempt}")
        assert spool.status(job.id)["status"] == "queued"
    assert spool.claim("w") is None, "a job out of attempts is failed, not handed out"
    record = spool.result(job.id)
    assert record["status"] == "failed"
    assert record["error"]["code"] == "too_many_attempts"
    assert "engine error number 3" in record["error"]["message"]
    assert [a["reason"] for a in record["attempts"]] == [f"engine error number {n}" for n in (1, 2, 3)]
    assert spool.depth() == 0


def test_bad_input_fails_at_once(spool):
    job = spool.submit(b"x", source="http")
    spool.claim("w").fail("undecodable", "the image could not be decoded")
    record = spool.result(job.id)
    assert record["status"] == "failed"
    assert record["error"] == {"code": "undecodable", "message": "the image could not be decoded"}


def test_result_written_but_job_not_removed_is_not_run_again(spool):
    # A worker that died between writing the result and removing the job.
    job = spool.submit(b"x", source="http")
    claim = spool.claim("w")
    claim.finish({"text": "first"})
    (spool.queue / job.id).mkdir()
    (spool.queue / job.id / "job.json").write_text(
        json.dumps({"id": job.id, "source": "http", "size": 1, "submitted": job.submitted})
    )
    assert spool.claim("w") is None
    assert spool.result(job.id)["text"] == "first"
    assert spool.depth() == 0


def test_a_job_half_removed_after_its_result_is_retired_not_failed(spool):
    # A worker killed in the middle of removing a finished job's folder: job.json is gone already,
    # its attempts are still there. The job is answered; the next claim must keep that answer.
    job = spool.submit(b"x", source="http")
    claim = spool.claim("w")
    attempts = (spool.queue / job.id / "attempts.jsonl").read_bytes()
    claim.finish({"text": "first"})
    (spool.queue / job.id).mkdir()
    (spool.queue / job.id / "attempts.jsonl").write_bytes(attempts)
    assert spool.claim("w") is None
    record = spool.result(job.id)
    assert record["status"] == "done" and record["text"] == "first"
    assert spool.depth() == 0 and not (spool.queue / job.id).exists()


def test_a_cancel_that_meets_a_just_finished_job_keeps_its_answer(spool, monkeypatch):
    # The worker writes the result after cancel()'s first look and dies before removing the job.
    job = spool.submit(b"x", source="http")
    spool.claim("w").finish({"text": "first"})
    (spool.queue / job.id).mkdir()
    (spool.queue / job.id / "job.json").write_text(
        json.dumps({"id": job.id, "source": "http", "size": 1, "submitted": job.submitted})
    )
    real_result, looks = spool.result, []

    def result(job_id):
        looks.append(job_id)
        return None if len(looks) == 1 else real_result(job_id)

    monkeypatch.setattr(spool, "result", result)
    assert spool.cancel(job.id) == "finished"
    monkeypatch.undo()
    assert spool.result(job.id)["status"] == "done" and spool.result(job.id)["text"] == "first"
    assert not (spool.queue / job.id).exists()


def test_torn_result_and_torn_attempt_lines_are_ignored(spool):
    job = spool.submit(b"x", source="http")
    (spool.results / f"{job.id}.json").write_bytes(b'{"id": "' + job.id.encode() + b'", "stat')
    with open(spool.queue / job.id / "attempts.jsonl", "ab") as f:
        f.write(b'{"attempt": 1, "wor')
    assert spool.result(job.id) is None
    assert spool.status(job.id)["status"] == "queued"
    claim = spool.claim("w")
    assert claim.attempt == 1


def test_job_ids_are_checked():
    assert valid_job_id(new_job_id())
    for bad in ("", "../etc/passwd", "0" * 31, "0" * 33, "G" * 32, "0" * 31 + "\n"):
        assert not valid_job_id(bad)


def test_unknown_job_has_no_status(spool):
    assert spool.status(new_job_id()) is None


def test_job_of_a_killed_process_is_taken_again(spool):
    """The kernel drops a dead worker's flock: the job is claimable again, and the attempt counts."""
    job = spool.submit(b"x", source="http")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(ROOT)!r})
            from ocrfarm.spool import Spool
            claim = Spool({str(spool.root)!r}).claim("doomed")
            print(claim.job.id, flush=True)
            time.sleep(600)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == job.id
        assert spool.claim("w") is None, "the job is held by a live process"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        claim = wait_for(lambda: spool.claim("w"), timeout=5, message="the job to be claimable")
    finally:
        holder.kill()
        holder.wait()
    assert claim.job.id == job.id
    assert claim.attempt == 2
    claim.finish({})
    assert spool.result(job.id)["attempts"][0]["outcome"] == "worker_died"


def test_sweep_removes_only_what_is_old_and_finished(spool):
    import time

    old = time.time() - 10_000
    stray = spool.tmp / "upload.123.tmp"
    stray.write_bytes(b"half")
    os.utime(stray, (old, old))
    fresh = spool.tmp / "upload.456.tmp"
    fresh.write_bytes(b"being written")

    done = spool.submit(b"x", source="http")
    spool.claim("w").finish({})
    os.utime(spool.results / f"{done.id}.json", (old, old))
    recent = spool.submit(b"x", source="http")
    spool.claim("w").finish({})

    queued = spool.submit(b"x", source="http")
    spool.claim("w").retry("engine error")  # leaves its lock file, as a live job should
    orphan = spool.locks / f"{new_job_id()}.lock"
    orphan.write_bytes(b"")
    os.utime(orphan, (old, old))
    for lock in spool.locks.iterdir():
        os.utime(lock, (old, old))

    removed = spool.sweep(retention=5000, tmp_max_age=3600)
    assert removed == {"tmp": 1, "results": 1, "heartbeats": 0, "locks": 1}
    assert not stray.exists() and fresh.exists()
    assert spool.result(done.id) is None and spool.result(recent.id) is not None
    assert (spool.locks / f"{queued.id}.lock").exists(), "a queued job keeps its lock file"
    assert spool.claim("w").job.id == queued.id


def test_oldest_age(spool):
    assert spool.oldest_age() is None
    spool.submit(b"x", source="http")
    assert 0 <= spool.oldest_age() < 60


def test_sweep_removes_temp_files_of_dead_writers_at_once(spool):
    from ocrfarm.durable import temp_name

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = spool.tmp / f"result.json.{finished.stdout.strip()}.abcd1234.tmp"
    dead.write_bytes(b"half a result")
    mine = spool.tmp / temp_name("result.json")
    mine.write_bytes(b"being written")
    assert spool.sweep(retention=5000, tmp_max_age=3600)["tmp"] == 1
    assert not dead.exists() and mine.exists()
