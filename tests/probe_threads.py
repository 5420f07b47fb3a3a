"""Run the real engine in a fresh process; print how its threads shared the work, and how many of
them at a time wanted a CPU.

Used by test_engine.py: `python -m tests.probe_threads <models> <threads>`. A fresh process, because
thread pools are sized when the native libraries load.

Both figures hold however much CPU the machine lends the process: what a thread did compared with
the others, and the time it was runnable (on a CPU, or waiting in the run queue for one: from
/proc/self/task/<tid>/schedstat), which a busy machine does not shorten; it only turns part of it
from running into waiting.
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
    before = thread_times()
    cpu, wall = time.process_time(), time.perf_counter()
    rounds = 0
    while time.perf_counter() - wall < 4 or rounds < 3:
        engine.recognize(image)
        rounds += 1
    after = thread_times()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    zero = (0.0, 0.0)
    spent = {
        tid: (on - before.get(tid, zero)[0], waited - before.get(tid, zero)[1])
        for tid, (on, waited) in after.items()
    }
    on_cpu = sorted((on for on, _ in spent.values()), reverse=True)
    busiest = on_cpu[0]
    # A thread that did a fifth of the busiest one's work or more took part; on a loaded machine
    # every thread gets less CPU, but which threads share the work, and how, does not change.
    busy = sum(1 for seconds in on_cpu if seconds >= 0.2 * busiest)
    print(
        json.dumps(
            {
                "busy_threads": busy,
                # All the threads' work in units of the busiest one's: about T when T threads share it.
                "work_per_busiest": sum(on_cpu) / busiest,
                "shares": [round(seconds / busiest, 3) for seconds in on_cpu[:6]],
                # Threads runnable at a time, on average: on a busy machine the wait in the run queue makes
                # up for the CPU a thread is not given. (Idle helper threads that spin or yield count too,
                # and a busy machine stretches that, so this is exact only when one thread does all the work.)
                "runnable_per_wall": sum(on + waited for on, waited in spent.values()) / wall,
                # For the record only: this one depends on the load.
                "cpu_per_wall": cpu / wall,
                "rounds": rounds,
            }
        )
    )


def thread_times() -> dict[int, tuple[float, float]]:
    """Seconds on a CPU and seconds waiting in the run queue, of each thread of this process."""
    out = {}
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/schedstat") as f:
                on_cpu_ns, run_queue_ns = f.read().split()[:2]
        except OSError:  # the thread has ended
            continue
        out[int(task)] = (int(on_cpu_ns) / 1e9, int(run_queue_ns) / 1e9)
    return out


if __name__ == "__main__":
    main()
