"""The fault suite: the farm under supervisord with its real config, a few hundred jobs over HTTP and
the drop folder, and meanwhile workers killed with SIGKILL, the front restarted, the queue filled
past its limit, a poison file and a hanging job. Nothing accepted may be lost or answered twice.

The queue protocol is what is on trial, so the workers run the fake engine (it answers with the
image's size, which lets every result be checked against its input). OCRFARM_FAULT_SCALE=5 runs
five times the jobs, by hand.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import threading
import time
from collections import Counter

import pytest
import requests
from PIL import Image

from tests.farm_process import FarmProcess
from tests.helpers import SUMMARY_LINES, wait_for
from workers.engine import CRASH_WIDTH, HANG_WIDTH

pytestmark = pytest.mark.system

SCALE = float(os.environ.get("OCRFARM_FAULT_SCALE", "1"))
KILL_EVERY = 2.0


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def running_workers(farm: FarmProcess) -> list[tuple[str, int]]:
    """Workers that have been RUNNING for at least a second: (name, pid)."""
    found = []
    for line in farm.ctl("status").splitlines():
        match = re.match(r"(worker:\S+)\s+RUNNING\s+pid (\d+), uptime (\d+):(\d+):(\d+)", line)
        if match and int(match[3]) * 3600 + int(match[4]) * 60 + int(match[5]) >= 1:
            found.append((match[1], int(match[2])))
    return found


class Load:
    """Clients and chaos, each in a thread, counting what happened."""

    def __init__(self, farm: FarmProcess):
        self.farm = farm
        self.counts = Counter()
        self.accepted: dict[str, str] = {}  # job id -> expected text ("" for jobs expected to fail)
        self.dropped: dict[str, str] = {}  # inbox file name -> expected text
        self.lock = threading.Lock()
        self.chaos_over = threading.Event()

    def submit(self, data: bytes, expected: str) -> str:
        """POST until the farm accepts the file; the job's id."""
        while True:
            try:
                response = requests.post(
                    self.farm.url + "/v1/jobs", files={"file": ("x.png", data)}, timeout=30
                )
            except requests.ConnectionError:
                self.bump("connection_refused")  # the front is restarting: try again
                time.sleep(0.2)
                continue
            if response.status_code == 503:
                self.bump("rejected_503")
                time.sleep(float(response.headers["Retry-After"]))
                continue
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            with self.lock:
                self.accepted[job_id] = expected
            return job_id

    def http_client(self, sizes: list[tuple[int, int]]) -> None:
        for width, height in sizes:
            self.submit(png(width, height), f"{width}x{height}")

    def dropper(self, count: int) -> None:
        inbox = self.farm.spool / "inbox"
        for n in range(count):
            width, height = 300 + n, 7
            name = f"drop{n:04d}.png"
            # Half written in place (the quiet period applies), half by the rename trick.
            if n % 2:
                (inbox / name).write_bytes(png(width, height))
            else:
                (inbox / f".{name}.part").write_bytes(png(width, height))
                os.rename(inbox / f".{name}.part", inbox / name)
            self.dropped[name] = f"{width}x{height}"
            if n % 10 == 9:
                time.sleep(0.3)  # drops come in bursts, as from a scanner

    def chaos(self) -> None:
        restarted_front = False
        started = time.monotonic()
        while not self.chaos_over.wait(KILL_EVERY):
            workers = running_workers(self.farm)
            if workers:
                name, pid = random.choice(workers)
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.bump("kills")
                except ProcessLookupError:
                    pass
            if not restarted_front and time.monotonic() - started > 6:
                assert "started" in self.farm.ctl("restart", "web")
                restarted_front = True
                self.bump("front_restarts")

    def bump(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1


def test_nothing_accepted_is_lost_or_answered_twice(tmp_path):
    farm = FarmProcess(
        tmp_path,
        workers=3,
        engine="fake",
        fake_delay=0.1,
        job_timeout=3,
        max_attempts=3,
        max_queue=40,
        quiet_period=0.5,
        decode_grace=2,
        poll_interval=0.2,
        # A dropped file's searchable PDF takes its job from 0.1 s to one or more seconds, long enough
        # for this suite's kill every 2 s to end three attempts of a few files in a row (each then
        # fails with its reason; none is lost, as a run with the PDFs on showed). The suite is about
        # the queue under kills, so its jobs stay short; the restart test in
        # test_dropfolder_system.py runs a batch with the PDFs on.
        outbox_pdf="false",
    )
    try:
        farm.start()
        load = Load(farm)
        n_http = int(240 * SCALE)
        n_drop = int(80 * SCALE)
        sizes = [(100 + n, 11) for n in range(n_http)]
        clients = [threading.Thread(target=load.http_client, args=(sizes[i::4],)) for i in range(4)]
        clients.append(threading.Thread(target=load.dropper, args=(n_drop,)))
        chaos = threading.Thread(target=load.chaos)
        for thread in clients + [chaos]:
            thread.start()
        # The troublemakers: a file that kills its worker, over HTTP and through the drop folder,
        # and a job whose OCR call never returns.
        load.submit(png(CRASH_WIDTH, 5), "")
        hung_in_chaos = load.submit(png(HANG_WIDTH, 5), "")
        (farm.spool / "inbox" / "poison.png").write_bytes(png(CRASH_WIDTH, 6))
        for thread in clients:
            thread.join(timeout=600)
        load.chaos_over.set()
        chaos.join(timeout=60)
        # A second hanging job once the kills are over: only the job timeout can end its attempts.
        hung_after = load.submit(png(HANG_WIDTH, 6), "")

        results = farm.spool / "results"

        def all_answered():
            return (
                all((results / f"{job_id}.json").exists() for job_id in load.accepted)
                and not any((farm.spool / "queue").iterdir())
                and not any((farm.spool / "inbox").iterdir())
            )

        wait_for(all_answered, timeout=300, interval=0.5, message="every accepted job to be answered")
        wait_for(
            lambda: not any((farm.spool / "tmp").iterdir()),
            timeout=60,
            message="temp files of killed writers to be swept",
        )

        # Every job, over HTTP and dropped, has exactly one whole final record.
        records = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
        assert len(records) == len(load.accepted) + n_drop + 1, "no job is missing and none appeared twice"
        counts = Counter(r["status"] for r in records.values())
        assert set(counts) <= {"done", "failed"}
        for job_id, expected in load.accepted.items():
            record = records[job_id]
            if expected:
                assert record["status"] == "done", record
                assert record["text"] == expected, "each result belongs to its own input"
            else:
                assert record["status"] == "failed"
                assert record["error"]["code"] == "too_many_attempts"
                assert len(record["attempts"]) == 3
                assert record["error"]["message"]

        outbox = [json.loads(p.read_text()) for p in (farm.spool / "outbox").glob("*.json")]
        by_file = Counter(r["filename"] for r in outbox)
        assert by_file == Counter(list(load.dropped)), "each dropped file has exactly one result"
        assert all(r["text"] == load.dropped[r["filename"]] for r in outbox)
        poison = json.loads((farm.spool / "failed" / "poison.png.error.json").read_text())
        assert poison["error"]["code"] == "too_many_attempts"
        assert all(a["outcome"] == "worker_died" for a in poison["attempts"])

        # The hanging jobs: attempts ended by the job timeout, or by a chaos kill while the first ran.
        assert all(
            a["outcome"] == "worker_died" or "job timeout" in a["reason"]
            for a in records[hung_in_chaos]["attempts"]
        )
        assert all("job timeout" in (a["reason"] or "") for a in records[hung_after]["attempts"])

        leftovers = [p for folder in ("outbox", "done", "failed") for p in (farm.spool / folder).rglob(".*")]
        assert leftovers == [], "no staging files in the folders users read"
        assert load.counts["rejected_503"] > 0, "the queue was filled past its limit"
        assert load.counts["kills"] >= 3 and load.counts["front_restarts"] == 1
        # The last hung attempt's worker has just left (exit 4); supervisord starts a fresh one.
        wait_for(
            lambda: (states := farm.states()) and all(state == "RUNNING" for state in states.values()),
            timeout=30,
            message="every program to run again",
        )
    finally:
        farm.stop()
    SUMMARY_LINES.append(
        f"fault suite: accepted={len(load.accepted) + n_drop + 1} done={counts['done']} "
        f"failed={counts['failed']} rejected_503={load.counts['rejected_503']} kills={load.counts['kills']} "
        f"front_restarts={load.counts['front_restarts']} refused_during_restart={load.counts['connection_refused']}"
    )


def test_restart_all_and_recycling_under_load_lose_nothing(tmp_path):
    """`supervisorctl restart all` in the middle of a load, with workers recycling every few jobs."""
    farm = FarmProcess(tmp_path, workers=2, engine="fake", fake_delay=0.05, max_jobs=5, poll_interval=0.2)
    try:
        farm.start()
        load = Load(farm)
        sizes = [(50 + n, 9) for n in range(80)]
        submitter = threading.Thread(target=load.http_client, args=(sizes,))
        submitter.start()
        wait_for(lambda: len(load.accepted) >= 30, timeout=60, message="the load to be under way")
        assert "started" in farm.ctl("restart", "all")
        submitter.join(timeout=300)
        results = farm.spool / "results"
        wait_for(
            lambda: all((results / f"{job_id}.json").exists() for job_id in load.accepted),
            timeout=120,
            interval=0.3,
            message="every job to be answered",
        )
        for job_id, expected in load.accepted.items():
            record = json.loads((results / f"{job_id}.json").read_text())
            assert record["status"] == "done" and record["text"] == expected
        assert len(list(results.glob("*.json"))) == 80
        assert "recycling after" in farm.log_text(), "workers were recycled on their job budget"
        wait_for(
            lambda: all(state == "RUNNING" for state in farm.states().values()),
            timeout=30,
            message=f"every program to run again: {farm.states()}",
        )
        assert farm.stop() == 0 and farm.strays == [], "a clean stop after all that"
    finally:
        farm.stop()
