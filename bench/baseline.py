"""The seeds' designs, rebuilt minimally so they can be measured beside the farm on the same images.

Two programs, each `python -m bench.baseline ...`:

- `per-request`: the original single-process Flask service (seed 000): one process, one request at
  a time, and a new PaddleOCR object built for every image. Engine threads: every core, as a lone
  PaddleOCR process gets by default.
- `handshake-front` and `handshake-worker`: the original file handshake (seed 002). The front writes
  the upload into in/ and sleep-polls every 10 ms for out/<name>.json. Each worker loops over in/
  without sleeping; under one shared lock file (flock) that lists the names taken so far, it takes the
  first name not listed and appends it; it runs OCR, writes the result, removes the image. The list is
  emptied when in/ is seen empty, as the seed did. The seed also waited 0.1 s after seeing a result
  before reading it (the result was written in place); here results are renamed into place, so that
  wait is left out and the design is measured at its best.

Both answer `POST /v1/ocr` (multipart field `file`) with JSON carrying `timings.ocr_s`, so the
benchmark's client measures them exactly as it measures the farm. They use the project's engine code
(build_engine, limit_native_threads) with the same model set.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import secrets
import sys
import time
from pathlib import Path

from bench import engine_use

POLL = 0.01  # the seed front's sleep between checks for the result file


def _engine(models: str, threads: int, build: bool = True):
    if build:
        return engine_use.load(models=models, threads=threads)
    from workers.__main__ import limit_native_threads

    limit_native_threads(threads)
    return engine_use.settings_only(models=models, threads=threads), None


def _lines_json(lines) -> list[dict]:
    return [line.to_json() for line in lines]


def serve_per_request(port: int, models: str, threads: int) -> None:
    from flask import Flask, jsonify, request
    from werkzeug.serving import make_server

    from workers.__main__ import build_engine

    settings, _ = _engine(models, threads, build=False)
    app = Flask("per_request")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/v1/ocr")
    def ocr():
        started = time.perf_counter()
        image = engine_use.decode(request.files["file"].read(), settings)
        decoded = time.perf_counter()
        engine = build_engine(settings)  # what seed 000 did on every request
        built = time.perf_counter()
        lines = engine_use.recognize(engine, image, settings)
        done = time.perf_counter()
        return jsonify(
            {
                "status": "done",
                "lines": _lines_json(lines),
                "timings": {"decode_s": decoded - started, "build_s": built - decoded, "ocr_s": done - built},
            }
        )

    # One request at a time in one process: the single-process service.
    make_server("127.0.0.1", port, app, threaded=False).serve_forever()


def serve_handshake_front(port: int, folder: Path) -> None:
    from flask import Flask, jsonify, request
    from werkzeug.serving import make_server

    inbox, outbox = folder / "in", folder / "out"
    app = Flask("handshake_front")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/v1/ocr")
    def ocr():
        name = secrets.token_hex(8)
        # Written beside, then renamed in: the seed wrote in place, and a worker that never sleeps
        # reads such a file half-written.
        staging = inbox / f".{name}.tmp"
        staging.write_bytes(request.files["file"].read())
        os.rename(staging, inbox / f"{name}.img")
        result = outbox / f"{name}.json"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            time.sleep(POLL)
            if result.exists():
                record = json.loads(result.read_bytes())
                result.unlink()
                return jsonify(record)
        return jsonify({"status": "failed", "error": "time out"}), 504

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def _take(folder: Path) -> str | None:
    """The seed's get_worklist(): under the shared lock file, the first name in in/ not yet listed."""
    inbox, lock_path = folder / "in", folder / "lock.txt"
    names = [name for name in os.listdir(inbox) if not name.startswith(".")]
    if not names:
        lock_path.unlink(missing_ok=True)
        return None
    with open(lock_path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            f.seek(0)
            taken = set(f.read().split("\n"))
            for name in sorted(os.listdir(inbox)):
                if name not in taken and not name.startswith("."):
                    f.write(name + "\n")
                    f.flush()
                    return name
            return None
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def handshake_worker(folder: Path, models: str, threads: int) -> None:
    settings, engine = _engine(models, threads)
    (folder / "ready").mkdir(exist_ok=True)
    (folder / "ready" / str(os.getpid())).touch()
    inbox, outbox = folder / "in", folder / "out"
    while True:
        name = _take(folder)
        if name is None:
            continue  # the seed's worker loop: no sleep
        path = inbox / name
        started = time.perf_counter()
        image = engine_use.decode(path.read_bytes(), settings)
        decoded = time.perf_counter()
        lines = engine_use.recognize(engine, image, settings)
        done = time.perf_counter()
        record = {
            "status": "done",
            "lines": _lines_json(lines),
            "timings": {"decode_s": decoded - started, "ocr_s": done - decoded},
        }
        tmp = outbox / f".{name}.tmp"
        tmp.write_bytes(json.dumps(record).encode())
        os.replace(tmp, outbox / f"{Path(name).stem}.json")
        path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.splitlines()[0])
    parser.add_argument("program", choices=("per-request", "handshake-front", "handshake-worker"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--models", default="ppocrv3")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.program == "per-request":
        serve_per_request(args.port, args.models, args.threads)
    elif args.program == "handshake-front":
        serve_handshake_front(args.port, args.folder)
    else:
        handshake_worker(args.folder, args.models, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
