"""The farm's own pipeline (workers/pipeline/, OCRFARM_ENGINE=onnx) against PaddleOCR 2.10 on the same
weights, and the orientation decision on pages whose text is known."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.images import build_set
from bench.truth import drawn_set
from ocrfarm.settings import Settings
from tests.helpers import assert_reads
from workers import models
from workers.__main__ import build_engine
from workers.loop import page_of
from workers.pipeline import graph, orientation, runtime
from workers.pipeline.crops import crop
from workers.pipeline.recognition import Recognizer, RecognizerConfig, characters_of

pytestmark = pytest.mark.engine

# Debian's fonts-dejavu-core and fonts-liberation (scripts/system-packages).
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LIBERATION_SANS = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
# Long printed lines, as on an A4 page at 150 dpi: the kind the mobile classifier calls upside down.
PAGE_LINES = [
    "The committee met on Tuesday to review the budget for the coming year and the new office lease.",
    "Members agreed that the heating costs of the north building must be checked before any decision.",
    "A report on the delivery delays of the last quarter will be sent to every department by Friday.",
    "The warehouse staff asked for a second loading bay, which would shorten the waiting time of trucks.",
    "Invoices older than ninety days are to be listed separately and sent to the accounts team at once.",
    "The printing of the annual report was moved to March, after the figures of the audit are known.",
    "New safety rules for the workshop apply from the first of the month and are posted at the door.",
    "Anyone who travels for the company keeps the receipts and hands them in within two weeks of return.",
    "The meeting closed at half past four; the next one is planned for the second Tuesday of October.",
]

_engines: dict[tuple[str, str], object] = {}


def engine(kind: str, model_set: str = "ppocrv3"):
    if (kind, model_set) not in _engines:
        _engines[kind, model_set] = build_engine(
            Settings.from_env({}, engine=kind, models=model_set, threads=1)
        )
    return _engines[kind, model_set]


def render_page(
    lines: list[str], *, size: int = 22, width: int = 1240, turned: set[int] = frozenset(), font: str = SANS
) -> np.ndarray:
    """A white page with `lines` printed one under another (line i turned by 180 degrees where i is in
    `turned`); a BGR array as the worker gives the engine."""
    face = ImageFont.truetype(font, size)
    step = int(size * 2.2)
    page = Image.new("RGB", (width, step * len(lines) + 2 * step), "white")
    for i, text in enumerate(lines):
        strip = Image.new("RGB", (width - 2 * size * 3, step), "white")
        ImageDraw.Draw(strip).text((0, step // 4), text, fill="black", font=face)
        if i in turned:
            strip = strip.rotate(180)
        page.paste(strip, (size * 3, step + i * step))
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def decoded(names: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    return [
        (image.name, cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR))
        for image in build_set()
        if image.name in names
    ]


def test_detection_and_recognition_match_paddleocr_on_the_same_batches():
    """With PaddleOCR's batching (six crops padded to the widest) and no classifier, the pipeline finds
    exactly PaddleOCR's boxes and reads exactly its texts: the pre- and post-processing are the same."""
    ours, paddle = engine("onnx"), engine("paddle")
    paddle_like = Recognizer(
        ours.recognizer.session,
        ours.recognizer.characters[1:],
        RecognizerConfig(max_batch=6, width_tolerance=float("inf"), right_margin=0, decoder="path"),
    )
    images = decoded(("card-photo", "receipt-photo", "page-scan", "large-scan", "label"))
    images.append(("rendered page", render_page(PAGE_LINES[:4])))
    compared = 0
    for name, image in images:
        expected = paddle.recognize(image, angle_cls=False)
        boxes = ours.detector(image, 960)
        assert [box.tolist() for box in boxes] == [line.box for line in expected], name
        readings = paddle_like([crop(image, box) for box in boxes])
        assert [text for text, _ in readings] == [line.text for line in expected], name
        for (_, confidence), line in zip(readings, expected, strict=True):
            assert abs(confidence - line.confidence) < 1e-3, name
        compared += len(expected)
    assert compared > 40


def test_fused_hardswish_reads_the_same_as_the_original_graph():
    model_set = models.resolve(Settings.from_env({}))
    import onnx
    import onnxruntime

    rewritten = onnx.load_from_string(graph.with_fused_hardswish(model_set.rec))
    assert sum(node.op_type == "HardSwish" for node in rewritten.graph.node) == 27
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    original = onnxruntime.InferenceSession(str(model_set.rec), options, providers=["CPUExecutionProvider"])
    fused = runtime.session(model_set.rec, 1)
    image = dict(decoded(("receipt-photo",)))["receipt-photo"]
    crops = [crop(image, box) for box in engine("onnx").detector(image, 960)]
    before = Recognizer(original, characters_of(fused))(crops)
    after = Recognizer(fused, characters_of(fused))(crops)
    assert [text for text, _ in after] == [text for text, _ in before]
    assert max(abs(a[1] - b[1]) for a, b in zip(after, before, strict=True)) < 1e-4


