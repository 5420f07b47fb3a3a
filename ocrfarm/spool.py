"""The spool: the job protocol on one machine's disk (the default queue; see ocrfarm/queue.py).

The one module that knows the spool's job layout; ocrfarm/delivery.py knows the drop folder's output,
ocrfarm/registry.py the heartbeats, ocrfarm/retention.py what is removed when. The layout and the
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
    RUNNING -> QUEUED     SpoolClaim.retry(): append an end line, release (the attempt counts)
    RUNNING -> DONE       SpoolClaim.finish(): write results/<id>.json atomically, remove queue/<id>, release
    RUNNING -> FAILED     SpoolClaim.fail(): the same, with the reason
    QUEUED  -> FAILED     cancel(): taken under its lock as claim() takes it, then failed
    RUNNING -> QUEUED     the worker dies: the kernel drops the flock; the start line without an end counts

Job ids sort by submission time (their first 14 hex digits are microseconds), so "oldest first" is a
sort of the queue's names; nobody parses them beyond checking their shape.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from filelock import FileLock, Timeout

from ocrfarm import retention as retention_rules
from ocrfarm.delivery import DropFolder
from ocrfarm.durable import append_line, fsync_dir, write_atomically, write_synced
from ocrfarm.exceptions import QueueFull
from ocrfarm.jobs import (
    SOURCE_HTTP,
    SOURCE_INBOX,
    Job,
    State,
    dump,
    error_body,
    fold_attempts,
    gave_up,
    new_job_id,
    valid_job_id,
    whole_result,
)
from ocrfarm.options import ANSWER_ONCE
from ocrfarm.registry import Heartbeats
from ocrfarm.trouble import farm_trouble
from ocrfarm.watch import DirWatch

# Kept importable from here: callers of the spool have always found them in this module.
__all__ = ["SOURCE_HTTP", "SOURCE_INBOX", "Job", "Spool", "SpoolClaim", "State", "new_job_id", "valid_job_id"]

log = logging.getLogger(__name__)

INPUT = "input"
JOB_FILE = "job.json"
ATTEMPTS_FILE = "attempts.jsonl"
PROGRESS_FILE = "progress.json"
# How long a worker takes jobs from one listing of the queue before listing it again.
LISTING_MAX_AGE = 1.0


def take_dropped(
    path: Path, inbox: Path, tmp: Path, options: dict | None, *, with_attempts: bool
) -> tuple[Job, Path] | None:
    """A settled file from `inbox` renamed into a new job folder tmp/<id>/ (job.json, the spool's
    attempts file if asked for, then `input`), all synced: the job and its folder, or None if
    someone else took the file first. The spool publishes the folder to queue/, the relay
    (ocrfarm/relay.py) holds it in held/.

    The file is renamed, so at any instant it is either in the inbox or in a job folder, never both:
    a crash, or a second intake racing for the same file, cannot make two jobs of it."""
    rel = path.relative_to(inbox).as_posix()
    building = tmp / new_job_id()
    building.mkdir()
    try:
        job = Job.new(
            path.lstat().st_size, source=SOURCE_INBOX, filename=rel, options=options, job_id=building.name
        )
        write_synced(building / JOB_FILE, dump(job.record()))
        if with_attempts:
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
    return job, building


class Spool:
    """A spool rooted at `root`. Cheap to create; `ensure()` makes the folders."""

    kind = "spool"

    def __init__(
        self,
        root: Path,
        max_attempts: int = 3,
        keep_originals: bool = True,
        on_close=None,
        *,
        max_queue: int | None = None,
        use_inotify: bool = True,
    ):
        self.root = Path(root)
        # Called with every final record as it is written (the metrics count them).
        self.on_close = on_close
        # The claimer's listing of the queue, newest first (see claim()).
        self._backlog: list[str] = []
        self._listed_at = float("-inf")
        self.max_attempts = max_attempts
        self.max_queue = max_queue
        self.use_inotify = use_inotify
        self.tmp = self.root / "tmp"
        self.queue = self.root / "queue"
        self.locks = self.root / "locks"
        self.results = self.root / "results"
        self.heartbeats = self.root / "heartbeats"
        self.drop = DropFolder(self.root, self.tmp, keep_originals)
        self.inbox, self.outbox, self.done, self.failed = self.drop.folders
        self.registry = Heartbeats(self.heartbeats, self.tmp)

    @classmethod
    def from_settings(cls, settings, on_close=None) -> Spool:
        """The spool the settings name, with its folders made."""
        return cls(
            settings.spool,
            settings.max_attempts,
            settings.keep_originals,
            on_close,
            max_queue=settings.max_queue,
            use_inotify=settings.inotify,
        ).ensure()

    @property
    def metrics_dir(self) -> Path:
        return self.root / "metrics"

    def ensure(self) -> Spool:
        for folder in (self.tmp, self.queue, self.locks, self.results, self.heartbeats, *self.drop.folders):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    # ---- the front's side -------------------------------------------------------------------

    def submit(self, data: bytes, *, source: str, filename: str = "", options: dict | None = None) -> Job:
        """Store an upload durably and publish it as a queued job.  # (none) -> QUEUED"""
        if self.max_queue is not None and self.depth() >= self.max_queue:
            raise QueueFull(f"{self.max_queue} jobs are already waiting")
        job = Job.new(len(data), source=source, filename=filename, options=options)
        building = self.tmp / job.id
        building.mkdir()
        try:
            write_synced(building / INPUT, data)
            write_synced(building / JOB_FILE, dump(job.record()))
            # Made here, empty, so that claiming the job appends to it rather than creating it.
            (building / ATTEMPTS_FILE).touch()
            fsync_dir(building)
            # The rename publishes the whole job at once; a worker never sees half of it.
            self._publish(building)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        return job

    def accept_dropped(self, path: Path, options: dict | None = None) -> Job | None:
        """Queue a settled file from the inbox as a job (take_dropped() says how it is taken).
        # (inbox) -> QUEUED. Returns None if someone else took the file first."""
        taken = take_dropped(path, self.inbox, self.tmp, options, with_attempts=True)
        if taken is None:
            return None
        job, building = taken
        self._publish(building)
        return job

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

    def deliver_dropped(self) -> int:
        """Nothing to do here: the spool's workers deliver dropped files' results themselves."""
        return 0

    def awaiting_delivery(self) -> bool:
        return False

    def _publish(self, building: Path) -> None:
        os.rename(building, self.queue / building.name)
        fsync_dir(self.queue)

    def result(self, job_id: str) -> dict | None:
        """The job's final record, or None while it has none. Anything not a whole record is ignored."""
        try:
            raw = (self.results / f"{job_id}.json").read_bytes()
        except FileNotFoundError:
            return None
        record = whole_result(raw)
        if record is None:
            log.warning("ignoring an incomplete result file for job %s", job_id)
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

    def input_bytes(self, job_id: str) -> bytes | None:
        path = self.input_path(job_id)
        try:
            return None if path is None else path.read_bytes()
        except FileNotFoundError:
            return self.input_bytes(job_id) if path.parent == self.queue / job_id else None

    def cancel(self, job_id: str) -> str:
        """Cancel a queued job.  # QUEUED -> FAILED. Returns "cancelled", "running", "finished" or "unknown"."""
        if self.result(job_id) is not None:
            return "finished"
        if not (self.queue / job_id).is_dir():
            return "unknown"
        taken = self._take(job_id, "client")
        if isinstance(taken, str):
            return taken
        taken._close(State.FAILED, error_body("cancelled", "the job was cancelled by a client"))
        return "cancelled"

    def forget(self, job_id: str) -> None:
        """Delete a finished job's record and the upload kept beside it, once its answer is given:
        for results that are personal data and not to be kept (identity cards, issue 14)."""
        for path in (self.results / f"{job_id}.json", self.results / f"{job_id}.input"):
            path.unlink(missing_ok=True)

    def has_result(self, job_id: str) -> bool:
        return (self.results / f"{job_id}.json").exists()

    def watch_results(self) -> DirWatch:
        """Something to sleep on until a result may have landed."""
        return DirWatch(self.results, self.use_inotify)

    def depth(self) -> int:
        """Jobs waiting or running."""
        return sum(1 for _ in os.scandir(self.queue))

    def free_bytes(self) -> int:
        """Room left on the spool's disk for an unprivileged writer."""
        return shutil.disk_usage(self.root).free

    def room(self) -> dict:
        # Uploads get 507 when this runs out; workers then wait for room.
        return {"disk_free_bytes": self.free_bytes()}

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
        return retention_rules.sweep(self, retention, tmp_max_age)

    # ---- the workers' side ------------------------------------------------------------------

    def queued_ids(self) -> list[str]:
        """Job ids in the queue, oldest first."""
        return sorted(entry.name for entry in os.scandir(self.queue) if valid_job_id(entry.name))

    def watch_work(self, extra_fds: tuple[int, ...] = ()) -> DirWatch:
        """Something to sleep on until a job may have arrived."""
        return DirWatch(self.queue, self.use_inotify, extra_fds)

    def watch_inbox(self, use_inotify: bool, extra_fds: tuple[int, ...] = ()) -> DirWatch:
        """Something to sleep on until a file may have been dropped (subfolders are added as found)."""
        return DirWatch(self.inbox, use_inotify, extra_fds)

    def claim(self, worker: str) -> SpoolClaim | None:
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
                taken = self._take(self._backlog.pop(), worker)
                if isinstance(taken, str):
                    continue  # another worker runs it, or it is answered
                if taken.attempt >= self.max_attempts:
                    taken._close(State.FAILED, gave_up(taken.history))
                    continue
                try:
                    taken._start()
                except BaseException:
                    # Its start could not be recorded (a full disk, say): the job stays queued.
                    taken._let_go()
                    raise
                return taken
            if relisted:
                return None
            self._relist()
            relisted = True

    def _relist(self) -> None:
        # Newest first, so that pop() hands out the oldest.
        self._backlog = self.queued_ids()[::-1]
        self._listed_at = time.monotonic()

    def _take(self, job_id: str, who: str) -> SpoolClaim | str:
        """Take job `job_id` under its lock, for a worker or for a client's cancel: the job held, or
        why not ("running": another holds it; "finished": answered, and retired on the way)."""
        lock = FileLock(self.locks / f"{job_id}.lock", fallback_to_soft=False)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return "running"
        try:
            folder = self.queue / job_id
            attempts = _read_attempts(folder / ATTEMPTS_FILE)
            if attempts is None:
                # Finished by another worker between our listing and our lock: nothing to do.
                self.release(job_id, lock, retired=True)
                return "finished"
            record = self.result(job_id)
            if record is not None:
                # A worker wrote the result and died before removing the job, or halfway through
                # (job.json may be gone already): the job is answered, and its record knows the job.
                SpoolClaim(self, Job.from_record(record), lock, attempts, who)._retire(record)
                return "finished"
            try:
                job = Job.from_record(json.loads((folder / JOB_FILE).read_bytes()))
            except (OSError, ValueError, KeyError) as exc:
                # Only submit() writes job folders and it renames them in whole, so this is damage.
                log.error("job %s has an unreadable job.json (%s); failing it", job_id, exc)
                damaged = SpoolClaim(self, Job.damaged(job_id), lock, attempts, who)
                damaged._close(State.FAILED, error_body("bad_job", f"unreadable job file: {exc}"))
                return "finished"
            return SpoolClaim(self, job, lock, attempts, who)
        except BaseException:
            if lock.is_locked:
                lock.release()
            raise

    def release(self, job_id: str, lock: FileLock, *, retired: bool) -> None:
        if retired:
            # Safe only because the job folder is gone and ids are never reused: whoever locks this
            # name later finds no job and lets go (filelock re-checks a lock file's link count).
            (self.locks / f"{job_id}.lock").unlink(missing_ok=True)
        lock.release()

    def heartbeat(self, worker: str, info: dict | None = None) -> None:
        self.registry.beat(worker, info)

    def live_workers(self, max_age: float) -> list[dict]:
        return self.registry.live(max_age)

    def job_folder(self, job_id: str) -> Path:
        return self.queue / job_id


