"""Spool.claim() against a deep queue: how the claim rate changes from 100 to 10,000 pending jobs.

The spool is used directly, as a worker uses it, on a real folder of the same disk: each timed cycle
is claim() then finish() with a tiny result. One other job is held throughout, as another worker
would hold it. After each cycle a job is submitted (not timed), so the depth stays where it is.

The first version of this benchmark also measured two changes to claim() beside the spool as it was
(reusing the listing of queue/ for up to a second; the attempt's start line without fsync): 82 claims/s
as it was at 10,000 pending, 1,774/s with both (docs/bench/findings-2026-11-22.md). Both are now in
ocrfarm/spool.py, so the spool is measured as it is.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.stats import summary
from ocrfarm.spool import Spool

PAYLOAD = b"\x89PNG\r\n\x1a\n" + b"\0" * 56  # contents never read: nothing decodes it here


VARIANTS = {"as is": Spool}


def fill(queue, depth: int) -> list[float]:
    """Submit jobs to `queue` (the spool or Redis) until `depth` are pending; each submit's time."""
    submitted_s = []
    while queue.depth() < depth:
        start = time.perf_counter()
        queue.submit(PAYLOAD, source="http", filename="x.png")
        submitted_s.append(time.perf_counter() - start)
    return submitted_s


def cycles(queue, claims: int) -> dict:
    """`claims` timed claim-then-finish cycles on `queue`, a job submitted after each (not timed)."""
    claim_s, finish_s = [], []
    for _ in range(claims):
        start = time.perf_counter()
        claim = queue.claim("bench")
        claimed = time.perf_counter()
        claim.finish({"lines": [], "text": "", "timings": {"ocr_s": 0.0}})
        finish_s.append(time.perf_counter() - claimed)
        claim_s.append(claimed - start)
        queue.submit(PAYLOAD, source="http", filename="x.png")
    return {
        "claims_per_s": claims / sum(claim_s),
        "cycles_per_s": claims / (sum(claim_s) + sum(finish_s)),
        "claim_ms": summary(claim_s, 1000, 3),
        "finish_ms": summary(finish_s, 1000, 3),
    }


def measure(folder: Path, depths: tuple[int, ...], claims: int, log) -> dict:
    root = folder / "spool"
    filler = Spool(root).ensure()
    other = Spool(root)  # a second worker's view: its lock excludes ours, as across processes
    rows = []
    submitted_s = []
    held = None
    for depth in depths:
        log(f"  filling the queue to {depth} jobs")
        submitted_s += fill(filler, depth)
        if held is None:
            held = other.claim("other-worker")
        listing_s = []
        for _ in range(5):
            start = time.perf_counter()
            filler.queued_ids()
            listing_s.append(time.perf_counter() - start)
        row = {"depth": depth, "claims": claims, "listing_ms": summary(listing_s, 1000, 3), "variants": {}}
        for name, kind in VARIANTS.items():
            row["variants"][name] = cycles(kind(root), claims)
        row.update(
            {
                k: row["variants"]["as is"][k]
                for k in ("claims_per_s", "cycles_per_s", "claim_ms", "finish_ms")
            }
        )
        rows.append(row)
        log(
            f"  depth {depth}: "
            + "; ".join(f"{name} {v['claims_per_s']:.0f} claims/s" for name, v in row["variants"].items())
            + f"; listing the queue {row['listing_ms']['p50']} ms"
        )
    if held is not None:
        held.retry("benchmark over")
    return {
        "depths": rows,
        "submit_ms": summary(submitted_s, 1000, 3),
        "submits_per_s": len(submitted_s) / sum(submitted_s) if submitted_s else None,
        "variants_described": list(VARIANTS),
    }