@pytest.fixture(scope="module", params=["ppocrv3", "ppocrv6"])
def ours(request):
    return engine("onnx", request.param)


@pytest.mark.parametrize("font, size", [(SANS, 18), (LIBERATION_SANS, 18), (LIBERATION_SANS, 28)])
def test_no_upright_line_of_a_printed_page_is_lost_to_the_classifier(ours, font, size):
    page = render_page(PAGE_LINES, font=font, size=size)
    # The page is one that PaddleOCR's rule gets wrong: some upright line, squeezed whole to the
    # classifier's 48 x 192 input, is called upside down above 0.9 (PaddleOCR 2.10 would turn it over).
    crops = [crop(page, box) for box in ours.detector(page, 960)]
    squeezed = runtime.run(ours.classifier.session, np.stack([orientation.normalise(c) for c in crops]))
    if ours.models.name == "ppocrv3":  # PP-OCRv6's detector cuts the lines a little differently
        assert any(p[1] > 0.9 for p in squeezed), "this page does not exercise the classifier's failure"
    lines = ours.recognize(page, angle_cls=True)
    assert_reads([line.text for line in lines], PAGE_LINES)


def test_a_page_turned_over_is_read_upright_and_in_reading_order(ours):
    page = cv2.rotate(render_page(PAGE_LINES[:5]), cv2.ROTATE_180)
    reading = ours.read(page, angle_cls=True)
    assert reading.rotation == 180
    # The reading order is the layout's, for the page turned upright (workers/loop.py's page_of).
    ordered = page_of(reading, page.shape[1], page.shape[0], {"min_confidence": 0.5})["lines"]
    assert_reads([line["text"] for line in ordered], PAGE_LINES[:5])
    without = ours.read(page, angle_cls=False)
    assert without.rotation == 0
    assert "committee" not in " ".join(line.text for line in without.lines)


def test_single_lines_turned_among_upright_ones_are_read(ours):
    page = render_page(PAGE_LINES[:6], turned={1, 4})
    lines = ours.recognize(page, angle_cls=True)
    assert_reads([line.text for line in lines], PAGE_LINES[:6])


def test_a_narrow_letter_and_spaces_the_best_path_drops_are_read():
    """The recogniser gives the "I" of "CAUTION" a little under half on each of two steps, and the gaps
    between words a little under half too: PaddleOCR's best-path decoding drops them, the most
    probable text keeps them (workers/pipeline/recognition.py)."""
    ours = engine("onnx")
    samples = {sample.name: sample for sample in drawn_set()}
    for name, expected in (("sign-caution", "CAUTION"), ("sign-platform", "Exit Way Out")):
        image = cv2.imdecode(np.frombuffer(samples[name].data, np.uint8), cv2.IMREAD_COLOR)
        crops = [crop(image, box) for box in ours.detector(image, 960)]
        paddle_like = Recognizer(
            ours.recognizer.session,
            ours.recognizer.characters[1:],
            dataclasses.replace(ours.recognizer.config, decoder="path"),
        )
        assert expected in [text for text, _ in ours.recognizer(crops)]
        assert expected not in [text for text, _ in paddle_like(crops)]


# What PP-OCRv6 small reads beyond PP-OCRv3 (README, "The engine"): accented Latin and Japanese.
SCRIPT_LINES = {
    "German": (SANS, ["Größere Übungen für Jürgen", "Die Straße ist nass"]),
    "Spanish": (SANS, ["El niño pequeño comió", "¿Dónde está la estación?"]),
    "Polish": (SANS, ["Zażółć gęślą jaźń", "Łódź leży w Polsce"]),
    "French": (SANS, ["Où est la gare, s'il vous plaît ?", "Le cœur a ses raisons"]),
    "Japanese": (
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        ["東京駅はどこですか", "ありがとうございます"],
    ),
}


@pytest.mark.parametrize("script", list(SCRIPT_LINES))
def test_ppocrv6_reads_accented_latin_and_japanese(script):
    font, lines = SCRIPT_LINES[script]
    found = engine("onnx", "ppocrv6").recognize(render_page(lines, size=40, width=1100, font=font))
    # Exact text, spaces aside: an accent read as its bare letter is an error here.
    assert ["".join(line.text.split()) for line in found] == ["".join(line.split()) for line in lines]


def test_ppocrv6_detector_is_normalised_as_its_package_says():
    import yaml

    model_set = models.resolve(Settings.from_env({}, models="ppocrv6"))
    config = yaml.safe_load((model_set.det.parent.parent / "config.yaml").read_text())["Det"]
    assert (list(model_set.det_mean), list(model_set.det_std)) == (config["mean"], config["std"])
    assert model_set.det_mean != models.resolve(Settings.from_env({})).det_mean
