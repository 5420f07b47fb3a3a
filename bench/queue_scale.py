"""Spool.claim() against a deep queue: how the claim rate changes from 100 to 10,000 pending jobs.

The spool is used directly, as a worker uses it, on a real folder of the same disk: each timed cycle
is claim() then finish() with a tiny result. One other job is held throughout, as another worker
would hold it. After each cycle a job is submitted (not timed), so the depth stays where it is.

Beside the spool as it is, two proposed changes are measured the same way (they live here, in the
benchmark, only to be measured; the farm runs ocrfarm/spool.py as it is):

- "listing reused": claim() takes candidates from the previous listing of queue/ (oldest first)
  and lists the folder again only when those run out or the listing is over a second old. Every
  job submitted since is newer than all listed ones, so the order stays oldest first; a job that
  was given back (retry, dead worker) is seen at the next listing, within a second.
- "+ start line unsynced": also, the attempt's start line is appended without fsync. A crashed
  worker process loses nothing that is in the page cache; only a machine crash can lose the line,
  and then the attempt is not counted: one more try for that job, never a lost job.
"""

from __future__ import annotations

import collections
import contextlib
import os
import time
from pathlib import Path

from bench.stats import summary
from ocrfarm import spool as spool_module
from ocrfarm.spool import Spool

PAYLOAD = b"\x89PNG\r\n\x1a\n" + b"\0" * 56  # contents never read: nothing decodes it here
LISTING_TTL = 1.0


class ListingReused(Spool):
    """Spool.claim() with the listing of queue/ reused between calls (a proposed change)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending: collections.deque[str] = collections.deque()
        self._listed_at = float("-inf")

    def claim(self, worker: str):
        fresh = time.monotonic() - self._listed_at <= LISTING_TTL
        for relist in (not (self._pending and fresh), True):
            if relist:
                self._pending = collections.deque(self.queued_ids())
                self._listed_at = time.monotonic()
            while self._pending:
                job_id = self._pending.popleft()
                lock = spool_module.FileLock(self.locks / f"{job_id}.lock", fallback_to_soft=False)
                try:
                    lock.acquire(blocking=False)
                except spool_module.Timeout:
                    continue
                claim = self._claim_locked(job_id, lock, worker)
                if claim is not None:
                    return claim
            if relist:
                return None
        return None


@contextlib.contextmanager
def start_lines_unsynced():
    """Append attempt start lines (those without an outcome) without fsync, for this block only."""
    original = spool_module._append_line

    def append(path: Path, entry: dict) -> None:
        if "outcome" in entry:
            return original(path, entry)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, spool_module._dump(entry) + b"\n")
        finally:
            os.close(fd)

    spool_module._append_line = append
    try:
        yield
    finally:
        spool_module._append_line = original


VARIANTS = {
    "as is": (Spool, contextlib.nullcontext),
    "listing reused": (ListingReused, contextlib.nullcontext),
    "listing reused + start line unsynced": (ListingReused, start_lines_unsynced),
}


def _cycles(spool: Spool, claims: int) -> tuple[list[float], list[float]]:
    claim_s, finish_s = [], []
    for _ in range(claims):
        start = time.perf_counter()
        claim = spool.claim("bench")
        claimed = time.perf_counter()
        claim.finish({"lines": [], "text": "", "timings": {"ocr_s": 0.0}})
        finish_s.append(time.perf_counter() - claimed)
        claim_s.append(claimed - start)
        spool.submit(PAYLOAD, source="http", filename="x.png")
    return claim_s, finish_s


def measure(folder: Path, depths: tuple[int, ...], claims: int, log) -> dict:
    root = folder / "spool"
    filler = Spool(root).ensure()
    other = Spool(root)  # a second worker's view: its lock excludes ours, as across processes
    rows = []
    submitted_s = []
    held = None
    for depth in depths:
        log(f"  filling the queue to {depth} jobs")
        while filler.depth() < depth:
            start = time.perf_counter()
            filler.submit(PAYLOAD, source="http", filename="x.png")
            submitted_s.append(time.perf_counter() - start)
        if held is None:
            held = other.claim("other-worker")
        listing_s = []
        for _ in range(5):
            start = time.perf_counter()
            filler.queued_ids()
            listing_s.append(time.perf_counter() - start)
        row = {"depth": depth, "claims": claims, "listing_ms": summary(listing_s, 1000, 3), "variants": {}}
        for name, (kind, context) in VARIANTS.items():
            with context():
                claim_s, finish_s = _cycles(kind(root), claims)
            row["variants"][name] = {
                "claims_per_s": claims / sum(claim_s),
                "cycles_per_s": claims / (sum(claim_s) + sum(finish_s)),
                "claim_ms": summary(claim_s, 1000, 3),
                "finish_ms": summary(finish_s, 1000, 3),
            }
        row.update({k: row["variants"]["as is"][k] for k in ("claims_per_s", "cycles_per_s", "claim_ms", "finish_ms")})
        rows.append(row)
        log(f"  depth {depth}: " + "; ".join(f"{name} {v['claims_per_s']:.0f} claims/s" for name, v in row["variants"].items())
            + f"; listing the queue {row['listing_ms']['p50']} ms")
    if held is not None:
        held.retry("benchmark over")
    return {"depths": rows, "submit_ms": summary(submitted_s, 1000, 3),
            "submits_per_s": len(submitted_s) / sum(submitted_s) if submitted_s else None,
            "variants_described": list(VARIANTS)}
