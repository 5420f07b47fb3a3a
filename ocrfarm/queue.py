"""The queue interface: what the routes, the intake and the worker loop may ask of a queue.

Two implementations stand behind it: the spool (ocrfarm/spool.py, a folder on one machine, the
default) and Redis (ocrfarm/redis_queue.py, shared by several hosts), chosen by OCRFARM_QUEUE.
Both keep the same promise: every accepted job ends with exactly one final record, a result or a
failure with its reason, whatever crashes on the way.

A job's life, the same in both:

    (none)  -> QUEUED     submit()
    QUEUED  -> RUNNING    claim(): the job is the claimer's until its lease ends (the spool's lease is
                          the worker's life: the kernel drops its flock when it dies)
    RUNNING -> RUNNING    Claim.renew(): the job still runs; the lease is extended
    RUNNING -> QUEUED     Claim.retry(): this attempt failed (it counts); another may not
    RUNNING -> DONE       Claim.finish(): the result is committed, only if the lease is still ours
    RUNNING -> FAILED     Claim.fail(), or claim() of a job that used up its attempts
    QUEUED  -> FAILED     cancel()
"""

from __future__ import annotations

from typing import Protocol

from ocrfarm.jobs import Job


class Watch(Protocol):
    mode: str

    def wait(self, timeout: float) -> list: ...

    def close(self) -> None: ...


class Claim(Protocol):
    """A running job, held by one worker until finish(), fail() or retry()."""

    job: Job
    started: float

    @property
    def attempt(self) -> int: ...

    def read_input(self) -> bytes: ...

    def progress(self, done: int, total: int) -> None: ...

    def renew(self) -> None:
        """Extend the lease; LeaseLost if another worker has the job now."""

    def finish(self, result: dict, attachments: dict[str, bytes] | None = None) -> dict:
        """Commit the result and retire the job; LeaseLost (nothing written) if the lease is gone.
        `attachments`, by suffix, are delivered beside a dropped file's result ({"pdf": ...})."""

    def fail(self, code: str, message: str, options: dict | None = None) -> dict: ...

    def retry(self, reason: str) -> None: ...


class JobQueue(Protocol):
    kind: str  # "spool" or "redis"

    # ---- the front's side
    def submit(self, data: bytes, *, source: str, filename: str = "", options: dict | None = None) -> Job:
        """Store the upload durably and queue it. QueueFull past the limits; OSError if the disk is
        full (the spool); QueueUnavailable if the queue cannot be reached (Redis)."""

    def result(self, job_id: str) -> dict | None: ...

    def status(self, job_id: str) -> dict | None: ...

    def input_bytes(self, job_id: str) -> bytes | None: ...

    def cancel(self, job_id: str) -> str:
        """ "cancelled", "running", "finished" or "unknown"."""

    def forget(self, job_id: str) -> None:
        """Delete a finished job's record and its upload once answered (identity cards, issue 14)."""

    def watch_results(self) -> Watch:
        """Something to sleep on until a result may have landed."""

    def has_result(self, job_id: str) -> bool: ...

    def depth(self) -> int: ...

    def oldest_age(self) -> float | None: ...

    def room(self) -> dict:
        """What readiness shows of the room left (bytes free on the disk, or in the queue's limit)."""

    # ---- the workers' side
    def claim(self, worker: str) -> Claim | None: ...

    def watch_work(self, extra_fds: tuple[int, ...] = ()) -> Watch:
        """Something to sleep on until a job may be there to claim."""

    def heartbeat(self, worker: str, info: dict | None = None) -> None: ...

    def live_workers(self, max_age: float) -> list[dict]: ...

    def sweep(self, retention: float, tmp_max_age: float) -> dict[str, int]: ...


def open_queue(settings, on_close=None) -> JobQueue:
    """The queue the settings name: the spool unless OCRFARM_QUEUE names a Redis server."""
    if settings.queue is None:
        from ocrfarm.spool import Spool

        return Spool.from_settings(settings, on_close=on_close)
    from ocrfarm.redis_queue import RedisQueue

    return RedisQueue.from_settings(settings, on_close=on_close)
