"""The worker loop in-process, against a temporary spool and a fake engine."""

from __future__ import annotations

import threading

import pytest

from ocrfarm.settings import Settings
from ocrfarm.spool import Spool
from tests.helpers import blank_image, render_text, wait_for
from workers.engine import Engine, FakeEngine
from workers.loop import EXIT_OK, EXIT_STUCK, Worker


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({}, spool=tmp_path / "spool", poll_interval=0.05, engine="fake")


@pytest.fixture
def spool(settings) -> Spool:
    return Spool(settings.spool, settings.max_attempts).ensure()


class BrokenEngine(Engine):
    name = "broken"

    def recognize(self, image, **options):
        raise RuntimeError("the model fell over")


class HangingEngine(Engine):
    name = "hanging"

    def __init__(self):
        self.release = threading.Event()

    def recognize(self, image, **options):
        self.release.wait(60)
        return []


def test_burst_runs_every_job_and_leaves(spool, settings):
    jobs = [spool.submit(blank_image(10 + i, 20), source="http") for i in range(3)]
    assert Worker(spool, FakeEngine(), settings, "w").work(burst=True) == EXIT_OK
    for i, job in enumerate(jobs):
        record = spool.result(job.id)
        assert record["status"] == "done"
        assert record["text"] == f"{10 + i}x20"
        assert record["lines"][0]["box"] == [[0, 0], [10 + i, 0], [10 + i, 20], [0, 20]]
        assert record["image"] == {"width": 10 + i, "height": 20, "rotation": 0}
        assert record["blocks"] == [{**record["pages"][0]["blocks"][0], "page": 1}]
        assert record["pages"][0]["blocks"][0]["text"] == record["text"]
        assert set(record["timings"]) == {"queued_s", "decode_s", "ocr_s", "total_s"}
    assert spool.depth() == 0


