"""`ocrfarm worker` (or `python -m workers`): one worker process. supervisord starts as many as OCRFARM_WORKERS.

Exit codes: 0 stopped or recycled (start a fresh one), 3 bad settings or missing weights (do not
retry), 4 an OCR call hung past the job timeout (start a fresh one).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import NoReturn

from ocrfarm import logs, metrics
from ocrfarm.exceptions import ConfigurationError
from ocrfarm.queue import open_queue
from ocrfarm.settings import WORKER, Settings, describe, load_or_exit
from workers.loop import EXIT_BOOT_ERROR, EXIT_STUCK, Worker

log = logging.getLogger("workers")


def build_engine(settings: Settings, model: str | None = None):
    """The engine for model set `model` (by default the settings' default set)."""
    if settings.engine == "fake":
        from workers.engine import FakeEngine

        return FakeEngine(delay=settings.fake_delay, model=model or settings.models)
    from workers import models

    model_set = models.resolve(settings, model)
    if settings.engine_for(model_set.name) == "onnx":
        from workers.onnx_engine import OnnxEngine

        return OnnxEngine(model_set, threads=settings.threads)
    from workers.paddle_engine import PaddleEngine

    return PaddleEngine(model_set, threads=settings.threads, det_limit_side=settings.det_limit_side)


def build_engines(settings: Settings) -> dict:
    """One engine per loaded model set, the default first; all built before the first job, so that
    missing weights stop the worker at start and no job waits for a model to load."""
    return {model: build_engine(settings, model) for model in settings.model_sets}


def limit_native_threads(threads: int) -> None:
    """Cap the thread pools of native libraries before they load (OpenMP, OpenBLAS, MKL, OpenCV)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import cv2

    cv2.setNumThreads(threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ocrfarm worker",
        description=__doc__.splitlines()[0],
        epilog=describe(WORKER),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--name",
        help="worker name in logs and heartbeats (default: supervisord's process name, else worker-<pid>)",
    )
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    args = parser.parse_args(argv)
    settings = load_or_exit(WORKER)
    logs.setup(settings.log_level)
    name = args.name or os.environ.get("SUPERVISOR_PROCESS_NAME") or f"worker-{os.getpid()}"
    limit_native_threads(settings.threads)
    try:
        engines = build_engines(settings)
    except ConfigurationError as exc:
        log.error("worker %s cannot start: %s", name, exc)
        return EXIT_BOOT_ERROR
    queue = open_queue(settings, on_close=metrics.finished)
    metrics.init(queue.metrics_dir)
    worker = Worker(queue, engines, settings, name)
    worker.install_signal_handlers()
    return worker.work(burst=args.burst)


def run(argv: list[str] | None = None) -> NoReturn:
    """`ocrfarm worker`: main(), then the exit its code asks for."""
    code = main(argv)
    logging.shutdown()
    if code == EXIT_STUCK:
        # The engine thread is stuck in native code; a normal exit would wait on it forever.
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
