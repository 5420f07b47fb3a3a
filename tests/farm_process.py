"""The whole farm as a user starts it (scripts/run: supervisord, gunicorn, workers), on a free port
and a temporary spool, with helpers to look at and stop its processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.helpers import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = str(Path(sys.executable).parent)


class FarmProcess:
    def __init__(self, tmp_path: Path, **settings: str):
        self.spool = tmp_path / "spool"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "farm.log"
        self.env = {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "LANG": "C.UTF-8",
            "OCRFARM_SPOOL": str(self.spool),
            "OCRFARM_PORT": str(self.port),
            **{f"OCRFARM_{key.upper()}": str(value) for key, value in settings.items()},
        }
        self.process: subprocess.Popen | None = None
        self.strays: list[int] = []  # processes stop() had to kill after supervisord had gone

    def start(self, timeout: float = 180) -> FarmProcess:
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._ready, timeout=timeout, interval=0.2, message="the farm to start (see farm.log)")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"scripts/run exited with {self.process.returncode}:\n{self.log_text()}")
        try:
            requests.get(self.url + "/healthz", timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            return False
        states = self.states()
        workers = [name for name in states if name.startswith("worker:")]
        return bool(workers) and all(state == "RUNNING" for state in states.values()) and self.workers_ready()

    def workers_ready(self) -> bool:
        """Every worker process has loaded its engine and written its heartbeat."""
        beats = {p.name for p in (self.spool / "heartbeats").glob("*")}
        return all(name.split(":")[1] in beats for name in self.states() if name.startswith("worker:"))

    def ctl(self, *args: str) -> str:
        result = subprocess.run(["supervisorctl", "--configuration", str(ROOT / "supervisord.conf"), *args],
                                cwd=ROOT, env=self._ctl_env(), capture_output=True, text=True, timeout=60)
        return result.stdout

    def _ctl_env(self) -> dict:
        # supervisorctl reads the same config file, so it needs the values scripts/run exported.
        exports = subprocess.run([sys.executable, "-m", "ocrfarm.settings"], cwd=ROOT, env=self.env,
                                 capture_output=True, text=True, check=True).stdout
        return {**dict(line.split("=", 1) for line in exports.splitlines()), **self.env}

    def states(self) -> dict[str, str]:
        """Program name -> supervisord state, e.g. {"web": "RUNNING", "worker:worker-01": "RUNNING"}."""
        out = {}
        for line in self.ctl("status").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                out[parts[0]] = parts[1]
        return out

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 90) -> int | None:
        """SIGTERM supervisord and wait for it; whatever is left of the group gets SIGKILL."""
        if self.process is None:
            return None
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
            return self.process.returncode
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            # supervisord puts each program in a process group of its own; anything still running
            # with this farm's spool in its environment is ours and must not outlive the test.
            self.strays = self.leftovers()
            for pid in self.strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.log.close()

    def leftovers(self) -> list[int]:
        """Processes still running with this farm's OCRFARM_SPOOL in their environment."""
        marker = f"OCRFARM_SPOOL={self.spool}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
