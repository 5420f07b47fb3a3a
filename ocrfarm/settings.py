"""Settings: read from OCRFARM_* environment variables once, checked, then passed in.

Each setting is declared once, in SETTINGS below: its name, kind (type and bounds), default, which
programs read it and a line of help. Everything else is derived from those declarations: parsing and
its one-line errors, `Settings` attribute access, the per-request options' bounds (ocrfarm/options.py),
each command's `--help`, the exports scripts/run hands to supervisord, and the README's settings table
(`python -m ocrfarm.settings --markdown`, checked by tests/test_settings.py).

Nothing else in the project reads os.environ. A bad value stops start-up with one line that names the
variable and exit code 3 (`load_or_exit`, the one start every program uses).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from ocrfarm import kinds
from ocrfarm.exceptions import ConfigurationError

PREFIX = "OCRFARM_"
REPO_ROOT = Path(__file__).resolve().parent.parent
# A bad setting: the program prints one line and exits with this code. supervisord sees it fail
# within startsecs and marks the program FATAL instead of restarting it forever.
EXIT_BAD_SETTING = 3

# onnx: the farm's own pipeline over ONNX weights (workers/pipeline/); paddle: PaddleOCR 2.10's own
# pipeline, the reference (and the only one for Paddle-format weights); fake: for queue tests only.
ENGINES = ("onnx", "paddle", "fake")
MODEL_SETS = ("ppocrv3", "ppocrv4", "ppocrv6", "custom")

# The programs that read settings (`ocrfarm <program> --help` lists what each reads).
WEB, WORKER, INTAKE = "serve", "worker", "intake"
FARM = (WEB, WORKER, INTAKE)


def _default_spool() -> Path:
    # In a checkout (scripts/run cds there), spool/ beside the code; installed, the working directory's.
    root = REPO_ROOT if (REPO_ROOT / "scripts" / "run").exists() else Path.cwd()
    return root / "spool"


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str  # the attribute; the variable is OCRFARM_<NAME>, or OCRFARM_<env> when env is given
    kind: kinds.Kind
    default: object  # a value, or a callable that computes it when the settings are read
    help: str
    read_by: tuple[str, ...] = FARM
    env: str | None = None
    shown: str | None = None  # how the README shows a computed default
    secret: bool = False

    @property
    def variable(self) -> str:
        return PREFIX + (self.env or self.name.upper())

    def default_value(self):
        return self.default() if callable(self.default) else self.default

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "—"
        return self.kind.show(self.default)


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # Where jobs, results and the drop folder live. Keep it on a local disk: flock does not exclude
    # reliably across NFS clients.
    S(
        "spool",
        kinds.PATH,
        _default_spool,
        "the spool directory; keep it on a local disk",
        shown="`spool/` in the checkout",
    ),
    # Unset, the spool is the queue; set, the spool still holds this host's drop folder and metrics.
    S(
        "queue",
        kinds.RedisUrl(),
        None,
        'the shared queue of a farm on several hosts, `redis://host:port/db` ("Running on several hosts"); unset, the spool is the queue',
        shown="— (the spool)",
    ),
    # Running workers renew it every few seconds, so it only has to outlast a pause.
    S(
        "lease",
        kinds.Number(1, 86400),
        30.0,
        "Redis only: seconds after which a claimed job whose worker stopped renewing it is taken by another; shorter than `OCRFARM_JOB_TIMEOUT`",
        read_by=(WORKER,),
    ),
    S("host", kinds.TEXT, "127.0.0.1", "address the web front binds", read_by=(WEB,)),
    S("port", kinds.Integer(1, 65535), 8080, "port of the web front", read_by=(WEB,)),
    # One engine per process: PaddleOCR objects are not thread-safe (PaddleOCR #9056), so
    # parallelism comes from processes (supervisord numprocs).
    S(
        "workers",
        kinds.Integer(1, 256),
        lambda: os.cpu_count() or 1,
        "OCR worker processes",
        read_by=(),
        shown="number of cores",
    ),
    # 1 is fastest in all when workers == cores (7.4 img/s for 2x1 against 3.8 img/s for 2 workers
    # with every thread each, on 2 cores).
    S("threads", kinds.Integer(1, 256), 1, "inference threads per worker", read_by=(WORKER,)),
    # Unset: each model set runs on the engine for its weights (default_engine). Set: every loaded
    # set runs on it.
    S(
        "engine",
        kinds.Choice(ENGINES),
        None,
        "`onnx` (the farm's own pipeline; ONNX weights only) or `paddle` (PaddleOCR 2.10) for every loaded set, or `fake`, which answers with the image size instead of reading it: for testing the queue only",
        read_by=(WORKER,),
        shown="per set: `onnx` for ONNX weights, `paddle` for Paddle-format ones",
    ),
    # Each set is one more engine per worker; a request picks one with the `model` option.
    S(
        "model_sets",
        kinds.ModelSets(MODEL_SETS),
        ("ppocrv3",),
        "the model sets each worker loads, comma-separated, the first the default (`ppocrv3,ppocrv6`): `ppocrv3` and `ppocrv6` (PP-OCRv6 small; both ONNX), `ppocrv4` (Paddle Inference, paddlepaddle), `custom`; each at most once. A request picks one with the `model` option",
        env="MODELS",
    ),
    S(
        "det_model",
        kinds.PATH,
        None,
        "for `custom`: the detector, a `.onnx` file or a folder with `inference.pdmodel` and `inference.pdiparams`",
        read_by=(WORKER,),
    ),
    S(
        "rec_model",
        kinds.PATH,
        None,
        "for `custom`: the recogniser, as `OCRFARM_DET_MODEL`",
        read_by=(WORKER,),
    ),
    S(
        "cls_model",
        kinds.PATH,
        None,
        "for `custom`: the angle classifier, as `OCRFARM_DET_MODEL`",
        read_by=(WORKER,),
    ),
    S(
        "rec_dict",
        kinds.PATH,
        None,
        "character list of a custom recogniser",
        read_by=(WORKER,),
        shown="PaddleOCR's Chinese/English dictionary",
    ),
    S("angle_cls", kinds.BOOLEAN, True, "default of the `angle_cls` option (read upside-down text)"),
    # It bounds memory on huge scans (PaddleOCR #17955).
    S(
        "det_limit_side",
        kinds.Integer(32, 20000),
        960,
        "default of the `det_limit_side` option: the detector scales the longest side down to this",
    ),
    # PaddleOCR's own default.
    S(
        "min_confidence",
        kinds.Number(0, 1),
        0.5,
        "default of the `min_confidence` option: lines read with less confidence are left out",
    ),
    S("pdf_dpi", kinds.Integer(36, 1200), 200, "resolution PDF pages are rendered at"),
    # Issue 12: a born-digital page's own text is exact, and reading it takes no OCR.
    S(
        "force_ocr",
        kinds.BOOLEAN,
        False,
        "default of the `force_ocr` option: read PDF pages that already have text of their own too (by default their lines come from that text and they are not OCRed)",
    ),
    S(
        "pdfa",
        kinds.BOOLEAN,
        False,
        "searchable PDFs (`format=pdf`, `outbox/<name>.pdf`) as PDF/A-2b (OCRmyPDF's own PDF/A writer)",
        read_by=(WEB, WORKER),
    ),
    S(
        "outbox_pdf",
        kinds.BOOLEAN,
        True,
        "the drop folder also writes `outbox/<name>.pdf`, the searchable PDF, beside the `.json` and `.txt`",
        read_by=(WORKER,),
    ),
    S("max_pages", kinds.Integer(1, 100000), 100, "longest document accepted"),
    S("max_upload_mb", kinds.Number(0.001, 4096), 20.0, "largest upload", read_by=(WEB,)),
    # Refused before decoding: a small file can claim a huge canvas (decompression bomb).
    S("max_pixels", kinds.Integer(1, 2**31), 50_000_000, "largest page, in pixels"),
    S(
        "wait_timeout",
        kinds.Number(0, 3600),
        30.0,
        "seconds `POST /v1/ocr` waits before answering 202 with the job's URL",
        read_by=(WEB,),
    ),
    S(
        "max_queue",
        kinds.Integer(1, 10**7),
        1000,
        "queued jobs beyond which uploads get 503",
        read_by=(WEB, INTAKE),
    ),
    # Uploads are kept in Redis's memory with their job.
    S(
        "max_queue_mb",
        kinds.Number(1, 10**7),
        1024.0,
        "Redis only: megabytes of queued uploads beyond which uploads get 503",
        read_by=(WEB, INTAKE),
    ),
    # A waiting request is a greenlet (gevent); the cap keeps room below worker_connections for
    # health checks and the 202s.
    S(
        "max_waiting",
        kinds.Integer(0, 100000),
        400,
        "requests one web process lets wait for their result; past it `POST /v1/ocr` answers 202 with the job's URL at once",
        read_by=(WEB,),
    ),
    S(
        "api_token",
        kinds.TEXT,
        None,
        "when set, every API call needs `Authorization: Bearer <token>`; `/healthz`, `/readyz`, `/openapi.json` and the page stay open",
        read_by=(WEB,),
        secret=True,
    ),
    S(
        "quiet_period",
        kinds.Number(0, 3600),
        2.0,
        "seconds a dropped file must stay unchanged",
        read_by=(INTAKE,),
    ),
    S(
        "decode_grace",
        kinds.Number(0, 86400),
        30.0,
        "seconds a dropped file that does not look whole is waited for before it fails",
        read_by=(INTAKE,),
    ),
    # Catches events inotify missed.
    S(
        "rescan_interval",
        kinds.Number(0.1, 86400),
        30.0,
        "full rescans of the inbox when inotify is on",
        read_by=(INTAKE,),
    ),
    S("keep_originals", kinds.BOOLEAN, True, "move dropped originals to `done/` (or delete them)"),
    # The fallback wake-up when no inotify event arrives (network filesystems send none).
    S("poll_interval", kinds.Number(0.01, 3600), 1.0, "seconds between checks when no inotify event comes"),
    S("inotify", kinds.BOOLEAN, True, "wake on inotify events; `false` where the filesystem sends none"),
    S(
        "max_attempts",
        kinds.Integer(1, 100),
        3,
        "attempts (crashes, timeouts, engine errors) before a job fails",
    ),
    # Past it the worker exits and supervisord starts a fresh one.
    S(
        "job_timeout",
        kinds.Number(1, 86400),
        120.0,
        "seconds one page's OCR may take; past it the worker gives the job up and restarts",
        read_by=(WORKER,),
    ),
    # Long-running PaddleOCR processes grow (PaddleOCR #11639, #7823).
    S(
        "max_jobs",
        kinds.Integer(1, 10**9),
        1000,
        "a worker restarts after about this many jobs (±10 %)",
        read_by=(WORKER,),
    ),
    S(
        "max_memory_mb",
        kinds.Integer(64, 10**7),
        4096,
        "a worker restarts when its resident memory passes this",
        read_by=(WORKER,),
    ),
    S(
        "retention_days",
        kinds.Number(0.001, 36500),
        7.0,
        "results (and the uploads kept beside them) are deleted after this",
        read_by=FARM,
    ),
    # A writer that died mid-write leaves one.
    S(
        "tmp_max_age",
        kinds.Number(1, 10**7),
        3600.0,
        "stray temp files of unknown writers are deleted after this many seconds",
        read_by=(WORKER,),
    ),
    S("web_processes", kinds.Integer(1, 64), 2, "gunicorn processes", read_by=(WEB,)),
    # So tests can catch a job mid-run.
    S("fake_delay", kinds.Number(0, 3600), 0.0, "with the fake engine, seconds per page", read_by=(WORKER,)),
    S(
        "log_level",
        kinds.Choice(("debug", "info", "warning", "error")),
        "info",
        "`debug`, `info`, `warning` or `error`",
    ),
)
del S
DECLARED = {setting.name: setting for setting in SETTINGS}


class Settings:
    """The checked values, one attribute per declaration (settings.port, settings.spool, ...)."""

    def __init__(self, values: dict):
        unknown = set(values) - set(DECLARED) - {"engine_chosen"}
        if unknown:
            raise TypeError(f"no such settings: {', '.join(sorted(unknown))}")
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        raise AttributeError("settings are read once and not changed")

    def __eq__(self, other) -> bool:
        return isinstance(other, Settings) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted((key, repr(value)) for key, value in self._values.items())))

    def __repr__(self) -> str:
        shown = {
            k: ("(set)" if DECLARED.get(k) and DECLARED[k].secret and v else v)
            for k, v in self._values.items()
        }
        return f"Settings({shown})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Build settings from the environment, then apply `overrides` (tests use these). An override
        `models="ppocrv3,ppocrv6"` is read as OCRFARM_MODELS is."""
        env = os.environ if environ is None else environ
        if "models" in overrides:
            overrides["model_sets"] = _read(DECLARED["model_sets"], overrides.pop("models"))
        values = {}
        for setting in SETTINGS:
            raw = env.get(setting.variable)
            values[setting.name] = (
                _read(setting, raw) if raw is not None and raw.strip() else setting.default_value()
            )
        values.update(overrides)
        values["engine_chosen"] = values["engine"] is not None
        if values["engine"] is None:
            values["engine"] = default_engine(values["model_sets"][0], values["det_model"])
        settings = cls(values)
        settings._check()
        return settings

    def _check(self) -> None:
        """Rules that tie settings together; each alone was checked when it was read."""
        if self.queue is not None and self.lease >= self.job_timeout:
            raise ConfigurationError(
                f"{PREFIX}LEASE ({self.lease:g} s) must be shorter than {PREFIX}JOB_TIMEOUT "
                f"({self.job_timeout:g} s): a running job's lease is renewed while it runs"
            )
        paddle_format = [name for name in self.model_sets if weights_format(name, self.det_model) != "onnx"]
        if self.engine_chosen and self.engine == "onnx" and paddle_format:
            raise ConfigurationError(
                f"{PREFIX}ENGINE=onnx runs ONNX weights, and {paddle_format[0]} in {PREFIX}MODELS="
                f"{','.join(self.model_sets)} is in Paddle format: set {PREFIX}ENGINE=paddle (or leave it "
                f"unset), or leave {paddle_format[0]} out of {PREFIX}MODELS"
            )
        if "custom" in self.model_sets:
            for name in ("det_model", "rec_model"):
                if getattr(self, name) is None:
                    raise ConfigurationError(
                        f"{PREFIX}MODELS=custom needs {DECLARED[name].variable} (a model file or directory)"
                    )

    @property
    def models(self) -> str:
        """The default model set: what a job reads with unless its request picks another."""
        return self.model_sets[0]

    @property
    def heartbeat_max_age(self) -> float:
        """A worker whose heartbeat is older is taken for dead. Workers touch it every poll interval
        when idle and every 5 s while a job runs."""
        return max(15.0, 3 * self.poll_interval)

    @property
    def limits(self):
        from ocrfarm.documents import Limits

        return Limits(max_pixels=self.max_pixels, max_pages=self.max_pages, dpi=self.pdf_dpi)

    @property
    def option_defaults(self) -> dict:
        """What each per-request option is when a request does not set it."""
        return {
            "angle_cls": self.angle_cls,
            "det_limit_side": self.det_limit_side,
            "min_confidence": self.min_confidence,
            "force_ocr": self.force_ocr,
            "model": self.models,
        }

    @property
    def max_queue_bytes(self) -> int:
        return int(self.max_queue_mb * 1024 * 1024)

    @property
    def web_connections(self) -> int:
        """gunicorn's worker_connections: every waiting request, plus room for health checks and
        the 202s of requests past the waiting capacity."""
        return self.max_waiting + 100

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def stop_waits(self) -> dict[str, int]:
        """How long supervisord lets each program finish after its first TERM before it kills it
        (supervisord.conf's stopwaitsecs): a worker finishes its job (the job timeout, plus writing
        the result), the front answers the requests still waiting (the wait timeout, plus gunicorn's
        own grace)."""
        return {
            "WORKER": int(self.job_timeout) + 10,
            "WEB": int(self.wait_timeout) + 15,
            "INTAKE": 30,
        }

    def engine_for(self, model: str) -> str:
        """The engine that runs model set `model` in this farm."""
        return self.engine if self.engine_chosen else default_engine(model, self.det_model)

    def exports(self) -> dict[str, str]:
        """The resolved values as environment variables, for the programs supervisord starts."""
        out = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is None:
                continue
            if setting.name == "engine" and not self.engine_chosen:
                continue  # left to each model set, in the workers too
            out[setting.variable] = setting.kind.show(value)
        return out


