"""Several hosts on one shared queue (issue 11): two farms on this machine, each with its own spool,
supervisord and port, sharing one real redis-server. Jobs submitted to either front are answered by
either; each drop folder delivers locally; and through SIGKILLed and SIGSTOPped workers, a restarted
and an unreachable Redis, and a poison file, every accepted job ends with exactly one record.

The fault tests run the fake engine (it answers with the image's size, which lets every result be
checked against its input); the first test runs the real one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time

import pytest
import redis
import requests

from harness.redis_server import RedisServer
from tests.farm_process import FarmProcess
from tests.helpers import SAMPLE_LINES, SUMMARY_LINES, assert_reads, blank_image, render_text, wait_for
from workers.engine import CRASH_WIDTH

pytestmark = pytest.mark.system

FAST = dict(engine="fake", poll_interval=0.2, lease=2, job_timeout=10, quiet_period=0.3, decode_grace=2)


@contextlib.contextmanager
def hosts(tmp_path, **settings):
    """A redis-server and two farms on it ("hosts" a and b); everything stopped at the end."""
    server = RedisServer(tmp_path / "redis").start()
    farms = [FarmProcess(tmp_path / name, queue=server.url, **settings) for name in ("a", "b")]
    try:
        for farm in farms:
            farm.start()
        yield server, farms[0], farms[1]
    finally:
        for farm in farms:
            farm.stop()
        server.stop()


def post_job(farm: FarmProcess, data: bytes, name: str = "x.png") -> str:
    response = requests.post(farm.url + "/v1/jobs", files={"file": (name, data)}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def answered(farm: FarmProcess, job_id: str) -> dict | None:
    response = requests.get(f"{farm.url}/v1/jobs/{job_id}", timeout=30)
    if response.status_code == 202:
        return None
    body = response.json()
    return body if response.status_code == 200 else {**body["error"], "status": "failed", **body}


def all_answered(farms, job_ids, timeout=180) -> dict[str, dict]:
    """Each job's final record, asked of the fronts in turn."""
    records: dict[str, dict] = {}

    def check():
        for n, job_id in enumerate(job_ids):
            if job_id not in records:
                record = answered(farms[n % len(farms)], job_id)
                if record is not None:
                    records[job_id] = record
        return len(records) == len(job_ids)

    wait_for(check, timeout=timeout, interval=0.3, message=f"{len(job_ids)} jobs to be answered")
    return records


def worker_pids(farm: FarmProcess) -> list[int]:
    return farm.ctl_worker_pids()


def test_two_hosts_answer_each_others_jobs_and_deliver_their_own_drops(tmp_path):
    with hosts(tmp_path, workers=1, poll_interval=0.2, quiet_period=0.3) as (server, a, b):
        readiness = requests.get(a.url + "/readyz", timeout=30).json()
        assert readiness["queue"] == "redis" and readiness["workers"] == 2, "one worker on each host"
        on_a = post_job(a, render_text(), "a.png")
        on_b = post_job(b, render_text(fmt="JPEG"), "b.jpg")
        # Each asked of the other front.
        records = {
            job_id: wait_for(lambda f=front, j=job_id: answered(f, j), timeout=120, message=f"job {job_id}")
            for job_id, front in ((on_a, b), (on_b, a))
        }
        for record in records.values():
            assert record["status"] == "done", record
            assert_reads(record["text"].splitlines(), SAMPLE_LINES)
        # A drop folder on each host: each result comes back to the host it was dropped on.
        for farm, name in ((a, "scan-a.png"), (b, "scan-b.png")):
            (farm.spool / "inbox" / name).write_bytes(render_text())
        for farm, mine, theirs in ((a, "scan-a", "scan-b"), (b, "scan-b", "scan-a")):
            out = farm.spool / "outbox" / f"{mine}.json"
            wait_for(out.exists, timeout=120, interval=0.2, message=f"{out}")
            assert_reads(json.loads(out.read_text())["text"].splitlines(), SAMPLE_LINES)
            assert (farm.spool / "outbox" / f"{mine}.txt").exists()
            assert (farm.spool / "done" / f"{mine}.png").exists()
            assert not (farm.spool / "outbox" / f"{theirs}.json").exists(), "delivered where it was dropped"
            # The original is let go of once its answer is out.
            wait_for(lambda f=farm: not any((f.spool / "held").iterdir()), timeout=30, message="held/ empty")


