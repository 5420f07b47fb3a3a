"""The queue protocol, one suite run against both queues: the spool and Redis (a real redis-server
started for the test). In-process, with crashes played by real processes killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.redis_server import RedisServer
from ocrfarm.exceptions import LeaseLost, QueueFull
from ocrfarm.jobs import new_job_id
from ocrfarm.redis_queue import RedisQueue
from ocrfarm.spool import Spool
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
LEASE = 1.0


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def make_queue(kind: str, tmp_path: Path, redis_server, **limits):
    if kind == "spool":
        return Spool(tmp_path / "spool", max_attempts=3, max_queue=limits.get("max_queue")).ensure()
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    return RedisQueue(
        redis_server.url,
        tmp_path / "spool",
        max_attempts=3,
        max_queue=limits.get("max_queue", 1000),
        max_queue_bytes=limits.get("max_queue_bytes", 1 << 30),
        lease=LEASE,
    ).ensure()


@pytest.fixture(params=["spool", "redis"])
def queue(request, tmp_path):
    server = request.getfixturevalue("redis_server") if request.param == "redis" else None
    return make_queue(request.param, tmp_path, server)


def test_a_job_is_claimed_once_and_answered_once(queue):
    job = queue.submit(b"image bytes", source="http", filename="a.png")
    assert queue.status(job.id)["status"] == "queued"
    assert queue.depth() == 1

    claim = queue.claim("w1")
    assert claim is not None and claim.job.id == job.id and claim.attempt == 1
    assert claim.read_input() == b"image bytes"
    assert queue.status(job.id)["status"] == "running"
    assert queue.claim("w2") is None, "a second worker finds nothing while the first holds the job"

    claim.finish({"lines": [], "text": "hello"})
    record = queue.result(job.id)
    assert record["status"] == "done" and record["text"] == "hello"
    assert record["attempts"][0]["outcome"] == "done"
    assert queue.depth() == 0 and queue.claim("w1") is None
    assert queue.input_bytes(job.id) == b"image bytes", "the upload is kept with its result"
    assert queue.has_result(job.id)


def test_oldest_first(queue):
    ids = [queue.submit(b"x", source="http").id for _ in range(5)]
    claimed = []
    while (claim := queue.claim("w")) is not None:
        claimed.append(claim.job.id)
        claim.finish({})
    assert claimed == ids


def test_a_failed_attempt_is_retried_then_given_up_with_its_history(queue):
    job = queue.submit(b"x", source="http")
    for attempt in (1, 2, 3):
        claim = queue.claim("w")
        assert claim is not None and claim.attempt == attempt
        claim.retry(f"engine error number {attempt}")
        assert queue.status(job.id)["status"] == "queued"
    assert queue.claim("w") is None, "a job out of attempts is failed, not handed out"
    record = queue.result(job.id)
    assert record["status"] == "failed" and record["error"]["code"] == "too_many_attempts"
    assert "engine error number 3" in record["error"]["message"]
    assert [a["reason"] for a in record["attempts"]] == [f"engine error number {n}" for n in (1, 2, 3)]
    assert queue.depth() == 0


def test_bad_input_fails_at_once(queue):
    job = queue.submit(b"x", source="http")
    queue.claim("w").fail("undecodable", "the image could not be decoded")
    record = queue.result(job.id)
    assert record["status"] == "failed"
    assert record["error"] == {"code": "undecodable", "message": "the image could not be decoded"}


def test_cancel(queue):
    queued = queue.submit(b"x", source="http")
    running = queue.submit(b"y", source="http")
    claim = queue.claim("w")  # held: a claim let go of (garbage) releases its flock
    assert claim.job.id == queued.id
    # The first is running now; the second is still queued.
    assert queue.cancel(queued.id) == "running"
    assert queue.cancel(running.id) == "cancelled"
    assert queue.result(running.id)["error"]["code"] == "cancelled"
    assert queue.cancel(running.id) == "finished"
    assert queue.cancel(new_job_id()) == "unknown"
    assert queue.claim("w2") is None, "a cancelled job is never handed out"
    assert queue.depth() == 1


def test_a_job_let_go_for_a_retry_can_be_cancelled(queue):
    job = queue.submit(b"x", source="http")
    queue.claim("w").retry("engine error")
    assert queue.cancel(job.id) == "cancelled"
    assert queue.claim("w") is None and queue.depth() == 0
    assert [a["outcome"] for a in queue.result(job.id)["attempts"]] == ["error"]


def test_unknown_job_has_no_status(queue):
    assert queue.status(new_job_id()) is None
    assert queue.result(new_job_id()) is None


def test_the_queue_limit_refuses_new_work(tmp_path, redis_server, request):
    for kind in ("spool", "redis"):
        queue = make_queue(kind, tmp_path / kind, redis_server, max_queue=2)
        queue.submit(b"x", source="http")
        queue.submit(b"x", source="http")
        with pytest.raises(QueueFull):
            queue.submit(b"x", source="http")
        queue.claim("w").finish({})
        queue.submit(b"x", source="http")


def test_redis_bounds_the_queue_in_bytes_too(tmp_path, redis_server):
    queue = make_queue("redis", tmp_path, redis_server, max_queue_bytes=1000)
    queue.submit(b"x" * 600, source="http")
    with pytest.raises(QueueFull, match="bytes"):
        queue.submit(b"x" * 600, source="http")
    queue.claim("w").finish({})
    queue.submit(b"x" * 600, source="http")


def test_live_workers_and_oldest_age(queue):
    assert queue.oldest_age() is None
    queue.heartbeat("w1", {"worker": "w1"})
    queue.heartbeat("w1")
    assert [w["worker"] for w in queue.live_workers(60)] == ["w1"]
    queue.submit(b"x", source="http")
    assert 0 <= queue.oldest_age() < 60


def test_a_waiting_request_is_woken_by_the_result(queue):
    watch = queue.watch_results()
    try:
        job = queue.submit(b"x", source="http")
        queue.claim("w").finish({"text": "t"})
        started = time.monotonic()
        wait_for(lambda: (watch.wait(5), queue.has_result(job.id))[1], timeout=10, message="the result")
        assert time.monotonic() - started < 5, "woken by the result, not by the timeout"
    finally:
        watch.close()


HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from ocrfarm.redis_queue import RedisQueue
from ocrfarm.spool import Spool
queue = {make}
claim = queue.claim("doomed")
print(claim.job.id, flush=True)
time.sleep(600)
"""


