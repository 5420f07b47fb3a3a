"""The engine alone, in-process: the limit the farm is measured against.

Each engine process is laid out like a farm worker (`python -m workers`): it imports the worker's
modules, caps native thread pools with limit_native_threads(), builds the engine with build_engine()
from the same Settings, and runs one image at a time with the default options (bench/engine_use.py).
N such processes take images from one shared counter, as N workers take jobs from one queue. Images
are decoded before the clock starts: the limit is the engine's; decoding is part of what the farm
adds, and is reported on its own.

The processes stay up between rounds (EnginePool), so that rounds of the limit can alternate with
rounds of the farm: on a machine where other work comes and goes, both then see the same conditions.
"""

from __future__ import annotations

import multiprocessing
import os
import time

# A fresh interpreter per engine process: thread pools are sized when native libraries load, and a
# forked child would inherit the parent's.
_CONTEXT = multiprocessing.get_context("spawn")


def _engine_child(rank, conf, images, commands, counter, barrier, results):
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
    results.put({"rank": rank, "ready": True, "decode_s": decode_s})
    while True:
        command = commands.get()
        if command is None:
            return
        order, repeats = command
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
        results.put(
            {"rank": rank, "pid": os.getpid(), "records": records, "cpu_s": time.process_time() - cpu}
        )


class EnginePool:
    """`processes` engine processes, loaded and warmed up once, run for as many rounds as asked."""

    def __init__(
        self,
        processes: int,
        threads: int,
        models: str,
        images: list[tuple[str, bytes]],
        timeout: float = 900,
        engine: str | None = None,
    ):
        self.processes = processes
        self.images = images
        self.timeout = timeout
        self.counter = _CONTEXT.Value("q", 0)
        self.barrier = _CONTEXT.Barrier(processes + 1)
        self.results = _CONTEXT.Queue()
        self.commands = [_CONTEXT.Queue() for _ in range(processes)]
        conf = {"models": models, "threads": threads}
        if engine is not None:  # else the farm's default for the model set
            conf["engine"] = engine
        self.children = [
            _CONTEXT.Process(
                target=_engine_child,
                name=f"engine-{rank}",
                args=(rank, conf, images, self.commands[rank], self.counter, self.barrier, self.results),
            )
            for rank in range(processes)
        ]
        for child in self.children:
            child.start()
        ready = [self.results.get(timeout=timeout) for _ in self.children]
        self.decode_s = {name: ready[0]["decode_s"][i] for i, (name, _) in enumerate(images)}

    def _round(self, order, repeats: int) -> tuple[float, list[dict]]:
        self.counter.value = 0
        for queue in self.commands:
            queue.put((order, repeats))
        self.barrier.wait(timeout=self.timeout)
        start = time.monotonic()
        return start, [self.results.get(timeout=self.timeout) for _ in self.children]

    def limit(self, order: list[int]) -> dict:
        """One round: images per second of the pool over `order`."""
        start, out = self._round(order, 0)
        wall = max(r[3] for child in out for r in child["records"]) - start
        engine_s = sum(r[3] - r[2] for child in out for r in child["records"])
        return {
            "images": len(order),
            "wall_s": wall,
            "images_per_s": len(order) / wall,
            "per_process_images": [len(child["records"]) for child in out],
            "engine_cpu_s": sum(child["cpu_s"] for child in out),
            "engine_s": engine_s,
            "engine_busy_fraction": engine_s / (wall * self.processes),
        }

    def single_image_times(self, repeats: int) -> dict:
        """Seconds per image, each image `repeats` times, one after another (use a pool of one)."""
        _, out = self._round(None, repeats)
        per_image: dict[str, list[float]] = {name: [] for name, _ in self.images}
        for child in out:
            for _, i, start, end in child["records"]:
                per_image[self.images[i][0]].append(end - start)
        return {"per_image_s": per_image, "decode_s": self.decode_s}

    def close(self) -> None:
        for queue in self.commands:
            queue.put(None)
        for child in self.children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def combine(rounds: list[dict]) -> dict:
    """Rounds of one contender added up: images / total wall time, engine busy share over all."""
    images = sum(r["images"] for r in rounds)
    wall = sum(r["wall_s"] for r in rounds)
    out = {
        "images": images,
        "wall_s": wall,
        "images_per_s": images / wall,
        "rounds": rounds,
        "round_images_per_s": [r["images_per_s"] for r in rounds],
    }
    if all("engine_s" in r for r in rounds):
        out["engine_s"] = sum(r["engine_s"] for r in rounds)
    return out
