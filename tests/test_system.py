"""The farm as users run it: scripts/run (supervisord with the real config, gunicorn, workers with
the real engine), on a free port and a temporary spool."""

from __future__ import annotations

import os
import signal
import subprocess
import xmlrpc.client

import pytest
import requests

from tests.farm_process import FarmProcess, alive, measure_idle_cpu
from tests.helpers import SAMPLE_LINES, assert_reads, render_text, wait_for

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with FarmProcess(tmp_path_factory.mktemp("farm"), workers=2) as farm:
        yield farm


def test_photo_posted_over_http_comes_back_as_text(farm):
    response = requests.post(farm.url + "/v1/ocr", files={"file": ("note.png", render_text())}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done"
    assert_reads(body["text"].splitlines(), SAMPLE_LINES)
    assert [line["text"] for line in body["lines"]] == body["text"].splitlines()
    assert body["timings"]["ocr_s"] > 0


def test_seed_000_curl_client_works_unchanged(farm, tmp_path):
    card = tmp_path / "card.jpg"
    card.write_bytes(render_text(fmt="JPEG"))
    out = subprocess.run(
        ["curl", "-s", "-X", "POST", "-F", f"file=@{card}", farm.url + "/v1/img/ocr"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    import json

    pairs = json.loads(out)
    assert_reads([text for text, _ in pairs], SAMPLE_LINES)
    assert all(0.5 < confidence <= 1 for _, confidence in pairs)


def test_bad_upload_gets_a_clear_json_error(farm):
    response = requests.post(farm.url + "/v1/ocr", files={"file": ("x.jpg", b"not an image")}, timeout=30)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_type"


def test_idle_workers_use_no_cpu(farm):
    pids = [farm.pid(f"worker:worker-{n:02d}") for n in (1, 2)]
    used = measure_idle_cpu(pids, 2.0)
    assert all(seconds < 0.1 for seconds in used.values()), f"idle workers used CPU: {used}"


def test_killed_worker_is_restarted_and_the_next_request_succeeds(farm):
    old = farm.pid("worker:worker-01")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not alive(old), timeout=10, message="the killed worker to go")

    def restarted():
        states = farm.states()
        pid = farm.pid("worker:worker-01") if states.get("worker:worker-01") == "RUNNING" else 0
        return pid not in (0, old) and pid

    new = wait_for(restarted, timeout=60, interval=0.2, message="supervisord to restart worker-01")
    assert alive(new)
    for _ in range(3):  # both workers get work; the fresh one among them
        response = requests.post(
            farm.url + "/v1/ocr", files={"file": ("again.png", render_text())}, timeout=60
        )
        assert response.status_code == 200, response.text
        assert_reads(response.json()["text"].splitlines(), SAMPLE_LINES)


def test_stop_ends_every_process(tmp_path):
    farm = FarmProcess(tmp_path, workers=1, engine="fake")
    try:
        farm.start()
        pids = [farm.pid("web"), farm.pid("worker:worker-01"), farm.pid("intake")]
        assert farm.stop() == 0
        assert farm.strays == [], "supervisord stopped every program before it left"
    finally:
        farm.stop()
    assert not any(alive(pid) for pid in pids)


def test_supervisord_waits_for_what_the_timeouts_allow(tmp_path):
    # A stop must never kill a job still inside its timeout, or a request still inside its wait.
    from supervisor.xmlrpc import SupervisorTransport

    farm = FarmProcess(tmp_path, workers=1, engine="fake", job_timeout=600, wait_timeout=90)
    try:
        farm.start()
        transport = SupervisorTransport(None, None, f"unix://{farm.spool / 'run' / 'supervisor.sock'}")
        server = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        waits = {info["name"]: info["stopwaitsecs"] for info in server.supervisor.getAllConfigInfo()}
    finally:
        farm.stop()
    assert waits["worker-01"] > 600 and waits["web"] > 90 + 5, waits  # gunicorn's own grace is wait + 5 s
