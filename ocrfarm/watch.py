"""Sleeping until a folder changes: inotify where it works, a plain timeout where it does not.

Callers always re-check the folder after a wake-up, event or not, so inotify only makes them faster;
a lost event (queue overflow, a network filesystem that sends none) costs at most one poll interval.
"""

from __future__ import annotations

import logging
import os
import select
from pathlib import Path

log = logging.getLogger(__name__)

try:
    from inotify_simple import INotify, flags
except ImportError:  # not Linux: polling alone
    INotify = None


class DirWatch:
    """Wait for files to be created in or renamed into `folder`, or for one of `extra_fds` to be readable."""

    def __init__(self, folder: Path, use_inotify: bool = True, extra_fds: tuple[int, ...] = ()):
        self.folder = folder
        self.extra_fds = extra_fds
        self.inotify = None
        if use_inotify and INotify is not None:
            try:
                self.inotify = INotify()
                self.inotify.add_watch(folder, flags.MOVED_TO | flags.CREATE | flags.CLOSE_WRITE)
            except OSError as exc:
                # Out of watches (fs.inotify.max_user_watches) or a filesystem without support.
                log.warning("inotify unavailable on %s (%s); polling only", folder, exc)
                self.close()

    @property
    def mode(self) -> str:
        return "inotify" if self.inotify is not None else "polling"

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True if woken by an event rather than the clock."""
        fds = list(self.extra_fds)
        if self.inotify is not None:
            fds.append(self.inotify.fileno())
        if not fds:
            # Nothing to select on: an interruptible sleep.
            select.select([], [], [], timeout)
            return False
        ready, _, _ = select.select(fds, [], [], timeout)
        for fd in ready:
            _drain(fd)
        return bool(ready)

    def close(self) -> None:
        if self.inotify is not None:
            self.inotify.close()
            self.inotify = None


def _drain(fd: int) -> None:
    """Read what is pending so the next select() blocks again; the events themselves are not needed."""
    try:
        os.read(fd, 65536)
    except (BlockingIOError, InterruptedError):
        pass
