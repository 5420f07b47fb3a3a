"""The drop folder's intake: queue each file dropped into spool/inbox/ once it is complete.

`ocrfarm intake` (or `python -m workers.intake`), one process under supervisord. It only decides
*when* a file is ready; the queue moves it into a job (atomically, so a file becomes exactly one job)
and the workers run it like any upload. With a shared queue (Redis) the intake also hands each result
back to this host's drop folder (the queue's deliver_dropped()), since the worker that ran it may be
on another host. What a file must show before it is taken, from what drop folders meet in practice
(scanners over FTP, SMB copies, rsync):

- no change in size or modification time for the quiet period (OCRFARM_QUIET_PERIOD), or an
  inotify event saying it was renamed into the inbox (the rename trick: a complete file at once);
- a whole image or PDF: a header that identifies it and, for JPEG, PNG, GIF and PDF, the end marker. A file
  that fails this while young is looked at again later; past OCRFARM_DECODE_GRACE it is queued
  anyway and the worker fails it with the reason.

Files under inbox/idcard/ are read as identity cards (kind=idcard): their result has the card's
fields, and one that is not a card fails with the fields not found.

Ignored, never failed: dotfiles, temporary names (.part, .tmp, .crdownload, ...) until renamed, and
the junk that file managers and sync tools leave. Symlinks, FIFOs, sockets and devices are reported
once and left alone; nothing is opened through a symlink.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import stat
import sys
import time
from pathlib import Path

from ocrfarm import documents, logs, metrics
from ocrfarm.exceptions import ImageError
from ocrfarm.options import IDCARD, KIND
from ocrfarm.queue import JobQueue, open_queue
from ocrfarm.settings import INTAKE, Settings, describe, load_or_exit
from ocrfarm.trouble import TroubleWait
from workers.stopping import StopFlag

log = logging.getLogger("workers.intake")

# Files dropped under this subfolder are read as identity cards: their outbox JSON has the fields.
IDCARD_FOLDER = "idcard"
JUNK = {"thumbs.db", "desktop.ini", "@eadir", "__macosx"}
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".filepart", ".swp")
# Where a complete file of each format ends; a file cut short lacks it.
END_MARKERS = {"JPEG": (b"\xff\xd9",), "PNG": (b"IEND\xaeB`\x82",), "GIF": (b";",), "PDF": (b"%%EOF",)}


def ignored(name: str) -> bool:
    """Junk and files still being written under a temporary name."""
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered in JUNK or lowered.endswith(TEMP_SUFFIXES)


@dataclasses.dataclass
class Sighting:
    size: int
    mtime_ns: int
    changed: float  # clock reading when size or mtime last changed
    first_seen: float


class Intake:
    def __init__(self, queue: JobQueue, settings: Settings, clock=time.monotonic):
        self.queue = queue
        self.inbox = queue.inbox
        self.settings = settings
        self.clock = clock
        self.stopping = StopFlag()
        self.watch = queue.watch_inbox(settings.inotify, extra_fds=(self.stopping.wake_fd,))
        self.seen: dict[Path, Sighting] = {}
        self.renamed_in: set[Path] = set()
        self.reported: set[Path] = set()
        # A full disk or an unreachable queue: the file waits in the inbox, nothing is lost.
        self.trouble = TroubleWait(log, "intake", clock=clock)

    def run(self) -> int:
        recovered = self.queue.recover_dropped()
        if recovered:
            log.info("intake queued %d dropped files taken before a restart", recovered)
        log.info(
            "intake watching %s (%s), quiet period %gs, full rescan every %gs",
            self.inbox,
            self.watch.mode,
            self.settings.quiet_period,
            self.rescan_every,
        )
        try:
            while True:
                if self.stopping.requested:
                    log.info("intake stopping on request")
                    return 0
                self.step()
                self.renamed_in.update(self.watch.wait(self.sleep_time()))
        finally:
            self.watch.close()
            self.stopping.close()

    @property
    def rescan_every(self) -> float:
        # With inotify, a rescan only catches missed events; without it, it is the only way to see files.
        return self.settings.rescan_interval if self.watch.mode == "inotify" else self.settings.poll_interval

    def sleep_time(self) -> float:
        if self.queue.awaiting_delivery():
            # Results of this host's files come back from other hosts (a shared queue).
            return min(self.settings.poll_interval, self.rescan_every)
        if not self.seen:
            return self.rescan_every
        # Something is settling: look again when the first one is due, or at the next poll.
        now = self.clock()
        due = min(s.changed + self.settings.quiet_period for s in self.seen.values())
        return max(0.05, min(due - now, self.settings.poll_interval, self.rescan_every))

    def step(self) -> int:
        """One full pass over the inbox; returns how many files were queued."""
        now = self.clock()
        present = set()
        queued = 0
        self.deliver()
        for path, st in self.walk():
            present.add(path)
            sighting = self.seen.get(path)
            if sighting is None or (sighting.size, sighting.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self.seen[path] = Sighting(
                    st.st_size, st.st_mtime_ns, now, sighting.first_seen if sighting else now
                )
                if path not in self.renamed_in:
                    continue
            if path in self.renamed_in or now - self.seen[path].changed >= self.settings.quiet_period:
                queued += self.try_take(path, now)
        for gone in set(self.seen) - present:
            del self.seen[gone]
        self.renamed_in &= present
        return queued

    def walk(self):
        """Regular files under the inbox, never through a symlink; reports what it will not touch."""
        folders = [self.inbox]
        while folders:
            folder = folders.pop()
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue  # removed while we walked
            for entry in entries:
                if ignored(entry.name):
                    continue
                path = Path(entry.path)
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    folders.append(path)
                    self.watch.add(path)
                elif stat.S_ISREG(st.st_mode):
                    yield path, st
                else:
                    self.report(path, st)

    def report(self, path: Path, st: os.stat_result) -> None:
        if path in self.reported:
            return
        self.reported.add(path)
        kind = (
            "symlink"
            if stat.S_ISLNK(st.st_mode)
            else "FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "socket"
            if stat.S_ISSOCK(st.st_mode)
            else "device file"
        )
        log.warning(
            "intake leaves %s alone: a %s, not a regular file (never followed or opened)",
            path.relative_to(self.inbox),
            kind,
        )

    def try_take(self, path: Path, now: float) -> int:
        sighting = self.seen[path]
        problem = self.incomplete(path)
        young = now - sighting.changed < self.settings.decode_grace
        if problem and young:
            log.debug("intake: %s not ready yet (%s)", path, problem)
            return 0
        try:
            job = self.queue.accept_dropped(path, self.options_for(path))
        except Exception as exc:
            if not self.trouble.note(exc, f"{path} and the files after it wait in the inbox"):
                raise
            # The file stays in the inbox, untouched; it is tried again after another quiet period.
            sighting.changed = now
            self.renamed_in.discard(path)
            return 0
        del self.seen[path]
        self.renamed_in.discard(path)
        if job is None:
            return 0  # another intake took it
        metrics.accepted(job.source)
        log.info(
            "job %s queued source=inbox file=%s size=%d settled=%.1fs%s",
            job.id,
            job.filename,
            job.size,
            now - sighting.first_seen,
            f" (queued as is: {problem})" if problem else "",
        )
        return 1

    def options_for(self, path: Path) -> dict:
        """What a dropped file's job reads: files under inbox/idcard/ are identity cards (issue 14)."""
        parts = path.relative_to(self.inbox).parts
        return {KIND: IDCARD} if len(parts) > 1 and parts[0] == IDCARD_FOLDER else {}

    def deliver(self) -> int:
        """Results of this host's dropped files that came back (a shared queue only)."""
        try:
            return self.queue.deliver_dropped()
        except Exception as exc:
            if not self.trouble.note(exc, "results wait in the queue"):
                raise
            return 0

    def incomplete(self, path: Path) -> str | None:
        """Why the file does not look like a whole image yet; None if it does."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            return f"cannot open: {exc.strerror}"
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "not a regular file"
            data = f.read()
        try:
            info = documents.inspect(data, self.settings.limits)
        except ImageError as exc:
            return exc.message
        markers = END_MARKERS.get(info.format)
        if markers and not data.rstrip(b"\0 \t\r\n").endswith(markers):
            return f"the {info.format} data has no end marker (still being written?)"
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ocrfarm intake",
        description="The drop folder: queues files dropped into <spool>/inbox/ once they are whole.",
        epilog=describe(INTAKE),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    settings = load_or_exit(INTAKE)
    logs.setup(settings.log_level)
    queue = open_queue(settings, on_close=metrics.finished)
    metrics.init(queue.metrics_dir)
    intake = Intake(queue, settings)
    intake.stopping.install()
    return intake.run()


if __name__ == "__main__":
    sys.exit(main())
