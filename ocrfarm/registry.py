"""The spool's worker registry: one heartbeat file per worker, its mtime the last sign of life.

As gunicorn's WorkerTmp.notify(): the info is written once, then each beat is a single utime, which
needs no room on the disk.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ocrfarm.durable import write_atomically
from ocrfarm.jobs import dump


class Heartbeats:
    def __init__(self, folder: Path, tmp: Path):
        self.folder = folder
        self.tmp = tmp

    def beat(self, worker: str, info: dict | None = None) -> None:
        """Record that `worker` is alive: write its info once, then just bump the file's mtime."""
        path = self.folder / worker
        if info is not None:
            write_atomically(path, dump(info), self.tmp)
        else:
            os.utime(path)

    def live(self, max_age: float) -> list[dict]:
        """Workers whose heartbeat is younger than `max_age` seconds."""
        now = time.time()
        alive = []
        for entry in os.scandir(self.folder):
            try:
                if now - entry.stat().st_mtime <= max_age:
                    alive.append(json.loads(Path(entry.path).read_bytes()))
            except (OSError, ValueError):
                continue  # gone or being replaced
        return alive