def test_every_worker_of_one_host_killed_mid_job_and_a_poison_file(tmp_path):
    with hosts(tmp_path, workers=2, fake_delay=0.4, max_attempts=3, **FAST) as (server, a, b):
        sizes = [(200 + n, 7) for n in range(40)]
        job_ids = [post_job((a, b)[n % 2], blank_image(w, h)) for n, (w, h) in enumerate(sizes)]
        poison = post_job(a, blank_image(CRASH_WIDTH, 5))
        (b.spool / "inbox" / "poison.png").write_bytes(blank_image(CRASH_WIDTH, 6))
        wait_for(lambda: answered(a, job_ids[3]), timeout=60, message="the load to be under way")
        killed = worker_pids(a)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        records = all_answered([a, b], job_ids + [poison])
        for job_id, (w, h) in zip(job_ids, sizes, strict=False):
            assert records[job_id]["status"] == "done" and records[job_id]["text"] == f"{w}x{h}"
        died = [r for r in records.values() if any(x["outcome"] == "worker_died" for x in r["attempts"])]
        assert died, "jobs of the killed workers were taken again after their lease"
        assert records[poison]["code"] == "too_many_attempts" and len(records[poison]["attempts"]) == 3
        failed = b.spool / "failed" / "poison.png.error.json"
        wait_for(failed.exists, timeout=120, interval=0.2, message="the dropped poison file's failure")
        assert json.loads(failed.read_text())["error"]["code"] == "too_many_attempts"
        assert server_depth(server) == 0
        SUMMARY_LINES.append(
            f"two hosts, SIGKILL of host a's workers: {len(job_ids)} jobs answered once each, "
            f"{len(died)} of them retried after their worker died"
        )


def server_depth(server: RedisServer) -> int:
    return redis.Redis.from_url(server.url).xlen("ocrfarm:jobs")


def test_a_worker_stopped_past_its_lease_has_its_late_result_refused(tmp_path):
    with hosts(tmp_path, workers=1, fake_delay=3, **FAST) as (server, a, b):
        b.ctl("stop", "worker:*")
        job_id = post_job(a, blank_image(321, 9))
        wait_for(
            lambda: requests.get(f"{a.url}/v1/jobs/{job_id}", timeout=30).json()["status"] == "running",
            timeout=30,
            message="host a's worker to run the job",
        )
        stopped = worker_pids(a)[0]
        os.kill(stopped, signal.SIGSTOP)
        try:
            b.ctl("start", "worker:*")
            record = wait_for(lambda: answered(b, job_id), timeout=60, message="host b to run the job")
        finally:
            os.kill(stopped, signal.SIGCONT)
        assert record["status"] == "done" and record["text"] == "321x9"
        assert len(record["attempts"]) == 2
        wait_for(
            lambda: "lease ran out and another worker took the job" in a.log_text(),
            timeout=30,
            message="the resumed worker to find its lease gone",
        )
        assert answered(a, job_id) == record, "one result, the same from either front"


def test_redis_restarted_under_load_and_unreachable_for_a_while(tmp_path):
    with hosts(tmp_path, workers=2, fake_delay=0.05, **FAST) as (server, a, b):
        accepted: dict[str, str] = {}
        refused = {"503": 0, "connection": 0}
        lock = threading.Lock()

        def client(front: FarmProcess, sizes) -> None:
            for w, h in sizes:
                while True:
                    try:
                        response = requests.post(
                            front.url + "/v1/jobs", files={"file": ("x.png", blank_image(w, h))}, timeout=30
                        )
                    except requests.ConnectionError:
                        refused["connection"] += 1
                        time.sleep(0.2)
                        continue
                    if response.status_code == 503:
                        assert response.json()["error"]["code"] in ("queue_unavailable", "busy")
                        refused["503"] += 1
                        time.sleep(0.2)
                        continue
                    assert response.status_code == 202, response.text
                    with lock:
                        accepted[response.json()["id"]] = f"{w}x{h}"
                    break

        sizes = [(300 + n, 5) for n in range(120)]
        clients = [threading.Thread(target=client, args=((a, b)[i % 2], sizes[i::4])) for i in range(4)]
        for thread in clients:
            thread.start()
        wait_for(lambda: len(accepted) >= 30, timeout=60, message="the load to be under way")
        server.restart()  # SIGKILL: only the append-only file carries what was accepted
        for thread in clients:
            thread.join(timeout=300)
        records = all_answered([a, b], list(accepted))
        for job_id, text in accepted.items():
            assert records[job_id]["status"] == "done" and records[job_id]["text"] == text

        # Unreachable: uploads are refused with a clear error; workers wait and come back.
        server.stop()
        response = requests.post(
            a.url + "/v1/jobs", files={"file": ("x.png", blank_image(11, 11))}, timeout=30
        )
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "queue_unavailable"
        assert "cannot be reached" in response.json()["error"]["message"]
        assert requests.get(b.url + "/readyz", timeout=30).status_code == 503
        assert requests.get(b.url + "/healthz", timeout=30).status_code == 200
        server.start()
        late = post_job(b, blank_image(12, 12))
        assert all_answered([a], [late], timeout=120)[late]["text"] == "12x12"
        assert all(state == "RUNNING" for state in {**a.states(), **b.states()}.values()), "nobody gave up"
        SUMMARY_LINES.append(
            f"two hosts, redis-server killed and restarted under load: {len(accepted)} accepted, all answered; "
            f"refused meanwhile: {refused['503']} with 503, {refused['connection']} connections"
        )
