"""Several model sets in one farm, with the real engines: the farm as scripts/run starts it with
OCRFARM_MODELS=ppocrv3,ppocrv6, and requests that pick a set."""

from __future__ import annotations

import io
import json

import pytest
import requests
from PIL import Image, ImageDraw, ImageFont

from tests.farm_process import FarmProcess
from tests.helpers import SAMPLE_LINES, assert_reads, render_text, wait_for

pytestmark = pytest.mark.system

# A line PP-OCRv6 small reads exactly and PP-OCRv3 cannot (its dictionary has no kana): the text
# shows which set's engine really read the page, whatever the answer says.
KANA = "ありがとうございます"
KANA_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with FarmProcess(tmp_path_factory.mktemp("two-sets"), workers=1, models="ppocrv3,ppocrv6") as farm:
        yield farm


def kana_page() -> bytes:
    font = ImageFont.truetype(KANA_FONT, 40)
    image = Image.new("RGB", (40 + int(font.getlength(KANA)) + 40, 120), "white")
    ImageDraw.Draw(image).text((40, 40), KANA, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def ocr(farm, data: bytes, **fields) -> requests.Response:
    return requests.post(farm.url + "/v1/ocr", files={"file": ("page.png", data)}, data=fields, timeout=120)


def test_the_farm_lists_its_sets_and_reads_with_the_default_unless_asked(farm):
    assert requests.get(farm.url + "/readyz", timeout=10).json()["models"] == ["ppocrv3", "ppocrv6"]
    answer = ocr(farm, render_text())
    assert answer.status_code == 200, answer.text
    assert answer.json()["options"]["model"] == "ppocrv3"
    assert_reads([line["text"] for line in answer.json()["lines"]], SAMPLE_LINES)


def test_a_request_for_ppocrv6_is_read_by_ppocrv6_and_says_so(farm):
    six = ocr(farm, kana_page(), model="ppocrv6")
    assert six.status_code == 200, six.text
    assert six.json()["options"]["model"] == "ppocrv6"
    assert "".join(six.json()["text"].split()) == KANA
    three = ocr(farm, kana_page(), model="ppocrv3")
    assert three.status_code == 200, three.text
    assert three.json()["options"]["model"] == "ppocrv3"
    assert "".join(three.json()["text"].split()) != KANA, (
        "PP-OCRv3 read kana: the test no longer tells them apart"
    )


def test_an_unknown_set_is_refused_naming_the_loaded_ones(farm):
    answer = ocr(farm, render_text(), model="ppocrv4")
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "bad_option",
        "message": "option model must be a model set this farm has loaded: ppocrv3, ppocrv6; got 'ppocrv4'",
    }


def test_the_drop_folder_reads_with_the_default_set_and_says_so(farm):
    (farm.spool / "inbox" / "dropped.png").write_bytes(render_text())
    result = farm.spool / "outbox" / "dropped.json"
    wait_for(result.exists, timeout=120, message="the dropped file's result")
    record = json.loads(result.read_text())
    assert record["options"]["model"] == "ppocrv3"
    assert_reads([line["text"] for line in record["lines"]], SAMPLE_LINES)
