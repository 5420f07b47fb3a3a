"""Stop requests for the long-running loops: the signal handler only sets a flag.

The first SIGTERM (or SIGINT) asks the loop to leave after its current piece of work. The handler
then restores the default action, so a second signal ends the process at once; whatever it held is
released by the kernel and taken again by another process. A wake-up pipe ends an idle sleep as
soon as a signal arrives.
"""

from __future__ import annotations

import os
import select
import signal


class StopFlag:
    def __init__(self):
        self.requested = False
        self.wake_fd, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._installed = False
        self.closed = False

    def install(self) -> None:
        """Handle SIGTERM and SIGINT (main thread only)."""
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._installed = True

    def request(self) -> None:
        """Ask the loop to stop, from code rather than a signal (harmless once the loop has ended)."""
        self.requested = True
        if not self.closed:
            os.write(self._wake_w, b"\0")

    def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, less if a stop is requested meanwhile."""
        if not self.requested:
            select.select([self.wake_fd], [], [], seconds)

    def _on_signal(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signum, signal.SIG_DFL)

    def close(self) -> None:
        self.closed = True
        if self._installed:
            signal.set_wakeup_fd(-1)
        os.close(self.wake_fd)
        os.close(self._wake_w)
