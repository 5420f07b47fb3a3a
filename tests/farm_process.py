"""The whole farm as a user starts it (scripts/run: supervisord, gunicorn, workers), on a free port
and a temporary spool. The controller is shared with the benchmark (harness/farm.py), so tests and benchmark
start, watch and stop the farm the same way; this module adds what only tests look at."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness.farm import ROOT, FarmProcess, process_cpu_seconds

__all__ = ["ROOT", "FarmProcess", "alive", "measure_idle_cpu", "process_cpu_seconds"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def measure_idle_cpu(pids: list[int], seconds: float) -> dict[int, float]:
    before = {pid: process_cpu_seconds(pid) for pid in pids}
    time.sleep(seconds)  # a measurement window, not a wait for something to happen
    return {pid: process_cpu_seconds(pid) - before[pid] for pid in pids}
