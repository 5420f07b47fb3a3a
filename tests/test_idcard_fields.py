"""A card's fields from lines as the engine gives them: hand-made lines, so every case is exact."""

from __future__ import annotations

import math

import pytest

from ocrfarm.idcard import fields


def line(text, x0, y0, x1, y1, confidence=0.95):
    return {"text": text, "confidence": confidence, "box": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}


# A front side, laid out as on the card (856 x 540), the labels apart from their values.
FRONT = [
    line("姓名", 57, 72, 122, 102),
    line("梁雨艳", 158, 68, 263, 106, 0.99),
    line("性别", 56, 142, 123, 172),
    line("女", 156, 139, 194, 173),
    line("民族苗", 285, 138, 421, 173),
    line("出生", 60, 207, 123, 237),
    line("1978年 2月17日", 158, 203, 420, 240),
    line("住址", 60, 272, 122, 302),
    line("湖北省武汉市武昌区解放", 158, 268, 490, 305),
    line("大道260号13栋2单", 158, 312, 420, 349),
    line("元2003室", 158, 356, 292, 393),
    line("公民身份号码", 59, 454, 216, 480),
    line("420106197802170305", 292, 452, 696, 478, 0.9),
]


def test_front_fields_and_checks():
    card = fields.extract(FRONT, 856, 540)
    assert card["side"] == "front" and card["turned"] == 0 and card["missing"] == []
    got = {name: field["text"] for name, field in card["fields"].items()}
    assert got == {
        "name": "梁雨艳",
        "sex": "女",
        "ethnicity": "苗",
        "birth_date": "1978年2月17日",
        "address": "湖北省武汉市武昌区解放大道260号13栋2单元2003室",
        "number": "420106197802170305",
    }
    assert card["fields"]["birth_date"]["value"] == "1978-02-17"
    assert card["fields"]["address"]["lines"] == ["湖北省武汉市武昌区解放", "大道260号13栋2单", "元2003室"]
    assert card["checks"] == {
        "check_character": True,
        "birth_date_real": True,
        "birth_date_agrees": True,
        "sex_agrees": True,
    }
    assert card["corrections"] == []
    # A field's box is its line's; the ethnicity is the part of "民族苗" after the label.
    assert card["fields"]["name"]["box"] == [[158, 68], [263, 68], [263, 106], [158, 106]]
    x0 = card["fields"]["ethnicity"]["box"][0][0]
    assert 285 + (421 - 285) * 2 / 3 - 1 <= x0 <= 285 + (421 - 285) * 2 / 3 + 1
    assert card["fields"]["name"]["confidence"] == 0.99


def test_the_seeds_reading_with_a_lost_character_and_merged_fields():
    # What seed 000's service read off a real card (its "性" lost, the sex and ethnicity in one line).
    lines = [
        line("张三", 259, 112, 391, 153, 0.93),
        line("姓名", 142, 121, 250, 157, 0.97),
        line("别男民族汉", 182, 194, 488, 229, 0.99),
        line("生", 162, 272, 222, 303),
        line("1990年3月7日", 248, 269, 573, 304),
        line("住址", 140, 351, 225, 384),
        line("武汉市武昌区中山路1号", 256, 351, 642, 384),
        line("2栋3单元401室", 256, 401, 610, 439),
        line("公民身份号码", 137, 555, 362, 589),
        line("420106199003070017", 406, 550, 949, 586, 0.9),
    ]
    card = fields.extract(lines, 1000, 640)
    got = {name: field["text"] for name, field in card["fields"].items()}
    assert got["name"] == "张三" and got["sex"] == "男" and got["ethnicity"] == "汉"
    assert got["address"] == "武汉市武昌区中山路1号2栋3单元401室"
    assert card["checks"]["check_character"] is (fields.id_number.check_character("42010619900307001") == "7")


def test_a_confused_number_is_corrected_and_the_answer_says_so():
    lines = [*FRONT[:-1], line("42O1O619780217O3O5", 292, 452, 696, 478)]
    card = fields.extract(lines, 856, 540)
    assert card["fields"]["number"]["text"] == "420106197802170305"
    assert card["corrections"] == [
        {
            "field": "number",
            "read": "42O1O619780217O3O5",
            "corrected": "420106197802170305",
            "reason": "check character holds",
        }
    ]


