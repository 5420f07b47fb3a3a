"""Identity cards through the real farm (scripts/run: supervisord, gunicorn, the farm's engine):
POST /v1/idcard with a file and with base64, a job of kind=idcard, the drop folder's inbox/idcard/,
what is kept and what is not, and what the farm's log leaves out."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest
import requests

from bench import cards
from tests.farm_process import FarmProcess
from tests.helpers import render_text, wait_for

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with FarmProcess(tmp_path_factory.mktemp("idcard"), workers=2) as farm:
        yield farm


@pytest.fixture(scope="module")
def person():
    return cards.person(np.random.default_rng(2026))


def photo(person, side: str, kind: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    drawn = cards.draw_front(person, rng) if side == "front" else cards.draw_back(person, rng)
    return cards.encode(cards.photograph(drawn, kind, rng)[0])


def left_in_spool(farm, job_id: str) -> list[str]:
    return sorted(str(p.relative_to(farm.spool)) for p in farm.spool.rglob(f"*{job_id}*"))


def nothing_left(farm, job_id: str) -> None:
    # The worker retires the job (its folder, its lock) just after writing the result the answer
    # came from; then nothing with the job's id is left in the spool.
    wait_for(lambda: left_in_spool(farm, job_id) == [], timeout=10, message=f"job {job_id} to leave no file")


def test_post_idcard_answers_the_fields_and_keeps_nothing(farm, person):
    response = requests.post(
        farm.url + "/v1/idcard", files={"file": ("card.jpg", photo(person, "front", "angle", 1))}, timeout=120
    )
    assert response.status_code == 200, response.text
    body = response.json()
    [card] = body["cards"]
    assert card["side"] == "front" and card["missing"] == []
    assert {name: field["text"] for name, field in card["fields"].items()} == person.front_truth()
    assert card["checks"] == {
        "check_character": True,
        "birth_date_real": True,
        "birth_date_agrees": True,
        "sex_agrees": True,
    }
    nothing_left(farm, body["id"])
    assert requests.get(farm.url + body["url"], timeout=30).status_code == 404


def test_post_idcard_with_base64_reads_a_turned_back_side(farm, person):
    encoded = base64.b64encode(photo(person, "back", "rotated", 2)).decode()
    response = requests.post(farm.url + "/v1/idcard", json={"image": encoded}, timeout=120)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert card["side"] == "back" and card["turned"] in (90, 180, 270)
    assert {name: field["text"] for name, field in card["fields"].items()} == person.back_truth()


def test_not_a_card_gets_a_422_naming_the_fields_not_found(farm):
    response = requests.post(farm.url + "/v1/idcard", files={"file": ("x.png", render_text())}, timeout=120)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "not_an_id_card"
    assert "fields not found: name, sex, ethnicity, birth_date, address, number" in error["message"]
    nothing_left(farm, response.json()["id"])


def test_a_job_of_kind_idcard_is_kept(farm, person):
    queued = requests.post(
        farm.url + "/v1/jobs",
        files={"file": ("card.jpg", photo(person, "front", "glare", 3))},
        data={"kind": "idcard"},
        timeout=60,
    )
    assert queued.status_code == 202, queued.text
    url = farm.url + queued.json()["url"]
    done = wait_for(
        lambda: (r := requests.get(url, timeout=30)).json()["status"] == "done" and r,
        timeout=120,
        message="done",
    )
    assert done.json()["cards"][0]["fields"]["number"]["text"] == person.number
    assert requests.get(url, timeout=30).json()["cards"] == done.json()["cards"], "still there"


def test_drop_folder_idcard_subfolder(farm, person):
    inbox = farm.spool / "inbox" / "idcard"
    inbox.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed in, as the README says to.
    (inbox / "front.jpg.part").write_bytes(photo(person, "front", "small", 4))
    os.rename(inbox / "front.jpg.part", inbox / "front.jpg")
    (inbox / "receipt.png.part").write_bytes(render_text())
    os.rename(inbox / "receipt.png.part", inbox / "receipt.png")
    result_path = farm.spool / "outbox" / "idcard" / "front.json"
    wait_for(result_path.exists, timeout=120, message="the card's result in the outbox")
    result = json.loads(result_path.read_text())
    assert result["filename"] == "idcard/front.jpg" and result["options"]["kind"] == "idcard"
    assert result["cards"][0]["fields"]["name"]["text"] == person.name
    error_path = farm.spool / "failed" / "idcard" / "receipt.png.error.json"
    wait_for(error_path.exists, timeout=120, message="the receipt's failure")
    assert json.loads(error_path.read_text())["error"]["code"] == "not_an_id_card"


def test_the_farms_log_never_has_a_field(farm, person):
    # Run last in this module: every card above was read by this farm, and its log (supervisord,
    # gunicorn, the workers, the intake) has none of what they say.
    logged = farm.log_path.read_text(errors="replace")
    assert "job " in logged and " done " in logged
    for value in (*person.front_truth().values(), *person.back_truth().values(), person.number[6:14]):
        assert value not in logged, f"the log has {value!r}"


def test_openapi_describes_the_idcard_endpoint(farm):
    document = requests.get(farm.url + "/openapi.json", timeout=30).json()
    post = document["paths"]["/v1/idcard"]["post"]
    assert {"200", "202", "422"} <= set(post["responses"])
    card = post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["cards"]["items"]
    assert set(card["properties"]["fields"]["properties"]) == {
        "name",
        "sex",
        "ethnicity",
        "birth_date",
        "address",
        "number",
        "issuing_authority",
        "validity_period",
    }
