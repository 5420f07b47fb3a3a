"""The spool's retention: what is removed, and when (the workers run it when idle)."""

from __future__ import annotations

import os
import shutil
import time

from filelock import FileLock, Timeout

from ocrfarm.durable import writer_alive


def sweep(spool, retention: float, tmp_max_age: float) -> dict[str, int]:
    """Remove what nobody needs any more from `spool`; returns how many of each kind went.

    Stray temp files as soon as their writer is dead, or after `tmp_max_age` seconds if the name
    does not tell; final records and the heartbeats of workers long gone after `retention` seconds;
    lock files of finished jobs.
    """
    now = time.time()
    removed = {"tmp": 0, "results": 0, "heartbeats": 0, "locks": 0}
    for kind, folder, max_age in (
        ("tmp", spool.tmp, tmp_max_age),
        ("results", spool.results, retention),
        ("heartbeats", spool.heartbeats, retention),
    ):
        for entry in os.scandir(folder):
            try:
                young = now - entry.stat(follow_symlinks=False).st_mtime < max_age
                if young and (kind != "tmp" or writer_alive(entry.name)):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed[kind] += 1
            except FileNotFoundError:
                continue
    for entry in os.scandir(spool.locks):
        job_id = entry.name.removesuffix(".lock")
        try:
            old = now - entry.stat().st_mtime >= tmp_max_age
        except FileNotFoundError:
            continue
        if not old or spool.job_folder(job_id).exists():
            continue
        lock = FileLock(entry.path, fallback_to_soft=False)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            continue
        # Held, and the job is gone: the same rule as retiring a job.
        if not spool.job_folder(job_id).exists():
            spool.release(job_id, lock, retired=True)
            removed["locks"] += 1
        else:
            lock.release()
    return removed
