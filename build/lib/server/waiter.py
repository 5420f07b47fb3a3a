"""Waking requests that wait for a result: one watcher thread per web process, not one poll per request.

A waiting request registers an Event for its job id. The watcher sleeps on the results folder
(inotify, or the poll interval when there are no events) and, on every wake-up, sets the Event of
each waiting job whose result now exists. Checking all waiters on each wake-up, not only the names
an event carried, keeps it correct when events are lost; there are at most as many waiters as
request threads, so the check is cheap.
"""

from __future__ import annotations

import logging
import os
import threading

from ocrfarm.spool import Spool

log = logging.getLogger(__name__)


class ResultWaiter:
    def __init__(self, spool: Spool, poll_interval: float, use_inotify: bool):
        self.spool = spool
        self.poll_interval = poll_interval
        self.use_inotify = use_inotify
        self._lock = threading.Lock()
        self._waiting: dict[str, list[threading.Event]] = {}
        self._started_in: int | None = None

    def wait(self, job_id: str, timeout: float) -> dict | None:
        """The job's final record, or None if it has none after `timeout` seconds."""
        self._ensure_watcher()
        event = threading.Event()
        with self._lock:
            self._waiting.setdefault(job_id, []).append(event)
        try:
            # Registered first, checked second: a result that lands in between is not missed.
            record = self.spool.result(job_id)
            if record is None and event.wait(timeout):
                record = self.spool.result(job_id)
            return record
        finally:
            with self._lock:
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
        watch = self.spool.watch_results(self.use_inotify)
        log.info("result watcher started (%s)", watch.mode)
        while True:
            watch.wait(self.poll_interval)
            with self._lock:
                waiting = list(self._waiting.items())
            for job_id, events in waiting:
                if self.spool.has_result(job_id):
                    for event in events:
                        event.set()
