"""The engine alone, in-process: the limit the farm is measured against.

Each engine process is laid out like a farm worker (`python -m workers`): it imports the worker's
modules, caps native thread pools with limit_native_threads(), builds the engine with build_engine()
from the same Settings, and runs one image at a time with the default options (bench/engine_use.py). N such processes take images from one shared
counter, as N workers take jobs from one queue. Images are decoded before the clock starts: the
limit is the engine's; decoding is part of what the farm adds, and is reported on its own.
"""

from __future__ import annotations

import multiprocessing
import os
import time

# A fresh interpreter per engine process: thread pools are sized when native libraries load, and a
# forked child would inherit the parent's.
_CONTEXT = multiprocessing.get_context("spawn")


def _engine_child(rank, conf, images, order, repeats, counter, barrier, results):
    from bench import engine_use

    settings, engine = engine_use.load(**conf)
    decode_s = []
    arrays = []
    for _, data in images:
        start = time.perf_counter()
        arrays.append(engine_use.decode(data, settings))
        decode_s.append(time.perf_counter() - start)
    for array in arrays:  # warm-up: the first runs build caches
        engine_use.recognize(engine, array, settings)
    records = []
    barrier.wait()
    cpu = time.process_time()
    if order is not None:
        while True:
            with counter.get_lock():
                k = counter.value
                counter.value += 1
            if k >= len(order):
                break
            start = time.monotonic()
            engine_use.recognize(engine, arrays[order[k]], settings)
            records.append((k, order[k], start, time.monotonic()))
    else:
        for _ in range(repeats):
            for i, array in enumerate(arrays):
                start = time.monotonic()
                engine_use.recognize(engine, array, settings)
                records.append((len(records), i, start, time.monotonic()))
    results.put({"rank": rank, "pid": os.getpid(), "records": records, "decode_s": decode_s,
                 "cpu_s": time.process_time() - cpu})


def _run(processes: int, conf: dict, images: list[tuple[str, bytes]], order, repeats: int,
         timeout: float = 900) -> tuple[float, list[dict]]:
    counter = _CONTEXT.Value("q", 0)
    barrier = _CONTEXT.Barrier(processes + 1)
    results = _CONTEXT.Queue()
    children = [_CONTEXT.Process(target=_engine_child, name=f"engine-{rank}",
                                 args=(rank, conf, images, order, repeats, counter, barrier, results))
                for rank in range(processes)]
    for child in children:
        child.start()
    try:
        barrier.wait(timeout=timeout)
        start = time.monotonic()
        out = [results.get(timeout=timeout) for _ in children]
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
    return start, out


def engine_limit(workers: int, threads: int, models: str, images: list[tuple[str, bytes]],
                 order: list[int]) -> dict:
    """Images per second of `workers` engine processes with `threads` threads each over `order`."""
    conf = {"models": models, "threads": threads}
    start, out = _run(workers, conf, images, order, 0)
    ends = [r[3] for child in out for r in child["records"]]
    wall = max(ends) - start
    per_process = [len(child["records"]) for child in out]
    engine_s = sum(r[3] - r[2] for child in out for r in child["records"])
    return {"images": len(order), "wall_s": wall, "images_per_s": len(order) / wall,
            "per_process_images": per_process, "engine_cpu_s": sum(child["cpu_s"] for child in out),
            "engine_s": engine_s, "engine_busy_fraction": engine_s / (wall * workers)}


def single_image_times(threads: int, models: str, images: list[tuple[str, bytes]], repeats: int) -> dict:
    """One engine process alone on the machine: seconds per image, each image `repeats` times."""
    conf = {"models": models, "threads": threads}
    _, out = _run(1, conf, images, None, repeats)
    child = out[0]
    per_image: dict[str, list[float]] = {name: [] for name, _ in images}
    for _, i, start, end in child["records"]:
        per_image[images[i][0]].append(end - start)
    return {"per_image_s": per_image, "decode_s": {name: child["decode_s"][i] for i, (name, _) in enumerate(images)}}
