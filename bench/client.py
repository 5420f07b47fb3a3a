"""A lean HTTP client for the farm: keep-alive connections, multipart bodies built once per image.

Lean because it shares the machine's cores with the farm it measures; `requests` would cost the
client several times the CPU per call. The benchmark reports the client's own CPU time beside it.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

BOUNDARY = "ocrfarmbenchboundary7d3a9"


def multipart(filename: str, data: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


@dataclasses.dataclass
class Reply:
    index: int
    name: str
    status: int
    sent: float  # time.monotonic() when the request started
    latency: float  # seconds until the whole answer was read
    body: dict

    @property
    def ocr_s(self) -> float | None:
        return (self.body.get("timings") or {}).get("ocr_s")

    @property
    def worker(self) -> str | None:
        return self.body.get("worker")


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, url: str, timeout: float = 300):
        parts = urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"} if body is not None else {}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed meanwhile: one fresh try.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def post_image(conn: Connection, path: str, index: int, name: str, body: bytes) -> Reply:
    sent = time.monotonic()
    status, data = conn.request("POST", path, body)
    latency = time.monotonic() - sent
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = {"raw": data[:200].decode(errors="replace")}
    return Reply(index, name, status, sent, latency, parsed if isinstance(parsed, dict) else {"list": parsed})


def run_load(url: str, path: str, jobs: list[tuple[str, bytes]], concurrency: int) -> dict:
    """Send every job (name, multipart body) with `concurrency` clients at once, each taking the next one.

    Returns the replies, the wall time from the first send to the last answer, and the client's CPU.
    """
    lock = threading.Lock()
    cursor = iter(range(len(jobs)))
    replies: list[Reply] = []
    errors: list[str] = []

    def client() -> None:
        conn = Connection(url)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                name, body = jobs[index]
                try:
                    reply = post_image(conn, path, index, name, body)
                except OSError as exc:
                    with lock:
                        errors.append(f"{name}: {exc}")
                    conn.close()
                    continue
                with lock:
                    replies.append(reply)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(concurrency)]
    cpu, start = time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - start
    return {
        "replies": sorted(replies, key=lambda r: r.index),
        "wall_s": wall,
        "client_cpu_s": time.process_time() - cpu,
        "errors": errors,
    }
