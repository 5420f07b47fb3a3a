"""CTC decoding of the recogniser's output (workers/pipeline/recognition.py): the most probable text
where a step is in doubt, PaddleOCR's best path everywhere else. Hand-made probabilities, no model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workers.pipeline import recognition
from workers.pipeline.recognition import best_path, most_probable_text, prefix_beam_search, text_probability

BLANK, A, B, L = 0, 1, 2, 3
CLASSES = 4


def steps(*rows: dict[int, float]) -> np.ndarray:
    """One row per step: the given classes' probabilities, the rest of the mass on the blank."""
    out = np.zeros((len(rows), CLASSES), np.float32)
    for t, row in enumerate(rows):
        for label, p in row.items():
            out[t, label] = p
        out[t, BLANK] += 1 - out[t].sum()
    return out


SURE_A, SURE_B, SURE_BLANK = {A: 1.0}, {B: 1.0}, {}


def test_a_narrow_letter_split_over_two_steps_is_kept():
    # "A L B", L at 0.45 and 0.47 beside the blank at 0.55 and 0.53 (so the "I" of "CAUTION" was lost).
    probs = steps(SURE_A, SURE_BLANK, {L: 0.45}, {L: 0.47}, SURE_BLANK, SURE_B)
    assert best_path(probs)[0] == [A, B]
    labels, confidences = most_probable_text(probs)
    assert labels == [A, L, B]
    assert confidences == pytest.approx([1.0, 0.47, 1.0])


def test_a_line_with_no_step_in_doubt_reads_as_the_best_path():
    probs = steps(SURE_A, SURE_A, SURE_BLANK, SURE_A, SURE_B, SURE_BLANK)
    assert most_probable_text(probs) == best_path(probs)
    assert best_path(probs)[0] == [A, A, B]  # a blank between keeps two A apart; a run is one


def test_a_letter_in_doubt_that_is_more_likely_absent_stays_out():
    probs = steps(SURE_A, SURE_BLANK, {L: 0.2}, {L: 0.2}, SURE_BLANK, SURE_B)
    # Absent: 0.8 x 0.8 = 0.64 against present: 0.36.
    assert most_probable_text(probs)[0] == [A, B]


def test_stretches_in_doubt_far_apart_are_decoded_each_on_its_own():
    probs = steps(
        {A: 0.6}, {A: 0.3}, SURE_BLANK, SURE_B, SURE_BLANK, {L: 0.45}, {L: 0.45}, SURE_BLANK, SURE_A
    )
    assert best_path(probs)[0] == [A, B, A]
    assert most_probable_text(probs)[0] == [A, B, L, A]


def labelling_probabilities(probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """Every labelling's probability summed over every path that spells it (small inputs only)."""
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(probs.shape[1]), repeat=len(probs)):
        labels = tuple(
            label for t, label in enumerate(path) if label != BLANK and (t == 0 or path[t - 1] != label)
        )
        totals[labels] = totals.get(labels, 0.0) + float(np.prod(probs[np.arange(len(path)), path]))
    return totals


def brute_force(probs: np.ndarray) -> list[int]:
    """The labelling with the highest probability summed over every path (small inputs only)."""
    totals = labelling_probabilities(probs)
    return list(max(totals, key=totals.get))


def test_a_texts_probability_is_the_sum_over_its_paths():
    rng = np.random.default_rng(5)
    for _ in range(20):
        probs = rng.dirichlet(np.full(CLASSES, 0.5), size=5)
        for labels, total in labelling_probabilities(probs).items():
            assert text_probability(probs, list(labels)) == pytest.approx(total, abs=1e-12), labels


def _random_steps(rng, concentration: float, count: int = 150):
    for _ in range(count):
        yield rng.dirichlet(np.full(CLASSES, concentration), size=5).astype(np.float64)


def test_the_beam_search_is_exact_when_no_prefix_is_dropped(monkeypatch):
    monkeypatch.setattr(recognition, "BEAM", 10_000)
    monkeypatch.setattr(recognition, "BEHIND", 0.0)
    monkeypatch.setattr(recognition, "UNLIKELY", 0.0)
    disagree_with_best_path = 0
    for probs in _random_steps(np.random.default_rng(7), 0.6):
        expected = brute_force(probs)
        assert prefix_beam_search(probs) == expected, probs
        disagree_with_best_path += best_path(probs)[0] != expected
    assert disagree_with_best_path > 10  # the inputs are ones where the decoders differ


def test_the_beam_is_wide_enough_for_stretches_in_doubt_as_the_recogniser_gives_them():
    # The recogniser is sure of most steps; where it is not, two or three classes share a step.
    # Peaked inputs like that (most of each step's mass on one class) are decoded exactly.
    for probs in _random_steps(np.random.default_rng(11), 0.15, count=300):
        assert prefix_beam_search(probs) == brute_force(probs), probs


def test_a_line_is_read_as_the_most_probable_text_of_each_stretch_between_sure_blanks(monkeypatch):
    # Cut only at blanks that are sure to the last digit, and nothing pruned: each stretch gets
    # its own most probable text, in place.
    monkeypatch.setattr(recognition, "RIVAL", 1e-12)
    monkeypatch.setattr(recognition, "BEAM", 10_000)
    monkeypatch.setattr(recognition, "BEHIND", 0.0)
    monkeypatch.setattr(recognition, "UNLIKELY", 0.0)
    rng = np.random.default_rng(3)
    sure_blank = np.array([[1.0, 0.0, 0.0]])
    searched = 0
    for _ in range(60):
        # Two stretches of three steps over the blank and two letters, a sure blank between them.
        first, second = (rng.dirichlet(np.full(3, 0.3), size=3) for _ in range(2))
        probs = np.concatenate([first, sure_blank, second])
        assert most_probable_text(probs)[0] == brute_force(first) + brute_force(second), probs
        searched += most_probable_text(probs)[0] != best_path(probs)[0]
    assert searched > 3