def test_undecodable_inputs_fail_with_their_reason(spool, settings):
    jpeg = render_text(fmt="JPEG")
    not_image = spool.submit(b"just some text, not a picture", source="http")
    truncated = spool.submit(jpeg[: len(jpeg) // 2], source="http")
    good = spool.submit(blank_image(), source="http")
    Worker(spool, FakeEngine(), settings, "w").work(burst=True)

    assert spool.result(not_image.id)["error"]["code"] == "unsupported_type"
    record = spool.result(truncated.id)
    assert record["status"] == "failed"
    assert record["error"]["code"] == "undecodable"
    assert "truncated" in record["error"]["message"]
    assert spool.result(good.id)["status"] == "done", "one bad job does not stop the others"


def test_engine_errors_are_retried_then_the_job_fails(spool, settings):
    job = spool.submit(blank_image(), source="http")
    Worker(spool, BrokenEngine(), settings, "w").work(burst=True)
    record = spool.result(job.id)
    assert record["status"] == "failed"
    assert record["error"]["code"] == "too_many_attempts"
    assert len(record["attempts"]) == settings.max_attempts
    assert all("the model fell over" in a["reason"] for a in record["attempts"])


def test_hanging_engine_is_given_up_and_the_worker_exits(spool, tmp_path):
    settings = Settings.from_env({}, spool=spool.root, poll_interval=0.05, job_timeout=1)
    job = spool.submit(blank_image(), source="http")
    engine = HangingEngine()
    try:
        assert Worker(spool, engine, settings, "w").work(burst=True) == EXIT_STUCK
    finally:
        engine.release.set()
    status = spool.status(job.id)
    assert status["status"] == "queued", "the job waits for a fresh worker"
    assert status["attempts"] == 1
    # The next worker runs it, and the timed-out attempt stays in the record.
    Worker(spool, FakeEngine(), settings, "w2").work(burst=True)
    record = spool.result(job.id)
    assert record["status"] == "done"
    assert "job timeout of 1 s" in record["attempts"][0]["reason"]


def test_worker_recycles_after_its_job_budget(spool, tmp_path):
    settings = Settings.from_env({}, spool=spool.root, max_jobs=3)
    for _ in range(5):
        spool.submit(blank_image(), source="http")
    worker = Worker(spool, FakeEngine(), settings, "w")
    assert worker.work(burst=True) == EXIT_OK
    assert worker.jobs_done == 3
    assert spool.depth() == 2


@pytest.mark.parametrize("inotify", [True, False])
def test_idle_worker_wakes_for_a_new_job_and_stops_on_request(spool, tmp_path, inotify):
    # With inotify the poll interval is an hour, so only the event can wake the worker in time.
    poll = 3600 if inotify else 0.05
    settings = Settings.from_env({}, spool=spool.root, poll_interval=poll, inotify=inotify)
    worker = Worker(spool, FakeEngine(), settings, "w")
    exit_codes = []
    thread = threading.Thread(target=lambda: exit_codes.append(worker.work()))
    thread.start()
    try:
        job = spool.submit(blank_image(), source="http")
        wait_for(lambda: spool.result(job.id), timeout=10, message="the idle worker to take the job")
    finally:
        worker.stop()
        thread.join(timeout=10)
    assert exit_codes == [EXIT_OK]


def test_a_result_a_full_disk_refuses_is_kept_and_written_once_there_is_room(spool, settings, monkeypatch):
    import errno

    from tests.helpers import fail_first_result_write

    failed = fail_first_result_write(monkeypatch, spool, OSError(errno.ENOSPC, "No space left on device"))
    job = spool.submit(blank_image(), source="http")
    Worker(spool, FakeEngine(), settings, "w").work(burst=True)
    record = spool.result(job.id)
    assert failed and record["status"] == "done"
    assert [a["outcome"] for a in record["attempts"]] == ["done"], "the full disk cost the job no attempt"
    assert list(spool.tmp.iterdir()) == [], "no temp file left behind"


def test_a_result_that_cannot_be_written_is_retried_not_lost(spool, settings, monkeypatch):
    import errno

    from tests.helpers import fail_first_result_write

    fail_first_result_write(monkeypatch, spool, OSError(errno.EIO, "Input/output error"))
    job = spool.submit(blank_image(), source="http")
    Worker(spool, FakeEngine(), settings, "w").work(burst=True)
    record = spool.result(job.id)
    assert record["status"] == "done"
    assert [a["outcome"] for a in record["attempts"]] == ["error", "done"]
    assert "Input/output error" in record["attempts"][0]["reason"]
    assert list(spool.tmp.iterdir()) == [], "no temp file left behind"


def test_fake_engine_failure_modes_are_chosen_by_width():
    from workers.engine import FAIL_WIDTH

    with pytest.raises(RuntimeError):
        FakeEngine().recognize(__import__("numpy").zeros((2, FAIL_WIDTH, 3), "uint8"))


def test_worker_recycles_past_its_memory_limit(spool, tmp_path):
    # 64 MB is below what any Python process with numpy and Pillow loaded takes.
    settings = Settings.from_env({}, spool=spool.root, max_memory_mb=64)
    for _ in range(3):
        spool.submit(blank_image(), source="http")
    worker = Worker(spool, FakeEngine(), settings, "w")
    assert worker.recycle_reason() is not None and "resident memory" in worker.recycle_reason()
    assert worker.work(burst=True) == EXIT_OK
    assert worker.jobs_done == 1, "it finishes the job it has, then leaves"
    assert spool.depth() == 2


class RecordingEngine(FakeEngine):
    """A fake engine that notes the width of every image it is given."""

    def __init__(self, model: str):
        super().__init__(model=model)
        self.widths: list[int] = []

    def recognize(self, image, **options):
        self.widths.append(image.shape[1])
        return super().recognize(image, **options)


def test_each_job_runs_on_the_engine_of_the_set_it_asked_for(spool, tmp_path):
    settings = Settings.from_env({}, spool=spool.root, engine="fake", models="ppocrv3,ppocrv6")
    engines = {"ppocrv3": RecordingEngine("ppocrv3"), "ppocrv6": RecordingEngine("ppocrv6")}
    default = spool.submit(blank_image(11, 20), source="http")
    picked = spool.submit(blank_image(12, 20), source="http", options={"model": "ppocrv6"})
    named_default = spool.submit(blank_image(13, 20), source="http", options={"model": "ppocrv3"})
    worker = Worker(spool, engines, settings, "w")
    assert worker.info["model_sets"] == ["ppocrv3", "ppocrv6"]
    assert worker.work(burst=True) == EXIT_OK
    assert sorted(engines["ppocrv3"].widths) == [11, 13] and engines["ppocrv6"].widths == [12]
    assert [spool.result(job.id)["options"]["model"] for job in (default, picked, named_default)] == [
        "ppocrv3",
        "ppocrv6",
        "ppocrv3",
    ]


def test_a_job_for_a_set_no_longer_loaded_fails_at_once_with_the_reason(spool, settings):
    # Queued before a restart with other OCRFARM_MODELS: retrying could not help.
    job = spool.submit(blank_image(), source="http", options={"model": "ppocrv6"})
    engine = RecordingEngine("ppocrv3")
    Worker(spool, engine, settings, "w").work(burst=True)
    record = spool.result(job.id)
    assert record["status"] == "failed" and record["error"]["code"] == "bad_option"
    assert record["error"]["message"] == "model 'ppocrv6' is not loaded; this farm has ppocrv3"
    assert len(record["attempts"]) == 1 and engine.widths == []


def test_build_engines_gives_one_engine_per_loaded_set_the_default_first(tmp_path):
    from workers.__main__ import build_engines

    settings = Settings.from_env({}, spool=tmp_path, engine="fake", models="ppocrv6,ppocrv3")
    engines = build_engines(settings)
    assert list(engines) == ["ppocrv6", "ppocrv3"]
    assert [engine.describe()["models"] for engine in engines.values()] == ["ppocrv6", "ppocrv3"]
