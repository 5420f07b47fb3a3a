"""scripts/bench --smoke: every section of the benchmark runs and its report is whole.

A tiny run (4 small images, a few jobs each): it checks that the benchmark works, not how fast the farm
is; no figure is compared with a target here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.system, pytest.mark.engine]

SECTIONS = (
    "accuracy",
    "limit",
    "reference_limit",
    "engine_single",
    "idle",
    "latency",
    "http",
    "dropfolder",
    "memory",
    "queue",
    "baseline",
)
PLOTS = (
    "throughput.png",
    "latency_added.png",
    "concurrency.png",
    "memory_ppocrv3.png",
    "memory_ppocrv4.png",
    "queue_scale.png",
)
MARKDOWN_HEADINGS = (
    "## Summary",
    "## Targets",
    "## Accuracy",
    "## Images",
    "## Counts",
    "## Idle single requests, per image",
    "## Concurrency",
    "## Idle CPU by process",
    "## Drop folder",
    "## Queue scale",
    "## Memory, ppocrv3",
    "## Memory, ppocrv4",
    "## Plots",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "report"
    run = subprocess.run(
        [str(ROOT / "scripts" / "bench"), "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return out


def positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


def test_every_report_file_is_written(report):
    for name in ("report.md", "report.json", *PLOTS):
        path = report / name
        assert path.is_file() and path.stat().st_size > 0, name
    for name in PLOTS:
        assert (report / name).read_bytes().startswith(b"\x89PNG"), name


def test_markdown_has_every_section_and_target(report):
    text = (report / "report.md").read_text()
    for heading in MARKDOWN_HEADINGS:
        assert heading in text, heading
    for measure in (
        "Engine limit",
        "PaddleOCR 2.10 alone",
        "Farm over HTTP",
        "drop folder",
        "added latency",
        "Idle farm CPU",
        "Worker memory, ppocrv3",
        "Worker memory, ppocrv4",
        "Claim rate",
        "seed file handshake",
        "model built per request",
    ):
        assert measure in text, measure
    for image in ("label.png", "sticker.jpg", "upside-down.jpg", "sign-photo.jpg"):
        assert image in text, image


def test_json_figures_are_present_and_positive(report):
    data = json.loads((report / "report.json").read_text())
    s = data["sections"]
    assert set(SECTIONS) <= set(s), set(SECTIONS) - set(s)
    assert positive(s["limit"]["images_per_s"])
    # PaddleOCR 2.10 beside the farm's engine, and the ratio the engine's target is judged on.
    assert positive(s["reference_limit"]["images_per_s"]) and positive(s["limit"]["vs_reference"])
    assert positive(s["limit"]["cpu_s_per_image"]) and positive(s["reference_limit"]["cpu_s_per_image"])
    assert all(positive(t) for times in s["engine_single"]["per_image_s"].values() for t in times)
    assert positive(s["http"]["images_per_s"])
    for key in ("p50", "p95", "p99"):
        assert positive(s["http"]["latency_ms"][key])
    assert positive(s["dropfolder"]["images_per_s"])
    assert s["dropfolder"]["failed"] == 0
    assert positive(s["latency"]["latency_ms"]["p50"])
    assert s["latency"]["added_ms"]["n"] > 0
    assert s["idle"]["wall_s"] > 0 and s["idle"]["cpu_s"] >= 0
    assert {row["role"] for row in s["idle"]["per_process"]} >= {
        "supervisord",
        "gunicorn",
        "intake",
        "ocr worker",
    }
    for models in ("ppocrv3", "ppocrv4"):
        run = s["memory"][models]
        assert run["jobs"] > 0 and run["errors"] == 0
        assert run["per_worker"] and all(positive(row["end_rss_mb"]) for row in run["per_worker"].values())
    assert all(positive(row["claims_per_s"]) for row in s["queue"]["depths"])
    assert positive(s["baseline"]["handshake"]["images_per_s"])
    assert positive(s["baseline"]["per_request"]["images_per_s"])
    assert set(data["targets"]) == {
        "engine_speed",
        "http_throughput",
        "dropfolder_throughput",
        "added_latency",
        "idle_cpu",
        "memory",
        "claim_rate",
    }
    assert len(data["images"]) == 4


def fraction(value) -> bool:
    return isinstance(value, (int, float)) and 0 <= value <= 1


def test_accuracy_has_figures_between_0_and_1_for_the_default_and_tesseract(report):
    accuracy = json.loads((report / "report.json").read_text())["sections"]["accuracy"]
    contenders = {c["label"]: c for c in accuracy["contenders"]}
    assert "tesseract 5" in contenders and sum(bool(c["default"]) for c in contenders.values()) == 1
    assert len(contenders) == 2 and len(accuracy["samples"]) == 3
    for contender in contenders.values():
        assert "error" not in contender or contender["error"] is None, contender
        row = next(r for r in contender["rows"] if r["row"] == "drawn (all)")
        assert row["images"] == 3 and row["chars"] > 0
        for key in ("cer", "cer_ordered", "word_recall", "line_recall"):
            assert fraction(row[key]), (contender["label"], key, row[key])
        assert positive(row["cpu_s_per_image"])
    text = (report / "report.md").read_text()
    assert "CER %" in text and "Word recall" in text and "The farm's default" in text


def test_accuracy_has_identity_card_fields_per_kind_of_photo(report):
    cards = json.loads((report / "report.json").read_text())["sections"]["accuracy"]["idcards"]
    assert "error" not in cards, cards.get("error")
    assert set(cards["kinds"]) == {"flat", "rotated", "angle", "glare", "small"}
    for row in cards["kinds"].values():
        assert row["cards"] == 2  # one person, both sides
        assert (
            fraction(row["fields_read"]) and positive(row["cpu_s_per_card"]) and row["readings_per_card"] >= 1
        )
    assert set(cards["fields"]) == {
        "name",
        "sex",
        "ethnicity",
        "birth_date",
        "address",
        "number",
        "issuing_authority",
        "validity_period",
    }
    assert "### Identity cards" in (report / "report.md").read_text()
