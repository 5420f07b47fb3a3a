"""bench/truth.py: the drawn ground truth is complete and repeatable; the real pages' loader reads the
committed layout and refuses an incomplete one."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from bench import truth

CLASSES = ("page-en", "page-zh", "receipt", "photo", "small", "sign", "languages", "upside-down")


@pytest.fixture(scope="module")
def drawn():
    return truth.drawn_set()


def test_the_drawn_set_covers_every_class_and_is_the_same_every_time(drawn):
    assert len(drawn) >= 30
    assert {sample.cls for sample in drawn} >= set(CLASSES)
    again = truth.drawn_set()
    assert [(s.name, s.data, s.lines) for s in drawn] == [(s.name, s.data, s.lines) for s in again]
    assert len({sample.name for sample in drawn}) == len(drawn)
    for sample in drawn:
        assert sample.lines and all(text.strip() for text, _ in sample.lines), sample.name


def test_english_pages_have_full_width_lines(drawn):
    for sample in drawn:
        if sample.cls == "page-en" and sample.name != "page-en-columns":
            lengths = sorted(len(text) for text, _ in sample.lines)
            median = lengths[len(lengths) // 2]
            assert 60 <= median <= 90 and lengths[-1] <= 90, (sample.name, lengths)


def test_language_lines_are_labelled(drawn):
    langs = {lang for s in drawn if s.cls == "languages" for _, lang in s.lines}
    assert langs == {"fr", "de", "es", "pl", "ja"}
    polish = [text for s in drawn for text, lang in s.lines if lang == "pl"]
    assert any(ch in "".join(polish) for ch in "ąęłśżźćń")


def test_bench_images_carry_their_texts():
    samples = truth.bench_images()
    assert len(samples) == 12
    label = next(s for s in samples if s.name == "label")
    assert label.lines == (("ZX-4471-B", "en"),) and label.cls == "small"


def test_a_missing_font_names_its_debian_package(monkeypatch):
    monkeypatch.setitem(truth.FONTS, "sans", ("/nonexistent/DejaVuSans.ttf", "fonts-dejavu-core"))
    monkeypatch.setattr(truth, "_font_cache", {})
    with pytest.raises(truth.GroundTruthError, match="fonts-dejavu-core"):
        truth.font("sans", 20)


def _real_folder(tmp_path, entries, files):
    for name, content in files.items():
        path = tmp_path / name
        if name.endswith(".png"):
            Image.new("RGB", (40, 20), "white").save(path)
        else:
            path.write_text(content, encoding="utf-8")
    (tmp_path / "manifest.json").write_text(json.dumps(entries), encoding="utf-8")
    return tmp_path


def test_real_pages_are_loaded_with_their_kind_and_language(tmp_path):
    folder = _real_folder(
        tmp_path,
        [
            {
                "file": "till-01.png",
                "kind": "receipt",
                "lang": "en",
                "capture": "phone",
                "source": "own",
                "licence": "CC0",
            },
            {"file": "buch-01.png", "kind": "book", "lang": "deu", "capture": "scan"},
        ],
        {
            "till-01.png": "",
            "till-01.gt.txt": "CORNER SHOP\n\nMilk 1.29\n",
            "buch-01.png": "",
            "buch-01.gt.txt": "Erstes Kapitel\nEs war einmal\n",
        },
    )
    samples = truth.real_set(folder)
    assert [(s.name, s.cls, s.origin) for s in samples] == [
        ("till-01", "real-receipt", "real"),
        ("buch-01", "real-book", "real"),
    ]
    assert samples[0].lines == (("CORNER SHOP", "en"), ("Milk 1.29", "en"))  # blank lines left out
    assert samples[1].languages == ("de",)  # Tesseract's name taken for the language
    assert "CC0" in samples[0].description


def test_no_manifest_means_no_real_pages(tmp_path):
    assert truth.real_set(tmp_path) == []


def test_a_listed_file_that_is_missing_is_an_error(tmp_path):
    folder = _real_folder(tmp_path, [{"file": "a.png", "kind": "receipt"}], {"a.png": ""})
    with pytest.raises(truth.GroundTruthError, match="a.gt.txt is missing"):
        truth.real_set(folder)
    (folder / "manifest.json").write_text('[{"file": "a.png"}]')
    with pytest.raises(truth.GroundTruthError, match="kind"):
        truth.real_set(folder)
