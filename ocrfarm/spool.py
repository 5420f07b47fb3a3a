"""The spool: the one module that knows the on-disk layout and the job protocol.

The web front and the workers both call this; neither builds a spool path itself. The layout and the
rules are written up for operators in spool/README.md. In short:

    tmp/<name>            scratch; writers build files and job folders here, never read by anyone else
    queue/<id>/           an accepted job: `input` (the uploaded bytes), `job.json`, `attempts.jsonl`,
                          `progress.json` (pages done, while it runs)
    locks/<id>.lock       flock held by the worker running job <id>; the kernel drops it if that worker dies
    results/<id>.json     the job's one final record, status "done" or "failed"
    results/<id>.input    an uploaded document, kept beside its result (page images, annotated copies)
    heartbeats/<worker>   one file per worker, touched on every loop turn
    metrics/              prometheus_client's per-process counter files
    inbox/                the drop folder: people and tools put files here (any depth)
    outbox/<rel>.json     results of dropped files, mirroring their path in the inbox (and .txt, .pdf)
    done/, failed/        dropped originals after their job; failed ones with <name>.error.json

A job's life, and the call that makes each move:

    (none)  -> QUEUED     submit(): build tmp/<id>/, fsync, rename to queue/<id>, fsync queue/
    (inbox) -> QUEUED     accept_dropped(): the same, but the dropped file itself is renamed in
    QUEUED  -> RUNNING    claim(): take locks/<id>.lock without blocking, append a start line to attempts
    RUNNING -> QUEUED     Claim.retry(): append an end line, release (the attempt counts)
    RUNNING -> DONE       Claim.finish(): write results/<id>.json atomically, remove queue/<id>, release
    RUNNING -> FAILED     Claim.fail(): the same, with the reason
    RUNNING -> QUEUED     the worker dies: the kernel drops the flock; the start line without an end counts

Job ids sort by submission time (their first 14 hex digits are microseconds), so "oldest first" is a
sort of the queue's names; nobody parses them beyond checking their shape.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from filelock import FileLock, Timeout

from ocrfarm.durable import (
    append_line,
    fsync_dir,
    temp_name,
    write_atomically,
    write_renamed,
    write_synced,
    writer_alive,
)
from ocrfarm.options import ANSWER_ONCE
from ocrfarm.watch import DirWatch

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"[0-9a-f]{32}")
INPUT = "input"
JOB_FILE = "job.json"
ATTEMPTS_FILE = "attempts.jsonl"
PROGRESS_FILE = "progress.json"
# How long a worker takes jobs from one listing of the queue before listing it again.
LISTING_MAX_AGE = 1.0
SOURCE_HTTP = "http"
SOURCE_INBOX = "inbox"


class State(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


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


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    source: str
    filename: str
    size: int
    submitted: float
    options: dict
    folder: Path

    @property
    def input_path(self) -> Path:
        return self.folder / INPUT

    def read_input(self) -> bytes:
        return self.input_path.read_bytes()


def _dump(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


class Spool:
    """A spool rooted at `root`. Cheap to create; `ensure()` makes the folders."""

    def __init__(self, root: Path, max_attempts: int = 3, keep_originals: bool = True, on_close=None):
        self.root = Path(root)
        # Called with every final record as it is written (the metrics count them).
        self.on_close = on_close
        # The claimer's listing of the queue, newest first (see claim()).
        self._backlog: list[str] = []
        self._listed_at = float("-inf")
        self.max_attempts = max_attempts
        # Dropped files: moved to done/ after their job (True), or deleted.
        self.keep_originals = keep_originals
        self.tmp = self.root / "tmp"
        self.queue = self.root / "queue"
        self.locks = self.root / "locks"
        self.results = self.root / "results"
        self.heartbeats = self.root / "heartbeats"
        # The drop folder's output and archive sit beside the inbox, never inside it, so the farm
        # cannot take its own output for input.
        self.inbox = self.root / "inbox"
        self.outbox = self.root / "outbox"
        self.done = self.root / "done"
        self.failed = self.root / "failed"

    @classmethod
    def from_settings(cls, settings, on_close=None) -> Spool:
        """The spool the settings name, with its folders made."""
        return cls(settings.spool, settings.max_attempts, settings.keep_originals, on_close).ensure()

    @property
    def metrics_dir(self) -> Path:
        return self.root / "metrics"

    def ensure(self) -> Spool:
        for folder in (
            self.tmp,
            self.queue,
            self.locks,
            self.results,
            self.heartbeats,
            self.inbox,
            self.outbox,
            self.done,
            self.failed,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    # ---- the front's side -------------------------------------------------------------------

    def submit(self, data: bytes, *, source: str, filename: str = "", options: dict | None = None) -> Job:
        """Store an upload durably and publish it as a queued job.  # (none) -> QUEUED"""
        job_id = new_job_id()
        building = self.tmp / job_id
        building.mkdir()
        record = {
            "id": job_id,
            "source": source,
            "filename": filename,
            "size": len(data),
            "submitted": time.time(),
            "options": options or {},
        }
        try:
            write_synced(building / INPUT, data)
            write_synced(building / JOB_FILE, _dump(record))
            # Made here, empty, so that claiming the job appends to it rather than creating it.
            (building / ATTEMPTS_FILE).touch()
            fsync_dir(building)
            # The rename publishes the whole job at once; a worker never sees half of it.
            self._publish(building)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return self._job_from(record, self.queue / job_id)

    def accept_dropped(self, path: Path, options: dict | None = None) -> Job | None:
        """Queue a settled file from the inbox as a job.  # (inbox) -> QUEUED

        The file is renamed into the job folder, so at any instant it is either in the inbox or in a
        job, never both: a crash, or a second intake racing for the same file, cannot make two jobs
        of it. Returns None if someone else took the file first.
        """
        rel = path.relative_to(self.inbox).as_posix()
        job_id = new_job_id()
        building = self.tmp / job_id
        building.mkdir()
        try:
            record = {
                "id": job_id,
                "source": SOURCE_INBOX,
                "filename": rel,
                "size": path.lstat().st_size,
                "submitted": time.time(),
                "options": options or {},
            }
            write_synced(building / JOB_FILE, _dump(record))
            (building / ATTEMPTS_FILE).touch()
            os.rename(path, building / INPUT)
        except BaseException as exc:
            # The rename is the last step, so the file is still in the inbox (or taken by another
            # intake): only our half-built folder goes.
            shutil.rmtree(building, ignore_errors=True)
            if isinstance(exc, FileNotFoundError):
                return None
            raise
        fsync_dir(building)
        fsync_dir(path.parent)
        self._publish(building)
        return self._job_from(record, self.queue / job_id)

    def recover_dropped(self) -> int:
        """Queue dropped files that an intake took but did not publish before it died."""
        count = 0
        for entry in os.scandir(self.tmp):
            folder = Path(entry.path)
            if not (valid_job_id(entry.name) and (folder / INPUT).exists()):
                continue
            try:
                record = json.loads((folder / JOB_FILE).read_bytes())
            except (OSError, ValueError):
                continue
            # Only dropped files: an upload that never got published had a client that got an error.
            if record.get("source") == SOURCE_INBOX:
                try:
                    self._publish(folder)
                except FileNotFoundError:
                    continue  # another intake published it
                count += 1
        return count

    def _publish(self, building: Path) -> None:
        os.rename(building, self.queue / building.name)
        fsync_dir(self.queue)

    def result(self, job_id: str) -> dict | None:
        """The job's final record, or None while it has none. Anything not a whole record is ignored."""
        try:
            raw = (self.results / f"{job_id}.json").read_bytes()
        except FileNotFoundError:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            log.warning("ignoring unreadable result file for job %s", job_id)
            return None
        if not isinstance(record, dict) or record.get("status") not in (State.DONE, State.FAILED):
            return None
        return record

    def status(self, job_id: str) -> dict | None:
        """What a client may know of a job: its final record, or queued/running; None if unknown."""
        record = self.result(job_id)
        if record is not None:
            return record
        folder = self.queue / job_id
        attempts = _read_attempts(folder / ATTEMPTS_FILE)
        if attempts is None:
            # The result may have landed between the two reads.
            return self.result(job_id)
        running = bool(attempts) and "outcome" not in attempts[-1]
        status = {
            "id": job_id,
            "status": State.RUNNING if running else State.QUEUED,
            "attempts": len(attempts),
        }
        if running:
            try:
                status["progress"] = json.loads((folder / PROGRESS_FILE).read_bytes())
            except (OSError, ValueError):
                pass  # not started on its pages yet
        return status

    def input_path(self, job_id: str) -> Path | None:
        """Where a job's uploaded bytes are: in the queue while it runs, kept beside its result after."""
        for path in (self.queue / job_id / INPUT, self.results / f"{job_id}.input"):
            if path.exists():
                return path
        return None

    def cancel(self, job_id: str) -> str:
        """Cancel a queued job.  # QUEUED -> FAILED. Returns "cancelled", "running", "finished" or "unknown"."""
        if self.result(job_id) is not None:
            return "finished"
        if not (self.queue / job_id).is_dir():
            return "unknown"
        lock = FileLock(self.locks / f"{job_id}.lock", fallback_to_soft=False)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return "running"
        attempts = _read_attempts(self.queue / job_id / ATTEMPTS_FILE)
        if attempts is None:
            self._release(job_id, lock, retired=True)
            return "finished"
        record = self.result(job_id)
        if record is not None:
            # Finished after the first look, by a worker that died before removing the job: its
            # answer stands.
            Claim(self, self._job_from(record, self.queue / job_id), lock, attempts, "client")._retire(record)
            return "finished"
        try:
            job = self._job_from(
                json.loads((self.queue / job_id / JOB_FILE).read_bytes()), self.queue / job_id
            )
        except (OSError, ValueError, KeyError):
            lock.release()
            return "unknown"
        Claim(self, job, lock, attempts, "client")._close(
            State.FAILED, {"error": {"code": "cancelled", "message": "the job was cancelled by a client"}}
        )
        return "cancelled"

    def forget(self, job_id: str) -> None:
        """Delete a finished job's record and the upload kept beside it, once its answer is given:
        for results that are personal data and not to be kept (identity cards, issue 14)."""
        for path in (self.results / f"{job_id}.json", self.results / f"{job_id}.input"):
            path.unlink(missing_ok=True)

    def has_result(self, job_id: str) -> bool:
        return (self.results / f"{job_id}.json").exists()

    def watch_results(self, use_inotify: bool) -> DirWatch:
        """Something to sleep on until a result may have landed."""
        return DirWatch(self.results, use_inotify)

    def depth(self) -> int:
        """Jobs waiting or running."""
        return sum(1 for _ in os.scandir(self.queue))

    def free_bytes(self) -> int:
        """Room left on the spool's disk for an unprivileged writer."""
        return shutil.disk_usage(self.root).free

    def oldest_age(self) -> float | None:
        """Seconds since the oldest job still in the queue was submitted; None if the queue is empty."""
        for job_id in self.queued_ids():
            try:
                submitted = json.loads((self.queue / job_id / JOB_FILE).read_bytes())["submitted"]
            except (OSError, ValueError, KeyError):
                continue  # finished while we looked
            return max(0.0, time.time() - submitted)
        return None

    def sweep(self, retention: float, tmp_max_age: float) -> dict[str, int]:
        """Remove what nobody needs any more; returns how many of each kind went.

        Stray temp files as soon as their writer is dead, or after `tmp_max_age` seconds if the name
        does not tell; final records and the
        heartbeats of workers long gone after `retention` seconds; lock files of finished jobs.
        """
        now = time.time()
        removed = {"tmp": 0, "results": 0, "heartbeats": 0, "locks": 0}
        for kind, folder, max_age in (
            ("tmp", self.tmp, tmp_max_age),
            ("results", self.results, retention),
            ("heartbeats", self.heartbeats, retention),
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
        for entry in os.scandir(self.locks):
            job_id = entry.name.removesuffix(".lock")
            try:
                old = now - entry.stat().st_mtime >= tmp_max_age
            except FileNotFoundError:
                continue
            if not old or (self.queue / job_id).exists():
                continue
            lock = FileLock(entry.path, fallback_to_soft=False)
            try:
                lock.acquire(blocking=False)
            except Timeout:
                continue
            # Held, and the job is gone: the same rule as retiring a job.
            if not (self.queue / job_id).exists():
                self._release(job_id, lock, retired=True)
                removed["locks"] += 1
            else:
                lock.release()
        return removed

    # ---- the workers' side ------------------------------------------------------------------

    def queued_ids(self) -> list[str]:
        """Job ids in the queue, oldest first."""
        return sorted(entry.name for entry in os.scandir(self.queue) if valid_job_id(entry.name))

    def watch_queue(self, use_inotify: bool, extra_fds: tuple[int, ...] = ()) -> DirWatch:
        """Something to sleep on until a job may have arrived."""
        return DirWatch(self.queue, use_inotify, extra_fds)

    def watch_inbox(self, use_inotify: bool, extra_fds: tuple[int, ...] = ()) -> DirWatch:
        """Something to sleep on until a file may have been dropped (subfolders are added as found)."""
        return DirWatch(self.inbox, use_inotify, extra_fds)

    def claim(self, worker: str) -> Claim | None:
        """Take the oldest job no live worker holds.  # QUEUED -> RUNNING

        The queue's listing is kept for up to LISTING_MAX_AGE and taken from in order: listing and
        sorting 10,000 names for every claim cost more than the claim itself. Jobs that arrive
        meanwhile are younger than every listed one, so "oldest first" still holds; a job let go
        for a retry is seen again at the next listing. Jobs that already used up their attempts are
        failed here, on the way, with their history.
        """
        relisted = not self._backlog or time.monotonic() - self._listed_at > LISTING_MAX_AGE
        if relisted:
            self._relist()
        while True:
            while self._backlog:
                job_id = self._backlog.pop()
                lock = FileLock(self.locks / f"{job_id}.lock", fallback_to_soft=False)
                try:
                    lock.acquire(blocking=False)
                except Timeout:
                    continue  # another worker runs it
                try:
                    claim = self._claim_locked(job_id, lock, worker)
                except BaseException:
                    # Its start could not be recorded (a full disk, say): the job stays queued.
                    if lock.is_locked:
                        lock.release()
                    raise
                if claim is not None:
                    return claim
            if relisted:
                return None
            self._relist()
            relisted = True

    def _relist(self) -> None:
        # Newest first, so that pop() hands out the oldest.
        self._backlog = self.queued_ids()[::-1]
        self._listed_at = time.monotonic()

    def _claim_locked(self, job_id: str, lock: FileLock, worker: str) -> Claim | None:
        folder = self.queue / job_id
        attempts = _read_attempts(folder / ATTEMPTS_FILE)
        if attempts is None:
            # Finished by another worker between our listing and our lock: nothing to do.
            self._release(job_id, lock, retired=True)
            return None
        record = self.result(job_id)
        if record is not None:
            # A worker wrote the result and died before removing the job, or halfway through
            # (job.json may be gone already): the job is answered, and its record knows the job.
            Claim(self, self._job_from(record, folder), lock, attempts, worker)._retire(record)
            return None
        try:
            job = self._job_from(json.loads((folder / JOB_FILE).read_bytes()), folder)
        except (OSError, ValueError, KeyError) as exc:
            # Only submit() writes job folders and it renames them in whole, so this is damage.
            log.error("job %s has an unreadable job.json (%s); failing it", job_id, exc)
            job = Job(job_id, "unknown", "", 0, time.time(), {}, folder)
            return Claim(self, job, lock, attempts, worker)._give_up("bad_job", f"unreadable job file: {exc}")
        claim = Claim(self, job, lock, attempts, worker)
        if len(attempts) >= self.max_attempts:
            last = attempts[-1].get("reason") or "the worker stopped during the attempt"
            return claim._give_up(
                "too_many_attempts", f"gave up after {len(attempts)} attempts; the last: {last}"
            )
        claim._start()
        return claim

    def _release(self, job_id: str, lock: FileLock, *, retired: bool) -> None:
        if retired:
            # Safe only because the job folder is gone and ids are never reused: whoever locks this
            # name later finds no job and lets go (filelock re-checks a lock file's link count).
            (self.locks / f"{job_id}.lock").unlink(missing_ok=True)
        lock.release()

    def heartbeat(self, worker: str, info: dict | None = None) -> None:
        """Record that `worker` is alive: write its info once, then just bump the file's mtime."""
        path = self.heartbeats / worker
        if info is not None:
            write_atomically(path, _dump(info), self.tmp)
        else:
            os.utime(path)

    def live_workers(self, max_age: float) -> list[dict]:
        """Workers whose heartbeat is younger than `max_age` seconds."""
        now = time.time()
        alive = []
        for entry in os.scandir(self.heartbeats):
            try:
                if now - entry.stat().st_mtime <= max_age:
                    alive.append(json.loads(Path(entry.path).read_bytes()))
            except (OSError, ValueError):
                continue  # gone or being replaced
        return alive

    def _job_from(self, record: dict, folder: Path) -> Job:
        return Job(
            id=record["id"],
            source=record["source"],
            filename=record.get("filename", ""),
            size=record["size"],
            submitted=record["submitted"],
            options=record.get("options", {}),
            folder=folder,
        )

    # ---- the drop folder's output ----------------------------------------------------------------

    def _deliver(self, job: Job, record: dict, attachments: dict[str, bytes]) -> dict:
        """Write a dropped file's result to outbox/ (done) or its reason to failed/ (failed), with
        its attachments (by suffix) beside the result."""
        rel = PurePosixPath(job.filename)
        staged = self.tmp / temp_name(f"{job.id}.deliver")
        try:
            write_synced(staged, _dump(record))
            if record["status"] == State.DONE:
                folder = _inside(self.outbox, rel.parent)
                json_path = _link_unique(
                    staged,
                    folder,
                    (f"{rel.stem}.json", f"{rel.stem}-{job.id[-8:]}.json"),
                    lambda taken: _record_id(taken) == job.id,
                    self.tmp,
                    sync=False,
                )
                text_path = json_path.with_suffix(".txt")
                write_renamed(text_path, (record.get("text", "") + "\n").encode(), self.tmp)
                delivered = {"json": self._rel(json_path), "txt": self._rel(text_path)}
                for suffix, data in attachments.items():
                    path = json_path.with_suffix(f".{suffix}")
                    write_renamed(path, data, self.tmp)
                    delivered[suffix] = self._rel(path)
                # One directory fsync makes all the names durable, before the result is written (a
                # crash before it re-runs the job, which finds and reuses the names as before).
                fsync_dir(folder)
                return delivered
            folder = _inside(self.failed, rel.parent)
            error_path = _link_unique(
                staged,
                folder,
                (f"{rel.name}.error.json", f"{rel.stem}-{job.id[-8:]}{rel.suffix}.error.json"),
                lambda taken: _record_id(taken) == job.id,
                self.tmp,
            )
            return {"error": self._rel(error_path)}
        finally:
            staged.unlink(missing_ok=True)

    def _archive_original(self, job: Job, record: dict) -> None:
        """Link a dropped file into done/ or failed/, mirroring its path (the job folder's link goes
        when the job is retired)."""
        rel = PurePosixPath(job.filename)
        if record["status"] == State.DONE and not self.keep_originals:
            return  # deleted with the job folder
        base = self.done if record["status"] == State.DONE else self.failed
        _link_unique(
            job.input_path,
            _inside(base, rel.parent),
            (rel.name, f"{rel.stem}-{job.id[-8:]}{rel.suffix}"),
            lambda taken: _same_file(taken, job.input_path),
            self.tmp,
        )

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _inside(base: Path, rel: PurePosixPath) -> Path:
    """`base/rel`, refusing anything that would land outside `base` (rel comes from a file's path)."""
    folder = (base / rel).resolve()
    if folder != base.resolve() and base.resolve() not in folder.parents:
        raise ValueError(f"{rel} leads outside {base}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _link_unique(
    source: Path, folder: Path, names: tuple[str, str], ours, tmp_dir: Path, *, sync: bool = True
) -> Path:
    """Give `source` a name in `folder` without replacing anything that is not ours.

    The plain name is tried with link(), which refuses a taken name. If this very job took it (an
    earlier run that crashed) it is reused; otherwise the second name, which carries the job's id
    and so can only be ours, is used; it is staged in tmp/ (the same filesystem) and renamed over.
    sync=False leaves the directory's fsync to the caller, who has more to put in the same folder.
    """
    plain = folder / names[0]
    try:
        os.link(source, plain)
        target = plain
    except FileExistsError:
        # Ours (an earlier run of this job) or not, the name is replaced only by this job's content.
        target = plain if ours(plain) else folder / names[1]
        if not _same_file(source, target):
            staged = tmp_dir / temp_name("link")
            os.link(source, staged)
            os.replace(staged, target)
    if sync:
        fsync_dir(folder)
    return target


def _same_file(a: Path, b: Path) -> bool:
    # rename() between two links of one file does nothing, so linking again is skipped instead.
    try:
        return os.path.samefile(a, b)
    except FileNotFoundError:
        return False


def _record_id(path: Path) -> str | None:
    try:
        return json.loads(path.read_bytes()).get("id")
    except (OSError, ValueError, AttributeError):
        return None


class Claim:
    """A running job: the worker holds its lock until it calls finish(), fail() or retry()."""

    def __init__(self, spool: Spool, job: Job, lock: FileLock, attempts: list[dict], worker: str):
        self.spool = spool
        self.job = job
        self.lock = lock
        self.history = attempts
        self.worker = worker
        self.started = time.time()
        self.running = False  # True once this worker has recorded an attempt of its own

    @property
    def attempt(self) -> int:
        return len(self.history)

    def _start(self) -> None:
        entry = {
            "attempt": self.attempt + 1,
            "worker": self.worker,
            "pid": os.getpid(),
            "started": self.started,
        }
        append_line(self.job.folder / ATTEMPTS_FILE, entry)
        self.history.append(entry)
        self.running = True

    def progress(self, done: int, total: int) -> None:
        """Pages done so far, for clients asking about a running job. Only informative: a full disk
        leaves the last figure in place rather than failing the job."""
        try:
            write_atomically(
                self.job.folder / PROGRESS_FILE,
                _dump({"pages_done": done, "pages_total": total}),
                self.spool.tmp,
            )
        except OSError as exc:
            log.warning("job %s: could not note its progress: %s", self.job.id, exc)

    def finish(self, result: dict, attachments: dict[str, bytes] | None = None) -> dict:
        """Write the result and retire the job.  # RUNNING -> DONE

        `attachments`: more files a dropped file's result comes with, by suffix ({"pdf": ...}
        becomes outbox/<name>.pdf beside <name>.json)."""
        return self._close(State.DONE, result, attachments)

    def fail(self, code: str, message: str, options: dict | None = None) -> dict:
        """The job cannot succeed (a bad input): fail it now, without retries.  # RUNNING -> FAILED
        `options`, what it was read with, go into the record as a result's do."""
        return self._close(
            State.FAILED,
            {"error": {"code": code, "message": message}, **({"options": options} if options else {})},
        )

    def retry(self, reason: str) -> None:
        """This attempt failed but another may not: note why and let go.  # RUNNING -> QUEUED

        Also used when writing the result failed (a full disk, say), so noting the reason may fail
        too; the job is released either way, and an attempt without an end still counts.
        """
        self.history[-1].update(outcome="error", reason=reason, ended=time.time())
        try:
            append_line(self.job.folder / ATTEMPTS_FILE, self.history[-1])
        except OSError as exc:
            log.error("job %s: could not record the failed attempt: %s", self.job.id, exc)
        finally:
            self.spool._release(self.job.id, self.lock, retired=False)

    def _give_up(self, code: str, message: str) -> None:
        self._close(State.FAILED, {"error": {"code": code, "message": message}})
        return None

    def _close(self, state: State, body: dict, attachments: dict[str, bytes] | None = None) -> dict:
        job = self.job
        if self.running:
            self.history[-1].update(outcome=state.value, reason=None, ended=time.time())
        record = {
            "id": job.id,
            "status": state.value,
            "source": job.source,
            "filename": job.filename,
            "size": job.size,
            "submitted": job.submitted,
            "finished": time.time(),
            "attempts": [_public_attempt(a) for a in self.history],
            **body,
        }
        if "timings" in record:
            record["timings"]["total_s"] = round(record["finished"] - job.submitted, 4)
        if job.source == SOURCE_INBOX:
            # The original is archived (as a second link: the job keeps its copy until retired) and
            # the output delivered before the result is written. A crash in between re-runs the job,
            # and the second run finds the first one's files and keeps their names. People see the
            # original in done/ or failed/ no later than its result.
            self.spool._archive_original(job, record)
            record["delivered"] = self.spool._deliver(job, record, attachments or {})
        write_atomically(self.spool.results / f"{job.id}.json", _dump(record), self.spool.tmp)
        self._retire(record, archived=True)
        if self.spool.on_close is not None:
            self.spool.on_close(record)
        return record

    def _retire(self, record: dict, archived: bool = False) -> None:
        # The result is durable before the job goes, so a crash here leaves a job that the next
        # claim retires without running it again.
        if self.job.input_path.exists():
            if self.job.source == SOURCE_INBOX:
                # _close() archived it (and fsynced the folder) before writing the result: doing it
                # again found the same link and only cost a directory fsync per dropped file. A job
                # retired from its result alone (a worker died after writing it, or an older farm
                # wrote it before archiving came first) is archived here.
                if not archived:
                    self.spool._archive_original(self.job, record)
            elif not self.job.options.get(ANSWER_ONCE):
                # Kept beside the result for as long as the result (page images, annotated copies);
                # an upload answered once (POST /v1/idcard) goes with the job folder instead.
                os.replace(self.job.input_path, self.spool.results / f"{self.job.id}.input")
        shutil.rmtree(self.job.folder, ignore_errors=True)
        self.spool._release(self.job.id, self.lock, retired=True)


def _public_attempt(entry: dict) -> dict:
    out = {"attempt": entry.get("attempt"), "worker": entry.get("worker"), "started": entry.get("started")}
    if "outcome" in entry:
        out.update(outcome=entry["outcome"], reason=entry.get("reason"))
    else:
        out.update(outcome="worker_died", reason="the worker stopped during the attempt")
    return out


def _read_attempts(path: Path) -> list[dict] | None:
    """The attempts so far, one per start line, with its end folded in; None if the job is gone."""
    if not path.parent.is_dir():
        return None
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return [] if path.parent.is_dir() else None
    attempts: dict[int, dict] = {}
    for line in _parse_lines(lines):
        number = line.get("attempt")
        if isinstance(number, int):
            attempts.setdefault(number, {}).update(line)
    return [attempts[n] for n in sorted(attempts)]


def _parse_lines(lines: list[bytes]) -> Iterator[dict]:
    for raw in lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # a line torn by a crash mid-write
        if isinstance(entry, dict):
            yield entry
