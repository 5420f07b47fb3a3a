"""One engine in one process, resident memory over many jobs of varied sizes: for finding out why a
worker grows, one change at a time, without the farm around it.

    python -m bench.memprobe ppocrv4 --jobs 300
    MALLOC_ARENA_MAX=2 python -m bench.memprobe ppocrv4 --jobs 300
    python -m bench.memprobe ppocrv3 --jobs 300 --ort-no-arena

Prints one JSON line: RSS in MB after each --every jobs. Uses the same images as the benchmark's
memory section (bench/images.py: variant()).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import time

from bench.images import MEMORY_MIX_EXCLUDES, build_set, variant


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memprobe", description=__doc__.splitlines()[0])
    parser.add_argument("models", choices=("ppocrv3", "ppocrv4"))
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument(
        "--main-thread",
        action="store_true",
        help="run the engine on the main thread (a worker runs it on a thread of its own)",
    )
    parser.add_argument(
        "--ort-no-arena",
        action="store_true",
        help="onnxruntime sessions without the CPU memory arena and memory patterns",
    )
    args = parser.parse_args()
    if args.ort_no_arena:
        import onnxruntime

        base = onnxruntime.SessionOptions

        def options():
            made = base()
            made.enable_cpu_mem_arena = False
            made.enable_mem_pattern = False
            return made

        onnxruntime.SessionOptions = options
    from bench import engine_use

    settings, engine = engine_use.load(models=args.models, threads=1)
    mix = [image for image in build_set() if image.name not in MEMORY_MIX_EXCLUDES]
    # Like workers/loop.py's EngineThread: every engine call on one long-lived thread of its own.
    pool = None if args.main_thread else concurrent.futures.ThreadPoolExecutor(max_workers=1)
    points = [(0, round(rss_mb(), 1))]
    start = time.monotonic()
    for index in range(args.jobs):
        _, data = variant(mix[index % len(mix)], index)
        image = engine_use.decode(data, settings)
        if pool is None:
            engine_use.recognize(engine, image, settings)
        else:
            pool.submit(engine_use.recognize, engine, image, settings).result()
        if (index + 1) % args.every == 0:
            points.append((index + 1, round(rss_mb(), 1)))
    print(
        json.dumps(
            {
                "models": args.models,
                "env": {k: v for k, v in os.environ.items() if k.startswith(("MALLOC", "FLAGS_"))},
                "ort_no_arena": args.ort_no_arena,
                "main_thread": args.main_thread,
                "seconds": round(time.monotonic() - start, 1),
                "rss_mb": points,
            }
        )
    )


if __name__ == "__main__":
    main()
