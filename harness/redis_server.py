"""A real redis-server (Debian's) for a test or the benchmark: a free port, a temporary folder, the
append-only file fsynced on every write (the configuration the README asks of a farm), stopped at
the end."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from harness.farm import free_port


class RedisServer:
    def __init__(self, folder: Path, port: int | None = None):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is missing: scripts/system-packages installs it")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.log_path = folder / "redis.log"

    def start(self, timeout: float = 30) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--logfile", str(self.log_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        client.close()
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Killed outright (SIGKILL: no save on the way out), then started on the same port and folder."""
        self.stop(signal.SIGKILL)
        self.start()
