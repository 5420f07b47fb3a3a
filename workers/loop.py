"""The worker loop: claim a job, run the engine on it, write its result; sleep when there is none.

The engine runs in a thread of its own while the main thread waits on it with a deadline. That keeps
the main thread free to notice signals and to give up on an OCR call that hangs: a stuck native call
cannot be interrupted, so the worker records the timeout, lets the job go and exits, and supervisord
starts a fresh process.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from ocrfarm import documents, layout, searchable
from ocrfarm.exceptions import ImageError, LeaseLost
from ocrfarm.idcard.fields import NotAnIdCard
from ocrfarm.idcard.reading import card_in, read_card
from ocrfarm.jobs import SOURCE_INBOX
from ocrfarm.options import IDCARD, KIND
from ocrfarm.queue import Claim, JobQueue
from ocrfarm.settings import Settings
from ocrfarm.trouble import TroubleWait, farm_trouble
from workers.engine import Engine, Reading
from workers.stopping import StopFlag

log = logging.getLogger(__name__)

EXIT_OK = 0
# Bad settings or missing weights: retrying will not help (supervisord gives up after startretries).
EXIT_BOOT_ERROR = 3
# An OCR call hung past the job timeout; the process cannot free itself of it, so it leaves.
EXIT_STUCK = 4

# Also how often a running job's lease is renewed, or three times per lease if that is shorter.
HEARTBEAT_EVERY = 5.0
# Housekeeping (old results, stray temp files) runs when a worker is idle, at most this often.
SWEEP_EVERY = 600.0


class EngineStuck(Exception):
    """The engine did not answer within the job timeout."""


class EngineThread:
    """Runs every engine call on one long-lived daemon thread (one thread per engine, always)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.requests: queue.Queue = queue.Queue()
        threading.Thread(target=self._serve, name="engine", daemon=True).start()

    def _serve(self) -> None:
        while True:
            image, options, future = self.requests.get()
            try:
                future.set_result(self.engine.read(image, **options))
            except BaseException as exc:  # handed to the waiting main thread, which decides
                future.set_exception(exc)

    def read(
        self, image: np.ndarray, timeout: float, on_wait, every: float = HEARTBEAT_EVERY, **options
    ) -> Reading:
        """The engine's answer; calls `on_wait()` every `every` seconds while waiting; EngineStuck at
        the deadline."""
        future: Future = Future()
        self.requests.put((image, options, future))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EngineStuck(f"the OCR call ran past the job timeout of {timeout:g} s")
            try:
                return future.result(timeout=min(remaining, every))
            except FutureTimeout:
                on_wait()


