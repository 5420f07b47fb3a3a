"""The citizen identity number's checks and the OCR confusions that may be undone (issue 14)."""

from __future__ import annotations

import datetime

import pytest

from ocrfarm.idcard import number

# The standard's own example (GB 11643-1999): check character X.
EXAMPLE = "11010519491231002X"


def test_check_character_of_the_standards_example():
    assert number.check_character(EXAMPLE[:17]) == "X"
    assert number.is_checksum_valid(EXAMPLE)
    for wrong in "0123456789":
        assert not number.is_checksum_valid(EXAMPLE[:17] + wrong)


@pytest.mark.parametrize(
    "first17, check", [("42010619780217030", "5"), ("44030519610824507", "5"), ("33010619840510576", "4")]
)
def test_check_characters_computed_by_hand(first17, check):
    # Weights 2^(17-i) mod 11; the check is (12 - sum mod 11) mod 11, 10 written X.
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    expected = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    assert check == ("X" if expected == 10 else str(expected))
    assert number.check_character(first17) == check


def test_malformed_numbers_fail_the_check():
    assert not number.is_checksum_valid(EXAMPLE[:17])  # too short
    assert not number.is_checksum_valid("1101051949123100XX")  # X only last
    assert not number.is_checksum_valid("11010519491231002x")  # lower case is not the check character


def test_birth_date_must_be_a_real_date():
    assert number.birth_date_of(EXAMPLE) == datetime.date(1949, 12, 31)
    assert number.birth_date_of("110105194902300021") is None  # 30 February
    assert number.birth_date_of("110105219901010021") is None  # in the future
    assert number.birth_date_of("11010518991231002X") is None  # before 1900


def test_sex_from_the_order_codes_parity():
    assert number.sex_of(EXAMPLE) == "女"  # 17th digit 2
    assert number.sex_of("420106197802170315") == "男"  # 17th digit 1


def test_checks_agree_with_the_cards_fields():
    reading = number.read(EXAMPLE)
    assert reading.checks(datetime.date(1949, 12, 31), "女") == {
        "check_character": True,
        "birth_date_real": True,
        "birth_date_agrees": True,
        "sex_agrees": True,
    }
    other = reading.checks(datetime.date(1949, 12, 30), "男")
    assert other["birth_date_agrees"] is False and other["sex_agrees"] is False
    # Nothing to agree with when the card's field was not read.
    assert reading.checks(None, None)["birth_date_agrees"] is None
    assert reading.checks(None, None)["sex_agrees"] is None


@pytest.mark.parametrize(
    "read, expected",
    [
        ("11010519491231002x", EXAMPLE),  # x for X
        ("11O10519491231002X", EXAMPLE),  # O for 0
        ("I1010519491231002X", EXAMPLE),  # I for 1
        ("l1010519491231002X", EXAMPLE),  # l for 1
        ("11o105I949123lOO2x", EXAMPLE),  # several at once
    ],
)
def test_confusions_are_undone_when_the_check_then_holds(read, expected):
    reading = number.read(read)
    assert reading.number == expected and reading.corrected and reading.read == read


def test_confusions_are_left_as_read_when_the_check_still_fails():
    # The same letters, but the check character is wrong either way: nothing is changed.
    reading = number.read("11O105194912310021")
    assert reading.number == "11O105194912310021" and not reading.corrected
    assert reading.checks(None, None)["check_character"] is False
    # A right number is never touched; a wrong one with no letters stays wrong.
    assert not number.read(EXAMPLE).corrected
    assert number.read("110105194912310021").number == "110105194912310021"


def test_find_takes_an_18_character_run_out_of_a_line():
    assert number.find("公民身份号码 11010519491231002X") == EXAMPLE
    assert number.find("1101 0519 4912 3100 2X") == EXAMPLE
    assert number.find("电话 1380013800") is None
