"""Waking requests that wait for a result: one watcher per web process, not one poll per request.

A waiting request registers an Event for its job id. The watcher sleeps on the queue's results (the
spool's results folder by inotify, or Redis's notification of each committed result) and, on every
wake-up, sets the Event of each waiting job whose result now exists: the jobs the event named, or
all of them after a wake-up by the clock (every poll interval), which keeps it correct when events
are lost.

Under gunicorn's gevent worker the watcher and each waiting request are greenlets: a waiting request
costs a few kilobytes, not a thread, and `capacity` (OCRFARM_MAX_WAITING), not a thread count, caps
how many wait at once; past it a request is answered at once with its job's URL.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from ocrfarm.queue import JobQueue
from ocrfarm.trouble import farm_trouble

log = logging.getLogger(__name__)


class ResultWaiter:
    def __init__(self, queue: JobQueue, poll_interval: float, capacity: int):
        self.queue = queue
        self.poll_interval = poll_interval
        self.capacity = capacity
        self._lock = threading.Lock()
        self._waiting: dict[str, list[threading.Event]] = {}
        self._count = 0
        self._started_in: int | None = None

    def wait(self, job_id: str, timeout: float) -> dict | None:
        """The job's final record, or None if it has none after `timeout` seconds (at once when
        `capacity` requests are waiting already)."""
        self._ensure_watcher()
        event = threading.Event()
        with self._lock:
            if self._count >= self.capacity:
                timeout = 0.0
            else:
                self._count += 1
                self._waiting.setdefault(job_id, []).append(event)
        try:
            # Registered first, checked second: a result that lands in between is not missed.
            record = self.queue.result(job_id)
            if record is None and timeout > 0 and event.wait(timeout):
                record = self.queue.result(job_id)
            return record
        finally:
            if timeout > 0:
                with self._lock:
                    self._count -= 1
                    events = self._waiting.get(job_id, [])
                    if event in events:
                        events.remove(event)
                    if not events:
                        self._waiting.pop(job_id, None)

    def _ensure_watcher(self) -> None:
        # Started lazily and per process: gunicorn forks its workers after importing the app, and
        # threads do not survive a fork.
        with self._lock:
            if self._started_in == os.getpid():
                return
            self._started_in = os.getpid()
        threading.Thread(target=self._watch, name="result-watcher", daemon=True).start()

    def _watch(self) -> None:
        watch = None
        while True:
            try:
                if watch is None:
                    watch = self.queue.watch_results()
                    log.info("result watcher started (%s)", watch.mode)
                # The ids (or result files) an event named; none when woken by the clock or by an
                # event without a name, and then every waiting job is looked at.
                named = {
                    Path(str(item)).name.removesuffix(".json") for item in watch.wait(self.poll_interval)
                }
                with self._lock:
                    waiting = [
                        (job_id, events)
                        for job_id, events in self._waiting.items()
                        if not named or job_id in named
                    ]
                for job_id, events in waiting:
                    if self.queue.has_result(job_id):
                        for event in events:
                            event.set()
            except Exception as exc:  # the watcher's boundary: it must outlive a queue that went away
                if farm_trouble(exc) is None:
                    log.exception("result watcher failed; starting it again")
                else:
                    log.warning("result watcher: %s; trying again", farm_trouble(exc))
                if watch is not None:
                    watch.close()
                    watch = None
                threading.Event().wait(self.poll_interval)
