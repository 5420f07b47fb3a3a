"""The real engines on images the tests draw, so the expected text is known: the farm's own pipeline
(OCRFARM_ENGINE=onnx) on both ONNX model sets and PaddleOCR 2.10 (OCRFARM_ENGINE=paddle) on the sets
it runs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocrfarm import documents
from ocrfarm.exceptions import ConfigurationError
from ocrfarm.settings import Settings
from tests.helpers import SAMPLE_LINES, assert_reads, render_text
from workers import models

pytestmark = pytest.mark.engine
LIMITS = documents.Limits(max_pixels=10**8, max_pages=10, dpi=200)
ROOT = Path(__file__).resolve().parent.parent


_engines = {}


def engine_for(kind: str, model_set: str):
    """One engine per engine and model set for the whole run, built with PaddleOCR's downloads made
    impossible (the farm's own pipeline has no download code at all)."""
    if (kind, model_set) not in _engines:
        from paddleocr.ppocr.utils import network

        from workers.__main__ import build_engine

        def no_downloads(*args, **kwargs):
            raise AssertionError(f"the engine tried to download: {args}")

        # Every built-in model set must load from its package, never from the network.
        original = network.download_with_progressbar
        network.download_with_progressbar = no_downloads
        try:
            settings = Settings.from_env(
                {"OCRFARM_ENGINE": kind, "OCRFARM_MODELS": model_set, "OCRFARM_THREADS": "1"}
            )
            _engines[kind, model_set] = build_engine(settings)
        finally:
            network.download_with_progressbar = original
    return _engines[kind, model_set]


@pytest.fixture(
    scope="module",
    params=[("onnx", "ppocrv3"), ("onnx", "ppocrv6"), ("paddle", "ppocrv3"), ("paddle", "ppocrv4")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def engine(request):
    return engine_for(*request.param)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_reads_rendered_text_with_boxes(engine, fmt):
    data = render_text(fmt=fmt)
    image = next(documents.pages(data, LIMITS))
    lines = engine.recognize(image)
    assert_reads([line.text for line in lines], SAMPLE_LINES)
    height, width = image.shape[:2]
    for line in lines:
        assert 0.5 < line.confidence <= 1.0
        assert len(line.box) == 4
        assert all(0 <= x <= width and 0 <= y <= height for x, y in line.box)
    assert lines[0].box[0][1] < lines[1].box[0][1], "lines come top to bottom"


def test_detection_side_limit_is_applied_per_call(engine):
    # Small text on a wide page: scaled down to 480 pixels it is too small to read.
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (3200, 300), "white")
    ImageDraw.Draw(image).text(
        (40, 130), "Total 1234.56 EUR", fill="black", font=ImageFont.load_default(size=22)
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    page = next(documents.pages(buffer.getvalue(), LIMITS))
    assert_reads([line.text for line in engine.recognize(page, det_limit_side=3200)], ["Total 1234.56 EUR"])
    small = [line.text for line in engine.recognize(page, det_limit_side=480)]
    assert "1234.56" not in "".join(small)


def test_angle_classifier_is_chosen_per_call(engine):
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(render_text())).rotate(180).save(buffer, "PNG")
    page = next(documents.pages(buffer.getvalue(), LIMITS))
    with_cls = sorted(line.text for line in engine.recognize(page, angle_cls=True))
    assert_reads(with_cls, sorted(SAMPLE_LINES))
    without = "".join(line.text for line in engine.recognize(page, angle_cls=False))
    assert "1234.56" not in without.replace(" ", "")


def test_blank_page_has_no_lines(engine):
    from tests.helpers import blank_image

    assert engine.recognize(next(documents.pages(blank_image(300, 200), LIMITS))) == []


@pytest.mark.parametrize("model_set", ["ppocrv3", "ppocrv4"])
def test_thread_setting_is_what_the_engine_uses(model_set):
    """With T threads a worker computes on T threads, no more (PaddleOCR would otherwise take every core)."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores to tell one thread from two")
    probes = {}
    for threads in (1, 2):
        probe = subprocess.run(
            [sys.executable, "-m", "tests.probe_threads", model_set, str(threads)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert probe.returncode == 0, probe.stderr[-2000:]
        probes[threads] = json.loads(probe.stdout.strip().splitlines()[-1])
    # Shares of the work and time runnable, not CPU per second of wall time: a busy machine lends
    # the probe less CPU, but does not change which threads do the work or when they want a CPU.
    one, two = probes[1], probes[2]
    assert one["busy_threads"] == 1 and one["work_per_busiest"] < 1.2, one
    assert one["runnable_per_wall"] < 1.2, f"one thread wanted {one['runnable_per_wall']:.2f} cores: {one}"
    # With two threads each model's session has its own helper thread (det, rec and cls run one after
    # another, so at most two compute at once): count the work in the busiest thread's units, not
    # threads that ever worked.
    assert two["busy_threads"] >= 2, two
    assert 1.3 < two["work_per_busiest"] < 2.3, (
        f"two threads did {two['work_per_busiest']:.2f} threads' work: {two}"
    )


def test_missing_weights_are_named_by_their_setting(tmp_path):
    empty_dir = tmp_path / "det"
    empty_dir.mkdir()
    # A Paddle model folder without its files is exactly what PaddleOCR would go and download.
    settings = Settings.from_env(
        {
            "OCRFARM_MODELS": "custom",
            "OCRFARM_DET_MODEL": str(empty_dir),
            "OCRFARM_REC_MODEL": str(tmp_path / "rec"),
        }
    )
    with pytest.raises(ConfigurationError, match="OCRFARM_DET_MODEL"):
        models.resolve(settings)


def test_custom_model_paths_load(tmp_path):
    builtin = models.resolve(Settings.from_env({}, models="ppocrv3"))
    settings = Settings.from_env(
        {
            "OCRFARM_MODELS": "custom",
            "OCRFARM_DET_MODEL": str(builtin.det),
            "OCRFARM_REC_MODEL": str(builtin.rec),
            "OCRFARM_CLS_MODEL": str(builtin.cls),
        }
    )
    custom = models.resolve(settings)
    assert (custom.format, custom.det) == ("onnx", builtin.det)


def test_worker_with_missing_weights_refuses_to_start_with_one_line(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "OCRFARM_SPOOL": str(tmp_path / "spool"),
        "OCRFARM_MODELS": "custom",
        "OCRFARM_DET_MODEL": str(tmp_path / "nowhere.onnx"),
        "OCRFARM_REC_MODEL": str(tmp_path / "rec.onnx"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "workers"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 3
    errors = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stdout + result.stderr
    assert "nowhere.onnx" in errors[0] and "OCRFARM_DET_MODEL" in errors[0]
