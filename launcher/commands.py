"""The `ocrfarm` command (pyproject.toml's console script): one subcommand per program.

    ocrfarm run        the whole farm in the foreground under supervisord (scripts/run calls it)
    ocrfarm serve      the web front (gunicorn)                 } the programs supervisord.conf
    ocrfarm worker     one OCR worker                           } starts; each checks the settings
    ocrfarm intake     the drop folder's intake                 } it reads (see its --help)
    ocrfarm ocr        the command-line client (scripts/ocr)
    ocrfarm bench      the benchmark (scripts/bench; from a source checkout)
    ocrfarm settings   check the settings and print the values in force
    ocrfarm ctl        supervisorctl on the running farm (ocrfarm ctl status, ocrfarm ctl restart all)

This module sits above the three layers (ocrfarm/, server/, workers/, client/): it imports a program
only when that program is asked for, so `ocrfarm ocr` loads no engine and a worker loads no Flask.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ocrfarm.settings import WEB, describe, load_or_exit

SUPERVISORD_CONF = Path(__file__).resolve().parent / "supervisord.conf"
COMMANDS = {
    "run": "the whole farm in the foreground under supervisord: web front, intake, workers",
    "serve": "the web front (gunicorn with the Flask app)",
    "worker": "one OCR worker: claims jobs, runs the engine, writes results",
    "intake": "the drop folder's intake: queues files dropped into <spool>/inbox/",
    "ocr": "the command-line client: files and folders in, <name>.json and <name>.txt out",
    "bench": "the benchmark (from a source checkout)",
    "settings": "check the settings and print the values in force (--shell, --markdown)",
    "ctl": "supervisorctl on the running farm: ocrfarm ctl status, ocrfarm ctl restart worker:*",
}


def usage() -> str:
    lines = ["usage: ocrfarm <command> [options]   (ocrfarm <command> --help for each)", ""]
    lines += [f"  {name:<9} {what}" for name, what in COMMANDS.items()]
    return "\n".join(lines)


def supervisor_env(settings, local_redis: int | None = None) -> dict[str, str]:
    """What supervisord.conf reads: the checked settings and the stop waits derived from them, and
    whether it runs a redis-server of its own (on port `local_redis`)."""
    env = {**os.environ, **settings.exports()}
    env.update({f"OCRFARM_STOPWAIT_{name}": str(seconds) for name, seconds in settings.stop_waits.items()})
    env["OCRFARM_LOCAL_REDIS"] = "none" if local_redis is None else "redis"
    env["OCRFARM_REDIS_PORT"] = str(local_redis or 6379)
    return env


# `ocrfarm run --with-redis` without OCRFARM_QUEUE.
LOCAL_QUEUE = "redis://127.0.0.1:6379/0"


def local_redis_port(settings) -> int:
    """The port of the redis-server `--with-redis` runs: OCRFARM_QUEUE's, which must be this machine."""
    parts = urlsplit(settings.queue)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        print(
            f"ocrfarm run: --with-redis runs Redis on this machine, and OCRFARM_QUEUE={settings.queue} "
            "names another; unset it or give redis://127.0.0.1:<port>/<db>",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return parts.port or 6379


def ctl(argv: list[str]) -> int:
    settings = load_or_exit("")
    command = [
        sys.executable,
        "-m",
        "supervisor.supervisorctl",
        "--configuration",
        str(SUPERVISORD_CONF),
        *argv,
    ]
    os.execve(sys.executable, command, supervisor_env(settings))


def run_farm(argv: list[str]) -> int:
    """Start supervisord in the foreground with the settings checked and exported for its programs."""
    with_redis = argv == ["--with-redis"]
    if argv and not with_redis:
        print(
            "usage: ocrfarm run [--with-redis]\n\n"
            + COMMANDS["run"]
            + ".\n--with-redis also runs a redis-server of the farm's own (every write fsynced), on the "
            f"port of OCRFARM_QUEUE (default {LOCAL_QUEUE}), its files in <spool>/redis/: a one-box "
            "trial of the shared queue.\nEvery OCRFARM_* setting applies; `ocrfarm settings` "
            "shows them, and `ocrfarm serve|worker|intake --help` which each program reads.",
            file=sys.stderr if argv[0] not in ("-h", "--help") else sys.stdout,
        )
        return 0 if argv[0] in ("-h", "--help") else 2
    environ = {**os.environ}
    if with_redis:
        environ.setdefault("OCRFARM_QUEUE", LOCAL_QUEUE)
    settings = load_or_exit("", environ)
    local_redis = local_redis_port(settings) if with_redis else None
    if local_redis is not None:
        if shutil.which("redis-server") is None:
            print(
                "ocrfarm run: redis-server is missing (scripts/system-packages installs it)", file=sys.stderr
            )
            return 2
        (settings.spool / "redis").mkdir(parents=True, exist_ok=True)
    (settings.spool / "run").mkdir(parents=True, exist_ok=True)
    # Counters start from zero with each start of the farm (prometheus_client's multiprocess files).
    shutil.rmtree(settings.spool / "metrics", ignore_errors=True)
    env = supervisor_env(settings, local_redis)
    # supervisord's programs are `ocrfarm serve|worker|intake`, found beside this interpreter...
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # ...and, started from a checkout, they run that checkout's code.
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "scripts" / "run").exists():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), env.get("PYTHONPATH")]))
    print(
        f"ocrfarm: serving http://{settings.host}:{settings.port}/ with {settings.workers} workers, "
        f"spool {settings.spool}" + (f", queue {settings.queue}" if settings.queue else ""),
        flush=True,
    )
    supervisord = [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(SUPERVISORD_CONF)]
    os.execve(sys.executable, supervisord, env)


def serve(argv: list[str]) -> int:
    if argv:
        print(f"usage: ocrfarm serve\n\n{COMMANDS['serve']}.\n\n{describe(WEB)}")
        return 0 if argv[0] in ("-h", "--help") else 2
    load_or_exit(WEB)  # the same check gunicorn's config makes, before gunicorn is started
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", "python:server.gunicorn_conf"]
    os.execv(sys.executable, gunicorn)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "run":
        return run_farm(rest)
    if name == "serve":
        return serve(rest)
    if name == "worker":
        from workers.__main__ import run

        run(rest)
    if name == "intake":
        from workers.intake import main as intake

        return intake(rest)
    if name == "ocr":
        from client.cli import main as client

        return client(rest)
    if name == "bench":
        checkout = Path(__file__).resolve().parent.parent
        if (checkout / "bench" / "cli.py").exists() and str(checkout) not in sys.path:
            sys.path.insert(0, str(checkout))  # the benchmark is not installed; it lives in the checkout
        try:
            from bench.cli import main as bench
        except ImportError:
            print("ocrfarm bench: the benchmark runs from a source checkout (scripts/bench)", file=sys.stderr)
            return 2
        return bench(rest)
    if name == "ctl":
        return ctl(rest)
    if name == "settings":
        from ocrfarm.settings import main as settings

        return settings(rest)
    print(f"ocrfarm: no command {name!r}\n\n{usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
