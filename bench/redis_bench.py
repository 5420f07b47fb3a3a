"""The shared queue on this box (issue 11): Redis's claim rate with 10,000 jobs pending, and the farm's
throughput on Redis against the same farm on the spool.

Claims: RedisQueue.claim() then finish() with a tiny result, as a worker does, against a real
redis-server with its append-only file fsynced on every write (the configuration the README asks
for); a job is submitted after each cycle (not timed) so the depth stays where it is.

Throughput: two farms with the same engine and workers, one on the spool and one on Redis, both up
at once; rounds alternate between them (spool, Redis, spool, ...) with the same jobs, posted to
POST /v1/ocr by 2 x workers clients. The farm not being measured is idle (its workers use no CPU
while the queue is empty), so both see the same machine.
"""

from __future__ import annotations

from pathlib import Path

from bench.client import run_load
from bench.queue_scale import cycles, fill
from harness.redis_server import RedisServer
from ocrfarm.redis_queue import RedisQueue


def claims(folder: Path, depth: int, count: int, log) -> dict:
    server = RedisServer(folder / "redis").start()
    try:
        queue = RedisQueue(server.url, folder / "spool", max_queue=depth + 10).ensure()
        log(f"  filling the Redis queue to {depth} jobs")
        submitted_s = fill(queue, depth)
        held = queue.claim("other-worker")  # another worker's job, held throughout
        result = {"depth": depth, "claims": count, **cycles(queue, count)}
        held.retry("benchmark over")
        result["submits_per_s"] = len(submitted_s) / sum(submitted_s)
        result["target_claims_per_s"] = 1000
        log(
            f"  Redis at {depth} pending: {result['claims_per_s']:.0f} claims/s "
            f"(claim p50 {result['claim_ms']['p50']} ms, finish p50 {result['finish_ms']['p50']} ms)"
        )
        return result
    finally:
        server.stop()


def throughput(folder: Path, make_farm, jobs: list, rounds: int, workers: int, log) -> dict:
    server = RedisServer(folder / "redis").start()
    farms = {"spool": make_farm("farm-spool"), "redis": make_farm("farm-redis", queue=server.url)}
    try:
        for farm in farms.values():
            farm.start()
        per_round: dict[str, list[float]] = {name: [] for name in farms}
        for n in range(rounds):
            for name, farm in farms.items():
                load = run_load(farm.url, "/v1/ocr", jobs, workers * 2)
                bad = [r for r in load["replies"] if r.status != 200] + load["errors"]
                if bad:
                    raise RuntimeError(
                        f"{name} farm, round {n + 1}: {len(bad)} jobs not answered 200: {bad[:3]}"
                    )
                per_round[name].append(len(jobs) / load["wall_s"])
                log(f"  round {n + 1}, {name}: {per_round[name][-1]:.2f} images/s")
        best = {name: max(rates) for name, rates in per_round.items()}
        ratio = best["redis"] / best["spool"]
        log(f"  Redis at {100 * ratio:.1f} % of the spool (target 95 %)")
        return {
            "images_per_s": per_round,
            "best_images_per_s": best,
            "redis_vs_spool": ratio,
            "target_ratio": 0.95,
            "jobs_per_round": len(jobs),
        }
    finally:
        for farm in farms.values():
            farm.stop()
        server.stop()
