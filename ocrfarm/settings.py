"""Settings: read from OCRFARM_* environment variables once, checked, then passed in.

Nothing else in the project reads os.environ. A bad value stops start-up with one line that names the
variable (`python -m ocrfarm.settings` runs the same check and prints the resolved values).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from ocrfarm.exceptions import ConfigurationError

PREFIX = "OCRFARM_"
REPO_ROOT = Path(__file__).resolve().parent.parent

# onnx: the farm's own pipeline over ONNX weights (workers/pipeline/); paddle: PaddleOCR 2.10's own
# pipeline, the reference (and the only one for Paddle-format weights); fake: for queue tests only.
ENGINES = ("onnx", "paddle", "fake")
MODEL_SETS = ("ppocrv3", "ppocrv4", "ppocrv6", "custom")


@dataclasses.dataclass(frozen=True)
class Settings:
    # Where jobs, results and the drop folder live. Keep it on a local disk: flock does not exclude
    # reliably across NFS clients.
    spool: Path = REPO_ROOT / "spool"
    host: str = "127.0.0.1"
    port: int = 8080
    # Worker processes (supervisord numprocs). One engine per process: PaddleOCR objects are not
    # thread-safe (PaddleOCR #9056), so parallelism comes from processes.
    workers: int = os.cpu_count() or 1
    # Inference threads per worker. 1 is fastest in all when workers == cores (7.4 img/s for 2x1
    # against 3.8 img/s for 2 workers with every thread each, on 2 cores).
    threads: int = 1
    # Unset: each model set runs on the engine for its weights, "onnx" for ONNX files and "paddle"
    # for Paddle-format ones (default_engine); `engine` then names the default set's. Set: every
    # loaded set runs on it.
    engine: str | None = None
    engine_chosen: bool = False
    # Every model set a worker loads (OCRFARM_MODELS, comma-separated); the first is the default, and
    # a request picks another with the `model` option. Each set is one more engine per worker.
    model_sets: tuple[str, ...] = ("ppocrv3",)
    det_model: Path | None = None
    rec_model: Path | None = None
    cls_model: Path | None = None
    rec_dict: Path | None = None
    angle_cls: bool = True
    # The detector scales the longest side down to this; it bounds memory on huge scans (#17955).
    # Per-request option det_limit_side overrides it.
    det_limit_side: int = 960
    # Lines read with less confidence are dropped (PaddleOCR's own default); option min_confidence.
    min_confidence: float = 0.5
    # PDF pages are rendered at this resolution; documents with more pages are refused.
    pdf_dpi: int = 200
    max_pages: int = 100
    # How long POST /v1/ocr waits for the result before answering 202 with the job's URL.
    wait_timeout: float = 30.0
    max_upload_mb: float = 20.0
    # Refused before decoding: a small file can claim a huge canvas (decompression bomb).
    max_pixels: int = 50_000_000
    # Fallback wake-up when no inotify event arrives (network filesystems send none).
    poll_interval: float = 1.0
    inotify: bool = True
    # Attempts (crashes, timeouts, engine errors) before a job is given up as failed.
    max_attempts: int = 3
    # An OCR call running longer is abandoned: the worker exits and supervisord starts a fresh one.
    job_timeout: float = 120.0
    # Workers exit after about this many jobs (+-10 % jitter) or past this resident memory, and
    # supervisord starts fresh ones: long-running PaddleOCR processes grow (PaddleOCR #11639, #7823).
    max_jobs: int = 1000
    max_memory_mb: int = 4096
    # Drop folder: a file is taken after this many seconds without a change in size or mtime...
    quiet_period: float = 2.0
    # ...and once it looks like a whole image; one that does not is queued anyway after this many
    # seconds without change, and fails with the reason.
    decode_grace: float = 30.0
    # With inotify, a full rescan of the inbox this often catches events that were missed.
    rescan_interval: float = 30.0
    # Dropped originals go to done/ after their job; false deletes them.
    keep_originals: bool = True
    # Uploads get 503 with Retry-After while more jobs than this are waiting or running.
    max_queue: int = 1000
    # Final records (results, failed jobs) are deleted after this many days; stray temp files after
    # an hour (a writer that died mid-write).
    retention_days: float = 7.0
    tmp_max_age: float = 3600.0
    # Only for OCRFARM_ENGINE=fake: seconds each image takes, so tests can catch a job mid-run.
    fake_delay: float = 0.0
    # When set, every API call needs "Authorization: Bearer <token>"; health checks stay open.
    api_token: str | None = None
    web_processes: int = 2
    # Each waiting request holds one thread for up to wait_timeout.
    web_threads: int = 16
    log_level: str = "info"

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
            "model": self.models,
        }

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Build settings from the environment, then apply `overrides` (tests use these). An override
        `models="ppocrv3,ppocrv6"` is read as OCRFARM_MODELS is."""
        env = os.environ if environ is None else environ
        read = _Reader(env)
        if "models" in overrides:
            overrides["model_sets"] = _Reader({PREFIX + "MODELS": overrides.pop("models")}).model_sets(
                "MODELS", ()
            )
        values = dict(
            spool=read.path("SPOOL", cls.spool),
            host=read.text("HOST", cls.host),
            port=read.integer("PORT", cls.port, 1, 65535),
            workers=read.integer("WORKERS", cls.workers, 1, 256),
            threads=read.integer("THREADS", cls.threads, 1, 256),
            engine=read.choice("ENGINE", None, ENGINES),
            model_sets=read.model_sets("MODELS", cls.model_sets),
            det_model=read.path("DET_MODEL", None),
            rec_model=read.path("REC_MODEL", None),
            cls_model=read.path("CLS_MODEL", None),
            rec_dict=read.path("REC_DICT", None),
            angle_cls=read.boolean("ANGLE_CLS", cls.angle_cls),
            det_limit_side=read.integer("DET_LIMIT_SIDE", cls.det_limit_side, 32, 20000),
            min_confidence=read.number("MIN_CONFIDENCE", cls.min_confidence, 0, 1),
            pdf_dpi=read.integer("PDF_DPI", cls.pdf_dpi, 36, 1200),
            max_pages=read.integer("MAX_PAGES", cls.max_pages, 1, 100000),
            wait_timeout=read.number("WAIT_TIMEOUT", cls.wait_timeout, 0, 3600),
            max_upload_mb=read.number("MAX_UPLOAD_MB", cls.max_upload_mb, 0.001, 4096),
            max_pixels=read.integer("MAX_PIXELS", cls.max_pixels, 1, 2**31),
            poll_interval=read.number("POLL_INTERVAL", cls.poll_interval, 0.01, 3600),
            inotify=read.boolean("INOTIFY", cls.inotify),
            max_attempts=read.integer("MAX_ATTEMPTS", cls.max_attempts, 1, 100),
            job_timeout=read.number("JOB_TIMEOUT", cls.job_timeout, 1, 86400),
            max_jobs=read.integer("MAX_JOBS", cls.max_jobs, 1, 10**9),
            max_memory_mb=read.integer("MAX_MEMORY_MB", cls.max_memory_mb, 64, 10**7),
            quiet_period=read.number("QUIET_PERIOD", cls.quiet_period, 0, 3600),
            decode_grace=read.number("DECODE_GRACE", cls.decode_grace, 0, 86400),
            rescan_interval=read.number("RESCAN_INTERVAL", cls.rescan_interval, 0.1, 86400),
            keep_originals=read.boolean("KEEP_ORIGINALS", cls.keep_originals),
            max_queue=read.integer("MAX_QUEUE", cls.max_queue, 1, 10**7),
            retention_days=read.number("RETENTION_DAYS", cls.retention_days, 0.001, 36500),
            tmp_max_age=read.number("TMP_MAX_AGE", cls.tmp_max_age, 1, 10**7),
            fake_delay=read.number("FAKE_DELAY", cls.fake_delay, 0, 3600),
            api_token=read.text("API_TOKEN", None),
            web_processes=read.integer("WEB_PROCESSES", cls.web_processes, 1, 64),
            web_threads=read.integer("WEB_THREADS", cls.web_threads, 1, 1000),
            log_level=read.choice("LOG_LEVEL", cls.log_level, ("debug", "info", "warning", "error")),
        )
        values.update(overrides)
        values["engine_chosen"] = values["engine"] is not None
        if values["engine"] is None:
            values["engine"] = default_engine(values["model_sets"][0], values["det_model"])
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        paddle_format = [name for name in self.model_sets if weights_format(name, self.det_model) != "onnx"]
        if self.engine_chosen and self.engine == "onnx" and paddle_format:
            raise ConfigurationError(
                f"{PREFIX}ENGINE=onnx runs ONNX weights, and {paddle_format[0]} in {PREFIX}MODELS="
                f"{','.join(self.model_sets)} is in Paddle format: set {PREFIX}ENGINE=paddle (or leave it "
                f"unset), or leave {paddle_format[0]} out of {PREFIX}MODELS"
            )
        if "custom" in self.model_sets:
            for field in ("det_model", "rec_model"):
                if getattr(self, field) is None:
                    raise ConfigurationError(
                        f"{PREFIX}MODELS=custom needs {PREFIX}{field.upper()} (a model file or directory)"
                    )

    def engine_for(self, model: str) -> str:
        """The engine that runs model set `model` in this farm."""
        return self.engine if self.engine_chosen else default_engine(model, self.det_model)

    def exports(self) -> dict[str, str]:
        """The resolved values as environment variables, for supervisord.conf's %(ENV_...)s."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None or field.name == "engine_chosen":
                continue
            if field.name == "engine" and not self.engine_chosen:
                continue  # left to each model set, in the workers too
            if isinstance(value, bool):
                value = "true" if value else "false"
            if field.name == "model_sets":  # read back from OCRFARM_MODELS, as it was given
                out[PREFIX + "MODELS"] = ",".join(value)
                continue
            out[PREFIX + field.name.upper()] = str(value)
        return out


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


class _Reader:
    """Reads one OCRFARM_* variable at a time and says exactly what is wrong with a bad one."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def _raw(self, name: str) -> str | None:
        value = self.env.get(PREFIX + name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def _bad(self, name: str, want: str, got: str) -> ConfigurationError:
        return ConfigurationError(f"{PREFIX}{name} must be {want}, got {got!r}")

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def path(self, name: str, default: Path | None) -> Path | None:
        raw = self._raw(name)
        if raw is None:
            return default
        return Path(raw).expanduser().resolve()

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise self._bad(name, f"a whole number from {low} to {high}", raw) from None
        if not low <= value <= high:
            raise self._bad(name, f"a whole number from {low} to {high}", raw)
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self._bad(name, f"a number from {low:g} to {high:g}", raw) from None
        if not low <= value <= high:
            raise self._bad(name, f"a number from {low:g} to {high:g}", raw)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise self._bad(name, "true or false", raw)

    def model_sets(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """Comma-separated model set names, each known and each once."""
        raw = self._raw(name)
        if raw is None:
            return default
        names = tuple(part.strip().lower() for part in raw.split(","))
        want = "one or more of " + ", ".join(MODEL_SETS) + ", comma-separated"
        for model in names:
            if model not in MODEL_SETS:
                raise self._bad(name, want, raw)
        for model in names:
            if names.count(model) > 1:
                why = (
                    f" (there is one custom set: the files {PREFIX}DET_MODEL and the others name)"
                    if model == "custom"
                    else ""
                )
                raise self._bad(name, f"{want}, each at most once{why}", raw)
        return names

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() not in choices:
            raise self._bad(name, "one of " + ", ".join(choices), raw)
        return raw.lower()


def main(argv: list[str]) -> int:
    """Check the settings; with --shell, print them as `export` lines for scripts/run."""
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"ocrfarm: bad setting: {exc}", file=sys.stderr)
        return 2
    for key, value in settings.exports().items():
        if "--shell" in argv:
            print(f"export {key}={shlex.quote(value)}")
        else:
            print(f"{key}={'(set)' if key == PREFIX + 'API_TOKEN' else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
