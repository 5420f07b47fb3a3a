"""Run the real engine in a fresh process and print the CPU time it used per second of wall time.

Used by test_engine.py: `python -m tests.probe_threads <models> <threads>`. A fresh process, because
thread pools are sized when the native libraries load.
"""

import json
import sys
import time

from ocrfarm import documents
from ocrfarm.settings import Settings
from tests.helpers import render_text
from workers.__main__ import build_engine, limit_native_threads


def main() -> None:
    models, threads = sys.argv[1], int(sys.argv[2])
    settings = Settings.from_env({}, models=models, threads=threads)
    limit_native_threads(threads)
    engine = build_engine(settings)
    lines = [f"Line {n}: the quick brown fox jumps over the lazy dog {n * 7}" for n in range(12)]
    image = next(documents.pages(render_text(lines, size=40), settings.limits))
    engine.recognize(image)  # warm-up: first runs build caches
    cpu, wall = time.process_time(), time.perf_counter()
    rounds = 0
    while time.perf_counter() - wall < 4 or rounds < 3:
        engine.recognize(image)
        rounds += 1
    print(json.dumps({"cpu_per_wall": (time.process_time() - cpu) / (time.perf_counter() - wall),
                      "rounds": rounds}))


if __name__ == "__main__":
    main()
