"""bench/scoring.py on small hand-made cases whose right figures can be counted by hand."""

from __future__ import annotations

import pytest

from bench import scoring
from bench.scoring import Totals, cer, score_page, words


def page(lines, lang="en"):
    return [(line, lang) for line in lines]


def test_identical_text_scores_perfectly():
    s = score_page(page(["Invoice 2026", "Total 12.50"]), ["Invoice 2026", "Total 12.50"])
    assert (s.chars, s.edits, s.edits_ordered) == (21, 0, 0)
    assert s.cer == 0 and s.word_recall == 1 and s.line_recall == 1


def test_one_wrong_character_in_ten():
    assert cer("abcdefghij", "abcdefgh1j") == pytest.approx(0.1)
    s = score_page(page(["abcdefghij"]), ["abcdefgh1j"])
    assert s.edits == 1 and s.cer == pytest.approx(0.1)


def test_whitespace_is_not_a_character_error():
    assert cer("Hello world", "Helloworld") == 0
    assert cer("Hello  world\n", " Hello wor ld") == 0
    s = score_page(page(["Hello world again"]), ["Hello wor", "ld again"])
    assert s.cer == 0 and s.cer_ordered == 0


def test_dropped_and_extra_characters_count():
    assert cer("abcd", "abc") == pytest.approx(0.25)
    assert cer("abcd", "abcdXY") == pytest.approx(0.5)
    assert cer("ab", "ab" + "x" * 6) == pytest.approx(3.0)  # more junk than text: above 1
    assert cer("", "") == 0


def test_columns_read_in_another_order_do_not_swamp_the_headline():
    reference = page(["left column one", "left column two", "right side three", "right side four"])
    engine = ["left column one", "right side three", "left column two", "right side four"]
    s = score_page(reference, engine)
    assert s.cer == 0
    assert s.cer_ordered > 0.3  # the engine's own order is scored too, and is far off
    assert s.line_recall == 1 and s.word_recall == 1


def test_a_page_read_bottom_up_is_read_right_line_by_line():
    reference = page(["first line here", "second line there", "third line last"])
    s = score_page(reference, list(reversed([text for text, _ in reference])))
    assert s.cer == 0 and s.cer_ordered > 0.3


def test_repeated_lines_go_to_their_own_places():
    reference = page(["TOTAL 11.60", "some other text", "CARD 11.60", "more text here", "TOTAL 11.60"])
    engine = ["TOTAL 11.60", "TOTAL 11.60", "CARD 11.60", "some other text", "more text here"]
    s = score_page(reference, engine)
    assert s.cer == 0
    assert [line.read_as for line in s.lines] == [text for text, _ in reference]


def test_a_missing_line_is_that_line_s_characters_and_its_share_is_its_own():
    s = score_page(page(["aaaa", "bbbbbb"]), ["aaaa"])
    assert s.edits == 6 and s.cer == pytest.approx(6 / 10)
    assert [line.edits for line in s.lines] == [0, 6]
    assert [line.read for line in s.lines] == [True, False]
    assert s.lines[1].read_as == ""
    assert s.line_recall == 0.5 and s.word_recall == 0.5


def test_per_line_edits_add_up_to_the_page():
    reference = page(["The quick brown fox", "jumps over the", "lazy dog 123"])
    engine = ["Tho quick brwn fox", "junk", "jumps ovr the", "1azy dog 12"]
    s = score_page(reference, engine)
    assert sum(line.edits for line in s.lines) == s.edits
    assert s.edits == scoring.Levenshtein.distance(
        "Thequickbrownfoxjumpsoverthelazydog123",
        "".join(
            scoring.squeeze(line) for line in scoring.order_like_reference([t for t, _ in reference], engine)
        ),
    )
    assert s.lines[0].read_as == "Tho quick brwn fox"


def test_a_line_read_in_two_pieces_has_no_character_error_but_is_not_read_as_a_line():
    s = score_page(page(["Milk 1L 1.29"]), ["1.29", "Milk 1L"])
    assert s.cer == 0
    assert s.line_recall == 0
    assert s.word_recall == 1


def test_line_recall_threshold():
    s = score_page(page(["abcdefghij", "klmnopqrst"]), ["abcdefgh1j", "klmnXYqrst"])
    assert [line.read for line in s.lines] == [True, False]  # 10 % is read, 20 % is not


def test_word_recall_is_a_multiset_and_case_sensitive_with_punctuation_stripped():
    s = score_page(page(["the cat, the dog."]), ["the cat", "dog"])
    assert (s.words, s.words_found) == (4, 3)
    s = score_page(page(["Hello, World!"]), ["hello World"])
    assert (s.words, s.words_found) == (2, 1)


def test_words_of_cjk_text_are_characters():
    assert words("中文测试 OK") == ["中", "文", "测", "试", "OK"]
    assert words("价格：12元。") == ["价", "格", "12", "元"]
    assert words("東京へ行きます") == list("東京へ行きます")
    assert words("— ... «Bonjour» l'été,") == ["Bonjour", "l'été"]


def test_cjk_word_recall_counts_characters():
    s = score_page(page(["今天天气很好"], "zh"), ["今天气很好"])
    assert (s.words, s.words_found) == (6, 5)
    assert s.cer == pytest.approx(1 / 6)


def test_full_width_forms_are_the_same_characters():
    assert cer("ABC123,", "ＡＢＣ１２３，") == 0
    assert cer("été", "e\u0301te\u0301") == 0  # composed or combining accents alike
    assert cer("été", "ete") == pytest.approx(2 / 3)  # a lost accent is an error


def test_nothing_read():
    s = score_page(page(["abc def"]), [])
    assert s.cer == 1 and s.word_recall == 0 and s.line_recall == 0


def test_totals_weigh_by_text():
    totals = Totals()
    totals.add_page(score_page(page(["aaaaaaaaaa"]), ["aaaaaaaaaa"]))  # 0 errors / 10
    totals.add_page(score_page(page(["bb"]), [""]))  # 2 errors / 2
    figures = totals.figures()
    assert figures["cer"] == pytest.approx(2 / 12)
    assert figures["line_recall"] == 0.5 and figures["pages"] == 2


def test_per_language_totals_from_lines():
    s = score_page([("Bonjour à tous", "fr"), ("Guten Tag", "de")], ["Bonjour a tous", "Guten Tag"])
    fr, de = Totals(), Totals()
    for line in s.lines:
        (fr if line.lang == "fr" else de).add_line(line)
    assert fr.figures()["cer"] == pytest.approx(1 / 12) and de.figures()["cer"] == 0
    assert fr.figures()["word_recall"] == pytest.approx(2 / 3)
