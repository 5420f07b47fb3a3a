"""POST /v1/idcard and kind=idcard through Flask's test client, with a worker whose engine answers
a card's lines (hand-made, as in test_idcard_fields): what is kept, what is forgotten, and when."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import render_text, wait_for
from tests.test_api import FrontUnderTest, assert_error, make_settings
from tests.test_idcard_fields import FRONT
from workers.engine import Engine, Line
from workers.loop import Worker


class CardLines(Engine):
    """Answers the lines of one front side, whatever the picture: the queue's side of card jobs."""

    name = "card-lines"

    def recognize(self, image, **options):
        return [Line(line["text"], line["confidence"], line["box"]) for line in FRONT]


@pytest.fixture
def farm(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, wait_timeout=0.2))
    yield farm
    farm.stop()


def start_card_worker(farm):
    farm.worker = Worker(farm.spool, {"ppocrv3": CardLines()}, farm.settings, "card-worker")
    farm.thread = threading.Thread(target=farm.worker.work, daemon=True)
    farm.thread.start()


def kept(farm, job_id: str) -> list[str]:
    return sorted(p.name for p in farm.spool.results.iterdir() if p.name.startswith(job_id))


def test_an_idcard_answer_is_given_once_then_forgotten(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, wait_timeout=30))
    start_card_worker(farm)
    try:
        response = farm.post(render_text(), "/v1/idcard")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["cards"][0]["fields"]["name"]["text"] == "梁雨艳"
        assert body["options"]["answer_once"] is True and body["options"]["kind"] == "idcard"
        # Nothing of it is left: not the record, not the upload (the worker retires the job folder
        # just after writing the record the answer came from).
        assert kept(farm, body["id"]) == []
        wait_for(lambda: farm.client.get(body["url"]).status_code == 404, timeout=10, message="the job gone")
        assert kept(farm, body["id"]) == [] and not (farm.spool.queue / body["id"]).exists()
    finally:
        farm.stop()


def test_after_a_202_the_idcard_result_is_forgotten_once_fetched(farm):
    pending = farm.post(render_text(), "/v1/idcard")
    assert pending.status_code == 202
    url = pending.get_json()["url"]
    start_card_worker(farm)
    done = wait_for(
        lambda: (r := farm.client.get(url)).status_code == 200 and r, timeout=30, message="the result"
    )
    assert done.get_json()["cards"][0]["fields"]["number"]["text"] == "420106197802170305"
    assert kept(farm, pending.get_json()["id"]) == []
    wait_for(lambda: farm.client.get(url).status_code == 404, timeout=10, message="the job gone")


def test_a_job_of_kind_idcard_is_kept_like_any_other(farm):
    start_card_worker(farm)
    queued = farm.post(render_text(), "/v1/jobs", kind="idcard")
    assert queued.status_code == 202
    url = queued.get_json()["url"]
    first = wait_for(lambda: (r := farm.client.get(url)).status_code == 200 and r, timeout=30, message="done")
    assert first.get_json()["cards"][0]["side"] == "front"
    assert farm.client.get(url).get_json() == first.get_json()
    assert kept(farm, queued.get_json()["id"]) == [
        f"{queued.get_json()['id']}.input",
        f"{queued.get_json()['id']}.json",
    ]


def test_kind_is_checked_and_answer_once_is_not_a_clients_option(farm):
    assert_error(farm.post(render_text(), "/v1/jobs", kind="passport"), 400, "bad_option")
    assert_error(farm.post(render_text(), "/v1/ocr", answer_once="true"), 400, "bad_option")


def test_not_a_card_is_a_422_naming_the_fields_and_is_forgotten_too(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path))
    farm.start_worker()  # the fake engine: one line naming the picture's size
    try:
        response = farm.post(render_text(), "/v1/idcard")
        assert_error(response, 422, "not_an_id_card")
        message = response.get_json()["error"]["message"]
        assert "name, sex, ethnicity, birth_date, address, number" in message
        assert kept(farm, response.get_json()["id"]) == []
    finally:
        farm.stop()
