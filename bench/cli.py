"""scripts/bench: measure the farm against the engine's own limit on this machine, and write a report."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.run import SECTIONS, Bench, log

ROOT = Path(__file__).resolve().parent.parent

EPILOG = """sections (--only takes a comma-separated list; default all, in this order):
  accuracy    CER, word and line recall against ground truth (drawn and real pages), per image class, for
              every engine path Settings accepts and Tesseract 5, each in its own process with one thread;
              CPU s/image; lines the farm's default reads differently from PaddleOCR 2.10. Needs no farm
  limit       the engine alone, in-process: N processes x T threads, as the farm lays them out
  latency     one request at a time on an idle farm, beside the engine's own time for the image
  idle        CPU of every farm process (supervisord, gunicorn, intake, workers) with an empty queue
  http        POST /v1/ocr at several client counts, then at 4 x workers: images/s and latency
  dropfolder  files renamed into <spool>/inbox/ until their outbox/<stem>.json: images/s
  memory      resident memory per worker over 2,000 jobs, for ppocrv3 and ppocrv4
  queue       Spool.claim() with 100 to 10,000 jobs pending
  redis       the shared queue: RedisQueue.claim() with 10,000 pending (goal 1,000/s); the farm on Redis
              against the farm on the spool, alternating rounds (goal 95 %)
  baseline    the seeds' designs: a model built per request; the 10 ms file handshake
limit, http and dropfolder run in alternating rounds (limit, HTTP, drop folder, limit, ...) on the same
images, so that all three see the same machine.

The full run takes about 30 minutes on 2 cores (accuracy about 10 of them); --quick about 10; --smoke a
few minutes.
Nothing else should run on the machine meanwhile: the figures are only comparable with each other."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=__doc__.splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for report.md, report.json and the plots (default: bench-results/<date-time>/)",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_const",
        dest="mode",
        const="quick",
        help="small counts, for trying things (about 10 minutes, accuracy 5 of them)",
    )
    size.add_argument(
        "--smoke",
        action="store_const",
        dest="mode",
        const="smoke",
        help="tiny counts on 4 small images (accuracy: 3, two contenders), to check that every section "
        "runs (a few minutes; "
        "used by tests/test_bench_smoke.py)",
    )
    parser.add_argument("--only", metavar="SECTIONS", help="run only these sections, e.g. --only limit,http")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="OCR worker processes, and engine processes for the limit (default: cores)",
    )
    parser.add_argument("--threads", type=int, default=1, help="inference threads per worker (default: 1)")
    parser.add_argument(
        "--models",
        choices=("ppocrv3", "ppocrv4"),
        default="ppocrv3",
        help="model set for every section but memory, which runs both (default: ppocrv3)",
    )
    parser.add_argument(
        "--memory-models",
        default="ppocrv3,ppocrv4",
        metavar="SETS",
        help="model sets for the memory section (default: ppocrv3,ppocrv4)",
    )
    parser.add_argument(
        "--memory-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the memory section's farms, to try a change "
        "(e.g. MALLOC_ARENA_MAX=2); may be given more than once",
    )
    parser.add_argument(
        "--diagnose-fsync",
        action="store_true",
        help="also measure idle single requests on a second farm whose fsync calls do nothing "
        "(LD_PRELOAD of libeatmydata, Debian package eatmydata): how much of the added "
        "latency is waiting for the disk. A diagnosis only; never run a farm that way",
    )
    parser.add_argument(
        "--accuracy-jobs",
        type=int,
        default=1,
        metavar="N",
        help="accuracy contenders run at once, one core each (default 1: CPU figures are "
        "steadier when each has the machine to itself)",
    )
    parser.add_argument(
        "--engine",
        choices=("onnx", "paddle", "fake"),
        default=None,
        help="the farm's engine (default: the farm's own default for the model set; PaddleOCR "
        "2.10 is measured beside it in the limit section as the reference); fake: the "
        "farm's fake engine, to try the plumbing in seconds (no engine figures)",
    )
    args = parser.parse_args(argv)
    args.mode = args.mode or "full"
    if args.only:
        chosen = tuple(part.strip() for part in args.only.split(",") if part.strip())
        unknown = [name for name in chosen if name not in SECTIONS]
        if unknown:
            parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
        args.sections = tuple(name for name in SECTIONS if name in chosen)
    else:
        args.sections = SECTIONS
    if args.workers < 1 or args.threads < 1 or args.accuracy_jobs < 1:
        parser.error("--workers, --threads and --accuracy-jobs must be at least 1")
    args.memory_models = tuple(m.strip() for m in args.memory_models.split(",") if m.strip())
    if any("=" not in item for item in args.memory_env):
        parser.error("--memory-env takes NAME=VALUE")
    args.memory_env = dict(item.split("=", 1) for item in args.memory_env)
    if args.engine == "fake" and args.memory_models:
        args.memory_models = ("ppocrv3",)
    if args.out is None:
        args.out = ROOT / "bench-results" / time.strftime("%Y%m%d-%H%M%S")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from bench import report

    log(f"writing to {args.out}")
    bench = Bench(
        args.out,
        args.mode,
        args.sections,
        args.workers,
        args.threads,
        args.models,
        args.engine,
        args.memory_models,
        args.memory_env,
        args.diagnose_fsync,
        args.accuracy_jobs,
    )
    results = bench.run()
    files = report.write(results, args.out)
    for key, target in results["targets"].items():
        log(f"target {key}: {target['figure']} -> {'pass' if target['pass'] else 'FAIL'}")
    log("report: " + ", ".join(str(path) for path in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
