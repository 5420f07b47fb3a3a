"""The benchmark's sections, run in order on one machine and one image set; results go to `Bench.results`.

accuracy   every engine path and Tesseract 5 against ground truth: CER, word and line recall, CPU s/image
limit      the engine alone: N processes x T threads, images/s (the limit)
latency    one request at a time on an idle farm, beside the engine's own time for the same image
idle       CPU used by every farm process over a window with an empty queue
http       POST /v1/ocr at a client concurrency that saturates the farm: images/s and latency
dropfolder files renamed into <spool>/inbox/ until their outbox/<stem>.json: images/s
memory     resident memory per worker over many jobs, for each model set
queue      Spool.claim() with 100 .. 10,000 jobs pending
baseline   the seeds' designs: a model per request; the 10 ms file handshake under one lock file
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.client import Connection, multipart, post_image, run_load
from bench.images import MEMORY_MIX_EXCLUDES, BenchImage, build_set, pass_order, variant
from bench.stats import percentile, summary
from harness import farm as farmctl

SECTIONS = (
    "accuracy",
    "limit",
    "latency",
    "idle",
    "http",
    "dropfolder",
    "memory",
    "queue",
    "redis",
    "baseline",
)
FARM_SECTIONS = ("latency", "idle", "http", "dropfolder")
# Workers must not be recycled in the middle of a throughput or memory measurement: recycling is
# costed separately (model load time / jobs per worker), from figures measured here.
NO_RECYCLING = 10**8


@dataclasses.dataclass(frozen=True)
class Counts:
    # The engine limit, HTTP and the drop folder run in alternating rounds (limit, HTTP, drop folder,
    # limit, ...), each round `passes` passes over the image set in the same order, so that all three
    # see the same machine even when other work on it comes and goes.
    rounds: int
    passes: int  # per round and contender
    sweep_passes: int  # for each point of the concurrency sweep
    latency_repeats: int  # idle single requests per image
    idle_seconds: float
    memory_jobs: int  # per model set
    queue_depths: tuple[int, ...]
    queue_claims: int  # claims timed at each depth
    handshake_passes: int
    per_request_passes: int
    plain_drops: int  # files written in place (quiet period) for the drop-folder latency check
    images: tuple[str, ...] | None = None  # a subset of the set's names, or all
    # Runs of each ground-truth image per accuracy contender (CPU per image is the lowest), and the
    # ground-truth sets read: "drawn" (bench/truth.py), "bench images" (bench/images.py), "real".
    accuracy_repeats: int = 1
    accuracy_sets: tuple[str, ...] = ("drawn", "bench images", "real")


COUNTS = {
    # Accuracy: each image once in every mode (the text does not change between runs, and one run of
    # a page is seconds of CPU); that keeps the full section near 10 minutes on 2 cores.
    "full": Counts(4, 5, 3, 3, 30.0, 2000, (100, 1000, 3000, 10000), 500, 8, 2, 3),
    "quick": Counts(2, 2, 1, 1, 10.0, 200, (100, 1000, 10000), 200, 2, 1, 1, accuracy_sets=("drawn", "real")),
    "smoke": Counts(
        1, 1, 1, 1, 2.0, 8, (10, 100), 20, 1, 1, 1, images=("label", "sticker", "upside-down", "sign-photo")
    ),
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(
        self,
        out: Path,
        mode: str,
        sections: tuple[str, ...],
        workers: int,
        threads: int,
        models: str,
        engine: str,
        memory_models: tuple[str, ...],
        memory_env: dict | None = None,
        diagnose_fsync: bool = False,
        accuracy_jobs: int = 1,
    ):
        self.out = out
        self.mode = mode
        self.counts = COUNTS[mode]
        self.sections = sections
        self.workers, self.threads, self.models, self.engine = workers, threads, models, engine
        self.memory_models = memory_models
        self.memory_env = memory_env or {}
        self.diagnose_fsync = diagnose_fsync
        self.accuracy_jobs = accuracy_jobs
        self.images: list[BenchImage] = []
        self.order: list[int] = []
        self.work = Path(tempfile.mkdtemp(prefix="ocrfarm-bench-"))
        self.results: dict = {
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "mode": mode,
            "layout": {"workers": workers, "threads": threads, "models": models, "engine": engine},
            "machine": machine(),
            "counts": dataclasses.asdict(self.counts),
            "sections": {},
        }

    # ---- helpers ------------------------------------------------------------------------------

    def pairs(self) -> list[tuple[str, bytes]]:
        return [(image.filename, image.data) for image in self.images]

    def jobs(self, passes: int) -> list[tuple[str, bytes]]:
        """Multipart bodies for `passes` passes over the set, in the shared order."""
        bodies = [multipart(image.filename, image.data) for image in self.images]
        return [(self.images[i].filename, bodies[i]) for _ in range(passes) for i in self.order]

    def farm(self, name: str, extra_env: dict | None = None, **settings) -> farmctl.FarmProcess:
        base = {
            "workers": self.workers,
            "threads": self.threads,
            "models": self.models,
            "max_jobs": NO_RECYCLING,
            "log_level": "warning",
            # The drop folder's rounds are timed against the engine's limit, which reads images and
            # makes no searchable PDF: without PDFs both do the same work (README, "Searchable PDF
            # and hOCR", has what a PDF costs).
            "outbox_pdf": False,
        }
        if self.engine is not None:
            base["engine"] = self.engine
        base.update(settings)
        farm = farmctl.FarmProcess(self.work / name, **base)
        farm.env.update(extra_env or {})
        return farm

    def run(self) -> dict:
        started = time.monotonic()
        try:
            self.images = build_set()
            if self.counts.images:
                self.images = [image for image in self.images if image.name in self.counts.images]
            self.order = pass_order(self.images)
            self.results["images"] = [image.describe() for image in self.images]
            log(
                f"{len(self.images)} images; layout {self.workers} workers x {self.threads} threads, "
                f"{self.models}, engine {self.engine or 'as the farm picks it'}; work folder {self.work}"
            )
            # First, and with no farm: it starts its own processes, one contender at a time.
            if "accuracy" in self.sections:
                if self.engine == "fake":
                    self.results.setdefault("notes", []).append("accuracy: not run with the fake engine")
                else:
                    self.section("accuracy", self.accuracy)
            pool = reference = None
            if "latency" in self.sections:
                self.section("engine_single", self.engine_single)
            if "limit" in self.sections and self.engine != "fake":
                from bench.raw import EnginePool

                log(f"loading {self.workers} engine processes x {self.threads} threads for the limit")
                pool = EnginePool(self.workers, self.threads, self.models, self.pairs(), engine=self.engine)
                if self.reference_engine():
                    log(f"loading {self.workers} reference engine processes (PaddleOCR 2.10) for the limit")
                    reference = EnginePool(
                        self.workers, self.threads, self.models, self.pairs(), engine="paddle"
                    )
            try:
                if any(s in self.sections for s in FARM_SECTIONS):
                    self.farm_sections(pool, reference)
                elif "limit" in self.sections:
                    self.section("throughput", self.throughput, None, pool, reference)
                if self.diagnose_fsync and "latency" in self.sections:
                    self.section("latency_without_fsync", self.latency_without_fsync)
            finally:
                for engines in (pool, reference):
                    if engines is not None:
                        engines.close()
            if "memory" in self.sections:
                self.section("memory", self.memory)
            if "queue" in self.sections:
                self.section("queue", self.queue)
            if "redis" in self.sections:
                self.section("redis", self.redis)
            if "baseline" in self.sections:
                self.section("baseline", self.baseline)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        self.results["duration_s"] = round(time.monotonic() - started, 1)
        return self.results

    def section(self, name: str, function, *args) -> None:
        log(f"section {name}: start")
        started = time.monotonic()
        busy = cpu_busy()
        result = function(*args)
        result["section_s"] = round(time.monotonic() - started, 1)
        # How busy all cores were, this benchmark included: a figure taken while other work ran on
        # the machine says so here.
        result["machine_busy_percent"] = round(cpu_busy(busy), 1)
        result["load_average_after"] = os.getloadavg()
        self.results["sections"][name] = result
        log(f"section {name}: done in {result['section_s']:.0f}s")

    # ---- 0. accuracy against ground truth ------------------------------------------------------

    def accuracy(self) -> dict:
        from bench import accuracy, accuracy_report, truth

        sources = {"drawn": truth.drawn_set, "bench images": truth.bench_images, "real": truth.real_set}
        samples = [sample for name in self.counts.accuracy_sets for sample in sources[name]()]
        if self.mode == "smoke":
            samples = [sample for sample in samples if sample.name in accuracy.SMOKE_SAMPLES]
        raw = accuracy.run(
            samples, self.mode, self.counts.accuracy_repeats, self.work, log, self.accuracy_jobs
        )
        result = accuracy_report.summarise(raw, samples)
        # Identity-card fields on drawn cards, per field and kind of photo (issue 14).
        from bench import card_accuracy

        result["idcards"] = card_accuracy.run(self.mode, self.work, log)
        for contender in result["contenders"]:
            row = next((r for r in contender.get("rows", []) if r["row"] == "drawn (all)"), None)
            if row:
                log(
                    f"  accuracy {contender['label']}: drawn (all) CER {100 * row['cer']:.1f} %, word recall "
                    f"{row['word_recall']:.3f}, {row['cpu_s_per_image']:.2f} CPU s/image"
                )
        return result

    # ---- 1. the engine's limit (in rounds, beside the farm's) --------------------------------------

    def round_order(self) -> list[int]:
        return [i for _ in range(self.counts.passes) for i in self.order]

    def fake_limit(self) -> dict:
        # The fake engine answers at once: the "limit" is then how fast images decode in N processes.
        from bench import engine_use

        settings = engine_use.settings_only(engine="fake")
        order = self.round_order()
        start = time.monotonic()
        for i in order:
            engine_use.decode(self.images[i].data, settings)
        wall = (time.monotonic() - start) / self.workers
        return {
            "images": len(order),
            "wall_s": wall,
            "images_per_s": len(order) / wall,
            "note": "fake engine",
        }

    def engine_single(self) -> dict:
        from bench.raw import EnginePool

        if self.engine == "fake":
            return {
                "per_image_s": {image.filename: [0.0] for image in self.images},
                "decode_s": {},
                "median_s": {},
            }
        log(f"  one engine process alone, each image {self.counts.latency_repeats} times")
        with EnginePool(1, self.threads, self.models, self.pairs(), engine=self.engine) as pool:
            result = pool.single_image_times(self.counts.latency_repeats)
        result["median_s"] = {name: percentile(times, 50) for name, times in result["per_image_s"].items()}
        return result

    def reference_engine(self) -> bool:
        """PaddleOCR 2.10, as the workers ran it before the farm had its own pipeline, is measured beside
        the farm's engine when that is another one on the same weights (ppocrv3)."""
        from ocrfarm.settings import Settings

        chosen = self.engine or Settings.from_env({}, models=self.models).engine_for(self.models)
        return chosen == "onnx" and self.models == "ppocrv3"

    def throughput(self, farm, pool, reference=None) -> dict:
        """Rounds: the engine limit (and PaddleOCR 2.10's beside it), then HTTP, then the drop folder,
        again and again."""
        from bench.raw import combine

        rounds: dict[str, list[dict]] = {"limit": [], "reference_limit": [], "http": [], "dropfolder": []}
        for number in range(1, self.counts.rounds + 1):
            if "limit" in self.sections:
                if pool is not None:
                    result = pool.limit(self.round_order())
                else:
                    result = self.fake_limit()
                rounds["limit"].append(result)
                log(
                    f"  round {number}/{self.counts.rounds}: engine limit {result['images_per_s']:.2f} images/s"
                )
            if "limit" in self.sections and reference is not None:
                result = reference.limit(self.round_order())
                rounds["reference_limit"].append(result)
                log(
                    f"  round {number}/{self.counts.rounds}: PaddleOCR 2.10 {result['images_per_s']:.2f} images/s"
                )
            if farm is not None and "http" in self.sections:
                result = self.http_round(farm)
                rounds["http"].append(result)
                log(f"  round {number}/{self.counts.rounds}: HTTP {result['images_per_s']:.2f} images/s")
            if farm is not None and "dropfolder" in self.sections:
                result = self.drop_round(farm, number)
                rounds["dropfolder"].append(result)
                log(
                    f"  round {number}/{self.counts.rounds}: drop folder {result['images_per_s']:.2f} images/s"
                )
        summary_out = {"rounds": self.counts.rounds, "passes_per_round": self.counts.passes}
        if rounds["limit"]:
            self.results["sections"]["limit"] = combine(rounds["limit"])
            if all("engine_s" in r for r in rounds["limit"]):
                lim = self.results["sections"]["limit"]
                lim["engine_busy_fraction"] = lim["engine_s"] / (lim["wall_s"] * self.workers)
            log(f"  limit: {self.results['sections']['limit']['images_per_s']:.2f} images/s over all rounds")
        if rounds["reference_limit"]:
            ref = self.results["sections"]["reference_limit"] = combine(rounds["reference_limit"])
            ref["engine"] = "paddle (PaddleOCR 2.10, rec batch 6)"
            lim = self.results["sections"]["limit"]
            # Per core: both pools are laid out alike (N processes x T threads), so the ratio of their
            # images/s is the ratio per core; CPU seconds per image say the same from the other side.
            lim["cpu_s_per_image"] = sum(r["engine_cpu_s"] for r in rounds["limit"]) / lim["images"]
            ref["cpu_s_per_image"] = sum(r["engine_cpu_s"] for r in rounds["reference_limit"]) / ref["images"]
            lim["vs_reference"] = lim["images_per_s"] / ref["images_per_s"]
            log(
                f"  the farm's engine / PaddleOCR 2.10: {lim['vs_reference']:.2f}x images/s, CPU s/image "
                f"{lim['cpu_s_per_image']:.3f} / {ref['cpu_s_per_image']:.3f}"
            )
        if rounds["http"]:
            self.results["sections"]["http"].update(self.http_combine(rounds["http"]))
        if rounds["dropfolder"]:
            self.results["sections"]["dropfolder"] = {
                **self.drop_combine(rounds["dropfolder"]),
                "plain_writes": self.plain_drops(farm),
            }
        return summary_out

    # ---- 2-5. the farm ----------------------------------------------------------------------

    def farm_sections(self, pool, reference=None) -> None:
        farm = self.farm("farm")
        log(f"starting the farm (scripts/run, port {farm.port})")
        farm.start()
        log(f"  ready in {farm.start_seconds:.1f}s")
        self.results["farm_start_s"] = round(farm.start_seconds, 1)
        try:
            # Warm-up: every worker's engine meets the images' shapes before anything is timed.
            warm = run_load(
                farm.url, "/v1/ocr", self.jobs(2 if self.mode != "smoke" else 1), self.workers * 2
            )
            check_replies(warm, "warm-up")
            if "idle" in self.sections:
                self.section("idle", self.idle, farm)
            if "latency" in self.sections:
                self.section("latency", self.latency, farm)
            if "http" in self.sections:
                self.section("http", self.http_sweep, farm)
            if any(s in self.sections for s in ("limit", "http", "dropfolder")):
                self.section("throughput", self.throughput, farm, pool, reference)
            self.results["farm_workers_seen"] = farm.worker_pids()
        finally:
            log("stopping the farm")
            farm.stop()

    def idle(self, farm: farmctl.FarmProcess) -> dict:
        time.sleep(
            3
        )  # settle: the last answers go out, heartbeats catch up (a pause, not a wait for a state)
        log(f"  measuring CPU of every farm process over {self.counts.idle_seconds:g}s with an empty queue")
        used = farmctl.session_cpu(farm.process.pid, self.counts.idle_seconds)
        used["percent_of_one_core"] = 100 * used["cpu_s"] / used["wall_s"]
        by_role: dict[str, float] = {}
        for entry in used["per_process"]:
            by_role[entry["role"]] = by_role.get(entry["role"], 0.0) + entry["cpu_s"]
        used["by_role_percent"] = {
            role: round(100 * cpu / used["wall_s"], 3) for role, cpu in by_role.items()
        }
        log(f"  idle: {used['percent_of_one_core']:.2f} % of one core ({used['by_role_percent']})")
        return used

    def latency(self, farm: farmctl.FarmProcess) -> dict:
        conn = Connection(farm.url)
        replies = []
        for _repeat in range(self.counts.latency_repeats):
            for i in self.order:
                image = self.images[i]
                time.sleep(0.3)  # the farm goes idle: workers asleep, nothing queued
                reply = post_image(
                    conn, "/v1/ocr", len(replies), image.filename, multipart(image.filename, image.data)
                )
                if reply.status != 200:
                    raise RuntimeError(f"{image.filename}: HTTP {reply.status}: {reply.body}")
                replies.append(reply)
        conn.close()
        single = self.results["sections"].get("engine_single", {}).get("median_s", {})
        rows = []
        for reply in replies:
            timings = reply.body["timings"]
            rows.append(
                {
                    "image": reply.name,
                    "latency_s": reply.latency,
                    "ocr_s": timings["ocr_s"],
                    "decode_s": timings["decode_s"],
                    "queued_s": timings["queued_s"],
                    "added_s": reply.latency - timings["ocr_s"],
                    "added_vs_engine_alone_s": (reply.latency - single[reply.name])
                    if reply.name in single
                    else None,
                }
            )
        result = {
            "requests": rows,
            "latency_ms": summary([r["latency_s"] for r in rows], 1000),
            "added_ms": summary([r["added_s"] for r in rows], 1000),
            "added_without_decode_ms": summary([r["added_s"] - r["decode_s"] for r in rows], 1000),
            "queued_ms": summary([r["queued_s"] for r in rows], 1000),
            "decode_ms": summary([r["decode_s"] for r in rows], 1000),
            # What is left: the upload, the front's checks, writing and answering the result, waking the
            # waiting request.
            "rest_ms": summary([r["added_s"] - r["queued_s"] - r["decode_s"] for r in rows], 1000),
        }
        vs = [r["added_vs_engine_alone_s"] for r in rows if r["added_vs_engine_alone_s"] is not None]
        if vs:
            result["added_vs_engine_alone_ms"] = summary(vs, 1000)
        log(f"  added latency p50 {result['added_ms']['p50']} ms, p99 {result['added_ms']['p99']} ms")
        return result

    def latency_without_fsync(self) -> dict:
        """The latency section again, on a farm whose fsync calls return at once (diagnosis only)."""
        library = next((str(p) for p in Path("/usr/lib").glob("*/libeatmydata.so*")), None)
        if library is None:
            log("  libeatmydata not found (apt-get install eatmydata); skipped")
            return {"skipped": "libeatmydata not found"}
        farm = self.farm("farm-nofsync", extra_env={"LD_PRELOAD": library})
        log(f"  starting a farm with LD_PRELOAD={library}: fsync() does nothing in it")
        farm.start()
        try:
            warm = run_load(
                farm.url, "/v1/ocr", self.jobs(2 if self.mode != "smoke" else 1), self.workers * 2
            )
            check_replies(warm, "warm-up")
            result = self.latency(farm)
        finally:
            farm.stop()
        result["preload"] = library
        return result

    def http_sweep(self, farm: farmctl.FarmProcess) -> dict:
        """Images/s and latency at 1, N and 2N clients; the rounds add 4N (the main figure)."""
        sweep = []
        for concurrency in sorted({1, self.workers, 2 * self.workers}):
            load = run_load(farm.url, "/v1/ocr", self.jobs(self.counts.sweep_passes), concurrency)
            check_replies(load, f"concurrency {concurrency}")
            rate = len(load["replies"]) / load["wall_s"]
            sweep.append(
                {
                    "concurrency": concurrency,
                    "images": len(load["replies"]),
                    "images_per_s": rate,
                    "latency_ms": summary([r.latency for r in load["replies"]], 1000),
                }
            )
            log(f"  concurrency {concurrency}: {rate:.2f} images/s")
        return {"sweep": sweep}

    def http_round(self, farm: farmctl.FarmProcess) -> dict:
        concurrency = 4 * self.workers
        jobs = self.jobs(self.counts.passes)
        before = farmctl.cpu_snapshot(farm.process.pid)
        load = run_load(farm.url, "/v1/ocr", jobs, concurrency)
        farm_cpu = farmctl.cpu_by_role(before, farmctl.cpu_snapshot(farm.process.pid))
        check_replies(load, "HTTP round")
        return {
            "images": len(load["replies"]),
            "wall_s": load["wall_s"],
            "images_per_s": len(load["replies"]) / load["wall_s"],
            "concurrency": concurrency,
            "latencies_s": [r.latency for r in load["replies"]],
            "engine_s": sum(r.ocr_s for r in load["replies"]),
            "workers": [r.worker for r in load["replies"]],
            "farm_cpu_s": farm_cpu,
            "client_cpu_s": load["client_cpu_s"],
        }

    def http_combine(self, rounds: list[dict]) -> dict:
        images = sum(r["images"] for r in rounds)
        wall = sum(r["wall_s"] for r in rounds)
        engine_s = sum(r["engine_s"] for r in rounds)
        latencies = [t for r in rounds for t in r["latencies_s"]]
        per_worker: dict[str, int] = {}
        farm_cpu: dict[str, float] = {}
        for r in rounds:
            for worker in r["workers"]:
                per_worker[worker] = per_worker.get(worker, 0) + 1
            for role, cpu in r["farm_cpu_s"].items():
                farm_cpu[role] = round(farm_cpu.get(role, 0.0) + cpu, 3)
        rate = images / wall
        concurrency = rounds[0]["concurrency"]
        result = {
            "concurrency": concurrency,
            "images": images,
            "wall_s": wall,
            "images_per_s": rate,
            "round_images_per_s": [r["images_per_s"] for r in rounds],
            "latency_ms": summary(latencies, 1000),
            "client_cpu_s": sum(r["client_cpu_s"] for r in rounds),
            "engine_busy_fraction": engine_s / (wall * self.workers),
            "per_worker_images": per_worker,
            # CPU of each kind of farm process over the rounds, and what the workers used beyond the
            # engine calls (the engine's wall time stands in for its CPU: one thread each).
            "farm_cpu_s": farm_cpu,
            "engine_s": engine_s,
            "service_cpu_ms_per_image": 1000 * (sum(farm_cpu.values()) - engine_s * self.threads) / images,
        }
        sweep = self.results["sections"].get("http", {}).get("sweep", [])
        sweep.append(
            {
                "concurrency": concurrency,
                "images": images,
                "images_per_s": rate,
                "latency_ms": result["latency_ms"],
            }
        )
        result["sweep"] = sweep
        log(
            f"  HTTP: {rate:.2f} images/s over all rounds, latency p50 {result['latency_ms']['p50']} ms, "
            f"engines busy {100 * result['engine_busy_fraction']:.1f} % of the wall time; farm CPU {farm_cpu}"
        )
        return result

    def drop_round(self, farm: farmctl.FarmProcess, number: int) -> dict:
        inbox, outbox = farm.spool / "inbox", farm.spool / "outbox"
        files = [
            (f"r{number}-{n:05d}-{self.images[i].filename}", self.images[i].data)
            for n, i in enumerate(self.round_order())
        ]
        expected = {Path(name).stem + ".json": name for name, _ in files}
        # When each result was written: its file's mtime, on the wall clock. Looking for the results
        # only every 0.2 s keeps this process off the cores the workers need (listing a growing
        # outbox every 10 ms cost the farm more each round), and costs the figure no precision.
        finished: dict[str, float] = {}
        dropped = {}
        start = time.time()
        for name, data in files:
            staging = inbox / f".{name}.part"
            staging.write_bytes(data)
            os.rename(staging, inbox / name)
            dropped[name] = time.time()
        last_drop = time.time()
        deadline = time.monotonic() + 60 + 10 * len(files)
        while len(finished) < len(expected):
            for entry in os.scandir(outbox):
                if entry.name in expected and entry.name not in finished:
                    finished[entry.name] = entry.stat().st_mtime
            if len(finished) < len(expected) and time.monotonic() > deadline:
                raise RuntimeError(
                    f"drop folder: only {len(finished)} of {len(expected)} results after the deadline"
                )
            time.sleep(0.2)
        end = max(finished.values())
        return {
            "files": len(files),
            "drop_s": last_drop - start,
            "wall_s": end - start,
            "images_per_s": len(files) / (end - start),
            "latencies_s": [finished[stem] - dropped[name] for stem, name in expected.items()],
        }

    def drop_combine(self, rounds: list[dict]) -> dict:
        files = sum(r["files"] for r in rounds)
        wall = sum(r["wall_s"] for r in rounds)
        failed = list((self.work / "farm" / "spool" / "failed").glob("**/*.error.json"))
        result = {
            "files": files,
            "mode": "rename into the inbox (taken at once by inotify; no quiet period)",
            "drop_s": sum(r["drop_s"] for r in rounds),
            "wall_s": wall,
            "images_per_s": files / wall,
            "round_images_per_s": [r["images_per_s"] for r in rounds],
            "failed": len(failed),
            "result_after_drop_ms": summary([t for r in rounds for t in r["latencies_s"]], 1000),
        }
        log(f"  drop folder: {result['images_per_s']:.2f} images/s over all rounds")
        return result

    def plain_drops(self, farm: farmctl.FarmProcess) -> dict:
        """Files written in place, the way a scanner writes: taken after OCRFARM_QUIET_PERIOD."""
        quiet = float(farm.settings.get("OCRFARM_QUIET_PERIOD", 2.0))
        small = min(self.images, key=lambda image: len(image.data))
        rows = []
        for n in range(self.counts.plain_drops):
            time.sleep(0.5)
            name = f"plain-{n}-{small.filename}"
            target = farm.spool / "outbox" / (Path(name).stem + ".json")
            (farm.spool / "inbox" / name).write_bytes(small.data)
            written = time.monotonic()
            while not target.exists():
                if time.monotonic() - written > 120:
                    raise RuntimeError(f"drop folder: no result for {name}")
                time.sleep(0.005)
            took = time.monotonic() - written
            record = json.loads(target.read_bytes())
            rows.append(
                {
                    "image": small.filename,
                    "result_after_write_s": took,
                    "ocr_s": record["timings"]["ocr_s"],
                    "beyond_quiet_period_and_ocr_s": took - quiet - record["timings"]["ocr_s"],
                }
            )
        return {
            "quiet_period_s": quiet,
            "files": rows,
            "beyond_quiet_period_and_ocr_ms": summary(
                [r["beyond_quiet_period_and_ocr_s"] for r in rows], 1000
            ),
        }

    # ---- 6. memory --------------------------------------------------------------------------

    def memory(self) -> dict:
        return {models: self.memory_one(models) for models in self.memory_models}

    def memory_one(self, models: str) -> dict:
        farm = self.farm(f"memory-{models}", extra_env=self.memory_env, models=models)
        log(
            f"  {models}: starting a farm with OCRFARM_MAX_JOBS={NO_RECYCLING} (no recycling)"
            + (f" and {self.memory_env}" if self.memory_env else "")
        )
        farm.start()
        start_s = farm.start_seconds
        mix = [image for image in self.images if image.name not in MEMORY_MIX_EXCLUDES] or self.images
        total = self.counts.memory_jobs
        lock = threading.Lock()
        state = {"next": 0, "done": 0, "errors": 0}
        per_worker_done: dict[str, int] = {}
        samples = []
        pids_seen: dict[str, list[int]] = {}
        stop = threading.Event()

        def sample() -> None:
            pids = farm.worker_pids()
            with lock:
                counts = dict(per_worker_done)
                done = state["done"]
            row = {"t": time.monotonic() - start, "done": done, "workers": {}}
            for name, pid in pids.items():
                if pid not in pids_seen.setdefault(name, []):
                    pids_seen[name].append(pid)
                rss = farmctl.resident_mb(pid)
                if rss is not None:
                    row["workers"][name] = {"pid": pid, "rss_mb": round(rss, 1), "jobs": counts.get(name, 0)}
            samples.append(row)

        def sampler() -> None:
            while not stop.wait(1.0):
                sample()

        def client() -> None:
            conn = Connection(farm.url)
            while True:
                with lock:
                    index = state["next"]
                    state["next"] += 1
                if index >= total:
                    break
                name, data = variant(mix[index % len(mix)], index)
                reply = post_image(conn, "/v1/ocr", index, name, multipart(name, data))
                with lock:
                    if reply.status == 200:
                        state["done"] += 1
                        per_worker_done[reply.worker] = per_worker_done.get(reply.worker, 0) + 1
                    else:
                        state["errors"] += 1
                    done = state["done"]
                if total >= 100 and done % (total // 10) == 0:
                    log(f"    {models}: {done}/{total} jobs")
            conn.close()

        try:
            start = time.monotonic()
            sample()
            watcher = threading.Thread(target=sampler, daemon=True)
            watcher.start()
            clients = [threading.Thread(target=client) for _ in range(2 * self.workers)]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join()
            stop.set()
            watcher.join()
            sample()
            wall = time.monotonic() - start
        finally:
            farm.stop()
        result = {
            "jobs": state["done"],
            "errors": state["errors"],
            "wall_s": wall,
            "extra_env": self.memory_env,
            "farm_start_s": round(start_s, 1),
            "images_per_s": state["done"] / wall,
            "images": f"the set less {', '.join(MEMORY_MIX_EXCLUDES)}, each job scaled by a seeded 0.4-1.0",
            "samples": samples,
            "pids": pids_seen,
            "recycled": {name: len(pids) - 1 for name, pids in pids_seen.items()},
        }
        result["per_worker"] = memory_growth(samples, per_worker_done)
        for name, row in result["per_worker"].items():
            log(
                f"    {models} {name}: {row['warm_rss_mb']} MB after warm-up, {row['half_rss_mb']} MB at "
                f"half its jobs -> {row['end_rss_mb']} MB at the end ({row['growth_percent']:+.1f} % over "
                f"the second half), max {row['max_rss_mb']} MB"
            )
        return result

    # ---- 7. queue scale ---------------------------------------------------------------------

    def queue(self) -> dict:
        from bench import queue_scale

        return queue_scale.measure(
            self.work / "queue", self.counts.queue_depths, self.counts.queue_claims, log
        )

    # ---- 7b. the shared queue (Redis) ------------------------------------------------------------

    def redis(self) -> dict:
        from bench import redis_bench

        depth = max(self.counts.queue_depths)
        return {
            "claims": redis_bench.claims(self.work / "redis-claims", depth, self.counts.queue_claims, log),
            "throughput": redis_bench.throughput(
                self.work / "redis-farms",
                self.farm,
                self.jobs(1),
                max(2, self.counts.rounds),
                self.workers,
                log,
            ),
        }

    # ---- 8. baselines -----------------------------------------------------------------------

    def baseline(self) -> dict:
        return {"handshake": self.handshake(), "per_request": self.per_request()}

    def handshake(self) -> dict:
        folder = self.work / "handshake"
        for sub in ("in", "out"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        port = farmctl.free_port()
        url = f"http://127.0.0.1:{port}"
        processes = []
        engine_models = self.models
        try:
            for _ in range(self.workers):
                processes.append(
                    spawn(
                        [
                            "-m",
                            "bench.baseline",
                            "handshake-worker",
                            "--folder",
                            str(folder),
                            "--models",
                            engine_models,
                            "--threads",
                            str(self.threads),
                        ],
                        folder,
                    )
                )
            processes.append(
                spawn(
                    ["-m", "bench.baseline", "handshake-front", "--port", str(port), "--folder", str(folder)],
                    folder,
                )
            )
            wait_until(
                lambda: len(list((folder / "ready").glob("*"))) >= self.workers and healthy(url),
                240,
                "the handshake baseline to start",
            )
            warm = run_load(url, "/v1/ocr", self.jobs(1), 2 * self.workers)
            check_replies(warm, "handshake warm-up")
            latency = self.sequential(url, self.counts.latency_repeats)
            jobs = self.jobs(self.counts.handshake_passes)
            log(f"  handshake: {len(jobs)} images at concurrency {4 * self.workers}")
            load = run_load(url, "/v1/ocr", jobs, 4 * self.workers)
            check_replies(load, "handshake")
            idle_s = min(10.0, self.counts.idle_seconds)
            before = {p.pid: farmctl.process_cpu_seconds(p.pid) for p in processes}
            time.sleep(idle_s)  # a measurement window
            idle_cpu = sum(farmctl.process_cpu_seconds(pid) - cpu for pid, cpu in before.items())
        finally:
            for process in processes:
                stop_process(process)
        rate = len(load["replies"]) / load["wall_s"]
        log(f"  handshake: {rate:.2f} images/s, added latency p50 {latency['added_ms']['p50']} ms")
        engine_s = sum(r.ocr_s for r in load["replies"])
        return {
            "concurrency": 4 * self.workers,
            "images": len(load["replies"]),
            "wall_s": load["wall_s"],
            "images_per_s": rate,
            "latency_ms": summary([r.latency for r in load["replies"]], 1000),
            "engine_s": engine_s,
            "engine_busy_fraction": engine_s / (load["wall_s"] * self.workers),
            "idle": latency,
            "idle_cpu_percent_of_one_core": 100 * idle_cpu / idle_s,
        }

    def per_request(self) -> dict:
        folder = self.work / "per-request"
        folder.mkdir(parents=True, exist_ok=True)
        port = farmctl.free_port()
        url = f"http://127.0.0.1:{port}"
        threads = os.cpu_count() or 1
        process = spawn(
            [
                "-m",
                "bench.baseline",
                "per-request",
                "--port",
                str(port),
                "--models",
                self.models,
                "--threads",
                str(threads),
            ],
            folder,
        )
        try:
            wait_until(lambda: healthy(url), 120, "the per-request baseline to start")
            jobs = self.jobs(self.counts.per_request_passes)
            log(f"  per-request model: {len(jobs)} images, one at a time, {threads} engine threads")
            load = run_load(url, "/v1/ocr", jobs, 1)
            check_replies(load, "per-request")
        finally:
            stop_process(process)
        replies = load["replies"]
        rate = len(replies) / load["wall_s"]
        log(f"  per-request model: {rate:.2f} images/s")
        return {
            "engine_threads": threads,
            "images": len(replies),
            "wall_s": load["wall_s"],
            "images_per_s": rate,
            "latency_ms": summary([r.latency for r in replies], 1000),
            "build_ms": summary([r.body["timings"]["build_s"] for r in replies], 1000),
            "ocr_ms": summary([r.ocr_s for r in replies], 1000),
        }

    def sequential(self, url: str, repeats: int) -> dict:
        conn = Connection(url)
        rows = []
        for _ in range(repeats):
            for i in self.order:
                image = self.images[i]
                time.sleep(0.3)
                reply = post_image(
                    conn, "/v1/ocr", len(rows), image.filename, multipart(image.filename, image.data)
                )
                if reply.status != 200:
                    raise RuntimeError(f"{image.filename}: HTTP {reply.status}: {reply.body}")
                rows.append(reply.latency - reply.ocr_s)
        conn.close()
        return {"requests": len(rows), "added_ms": summary(rows, 1000)}


# ---- helpers ------------------------------------------------------------------------------------


def check_replies(load: dict, what: str) -> None:
    bad = [r for r in load["replies"] if r.status != 200]
    if load["errors"] or bad:
        detail = load["errors"][:3] + [f"{r.name}: HTTP {r.status} {str(r.body)[:200]}" for r in bad[:3]]
        raise RuntimeError(f"{what}: {len(bad) + len(load['errors'])} requests failed: {detail}")


def memory_growth(samples: list[dict], per_worker_done: dict[str, int]) -> dict:
    """Per worker: RSS after 10 % of its jobs (warm-up), at half its jobs, at the end, and the growth
    over the second half, on which the target is judged: a leak grows with the jobs done, while
    onnxruntime's arena grows in steps, when a job needs a larger buffer than any before it, and
    levels off (in the run of 2026-12-01 one worker reached its level after 28 % of its jobs, another
    after 9 %, so growth from the 10 % mark said more about the order of the images than a leak)."""
    out = {}
    for name, total in sorted(per_worker_done.items()):
        series = [
            (row["workers"][name]["jobs"], row["workers"][name]["rss_mb"])
            for row in samples
            if name in row["workers"]
        ]
        if not series:
            continue
        warm_jobs = max(1, total // 10)
        warm = next((rss for jobs, rss in series if jobs >= warm_jobs), series[-1][1])
        half = next((rss for jobs, rss in series if jobs >= total / 2), series[-1][1])
        tail = [rss for jobs, rss in series if jobs >= total * 0.95] or [series[-1][1]]
        end = sum(tail) / len(tail)
        out[name] = {
            "jobs": total,
            "warm_up_jobs": warm_jobs,
            "warm_rss_mb": warm,
            "half_rss_mb": half,
            "end_rss_mb": round(end, 1),
            "max_rss_mb": max(rss for _, rss in series),
            "growth_after_warm_up_percent": 100 * (end - warm) / warm,
            "growth_percent": 100 * (end - half) / half,
        }
    return out


def cpu_busy(since: tuple[int, int] | None = None):
    """With no argument, a reading of /proc/stat; with one, the % of all cores busy since that reading."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, total = fields[3] + fields[4], sum(fields[:8])
    if since is None:
        return idle, total
    return 100 * (1 - (idle - since[0]) / max(1, total - since[1]))


def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gb"] = round(int(Path("/proc/meminfo").read_text().split()[1]) / 2**20, 1)
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def spawn(args: list[str], folder: Path) -> subprocess.Popen:
    log_file = open(folder / "baseline.log", "ab")  # noqa: SIM115 - held open for the child process's lifetime
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=farmctl.ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(farmctl.ROOT)},
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)
