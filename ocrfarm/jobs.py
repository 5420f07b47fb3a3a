"""A job and its records: the one owner of what a job record and a final record hold.

Both queues (ocrfarm/spool.py on disk, ocrfarm/redis_queue.py in Redis) store these records as they
are built here; neither assembles one of its own.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import secrets
import time

JOB_ID = re.compile(r"[0-9a-f]{32}")
SOURCE_HTTP = "http"
SOURCE_INBOX = "inbox"


class State(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


FINAL = (State.DONE, State.FAILED)

_last_stamp = 0


def new_job_id() -> str:
    """14 hex digits of microseconds since the epoch, then 72 random bits: unguessable, oldest first.

    Within one process the stamps strictly increase, so jobs submitted in a burst keep their order.
    """
    global _last_stamp
    _last_stamp = max(time.time_ns() // 1000, _last_stamp + 1)
    return f"{_last_stamp:014x}{secrets.token_hex(9)}"


def valid_job_id(job_id: str) -> bool:
    return JOB_ID.fullmatch(job_id) is not None


def dump(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


@dataclasses.dataclass(frozen=True)
class Job:
    """What was accepted: the job record (job.json in the spool, a hash field in Redis)."""

    id: str
    source: str
    filename: str
    size: int
    submitted: float
    options: dict

    @classmethod
    def new(
        cls, size: int, *, source: str, filename: str = "", options: dict | None = None, job_id=None
    ) -> Job:
        return cls(job_id or new_job_id(), source, filename, size, time.time(), options or {})

    @classmethod
    def from_record(cls, record: dict) -> Job:
        """From a job record, or from a final record (which repeats the job's fields). KeyError if
        a field the job cannot do without is missing."""
        return cls(
            id=record["id"],
            source=record["source"],
            filename=record.get("filename", ""),
            size=record["size"],
            submitted=record["submitted"],
            options=record.get("options", {}),
        )

    @classmethod
    def damaged(cls, job_id: str) -> Job:
        """Stands for a job whose record cannot be read, so that it can still be failed with the reason."""
        return cls(job_id, "unknown", "", 0, time.time(), {})

    def record(self) -> dict:
        return dataclasses.asdict(self)

    def final_record(self, state: State, body: dict, attempts: list[dict]) -> dict:
        """The job's one final record: its fields, when it ended, each attempt, and `body` (the
        result, or {"error": {...}})."""
        record = {
            "id": self.id,
            "status": state.value,
            "source": self.source,
            "filename": self.filename,
            "size": self.size,
            "submitted": self.submitted,
            "finished": time.time(),
            "attempts": [public_attempt(a) for a in attempts],
            **body,
        }
        if "timings" in record:
            record["timings"]["total_s"] = round(record["finished"] - self.submitted, 4)
        return record


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def public_attempt(entry: dict) -> dict:
    out = {"attempt": entry.get("attempt"), "worker": entry.get("worker"), "started": entry.get("started")}
    if "outcome" in entry:
        out.update(outcome=entry["outcome"], reason=entry.get("reason"))
    else:
        out.update(outcome="worker_died", reason="the worker stopped during the attempt")
    return out


def fold_attempts(lines) -> list[dict]:
    """The attempts so far from their start and end lines (raw JSON bytes; torn ones skipped), one
    per start line with its end folded in."""
    attempts: dict[int, dict] = {}
    for raw in lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # a line torn by a crash mid-write
        if isinstance(entry, dict) and isinstance(entry.get("attempt"), int):
            attempts.setdefault(entry["attempt"], {}).update(entry)
    return [attempts[n] for n in sorted(attempts)]


def gave_up(attempts: list[dict]) -> dict:
    last = attempts[-1].get("reason") or "the worker stopped during the attempt"
    return error_body("too_many_attempts", f"gave up after {len(attempts)} attempts; the last: {last}")


def whole_result(raw: bytes | None) -> dict | None:
    """A final record from its stored bytes; None for anything that is not a whole one."""
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("status") not in FINAL:
        return None
    return record
