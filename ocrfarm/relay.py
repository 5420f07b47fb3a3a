"""A host's drop folder in front of a shared queue (Redis): files in from this host's inbox,
results back out to this host's outbox, whichever host's worker ran them.

The local layout is the spool's (spool/README.md), with one more folder:

    held/<id>/            a dropped file taken from the inbox: `input` (the file itself, renamed in)
                          and `job.json`; it stays here until its result is delivered

    (inbox)  -> held      accept_dropped(): build tmp/<id>/ (job.json, then the file renamed in),
                          rename it to held/<id>, then submit it to the shared queue under that id
    held     -> queue     deliver_dropped() submits again any held job the queue does not know (the
                          intake died between the two steps, or the queue was away); ids make it
                          idempotent
    held     -> outbox    deliver_dropped(): a held job whose result is in the queue is answered as the
                          spool's workers answer one (ocrfarm/delivery.py), then held/<id> is removed
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from ocrfarm.delivery import DropFolder
from ocrfarm.durable import fsync_dir, writer_alive
from ocrfarm.exceptions import QueueFull, QueueUnavailable
from ocrfarm.jobs import Job, valid_job_id
from ocrfarm.spool import INPUT, JOB_FILE, take_dropped
from ocrfarm.watch import DirWatch

log = logging.getLogger(__name__)


class DropRelay:
    def __init__(self, queue, root: Path, keep_originals: bool = True):
        self.queue = queue
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.held = self.root / "held"
        self.drop = DropFolder(self.root, self.tmp, keep_originals)

    def ensure(self) -> None:
        for folder in (self.tmp, self.held, *self.drop.folders):
            folder.mkdir(parents=True, exist_ok=True)

    def watch_inbox(self, use_inotify: bool, extra_fds: tuple[int, ...] = ()) -> DirWatch:
        return DirWatch(self.drop.inbox, use_inotify, extra_fds)

    def accept_dropped(self, path: Path, options: dict | None = None) -> Job | None:
        """Take a settled file from the inbox and queue it; None if someone else took it first."""
        taken = take_dropped(path, self.drop.inbox, self.tmp, options, with_attempts=False)
        if taken is None:
            return None
        job, building = taken
        self._hold(building)
        # Held, so this host answers for it from now on; if the queue is away or full the file
        # waits in held/ and deliver_dropped() submits it later.
        self._submit(job)
        return job

    def _submit(self, job: Job) -> bool:
        try:
            return self.queue.submit_job(job, (self.held / job.id / INPUT).read_bytes())
        except (QueueFull, QueueUnavailable) as exc:
            log.warning("dropped file %s (job %s) waits in held/ to be queued: %s", job.filename, job.id, exc)
            return False

    def _hold(self, building: Path) -> None:
        os.rename(building, self.held / building.name)
        fsync_dir(self.held)

    def recover_dropped(self) -> int:
        """Hold the files an intake took but did not hold before it died (they are queued by the
        next deliver_dropped())."""
        count = 0
        for entry in os.scandir(self.tmp):
            folder = Path(entry.path)
            if valid_job_id(entry.name) and (folder / INPUT).exists() and (folder / JOB_FILE).exists():
                try:
                    self._hold(folder)
                except FileNotFoundError:
                    continue
                count += 1
        return count

    def awaiting_delivery(self) -> bool:
        return any(True for _ in os.scandir(self.held))

    def deliver_dropped(self) -> int:
        """Answer the held files whose results came back; queue again any the queue does not know."""
        held = sorted(entry.name for entry in os.scandir(self.held) if valid_job_id(entry.name))
        if not held:
            return 0
        delivered = 0
        results = self.queue.results_of(held)
        unanswered = [job_id for job_id in held if results[job_id] is None]
        for job_id, known in self.queue.known(unanswered).items():
            if not known:
                job = self._job(job_id)
                if job is not None and self._submit(job):
                    log.info(
                        "job %s (dropped file %s) queued again: the queue did not know it",
                        job_id,
                        job.filename,
                    )
        for job_id in held:
            record = results[job_id]
            if record is None:
                continue
            job = Job.from_record(record)
            folder = self.held / job_id
            attachments = self.queue.attachments(job_id) if record["status"] == "done" else {}
            record["delivered"] = self.drop.answer(job, record, folder / INPUT, attachments)
            shutil.rmtree(folder, ignore_errors=True)
            delivered += 1
        if delivered:
            fsync_dir(self.held)
        return delivered

    def _job(self, job_id: str) -> Job | None:
        try:
            return Job.from_record(json.loads((self.held / job_id / JOB_FILE).read_bytes()))
        except (OSError, ValueError, KeyError) as exc:
            log.error("held file %s has an unreadable job.json (%s); left in held/", job_id, exc)
            return None

    def sweep(self, tmp_max_age: float) -> dict[str, int]:
        """Stray temp files of dead writers in this host's tmp/ (held files are never swept)."""
        removed = 0
        for entry in os.scandir(self.tmp):
            if entry.is_file(follow_symlinks=False) and not writer_alive(entry.name):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return {"tmp": removed}
