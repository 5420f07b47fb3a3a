"""The farm as users start it (scripts/run under supervisord), on a free port and a spool of its own,
with what the benchmark needs to look at: readiness, its processes, CPU time and resident memory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (its own threads; children are counted on their own)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def resident_mb(pid: int) -> float | None:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return pages * PAGE / 2**20


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def session_pids(sid: int) -> list[int]:
    """Every live process in a session (field 6 of /proc/<pid>/stat).

    The session, not the process group: supervisord puts each program in a process group of its own,
    and they all stay in the session that scripts/run was started in.
    """
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return sorted(pids)


def role(cmdline: str) -> str:
    """A short name for a farm process, from its command line."""
    if "supervisord" in cmdline:
        return "supervisord"
    if "gunicorn" in cmdline:
        return "gunicorn"
    if "workers.intake" in cmdline:
        return "intake"
    if "-m workers" in cmdline:
        return "ocr worker"
    return cmdline[:40]


class Farm:
    """One farm: `scripts/run` with OCRFARM_SPOOL, OCRFARM_PORT and the given OCRFARM_* settings."""

    def __init__(self, folder: Path, **settings):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.spool = folder / "spool"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "farm.log"
        self.settings = {f"OCRFARM_{key.upper()}": str(value) for key, value in settings.items()}
        self.env = {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(folder)),
            "LANG": "C.UTF-8",
            "OCRFARM_SPOOL": str(self.spool),
            "OCRFARM_PORT": str(self.port),
            **self.settings,
        }
        self.workers = int(settings.get("workers", os.cpu_count() or 1))
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 240) -> Farm:
        self._log = open(self.log_path, "ab")
        started = time.monotonic()
        self.process = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        while not self._ready():
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"the farm did not become ready within {timeout:g}s; see {self.log_path}")
            time.sleep(0.2)
        self.start_seconds = time.monotonic() - started
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"scripts/run exited with {self.process.returncode}; see {self.log_path}")
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                body = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
        if body.get("workers", 0) < self.workers:
            return False
        # The intake too: every program of the session up (supervisord, gunicorn master + web
        # processes, intake, workers).
        roles = [role(command_line(pid)) for pid in session_pids(self.process.pid)]
        return "intake" in roles and roles.count("ocr worker") >= self.workers

    def worker_pids(self) -> dict[str, int]:
        """Worker name -> pid, from the heartbeats (a recycled worker writes its new pid there)."""
        out = {}
        for path in sorted((self.spool / "heartbeats").glob("*")):
            try:
                out[path.name] = json.loads(path.read_bytes())["pid"]
            except (OSError, ValueError, KeyError):
                continue
        return out

    def pids(self) -> list[int]:
        return session_pids(self.process.pid)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM supervisord and wait; whatever is left of its session gets SIGKILL."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            for pid in session_pids(self.process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()
            if self._log:
                self._log.close()
            self.process = None

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def session_cpu(sid: int, seconds: float) -> dict:
    """CPU seconds each process of the farm's session used over a window of `seconds` (sampling window, not a wait)."""
    before = {pid: process_cpu_seconds(pid) for pid in session_pids(sid)}
    names = {pid: role(command_line(pid)) for pid in before}
    start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    used = {}
    for pid in sorted(set(before) | set(session_pids(sid))):
        now = process_cpu_seconds(pid)
        if now is None:
            continue
        names.setdefault(pid, role(command_line(pid)))
        used[pid] = now - (before.get(pid) or 0.0)
    return {"wall_s": wall, "per_process": [{"pid": pid, "role": names[pid], "cpu_s": round(cpu, 4)}
                                             for pid, cpu in used.items()],
            "cpu_s": sum(used.values())}


def cpu_snapshot(sid: int) -> dict[int, tuple[str, float]]:
    """pid -> (role, CPU seconds so far) for every process of the session."""
    out = {}
    for pid in session_pids(sid):
        cpu = process_cpu_seconds(pid)
        if cpu is not None:
            out[pid] = (role(command_line(pid)), cpu)
    return out


def cpu_by_role(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per role between two snapshots (processes that started meanwhile count in full;
    those that ended meanwhile are missed, so keep workers from recycling during a window)."""
    used: dict[str, float] = {}
    for pid, (name, cpu) in after.items():
        used[name] = used.get(name, 0.0) + cpu - (before.get(pid, (name, 0.0))[1])
    return {name: round(cpu, 3) for name, cpu in used.items()}