def holder(queue) -> subprocess.Popen:
    if isinstance(queue, Spool):
        make = f"Spool({str(queue.root)!r})"
    else:
        make = f"RedisQueue({queue.url!r}, {str(queue.root)!r}, lease={LEASE})"
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER.format(root=str(ROOT), make=make))],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_job_of_a_killed_worker_is_taken_again_and_the_attempt_counts(queue):
    job = queue.submit(b"x", source="http")
    process = holder(queue)
    try:
        assert process.stdout.readline().strip() == job.id
        assert queue.claim("w") is None, "the job is held by a live worker"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        # The spool's at once (the kernel drops the flock); Redis's once the lease has run out.
        claim = wait_for(
            lambda: queue.claim("w"), timeout=10, interval=0.1, message="the job to be claimable"
        )
    finally:
        process.kill()
        process.wait()
    assert claim.job.id == job.id and claim.attempt == 2
    claim.finish({})
    assert queue.result(job.id)["attempts"][0]["outcome"] == "worker_died"


def test_a_late_commit_after_the_lease_ran_out_is_refused(tmp_path, redis_server):
    """Redis only: the spool's lease is its holder's life, so nobody else can take its job."""
    queue = make_queue("redis", tmp_path, redis_server)
    job = queue.submit(b"x", source="http")
    stalled = queue.claim("stalled")
    time.sleep(LEASE * 1.5)  # the stalled worker's pause: past its lease, without renewing
    taken = queue.claim("w2")
    assert taken is not None and taken.job.id == job.id and taken.attempt == 2
    with pytest.raises(LeaseLost):
        stalled.renew()
    with pytest.raises(LeaseLost):
        stalled.finish({"text": "late"})
    taken.renew()
    taken.finish({"text": "on time"})
    record = queue.result(job.id)
    assert record["text"] == "on time" and queue.depth() == 0
    with pytest.raises(LeaseLost):
        stalled.retry("too late to let go")


def test_a_renewed_lease_keeps_the_job(tmp_path, redis_server):
    queue = make_queue("redis", tmp_path, redis_server)
    queue.submit(b"x", source="http")
    claim = queue.claim("w1")
    for _ in range(4):
        time.sleep(LEASE / 2)  # a running job, renewing as the worker does while the engine runs
        claim.renew()
    assert queue.claim("w2") is None, "a job whose lease is renewed is not reclaimed"
    claim.finish({})


def test_a_dropped_file_is_answered_in_this_hosts_outbox(queue):
    (queue.inbox / "scans").mkdir()
    dropped = queue.inbox / "scans" / "page.png"
    dropped.write_bytes(b"dropped bytes")
    job = queue.accept_dropped(dropped)
    assert not dropped.exists(), "the file is in exactly one place: the job"
    assert queue.accept_dropped(dropped) is None, "a second intake finds nothing to take"
    claim = queue.claim("w")
    assert claim.job.id == job.id and claim.read_input() == b"dropped bytes"
    claim.finish({"lines": [], "text": "read"}, {"pdf": b"%PDF- the searchable copy"})
    # The spool's worker delivered it already; with Redis this host's intake does, once it is back.
    queue.deliver_dropped()
    root = queue.inbox.parent
    assert (root / "outbox" / "scans" / "page.txt").read_text() == "read\n"
    assert (root / "outbox" / "scans" / "page.pdf").read_bytes() == b"%PDF- the searchable copy"
    assert (root / "done" / "scans" / "page.png").read_bytes() == b"dropped bytes"
    assert not queue.awaiting_delivery() and queue.deliver_dropped() == 0


def test_a_file_dropped_while_redis_is_away_is_queued_when_it_is_back(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    queue = RedisQueue(server.url, tmp_path / "spool", lease=LEASE).ensure()
    try:
        server.stop()
        dropped = queue.inbox / "scan.png"
        dropped.write_bytes(b"x")
        job = queue.accept_dropped(dropped)
        assert not dropped.exists() and queue.awaiting_delivery(), "held on this host meanwhile"
        server.start()
        assert queue.deliver_dropped() == 0, "queued now, not answered yet"
        queue.claim("w").finish({"lines": [], "text": "late"})
        assert queue.deliver_dropped() == 1
        assert queue.result(job.id)["text"] == "late"
        assert (queue.inbox.parent / "outbox" / "scan.txt").read_text() == "late\n"
    finally:
        server.stop()


def test_a_forgotten_job_keeps_neither_its_result_nor_its_upload(queue):
    job = queue.submit(b"a card", source="http", options={"answer_once": True})
    queue.claim("w").finish({"lines": [], "text": "name"})
    assert queue.result(job.id)["text"] == "name"
    queue.forget(job.id)
    assert queue.result(job.id) is None and queue.input_bytes(job.id) is None
    assert queue.status(job.id) is None
