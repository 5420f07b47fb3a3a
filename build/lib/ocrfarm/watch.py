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

WATCHED = 0
if INotify is not None:
    WATCHED = flags.MOVED_TO | flags.CREATE | flags.CLOSE_WRITE | flags.MODIFY


class DirWatch:
    """Wait for files to appear or change in watched folders, or for one of `extra_fds` to be readable."""

    def __init__(self, folder: Path, use_inotify: bool = True, extra_fds: tuple[int, ...] = ()):
        self.extra_fds = extra_fds
        self.inotify = None
        self.folders: dict[int, Path] = {}
        if use_inotify and INotify is not None:
            try:
                self.inotify = INotify()
            except OSError as exc:
                log.warning("inotify unavailable (%s); polling only", exc)
        self.add(folder)

    def add(self, folder: Path) -> None:
        """Watch one more folder (inotify watches are not recursive)."""
        if self.inotify is None or folder in self.folders.values():
            return
        try:
            self.folders[self.inotify.add_watch(folder, WATCHED)] = folder
        except OSError as exc:
            # Out of watches (fs.inotify.max_user_watches), or a filesystem without support.
            log.warning("inotify cannot watch %s (%s); polling only", folder, exc)
            self.close()

    @property
    def mode(self) -> str:
        return "inotify" if self.inotify is not None else "polling"

    def wait(self, timeout: float) -> list[Path]:
        """Sleep up to `timeout` seconds. Returns the files renamed into a watched folder meanwhile
        (empty when woken by the clock, another fd, or another kind of event)."""
        fds = list(self.extra_fds)
        if self.inotify is not None:
            fds.append(self.inotify.fileno())
        ready, _, _ = select.select(fds, [], [], timeout)
        moved_in = []
        for fd in ready:
            if self.inotify is not None and fd == self.inotify.fileno():
                moved_in.extend(self._read_events())
            else:
                _drain(fd)
        return moved_in

    def _read_events(self) -> list[Path]:
        moved_in = []
        for event in self.inotify.read(timeout=0):
            folder = self.folders.get(event.wd)
            if folder is not None and event.name and event.mask & flags.MOVED_TO:
                moved_in.append(folder / event.name)
        return moved_in

    def close(self) -> None:
        if self.inotify is not None:
            self.inotify.close()
            self.inotify = None
        self.folders.clear()


def _drain(fd: int) -> None:
    """Read what is pending so the next select() blocks again."""
    try:
        os.read(fd, 65536)
    except (BlockingIOError, InterruptedError):
        pass
