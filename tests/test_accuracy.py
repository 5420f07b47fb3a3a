"""bench/accuracy.py without running an engine: the contender list, Tesseract's lines, its languages."""

from __future__ import annotations

from bench import accuracy

TSV = "\n".join(
    [
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
        "1\t1\t0\t0\t0\t0\t0\t0\t500\t300\t-1\t",
        "4\t1\t1\t1\t1\t0\t10\t10\t200\t20\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t96.1\tMilk",
        "5\t1\t1\t1\t1\t2\t70\t10\t30\t20\t95.0\t1L",
        "5\t1\t1\t1\t2\t1\t10\t40\t80\t20\t91.2\tBread",
        "5\t1\t2\t1\t1\t1\t300\t10\t40\t20\t88.0\t1.29",
        "5\t1\t2\t1\t1\t2\t350\t10\t40\t20\t10.0\t ",
    ]
)


def test_tesseract_words_are_grouped_into_its_lines_in_its_order():
    assert accuracy.tesseract_lines(TSV) == ["Milk 1L", "Bread", "1.29"]


def test_tesseract_is_told_the_languages_of_the_image():
    assert accuracy.tesseract_languages(("en",)) == "eng"
    assert accuracy.tesseract_languages(("fr", "de", "ja")) == "fra+deu+jpn"
    assert accuracy.tesseract_languages(("zh",)) == "chi_sim"
    assert accuracy.tesseract_languages(("xx",)) == "eng"
    assert accuracy.tesseract_languages(("mul",)) == "eng+fra+deu+spa+pol"


def test_contenders_are_what_settings_accepts_with_exactly_one_default():
    chosen, skipped = accuracy.contenders("quick")
    labels = [c["label"] for c in chosen]
    assert accuracy.PADDLE_REFERENCE in labels and labels[-1] == accuracy.TESSERACT
    assert sum(c["default"] for c in chosen) == 1
    for item in skipped:
        assert accuracy.availability(item["settings"]) == item["reason"] and item["reason"]
    assert accuracy.availability({"engine": "no-such-engine"})
    assert accuracy.availability({"models": "no-such-models"})
    smoke, _ = accuracy.contenders("smoke")
    assert len(smoke) == 2 and smoke[0]["default"] and smoke[1]["kind"] == "tesseract"
