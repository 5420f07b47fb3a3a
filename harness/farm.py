"""The farm as users start it (scripts/run under supervisord), on a free port and a spool of its own,
with what the benchmark needs to look at: readiness, its processes, CPU time and resident memory."""

from __future__ import annotations

import json
import os
import shlex
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
    if "ocrfarm intake" in cmdline or "workers.intake" in cmdline:
        return "intake"
    if "ocrfarm worker" in cmdline or "-m workers" in cmdline:
        return "ocr worker"
    return cmdline[:40]


class FarmProcess:
    """One farm: `scripts/run` with OCRFARM_SPOOL, OCRFARM_PORT and the given OCRFARM_* settings.

    The benchmark and the system tests both start the farm through this class, so both see it the
    way a user starts it.
    """

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
        self.process: subprocess.Popen | None = None
        self.strays: list[int] = []  # processes stop() had to kill after supervisord had gone
        self._log = None

    def start(self, timeout: float = 240) -> FarmProcess:
        """Start scripts/run and wait until every program runs and every worker has its model loaded."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - held open for the child process's lifetime
        started = time.monotonic()
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "run")],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while not self._ready():
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"the farm did not become ready within {timeout:g}s:\n{self.log_tail()}")
            time.sleep(0.2)
        self.start_seconds = time.monotonic() - started
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"scripts/run exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5):
                pass
        except (urllib.error.URLError, OSError):
            return False
        states = self.states()
        workers = [name for name in states if name.startswith("worker:")]
        return bool(workers) and all(state == "RUNNING" for state in states.values()) and self.workers_ready()

    def workers_ready(self) -> bool:
        """Every worker process has loaded its engine and written its heartbeat."""
        if "OCRFARM_QUEUE" in self.settings:
            # A shared queue keeps the heartbeats in Redis, with every host's: this farm's are
            # those of its own processes.
            return set(self.worker_pids().values()) >= set(self.ctl_worker_pids())
        beats = {p.name for p in (self.spool / "heartbeats").glob("*")}
        return all(name.split(":")[1] in beats for name in self.states() if name.startswith("worker:"))

    def ctl_worker_pids(self) -> list[int]:
        pids = []
        for line in self.ctl("status").splitlines():
            parts = line.split()
            if parts and parts[0].startswith("worker:") and "pid" in parts:
                pids.append(int(parts[parts.index("pid") + 1].rstrip(",")))
        return pids

    def ctl(self, *args: str) -> str:
        """supervisorctl on this farm's supervisord, e.g. ctl("restart", "web"); its output."""
        result = subprocess.run(
            ["supervisorctl", "--configuration", str(ROOT / "launcher" / "supervisord.conf"), *args],
            cwd=ROOT,
            env=self._ctl_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    def _ctl_env(self) -> dict:
        # supervisorctl reads the same config file, so it needs the values scripts/run exported.
        exports = subprocess.run(
            [sys.executable, "-m", "ocrfarm.settings", "--shell"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        values = (shlex.split(line.removeprefix("export "))[0] for line in exports.splitlines())
        # The include of supervisord.conf names a file by it (`ocrfarm run` sets it the same way).
        return {"OCRFARM_LOCAL_REDIS": "none", **dict(value.split("=", 1) for value in values), **self.env}

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

    def worker_pids(self) -> dict[str, int]:
        """Worker name -> pid, from the heartbeats (a recycled worker writes its new pid there)."""
        out = {}
        if "OCRFARM_QUEUE" in self.settings:
            import redis

            ours = set(self.pids())
            infos = redis.Redis.from_url(self.settings["OCRFARM_QUEUE"]).hvals("ocrfarm:workers")
            for info in map(json.loads, infos):
                if info.get("pid") in ours:
                    out[info["worker"]] = info["pid"]
            return out
        for path in sorted((self.spool / "heartbeats").glob("*")):
            try:
                out[path.name] = json.loads(path.read_bytes())["pid"]
            except (OSError, ValueError, KeyError):
                continue
        return out

    def pids(self) -> list[int]:
        return session_pids(self.process.pid)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 90) -> int | None:
        """SIGTERM supervisord and wait for it (its exit code); whatever is left gets SIGKILL."""
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
            # Anything still running in scripts/run's session, or with this farm's spool in its
            # environment (a process that left the session), is ours and must not outlive the farm.
            self.strays = sorted(set(session_pids(self.process.pid)) | set(self.leftovers()))
            for pid in self.strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()
            if self._log:
                self._log.close()

    def leftovers(self) -> list[int]:
        """Processes still running with this farm's OCRFARM_SPOOL in their environment."""
        marker = f"OCRFARM_SPOOL={self.spool}".encode()
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in Path(entry.path, "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def __enter__(self) -> FarmProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()  # a farm that failed to start may have started some of its programs
            raise

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
    return {
        "wall_s": wall,
        "per_process": [
            {"pid": pid, "role": names[pid], "cpu_s": round(cpu, 4)} for pid, cpu in used.items()
        ],
        "cpu_s": sum(used.values()),
    }


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