def _read(setting: Setting, raw: str):
    try:
        return setting.kind.parse(raw.strip())
    except kinds.Invalid as exc:
        raise ConfigurationError(f"{setting.variable} must be {exc.want}, got {raw.strip()!r}") from None


def weights_format(models: str, det_model: Path | None) -> str:
    if models == "ppocrv4":
        return "paddle"
    if models == "custom":
        return "onnx" if det_model is not None and det_model.suffix == ".onnx" else "paddle"
    return "onnx"


def default_engine(model: str, det_model: Path | None) -> str:
    """The farm's own pipeline wherever it can run the weights (README, "The engine", has the
    figures); PaddleOCR for Paddle-format weights."""
    return "onnx" if weights_format(model, det_model) == "onnx" else "paddle"


def load_or_exit(program: str, environ: Mapping[str, str] | None = None) -> Settings:
    """The start of every program: the checked settings, or one line naming the bad one and exit 3."""
    try:
        return Settings.from_env(environ)
    except ConfigurationError as exc:
        print(f"ocrfarm{' ' + program if program else ''}: bad setting: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTING) from None


def describe(program: str) -> str:
    """The settings `program` reads, for its --help."""
    lines = [f"settings read by `ocrfarm {program}` (environment variables):"]
    for setting in SETTINGS:
        if program in setting.read_by:
            lines.append(
                f"  {setting.variable} (default {setting.shown_default().strip('`')}): {setting.help}"
            )
    return "\n".join(lines)


def markdown_table() -> str:
    """The README's settings table, from the declarations."""
    rows = ["| Variable | Default | What it does |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = setting.shown_default()
        if not default.startswith("`") and default != "—" and setting.shown is None:
            default = f"`{default}`"
        rows.append(f"| `{setting.variable}` | {default} | {setting.help} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    """Check the settings and print them; --shell: as `export` lines for scripts/run, with the stop
    waits supervisord.conf reads; --markdown: the README's table."""
    if "--markdown" in argv:
        print(markdown_table())
        return 0
    settings = load_or_exit("")
    exports = settings.exports()
    if "--shell" in argv:
        for key, value in exports.items():
            print(f"export {key}={shlex.quote(value)}")
        for program, seconds in settings.stop_waits.items():  # read by supervisord.conf only
            print(f"export OCRFARM_STOPWAIT_{program}={seconds}")
        return 0
    for setting in SETTINGS:
        if setting.variable in exports:
            value = exports[setting.variable]
            print(f"{setting.variable}={'(set)' if setting.secret else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