def test_a_wrong_check_character_is_reported_not_corrected():
    lines = [*FRONT[:-1], line("420106197802170304", 292, 452, 696, 478)]
    card = fields.extract(lines, 856, 540)
    assert card["fields"]["number"]["text"] == "420106197802170304"
    assert card["checks"]["check_character"] is False and card["corrections"] == []
    # The date and the sex in it still agree with the card's fields.
    assert card["checks"]["birth_date_agrees"] and card["checks"]["sex_agrees"]


def test_disagreeing_fields_fail_their_checks():
    lines = [line("男", 156, 139, 194, 173) if entry["text"] == "女" else entry for entry in FRONT]
    lines = [line("1978年2月18日", 158, 203, 420, 240) if "年" in entry["text"] else entry for entry in lines]
    card = fields.extract(lines, 856, 540)
    assert card["checks"]["sex_agrees"] is False and card["checks"]["birth_date_agrees"] is False


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_turned_card_is_read_in_its_own_frame_and_boxes_stay_the_pictures(turn):
    def turned(point):
        x, y = point
        return {90: [540 - y, x], 180: [856 - x, 540 - y], 270: [y, 856 - x]}[turn]

    width, height = (540, 856) if turn in (90, 270) else (856, 540)
    lines = [{**entry, "box": [turned(p) for p in entry["box"]]} for entry in FRONT]
    card = fields.extract(lines, width, height)
    assert card["turned"] == turn and card["missing"] == []
    assert card["fields"]["address"]["text"] == "湖北省武汉市武昌区解放大道260号13栋2单元2003室"
    box = card["fields"]["name"]["box"]
    expected = [turned(p) for p in FRONT[1]["box"]]
    assert sorted(map(tuple, box)) == sorted(tuple(float(v) for v in p) for p in expected)


def test_back_side():
    lines = [
        line("中华人民共和国", 260, 80, 600, 130),
        line("居民身份证", 300, 170, 620, 240),
        line("签发机关", 150, 370, 255, 400),
        line("武汉市公安局武昌分局", 290, 366, 600, 400),
        line("有效期限2", 150, 440, 270, 470),
        line("2007.02.10-长期", 290, 436, 600, 470),
    ]
    card = fields.extract(lines, 856, 540)
    assert card["side"] == "back" and card["missing"] == []
    assert card["fields"]["issuing_authority"]["text"] == "武汉市公安局武昌分局"
    validity = card["fields"]["validity_period"]
    assert validity["text"] == "2007.02.10-长期"
    assert validity["value"] == {"from": "2007-02-10", "until": None, "long_term": True}


def test_anything_else_is_not_a_card_and_says_which_fields_were_not_found():
    with pytest.raises(fields.NotAnIdCard) as caught:
        fields.extract(
            [line("Invoice 2026-11-22", 10, 10, 300, 40), line("Total 12.00", 10, 60, 200, 90)], 400, 100
        )
    assert caught.value.missing == list(fields.FRONT)
    assert "name" in str(caught.value) and "number" in str(caught.value)
    # Only a number is too little to call it a card.
    with pytest.raises(fields.NotAnIdCard) as caught:
        fields.extract([FRONT[-1]], 856, 540)
    assert caught.value.found == ["number"]


@pytest.mark.parametrize("degrees", [-10, 8])
def test_a_card_photographed_askew_is_read_by_its_rows(degrees):
    # Turned by a few degrees in the picture, label and value no longer share a level row.
    a = math.radians(degrees)

    def tilted(point):
        x, y = point[0] - 428, point[1] - 270
        return [428 + x * math.cos(a) - y * math.sin(a), 270 + x * math.sin(a) + y * math.cos(a)]

    lines = [{**entry, "box": [tilted(p) for p in entry["box"]]} for entry in FRONT]
    card = fields.extract(lines, 856, 540)
    assert card["turned"] == 0 and card["missing"] == []
    assert card["fields"]["name"]["text"] == "梁雨艳" and card["fields"]["ethnicity"]["text"] == "苗"
    assert card["fields"]["address"]["text"] == "湖北省武汉市武昌区解放大道260号13栋2单元2003室"
    # The name's box is its line's, as tilted in the picture.
    box = card["fields"]["name"]["box"]
    expected = [tilted(p) for p in FRONT[1]["box"]]
    for corner in expected:
        assert min(math.dist(corner, p) for p in box) < 1.0


def test_lines_already_read_are_taken_as_they_are():
    # A PDF page's own text (no engine): the card in it without another look.
    from ocrfarm.idcard.reading import card_in

    assert card_in(FRONT, 856, 540)["fields"]["number"]["text"] == "420106197802170305"
    assert isinstance(card_in(FRONT[:1], 856, 540), fields.NotAnIdCard)
