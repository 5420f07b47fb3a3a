"""The accuracy section: every contender reads every ground-truth image, each in a fresh process with one thread.

A contender is a label and the settings a farm worker would be started with (engine, model set,
angle classifier), or Tesseract 5 as the yardstick. The list is data: an engine or model set that
Settings does not accept yet (OCRFARM_ENGINE=onnx, OCRFARM_MODELS=ppocrv6) is left out with the
reason, and comes in by itself once it is there.

Each contender runs in its own subprocess (`python -m bench.accuracy`), so that its thread pools are
sized when its native libraries load: farm engines call limit_native_threads(1) and build_engine()
from workers/__main__.py, as a worker with OCRFARM_THREADS=1 does; Tesseract runs with
OMP_THREAD_LIMIT=1. Images are decoded the way a worker decodes them before anything is timed; one
warm-up call; then each image `repeats` times (once in every mode of scripts/bench). CPU seconds per image are the process's own
(time.process_time, all its threads) for farm engines, and the child's rusage for each tesseract
command (which loads its language data every time: its start-up cost is measured apart on a blank
image). So figures are per core, and contenders run one after another by default: two at once on
a 2-core machine would share memory bandwidth and caches, and the CPU figures would drift.

The text scored is what the farm would answer: lines under the confidence floor (min_confidence)
are dropped, as workers/loop.py drops them, and the lines come in the farm's reading order
(ocrfarm/layout.py, applied to every engine's lines as a worker applies it), so that the CER in the
engine's own order is the reading-order measure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Label, settings overrides. Each is run when Settings accepts its values; the farm's default is
# added when none of these is it.
FARM_CONTENDERS = (
    ("paddle ppocrv3", {"engine": "paddle", "models": "ppocrv3", "angle_cls": True}),
    ("paddle ppocrv3, no cls", {"engine": "paddle", "models": "ppocrv3", "angle_cls": False}),
    ("onnx ppocrv3", {"engine": "onnx", "models": "ppocrv3", "angle_cls": True}),
    ("onnx ppocrv3, no cls", {"engine": "onnx", "models": "ppocrv3", "angle_cls": False}),
    ("onnx ppocrv6", {"engine": "onnx", "models": "ppocrv6", "angle_cls": True}),
    ("onnx ppocrv6, no cls", {"engine": "onnx", "models": "ppocrv6", "angle_cls": False}),
    # The Paddle-format set, which only PaddleOCR runs: every built-in set is in the table.
    ("paddle ppocrv4", {"engine": "paddle", "models": "ppocrv4", "angle_cls": True}),
)
# The farm's pipeline with a part of it as it was before a change, to measure the change in one run:
# label, settings, and the recogniser's configuration (workers/pipeline/recognition.py) to run with.
PIPELINE_VARIANTS = (
    (
        "onnx ppocrv3, best path",
        {"engine": "onnx", "models": "ppocrv3", "angle_cls": True},
        {"decoder": "path"},
    ),
)
TESSERACT = "tesseract 5"
# PaddleOCR 2.10 as the workers ran it until now: the reference for "where it reads differently".
PADDLE_REFERENCE = "paddle ppocrv3"
PADDLE_NO_CLS = "paddle ppocrv3, no cls"
SMOKE_SAMPLES = ("label", "sticker", "small-price-tag")


def availability(overrides: dict) -> str | None:
    """None when Settings accepts these values, else why not. Checked through the environment
    variables, which Settings validates (an override passed as a keyword is taken as it is)."""
    from ocrfarm.exceptions import ConfigurationError
    from ocrfarm.settings import Settings

    env = {
        f"OCRFARM_{key.upper()}": (str(value).lower() if isinstance(value, bool) else str(value))
        for key, value in overrides.items()
    }
    try:
        Settings.from_env(env)
    except ConfigurationError as exc:
        return str(exc)
    return None


def farm_default() -> dict:
    from ocrfarm.settings import Settings

    settings = Settings.from_env({})
    return {"engine": settings.engine, "models": settings.models, "angle_cls": settings.angle_cls}


def contenders(mode: str) -> tuple[list[dict], list[dict]]:
    """The contenders to run and the ones left out (with the reason)."""
    default = farm_default()
    chosen, skipped = [], []
    for label, overrides in FARM_CONTENDERS:
        reason = availability(overrides)
        if reason:
            skipped.append({"label": label, "settings": overrides, "reason": reason})
            continue
        chosen.append(
            {"label": label, "kind": "farm", "settings": overrides, "default": overrides == default}
        )
    if not any(c["default"] for c in chosen):
        chosen.insert(0, {"label": "farm default", "kind": "farm", "settings": default, "default": True})
    for label, overrides, recognizer in PIPELINE_VARIANTS:
        if availability(overrides) is None:
            chosen.append(
                {
                    "label": label,
                    "kind": "farm",
                    "settings": overrides,
                    "recognizer": recognizer,
                    "default": False,
                }
            )
    chosen.append({"label": TESSERACT, "kind": "tesseract", "settings": {"psm": 3}, "default": False})
    if mode == "smoke":  # the farm's default and the yardstick
        chosen = [c for c in chosen if c["default"] or c["kind"] == "tesseract"]
    return chosen, skipped


def tesseract_languages(languages) -> str:
    """Tesseract's -l for an image from the languages of its lines: told what the page is in, as a
    user would configure it (PaddleOCR's models get no such hint)."""
    from bench.truth import TESSERACT_LANGS

    names = [TESSERACT_LANGS[lang] for lang in languages if lang in TESSERACT_LANGS]
    return "+".join(dict.fromkeys(names)) or "eng"


# ---- the parent: run each contender, collect its readings ------------------------------------------


def run(samples, mode: str, repeats: int, work: Path, log, jobs: int = 1) -> dict:
    """Every contender over every sample; returns the raw readings (scored by bench/accuracy_report.py)."""
    folder = work / "accuracy"
    folder.mkdir(parents=True, exist_ok=True)
    listing = []
    for number, sample in enumerate(samples):
        path = folder / f"{number:03d}-{sample.name}"
        path.write_bytes(sample.data)
        listing.append(
            {"name": sample.name, "path": str(path), "tesseract_lang": tesseract_languages(sample.languages)}
        )
    (folder / "samples.json").write_text(json.dumps(listing))
    chosen, skipped = contenders(mode)
    for item in skipped:
        log(f"  accuracy: {item['label']} not available: {item['reason']}")
    log(
        f"  accuracy: {len(samples)} images x {len(chosen)} contenders ({', '.join(c['label'] for c in chosen)}), "
        f"{repeats} run(s) each, {jobs} at a time, one thread each"
    )
    pending = list(enumerate(chosen))
    running: list[tuple[int, dict, subprocess.Popen, Path, float]] = []
    results: dict[int, dict] = {}
    while pending or running:
        while pending and len(running) < jobs:
            number, contender = pending.pop(0)
            out = folder / f"contender-{number}.json"
            command = [
                sys.executable,
                "-m",
                "bench.accuracy",
                "--contender",
                json.dumps(contender),
                "--samples",
                str(folder / "samples.json"),
                "--repeats",
                str(repeats),
                "--out",
                str(out),
            ]
            log_file = open(folder / f"contender-{number}.log", "wb")  # noqa: SIM115 - held open for the child process's lifetime
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            log_file.close()
            running.append((number, contender, process, out, time.monotonic()))
        time.sleep(0.2)
        for entry in list(running):
            number, contender, process, out, started = entry
            if process.poll() is None:
                continue
            running.remove(entry)
            took = time.monotonic() - started
            if process.returncode == 0 and out.is_file():
                result = json.loads(out.read_text())
                log(f"  accuracy: {contender['label']} done in {took:.0f}s")
            else:
                tail = (folder / f"contender-{number}.log").read_text(errors="replace")[-3000:]
                result = {"error": f"exit code {process.returncode}: {tail}"}
                log(
                    f"  accuracy: {contender['label']} FAILED (exit {process.returncode}); its log ends:\n{tail}"
                )
            results[number] = {**contender, **result, "process_s": round(took, 1)}
    return {
        "contenders": [results[n] for n in sorted(results)],
        "skipped": skipped,
        "repeats": repeats,
        "parallel_contenders": jobs,
        "farm_default": farm_default(),
    }


# ---- the child: one contender in a fresh process -----------------------------------------------------


def _farm_child(
    settings_overrides: dict, listing: list[dict], repeats: int, recognizer: dict | None = None
) -> dict:
    # Nothing native is imported before this: limit_native_threads() must come first.
    from bench import engine_use

    started = time.monotonic()
    settings, engine = engine_use.load(threads=1, **settings_overrides)
    if recognizer:
        engine.recognizer.config = dataclasses.replace(engine.recognizer.config, **recognizer)
    load_s = time.monotonic() - started
    arrays = [engine_use.decode(Path(item["path"]).read_bytes(), settings) for item in listing]
    engine_use.recognize(engine, arrays[0], settings)  # warm-up: sessions allocate on their first run
    floor = settings.min_confidence
    images = {}
    for item, array in zip(listing, arrays, strict=True):
        cpu, wall, found, rotation = [], [], None, 0
        for _ in range(repeats):
            c0, w0 = time.process_time(), time.perf_counter()
            lines, turn = engine_use.read_page(engine, array, settings)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            if found is None:
                found, rotation = lines, turn
        images[item["name"]] = {
            "cpu_s": cpu,
            "wall_s": wall,
            "lines": [line.text for line in found if line.confidence >= floor],
            "dropped": [
                {"text": line.text, "confidence": round(line.confidence, 3)}
                for line in found
                if line.confidence < floor
            ],
            "size": [int(array.shape[1]), int(array.shape[0])],
            "rotation": rotation,
        }
    return {
        "engine": engine.describe(),
        "load_s": load_s,
        "min_confidence": floor,
        "options": {k: v for k, v in settings.option_defaults.items()},
        "images": images,
    }


def tesseract_lines(tsv: str) -> list[str]:
    """Tesseract's TSV words grouped into its lines (block, paragraph, line), in its order."""
    lines: dict[tuple, list[str]] = {}
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        key = (fields[1], fields[2], fields[3], fields[4])
        lines.setdefault(key, []).append(fields[11].strip())
    return [" ".join(words) for words in lines.values()]


def _tesseract(path: str, lang: str, psm: int) -> tuple[str, float, float]:
    import resource

    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    run_ = subprocess.run(
        ["tesseract", path, "stdout", "-l", lang, "--psm", str(psm), "tsv"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run_.returncode != 0:
        raise RuntimeError(f"tesseract {path} -l {lang}: exit {run_.returncode}: {run_.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run_.stdout, cpu, wall


def _tesseract_child(settings: dict, listing: list[dict], repeats: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="ocrfarm-tesseract-"))
    try:
        return _tesseract_run(settings, listing, repeats, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _tesseract_run(settings: dict, listing: list[dict], repeats: int, folder: Path) -> dict:
    import cv2
    import numpy as np

    from bench import engine_use

    psm = int(settings.get("psm", 3))
    farm_settings = engine_use.settings_only(engine="fake")
    # Decoded beforehand the way a worker decodes (EXIF turned, transparency laid on paper), and handed
    # to tesseract as uncompressed PPM, so that its time is reading, not decoding.
    paths = []
    for number, item in enumerate(listing):
        array = engine_use.decode(Path(item["path"]).read_bytes(), farm_settings)
        path = folder / f"{number:03d}.ppm"
        cv2.imwrite(str(path), array)
        paths.append(str(path))
    blank = folder / "blank.ppm"
    cv2.imwrite(str(blank), np.full((32, 32, 3), 255, np.uint8))
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.splitlines()[
        0
    ]
    _tesseract(paths[0], listing[0]["tesseract_lang"], psm)  # warm-up: the language data into the page cache
    startup = {}
    for lang in dict.fromkeys(item["tesseract_lang"] for item in listing):
        startup[lang] = min(_tesseract(str(blank), lang, psm)[1] for _ in range(3))
    images = {}
    for item, path in zip(listing, paths, strict=True):
        cpu, wall, lines = [], [], None
        for _ in range(repeats):
            tsv, c, w = _tesseract(path, item["tesseract_lang"], psm)
            cpu.append(c)
            wall.append(w)
            lines = tesseract_lines(tsv) if lines is None else lines
        images[item["name"]] = {
            "cpu_s": cpu,
            "wall_s": wall,
            "lines": lines,
            "dropped": [],
            "lang": item["tesseract_lang"],
        }
    return {
        "engine": {"engine": version, "psm": psm, "omp_thread_limit": 1},
        "startup_cpu_s": startup,
        "images": images,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description="one accuracy contender")
    parser.add_argument("--contender", required=True, help="JSON: {label, kind, settings}")
    parser.add_argument("--samples", type=Path, required=True, help="samples.json written by run()")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    contender = json.loads(args.contender)
    listing = json.loads(args.samples.read_text())
    if contender["kind"] == "tesseract":
        result = _tesseract_child(contender["settings"], listing, args.repeats)
    else:
        result = _farm_child(contender["settings"], listing, args.repeats, contender.get("recognizer"))
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
