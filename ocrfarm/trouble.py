"""The farm's own trouble: a full disk, or a queue that cannot be reached.

Neither is a job's fault, so neither may cost a job an attempt. The worker and the intake both use
this one helper: it tells such an error from the others, waits it out (longer each time, up to a
limit), and logs it once a minute rather than on every try (issue 13).
"""

from __future__ import annotations

import logging
import time

from ocrfarm.durable import no_room
from ocrfarm.exceptions import QueueUnavailable

# The first wait before trying again, and the longest.
FIRST_WAIT = 0.5
LONGEST_WAIT = 15.0
LOG_EVERY = 60.0


def farm_trouble(exc: BaseException) -> str | None:
    """What is wrong with the farm, if `exc` is the farm's trouble and not the job's; else None."""
    if no_room(exc):
        return "the spool's disk is full"
    if isinstance(exc, QueueUnavailable):
        return f"the queue cannot be reached ({exc})"
    return None


class TroubleWait:
    """Waits out the farm's trouble for one process; `sleep(seconds)` is its interruptible sleep."""

    def __init__(self, log: logging.Logger, who: str, sleep=time.sleep, clock=time.monotonic):
        self.log = log
        self.who = who
        self.sleep = sleep
        self.clock = clock
        self.current = 0.0  # the current wait; 0 while all is well
        self.logged = float("-inf")

    def note(self, exc: BaseException, what: str) -> bool:
        """Log the trouble (at most once a minute); False if `exc` is not the farm's trouble."""
        trouble = farm_trouble(exc)
        if trouble is None:
            return False
        if self.clock() - self.logged >= LOG_EVERY:
            self.log.error(
                "%s: %s (%s): %s; trying again every %g s or less", self.who, trouble, exc, what, LONGEST_WAIT
            )
            self.logged = self.clock()
        return True

    def wait(self, exc: BaseException, what: str) -> None:
        """Note the trouble and sleep a while; raises `exc` again if it is not the farm's trouble."""
        if not self.note(exc, what):
            raise exc
        self.current = min(LONGEST_WAIT, max(FIRST_WAIT, self.current * 2))
        self.sleep(self.current)

    def clear(self) -> None:
        """The last try went through: the next trouble starts from the first wait again."""
        self.current = 0.0