class Worker:
    def __init__(
        self, queue: JobQueue, engines: Engine | Mapping[str, Engine], settings: Settings, name: str
    ):
        """`engines`: one per loaded model set, by name; a lone engine is the default set's."""
        self.queue = queue
        self.engines = dict(engines) if isinstance(engines, Mapping) else {settings.models: engines}
        self.engine = self.engines[settings.models]
        # A thread per engine: each engine is only ever called from its own thread.
        self.engine_threads = {model: EngineThread(engine) for model, engine in self.engines.items()}
        self.settings = settings
        self.name = name
        self.stopping = StopFlag()
        self.jobs_done = 0
        self.last_sweep = float("-inf")
        # Jitter, so that workers started together do not all recycle together.
        self.max_jobs = max(1, round(settings.max_jobs * random.uniform(0.9, 1.1)))
        self.watch = queue.watch_work(extra_fds=(self.stopping.wake_fd,))
        self.info = {
            "worker": name,
            "pid": os.getpid(),
            "started": time.time(),
            **self.engine.describe(),
            "model_sets": list(self.engines),
        }
        self.announced = False  # the heartbeat holds this process's info
        # A full disk or an unreachable queue: waited out, never counted against a job.
        self.trouble = TroubleWait(log, f"worker {name}", sleep=self._sleep_beating)

    @property
    def renew_every(self) -> float:
        """How often a running job's heartbeat and lease are renewed: three times per lease at least."""
        return min(HEARTBEAT_EVERY, self.settings.lease / 3)

    def install_signal_handlers(self) -> None:
        self.stopping.install()

    def stop(self) -> None:
        """Ask the loop to leave after the current job (for code that embeds the worker)."""
        self.stopping.request()

    # ---- the loop ------------------------------------------------------------------------------

    def work(self, burst: bool = False) -> int:
        """Loop until asked to stop or due for recycling; with `burst`, also when the queue is empty."""
        self.beat()
        log.info(
            "worker %s ready (%s; model sets %s), waking by %s, polling every %gs",
            self.name,
            self.engine.name,
            ", ".join(self.engines),
            self.watch.mode,
            self.settings.poll_interval,
        )
        exit_code = EXIT_OK
        try:
            while True:
                if self.stopping.requested:
                    log.info("worker %s stopping on request after %d jobs", self.name, self.jobs_done)
                    break
                try:
                    claim = self.queue.claim(self.name)
                except Exception as exc:
                    self.trouble.wait(exc, "no job can be started")
                    continue
                self.trouble.clear()  # the claim went through: the disk has room, the queue answers
                if claim is None:
                    if burst:
                        log.info("worker %s leaving: queue empty (burst mode)", self.name)
                        break
                    self.sweep_if_due()
                    self.watch.wait(self.settings.poll_interval)
                    self.beat()
                    continue
                if not self.run(claim):
                    log.error(
                        "worker %s exiting: an OCR call is stuck; a fresh process will take over", self.name
                    )
                    exit_code = EXIT_STUCK
                    break
                self.beat()
                reason = self.recycle_reason()
                if reason:
                    log.info("worker %s recycling after %s", self.name, reason)
                    break
        finally:
            self.teardown()
        return exit_code

    def run(self, claim: Claim) -> bool:
        """Run one job to its end. False only when the engine is stuck and the process must go."""
        job = claim.job
        started = time.monotonic()
        options = {**self.settings.option_defaults, **job.options}
        engine_thread = self.engine_threads.get(options["model"])
        if engine_thread is None:
            # Queued before a restart with other OCRFARM_MODELS: no worker of this farm can read it.
            return self.refuse(
                claim,
                "bad_option",
                f"model {options['model']!r} is not loaded; this farm has " + ", ".join(self.engines),
            )
        try:
            data = claim.read_input()
            limits, password = self.settings.limits, options.get("password")
            info = documents.inspect(data, limits, password)
            # Pages that already have text keep it (issue 12): their lines are read from the PDF.
            layers = (
                documents.text_layers(data, limits, password)
                if info.format == "PDF" and not options["force_ocr"]
                else [None] * info.pages
            )
            total = info.pages
            if total > 1:
                claim.progress(0, total)
            pages, ocr_s, cards, not_cards = [], 0.0, [], []

            def recognize(picture):
                lines = engine_thread.read(
                    picture,
                    self.settings.job_timeout,
                    on_wait=lambda: self.keep(claim),
                    every=self.renew_every,
                    angle_cls=options["angle_cls"],
                    det_limit_side=options["det_limit_side"],
                ).lines
                return [line.to_json() for line in lines if line.confidence >= options["min_confidence"]]

            for number, image in enumerate(documents.pages(data, limits, info, password), start=1):
                height, width = image.shape[:2]
                kept = layers[number - 1]
                source = "text_layer"
                card = None
                if kept is None:
                    source = "ocr"
                    ocr_started = time.monotonic()
                    if options.get(KIND) == IDCARD:
                        # The card's fields are found where its lines are read, so that every way
                        # in (POST /v1/idcard, /v1/jobs, inbox/idcard/) answers the same.
                        kept, card = read_card(image, recognize)
                        page = {"rotation": 0, **layout.arrange(kept, width, height)}
                    else:
                        reading = engine_thread.read(
                            image,
                            self.settings.job_timeout,
                            on_wait=lambda: self.keep(claim),
                            every=self.renew_every,
                            angle_cls=options["angle_cls"],
                            det_limit_side=options["det_limit_side"],
                        )
                        page = page_of(reading, width, height, options)
                    ocr_s += time.monotonic() - ocr_started
                else:
                    if options.get(KIND) == IDCARD:
                        card = card_in(kept, width, height)
                    # A PDF's own text layer: its lines get the same reading order and blocks.
                    page = {"rotation": 0, **layout.arrange(kept, width, height)}
                if isinstance(card, NotAnIdCard):
                    not_cards.append(card)
                elif card is not None:
                    cards.append({"page": number, **card})
                pages.append(
                    {
                        "page": number,
                        "width": width,
                        "height": height,
                        **page,
                        "source": source,
                    }
                )
                if total > 1:
                    claim.progress(number, total)
            result = {
                "pages": pages,
                # The whole document at the top: every line (with its page) and the text, pages
                # separated by a blank line. For one image this is that image's result.
                "lines": [{**line, "page": page["page"]} for page in pages for line in page["lines"]],
                "blocks": [{**block, "page": page["page"]} for page in pages for block in page["blocks"]],
                "text": "\n\n".join(page["text"] for page in pages),
                "image": {
                    "width": pages[0]["width"],
                    "height": pages[0]["height"],
                    "rotation": pages[0]["rotation"],
                },
                "text_layer_pages": [page["page"] for page in pages if page["source"] == "text_layer"],
                "options": options,
                "timings": {
                    "queued_s": round(claim.started - job.submitted, 4),
                    "decode_s": round(time.monotonic() - started - ocr_s, 4),
                    "ocr_s": round(ocr_s, 4),
                },
                "worker": self.name,
            }
            if options.get(KIND) == IDCARD:
                if not cards:
                    # No page shows a card: the reason names the fields the first page lacked.
                    return self.refuse(claim, "not_an_id_card", str(not_cards[0]), options)
                result["cards"] = cards
            attachments = self.attachments(claim, data, result)
        except ImageError as exc:
            return self.refuse(claim, exc.code, exc.message)
        except EngineStuck as exc:
            self.let_go(claim, f"timeout: {exc}")
            log.error("job %s attempt %d: %s", job.id, claim.attempt, exc)
            return False
        except LeaseLost as exc:
            log.error("job %s attempt %d abandoned: %s", job.id, claim.attempt, exc)
            return True
        except Exception as exc:  # the loop's boundary: one job's failure must not stop the worker
            log.exception(
                "job %s attempt %d failed; it will be retried up to %d attempts in all",
                job.id,
                claim.attempt,
                self.settings.max_attempts,
            )
            self.let_go(claim, f"{type(exc).__name__}: {exc}")
            return True
        if not self.write_out(claim, lambda: claim.finish(result, attachments)):
            return True
        self.jobs_done += 1
        log.info(
            # Counts and timings only: never a line's text or a card's field (personal data, issue 14).
            "job %s done source=%s size=%d model=%s kind=%s pages=%d queued=%.3fs ocr=%.3fs total=%.3fs lines=%d attempt=%d",
            job.id,
            job.source,
            job.size,
            options["model"],
            options.get(KIND, "ocr"),
            len(pages),
            claim.started - job.submitted,
            ocr_s,
            time.monotonic() - started,
            sum(len(p["lines"]) for p in pages),
            claim.attempt,
        )
        return True

    def attachments(self, claim: Claim, data: bytes, result: dict) -> dict[str, bytes]:
        """What the drop folder delivers beside the result: the searchable PDF (outbox/<name>.pdf),
        assembled by OCRmyPDF from this result, so no page is read twice. A PDF that cannot be made
        does not cost the result: the result says why and the .json and .txt are delivered."""
        job = claim.job
        if job.source != SOURCE_INBOX or not self.settings.outbox_pdf:
            return {}
        started = time.monotonic()
        try:
            pdf = self.beating(
                lambda: searchable.make_pdf(data, result, self.settings.limits, pdfa=self.settings.pdfa),
                claim,
            )
        except (searchable.PdfError, ImageError) as exc:
            log.warning("job %s: no searchable PDF: %s", job.id, exc)
            result.setdefault("warnings", []).append(f"no searchable PDF: {exc}")
            return {}
        result["timings"]["pdf_s"] = round(time.monotonic() - started, 4)
        return {"pdf": pdf}

    def beating(self, work, claim: Claim):
        """work()'s answer, run on a thread of its own while this one keeps the heartbeat and the
        claim's lease going (a long document's PDF takes a while, and the worker must not look dead
        meanwhile)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf") as pool:
            future = pool.submit(work)
            while True:
                try:
                    return future.result(timeout=self.renew_every)
                except FutureTimeout:
                    self.keep(claim)

    def refuse(self, claim: Claim, code: str, message: str, options: dict | None = None) -> bool:
        """Fail the job at once with its reason: no attempt would fare better."""
        job = claim.job
        if self.write_out(claim, lambda: claim.fail(code, message, options)):
            log.info(
                "job %s failed source=%s size=%d reason=%s: %s", job.id, job.source, job.size, code, message
            )
        return True

    def write_out(self, claim: Claim, write) -> bool:
        """Call write() (the job's result or failure record) until it goes through; True when it
        has. While the disk is full or the queue unreachable, the worker keeps the record in memory
        and waits, so that no OCR work is thrown away and no attempt of the job is spent on the
        farm's trouble. Any other failure to write ends the attempt (counted, retried); so does a
        stop request that comes while waiting; a lost lease drops the record (another worker has
        the job). False in all three cases."""
        while True:
            try:
                write()
            except LeaseLost as exc:
                log.error("job %s attempt %d: its result is refused: %s", claim.job.id, claim.attempt, exc)
                return False
            except Exception as exc:
                if farm_trouble(exc) and not self.stopping.requested:
                    self.trouble.wait(exc, f"job {claim.job.id} is done and waits to be written")
                    continue
                log.error(
                    "job %s attempt %d: its record could not be written (%s); it will be run again",
                    claim.job.id,
                    claim.attempt,
                    exc,
                )
                self.let_go(claim, f"{type(exc).__name__}: {exc}")
                return False
            self.trouble.clear()
            return True

    def let_go(self, claim: Claim, reason: str) -> None:
        """End this attempt (it counts) so that the job is queued again. With the queue unreachable
        the job is let go all the same: its lease runs out and another worker takes it."""
        try:
            claim.retry(reason)
        except LeaseLost:
            pass  # another worker has the job already
        except Exception as exc:
            if not self.trouble.note(exc, f"job {claim.job.id} is let go"):
                raise

    def keep(self, claim: Claim) -> None:
        """While the engine runs: beat, and renew the job's lease (LeaseLost ends the job here)."""
        self.beat()
        try:
            claim.renew()
        except LeaseLost:
            raise  # the attempt is over: run() drops it
        except Exception as exc:
            # The queue is away for a moment: the lease outlasts a few missed renewals.
            self.trouble.note(exc, f"job {claim.job.id}'s lease not renewed")

    def _sleep_beating(self, seconds: float) -> None:
        self.stopping.sleep(seconds)
        self.beat()

    def beat(self) -> None:
        """Tell readiness checks this worker is alive: its info once, then a touch (which needs no
        room on the disk). A full disk or an unreachable queue only puts it off."""
        try:
            if self.announced:
                self.queue.heartbeat(self.name)
            else:
                self.queue.heartbeat(self.name, self.info)
                self.announced = True
        except Exception as exc:
            if not self.trouble.note(exc, "its heartbeat is put off"):
                raise

    def sweep_if_due(self) -> None:
        if time.monotonic() - self.last_sweep < SWEEP_EVERY:
            return
        self.last_sweep = time.monotonic()
        try:
            removed = self.queue.sweep(self.settings.retention_days * 86400, self.settings.tmp_max_age)
        except Exception as exc:
            if not self.trouble.note(exc, "housekeeping is put off"):
                raise
            return
        if any(removed.values()):
            log.info(
                "worker %s housekeeping removed %s",
                self.name,
                ", ".join(f"{count} {kind}" for kind, count in removed.items() if count),
            )

    def recycle_reason(self) -> str | None:
        if self.jobs_done >= self.max_jobs:
            return f"{self.jobs_done} jobs"
        rss_mb = resident_memory_mb()
        if rss_mb > self.settings.max_memory_mb:
            return f"resident memory reached {rss_mb:.0f} MB (limit {self.settings.max_memory_mb} MB)"
        return None

    def teardown(self) -> None:
        self.watch.close()
        self.stopping.close()


def page_of(reading: Reading, width: int, height: int, options: Mapping) -> dict:
    """One page of a result: the lines kept over the confidence floor, in reading order, grouped in
    blocks, the page's text, and the rotation it was read at (ocrfarm/layout.py)."""
    kept = [line.to_json() for line in reading.lines if line.confidence >= options["min_confidence"]]
    return {"rotation": reading.rotation, **layout.arrange(kept, width, height, reading.rotation)}


def resident_memory_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