class SpoolClaim:
    """A running job: the worker holds its lock until it calls finish(), fail() or retry(). The
    claim owns its release and its retirement."""

    def __init__(self, spool: Spool, job: Job, lock: FileLock, attempts: list[dict], worker: str):
        self.spool = spool
        self.job = job
        self.folder = spool.job_folder(job.id)
        self.lock = lock
        self.history = attempts
        self.worker = worker
        self.started = time.time()
        self.running = False  # True once this worker has recorded an attempt of its own

    @property
    def attempt(self) -> int:
        return len(self.history)

    @property
    def input_path(self) -> Path:
        return self.folder / INPUT

    def read_input(self) -> bytes:
        return self.input_path.read_bytes()

    def _start(self) -> None:
        entry = {
            "attempt": self.attempt + 1,
            "worker": self.worker,
            "pid": os.getpid(),
            "started": self.started,
        }
        append_line(self.folder / ATTEMPTS_FILE, entry)
        self.history.append(entry)
        self.running = True

    def renew(self) -> None:
        """Nothing to renew: the flock is held for as long as this process lives."""

    def progress(self, done: int, total: int) -> None:
        """Pages done so far, for clients asking about a running job. Only informative: a full disk
        leaves the last figure in place rather than failing the job."""
        try:
            write_atomically(
                self.folder / PROGRESS_FILE, dump({"pages_done": done, "pages_total": total}), self.spool.tmp
            )
        except OSError as exc:
            if farm_trouble(exc) is None:
                raise
            log.warning("job %s: no room to note its progress: %s", self.job.id, exc)

    def finish(self, result: dict, attachments: dict[str, bytes] | None = None) -> dict:
        """Write the result and retire the job.  # RUNNING -> DONE

        `attachments`: more files a dropped file's result comes with, by suffix ({"pdf": ...}
        becomes outbox/<name>.pdf beside <name>.json)."""
        return self._close(State.DONE, result, attachments)

    def fail(self, code: str, message: str, options: dict | None = None) -> dict:
        """The job cannot succeed (a bad input): fail it now, without retries.  # RUNNING -> FAILED
        `options`, what it was read with, go into the record as a result's do."""
        return self._close(
            State.FAILED, {**error_body(code, message), **({"options": options} if options else {})}
        )

    def retry(self, reason: str) -> None:
        """This attempt failed but another may not: note why and let go.  # RUNNING -> QUEUED

        Also used when writing the result failed (a full disk, say), so noting the reason may fail
        too; the job is released either way, and an attempt without an end still counts.
        """
        self.history[-1].update(outcome="error", reason=reason, ended=time.time())
        try:
            append_line(self.folder / ATTEMPTS_FILE, self.history[-1])
        except OSError as exc:
            if farm_trouble(exc) is None:
                raise
            log.error("job %s: no room to record the failed attempt: %s", self.job.id, exc)
        finally:
            self._let_go()

    def _let_go(self) -> None:
        self.spool.release(self.job.id, self.lock, retired=False)

    def _close(self, state: State, body: dict, attachments: dict[str, bytes] | None = None) -> dict:
        job = self.job
        if self.running:
            self.history[-1].update(outcome=state.value, reason=None, ended=time.time())
        record = job.final_record(state, body, self.history)
        if job.source == SOURCE_INBOX:
            # The original is archived (as a second link: the job keeps its copy until retired) and
            # the output delivered before the result is written. A crash in between re-runs the job,
            # and the second run finds the first one's files and keeps their names. People see the
            # original in done/ or failed/ no later than its result.
            record["delivered"] = self.spool.drop.answer(job, record, self.input_path, attachments or {})
        write_atomically(self.spool.results / f"{job.id}.json", dump(record), self.spool.tmp)
        self._retire(record, archived=True)
        if self.spool.on_close is not None:
            self.spool.on_close(record)
        return record

    def _retire(self, record: dict, archived: bool = False) -> None:
        # The result is durable before the job goes, so a crash here leaves a job that the next
        # claim retires without running it again.
        if self.input_path.exists():
            if self.job.source == SOURCE_INBOX:
                # _close() archived it (and fsynced the folder) before writing the result: doing it
                # again found the same link and only cost a directory fsync per dropped file. A job
                # retired from its result alone (a worker died after writing it, or an older farm
                # wrote it before archiving came first) is archived here.
                if not archived:
                    self.spool.drop.archive(self.job, record, self.input_path)
            elif not self.job.options.get(ANSWER_ONCE):
                # Kept beside the result for as long as the result (page images, annotated copies);
                # an upload answered once (POST /v1/idcard) goes with the job folder instead.
                os.replace(self.input_path, self.spool.results / f"{self.job.id}.input")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.spool.release(self.job.id, self.lock, retired=True)


# The name the worker loop and older callers know.
Claim = SpoolClaim


def _read_attempts(path: Path) -> list[dict] | None:
    """The attempts so far, one per start line, with its end folded in; None if the job is gone."""
    if not path.parent.is_dir():
        return None
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return [] if path.parent.is_dir() else None
    return fold_attempts(lines)
