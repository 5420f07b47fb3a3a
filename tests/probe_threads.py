"""Run the real engine in a fresh process; print how many of its threads did the work, and the CPU
time it used per second of wall time.

Used by test_engine.py: `python -m tests.probe_threads <models> <threads>`. A fresh process, because
thread pools are sized when the native libraries load.
"""

import json
import os
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
    threads_before = thread_cpu()
    cpu, wall = time.process_time(), time.perf_counter()
    rounds = 0
    while time.perf_counter() - wall < 4 or rounds < 3:
        engine.recognize(image)
        rounds += 1
    used = {tid: seconds - threads_before.get(tid, 0.0) for tid, seconds in thread_cpu().items()}
    busiest = max(used.values())
    # A thread that did a fifth of the busiest one's work or more took part; on a loaded machine
    # the total CPU share shrinks, but which threads share the work does not.
    busy = sum(1 for seconds in used.values() if seconds >= 0.2 * busiest)
    print(json.dumps({"cpu_per_wall": (time.process_time() - cpu) / (time.perf_counter() - wall),
                      "busy_threads": busy, "rounds": rounds}))


def thread_cpu() -> dict[int, float]:
    """CPU seconds of each thread of this process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in os.listdir("/proc/self/task"):
        try:
            fields = open(f"/proc/self/task/{task}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


if __name__ == "__main__":
    main()
