"""Identity cards drawn here, photographed the ways people do, read by the real engine (the farm's
default: its own pipeline on PP-OCRv3), and the worker running kind=idcard jobs on it."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bench import cards
from ocrfarm.idcard import fields, reading
from ocrfarm.settings import Settings
from ocrfarm.spool import Spool
from tests.helpers import render_text
from tests.test_engine import engine_for
from workers.engine import Engine
from workers.loop import Worker

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def engine():
    return engine_for("onnx", "ppocrv3")


class Counting(Engine):
    """The real engine, counting its calls."""

    def __init__(self, engine):
        self.inner, self.calls, self.name = engine, 0, engine.name

    def recognize(self, image, **options):
        self.calls += 1
        return self.inner.recognize(image, **options)

    def describe(self):
        return self.inner.describe()


def recognizer(engine):
    def recognize(image):
        return [line.to_json() for line in engine.recognize(image) if line.confidence >= 0.5]

    return recognize


def read(engine, image):
    lines, card = reading.read_card(image, recognizer(engine))
    assert not isinstance(card, fields.NotAnIdCard), card
    return card


@pytest.mark.parametrize("kind", cards.PHOTOS)
@pytest.mark.parametrize("seed", [11, 12])
def test_front_and_back_fields_in_every_kind_of_photo(engine, kind, seed):
    rng = np.random.default_rng(seed)
    person = cards.person(rng, right_check=seed % 2 == 0)
    for side, drawn, truth in (
        ("front", cards.draw_front(person, rng), dict(person.front_truth())),
        ("back", cards.draw_back(person, rng), dict(person.back_truth())),
    ):
        photo, turn = cards.photograph(drawn, kind, rng)
        card = read(engine, photo)
        assert card["side"] == side and card["turned"] == turn and card["missing"] == []
        read_fields = {name: field["text"] for name, field in card["fields"].items()}
        # The engine now and then loses an address's last line when it is a single character on a
        # small card (its box comes out skewed and reads empty): one character off is allowed there,
        # and the benchmark counts it.
        address, expected = read_fields.pop("address", None), truth.pop("address", None)
        assert read_fields == truth
        if expected is not None:
            assert len(address) >= len(expected) - 1 and expected.startswith(address)
        for field in card["fields"].values():
            assert 0.5 <= field["confidence"] <= 1
            xs, ys = [p[0] for p in field["box"]], [p[1] for p in field["box"]]
            assert 0 <= min(xs) < max(xs) <= photo.shape[1] and 0 <= min(ys) < max(ys) <= photo.shape[0]
        if side == "front":
            assert card["checks"] == {
                "check_character": seed % 2 == 0,
                "birth_date_real": True,
                "birth_date_agrees": True,
                "sex_agrees": True,
            }
            assert card["corrections"] == []


def test_a_fields_box_is_where_its_text_is(engine):
    # The number's box, cut out of the picture and read again, reads as the number.
    rng = np.random.default_rng(5)
    person = cards.person(rng)
    photo, _ = cards.photograph(cards.draw_front(person, rng), "angle", rng)
    box = np.array(read(engine, photo)["fields"]["number"]["box"])
    x0, y0 = box.min(axis=0).astype(int) - 4
    x1, y1 = box.max(axis=0).astype(int) + 4
    crop = np.ascontiguousarray(photo[y0:y1, x0:x1])
    assert [line.text for line in engine.recognize(crop)] == [person.number]


def test_wrong_check_characters_are_reported_and_never_corrected(engine):
    rng = np.random.default_rng(3)
    for _ in range(3):
        person = cards.person(rng, right_check=False)
        card = read(engine, cards.draw_front(person, rng))
        assert card["fields"]["number"]["text"] == person.number
        assert card["checks"]["check_character"] is False
        assert card["checks"]["birth_date_agrees"] and card["checks"]["sex_agrees"]
        assert card["corrections"] == []


def test_an_upright_card_costs_one_reading_and_a_turned_one_two(engine):
    rng = np.random.default_rng(8)
    person = cards.person(rng)
    front = cards.draw_front(person, rng)
    counting = Counting(engine)
    read(counting, front)
    assert counting.calls == 1
    counting.calls = 0
    card = read(counting, np.ascontiguousarray(np.rot90(front, k=-1)))
    assert card["turned"] == 90 and counting.calls == 2
    counting.calls = 0
    lines, outcome = reading.read_card(cards.decode_png(render_text()), recognizer(counting))
    assert isinstance(outcome, fields.NotAnIdCard) and counting.calls == 1


def test_worker_reads_card_jobs_and_logs_no_field(engine, tmp_path, caplog):
    settings = Settings.from_env({}, spool=tmp_path / "spool", poll_interval=0.05, engine="onnx")
    spool = Spool(settings.spool, settings.max_attempts).ensure()
    rng = np.random.default_rng(21)
    person = cards.person(rng)
    front = spool.submit(
        cards.encode(cards.draw_front(person, rng)), source="http", options={"kind": "idcard"}
    )
    back = spool.submit(cards.encode(cards.draw_back(person, rng)), source="http", options={"kind": "idcard"})
    other = spool.submit(render_text(), source="http", options={"kind": "idcard"})
    plain = spool.submit(cards.encode(cards.draw_front(person, rng)), source="http")
    with caplog.at_level(logging.DEBUG):
        Worker(spool, engine, settings, "w").work(burst=True)
    record = spool.result(front.id)
    assert record["status"] == "done"
    [card] = record["cards"]
    assert card["page"] == 1 and card["side"] == "front"
    assert card["fields"]["name"]["text"] == person.name and card["fields"]["number"]["text"] == person.number
    assert record["options"]["kind"] == "idcard"
    assert spool.result(back.id)["cards"][0]["fields"]["issuing_authority"]["text"] == person.authority
    failed = spool.result(other.id)
    assert failed["status"] == "failed" and failed["error"]["code"] == "not_an_id_card"
    assert "name" in failed["error"]["message"] and "number" in failed["error"]["message"]
    assert "cards" not in spool.result(plain.id), "a plain OCR job has no cards"
    # The log says what happened, and never what the card says.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"job {front.id} done" in logged and f"job {other.id} failed" in logged
    for value in (*person.front_truth().values(), *person.back_truth().values(), person.number[6:14]):
        assert value not in logged
