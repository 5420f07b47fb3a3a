"""The report: report.json (every figure), report.md (tables, targets) and PNG plots, in one folder."""

from __future__ import annotations

import json
from pathlib import Path

TARGETS = {
    "engine_speed": "the farm's engine >= 1.8x PaddleOCR 2.10's images/s per core (same weights, alternating rounds)",
    "http_throughput": "HTTP throughput >= 95 % of the engine limit",
    "dropfolder_throughput": "drop-folder throughput >= 95 % of the engine limit",
    "added_latency": "added latency p50 <= 15 ms and p99 <= 50 ms (idle farm, one request at a time)",
    "idle_cpu": "idle farm CPU < 1 % of one core",
    "memory": "worker memory bounded: < 10 % growth over the second half of its jobs, or recycled before the limit",
    "claim_rate": "claim rate >= 1,000/s with 10,000 jobs pending",
}


def _get(data: dict, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def evaluate(results: dict) -> dict:
    """Each target: the figure it is judged on, and pass (True/False), or None when not measured."""
    s = results["sections"]
    out = {}
    limit = _get(s, "limit", "images_per_s")
    speed = _get(s, "limit", "vs_reference")
    if speed is not None:
        reference = _get(s, "reference_limit", "images_per_s")
        out["engine_speed"] = {
            "figure": f"{limit:.2f} / {reference:.2f} images/s = {speed:.2f}x (CPU s/image "
            f"{_get(s, 'limit', 'cpu_s_per_image'):.3f} / "
            f"{_get(s, 'reference_limit', 'cpu_s_per_image'):.3f})",
            "value": speed,
            "pass": speed >= 1.8,
        }
    # The farm's two ways in, each against the engine limit of the same rounds.
    for section, target in (("http", "http_throughput"), ("dropfolder", "dropfolder_throughput")):
        rate = _get(s, section, "images_per_s")
        if limit and rate:
            ratio = 100 * rate / limit
            out[target] = {
                "figure": f"{rate:.2f} / {limit:.2f} images/s = {ratio:.1f} %",
                "value": ratio,
                "pass": ratio >= 95,
            }
    added = _get(s, "latency", "added_ms", "p50")
    if added is not None:
        tail = _get(s, "latency", "added_ms", "p99")
        out["added_latency"] = {
            "figure": f"p50 {added:.1f} ms, p99 {tail:.1f} ms",
            "value": added,
            "pass": added <= 15 and tail <= 50,
        }
    idle = _get(s, "idle", "percent_of_one_core")
    if idle is not None:
        out["idle_cpu"] = {"figure": f"{idle:.2f} % of one core", "value": idle, "pass": idle < 1}
    memory = s.get("memory")
    if memory:
        figures, ok = [], True
        for models, run in memory.items():
            if not isinstance(run, dict) or "per_worker" not in run:
                continue
            for name, row in run["per_worker"].items():
                recycled = run["recycled"].get(name, 0)
                figures.append(
                    f"{models} {name} {row['growth_percent']:+.1f} %"
                    + (f" (recycled {recycled}x)" if recycled else "")
                )
                ok = ok and (row["growth_percent"] < 10 or recycled > 0)
        out["memory"] = {"figure": "; ".join(figures), "value": None, "pass": ok}
    depths = _get(s, "queue", "depths")
    if depths:
        deepest = max(depths, key=lambda row: row["depth"])
        rate = deepest["claims_per_s"]
        out["claim_rate"] = {
            "figure": f"{rate:.0f} claims/s at {deepest['depth']} pending "
            f"({deepest['cycles_per_s']:.0f}/s with finish)",
            "value": rate,
            "pass": rate >= 1000 and deepest["depth"] >= 10000,
            "measured_depth": deepest["depth"],
        }
    return out


def write(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    results["targets"] = evaluate(results)
    plots = _plots(results, out)
    results["plots"] = [p.name for p in plots]
    (out / "report.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "report.md").write_text(markdown(results))
    return [out / "report.json", out / "report.md", *plots]


def _ms(summary: dict | None, *keys) -> str:
    if not summary or not summary.get("n"):
        return "-"
    return " / ".join(f"{summary[k]:.0f}" if summary[k] >= 100 else f"{summary[k]:.1f}" for k in keys)


def summary_rows(results: dict) -> list[tuple[str, str, str, str]]:
    s = results["sections"]
    t = results["targets"]
    lay = results["layout"]
    rows = []

    def verdict(key):
        if key not in t:
            return "not measured"
        return "**pass**" if t[key]["pass"] else "**FAIL**"

    for contender in _get(s, "accuracy", "contenders", default=[]):
        row = next((r for r in contender.get("rows", []) if r["row"] == "drawn (all)"), None)
        if row:
            rows.append(
                (
                    f"Accuracy on the drawn images, {contender['label']}"
                    + (" (the farm's default)" if contender.get("default") else ""),
                    f"CER {100 * row['cer']:.1f} %, word recall {row['word_recall']:.3f}, "
                    f"{row['cpu_s_per_image']:.2f} CPU s/image",
                    "",
                    "",
                )
            )
    limit = _get(s, "limit", "images_per_s")
    reference = _get(s, "reference_limit", "images_per_s")
    if reference:
        rows.append(
            (
                f"PaddleOCR 2.10 alone ({lay['workers']} processes x {lay['threads']} thread, {lay['models']}, "
                "rec batch 6: the workers' engine before)",
                f"{reference:.2f} images/s",
                "",
                "",
            )
        )
    if limit:
        speed = f" = {_get(s, 'limit', 'vs_reference'):.2f}x PaddleOCR 2.10" if reference else ""
        rows.append(
            (
                f"Engine limit ({lay['workers']} processes x {lay['threads']} thread, {lay['models']}, "
                "the farm's engine)",
                f"{limit:.2f} images/s{speed}",
                "reference",
                verdict("engine_speed") if reference else "",
            )
        )
    if "http" in s:
        h = s["http"]
        pct = f" = {100 * h['images_per_s'] / limit:.1f} % of the limit" if limit else ""
        rows.append(
            (
                f"Farm over HTTP, concurrency {h['concurrency']}",
                f"{h['images_per_s']:.2f} images/s{pct}",
                ">= 95 %",
                verdict("http_throughput"),
            )
        )
        rows.append(
            (
                "  latency under that load p50 / p95 / p99",
                _ms(h["latency_ms"], "p50", "p95", "p99") + " ms",
                "",
                "",
            )
        )
    if "dropfolder" in s:
        d = s["dropfolder"]
        pct = f" = {100 * d['images_per_s'] / limit:.1f} % of the limit" if limit else ""
        rows.append(
            (
                "Farm through the drop folder (rename in)",
                f"{d['images_per_s']:.2f} images/s{pct}",
                ">= 95 %",
                verdict("dropfolder_throughput"),
            )
        )
    if "latency" in s:
        lat = s["latency"]
        rows.append(
            (
                "Idle farm, one request: added latency p50 / p99",
                _ms(lat["added_ms"], "p50", "p99") + " ms",
                "p50 <= 15 ms, p99 <= 50 ms",
                verdict("added_latency"),
            )
        )
        rows.append(
            (
                "  of which decoding the image (worker) p50 / p99",
                _ms(lat["decode_ms"], "p50", "p99") + " ms",
                "",
                "",
            )
        )
        rows.append(
            (
                "  of which submit to claim (queued_s) p50 / p99",
                _ms(lat["queued_ms"], "p50", "p99") + " ms",
                "",
                "",
            )
        )
        if "rest_ms" in lat:
            rows.append(
                (
                    "  of which the rest (upload, result, wake-up, answer) p50 / p99",
                    _ms(lat["rest_ms"], "p50", "p99") + " ms",
                    "",
                    "",
                )
            )
        if "added_vs_engine_alone_ms" in lat:
            rows.append(
                (
                    "  latency minus the engine alone (same image) p50 / p99",
                    _ms(lat["added_vs_engine_alone_ms"], "p50", "p99") + " ms",
                    "",
                    "",
                )
            )
    nofsync = s.get("latency_without_fsync") or {}
    if "added_ms" in nofsync:
        rows.append(
            (
                "  diagnosis: the same on a farm whose fsync() does nothing, p50 / p99",
                _ms(nofsync["added_ms"], "p50", "p99") + " ms",
                "",
                "",
            )
        )
    if "idle" in s:
        rows.append(
            (
                f"Idle farm CPU, every process, {s['idle']['wall_s']:.0f} s",
                f"{s['idle']['percent_of_one_core']:.2f} % of one core",
                "< 1 %",
                verdict("idle_cpu"),
            )
        )
    for models, run in (s.get("memory") or {}).items():
        if not isinstance(run, dict) or "per_worker" not in run:
            continue
        growth = ", ".join(
            f"{row['warm_rss_mb']:.0f} / {row['half_rss_mb']:.0f} -> {row['end_rss_mb']:.0f} MB "
            f"({row['growth_percent']:+.1f} %)"
            for row in run["per_worker"].values()
        )
        recycled = sum(run["recycled"].values())
        env = "".join(f", {k}={v}" for k, v in (run.get("extra_env") or {}).items())
        rows.append(
            (
                f"Worker memory, {models}, {run['jobs']} jobs{env}",
                growth + (f", recycled {recycled}x" if recycled else ""),
                "< 10 % growth",
                verdict("memory"),
            )
        )
    for row in _get(s, "queue", "depths", default=[]):
        is_target = row["depth"] == max(r["depth"] for r in s["queue"]["depths"])
        rows.append(
            (
                f"Claim rate, {row['depth']} pending",
                f"{row['claims_per_s']:.0f} claims/s ({row['cycles_per_s']:.0f}/s with finish)",
                ">= 1,000/s at 10,000" if is_target else "",
                verdict("claim_rate") if is_target else "",
            )
        )
    base = s.get("baseline") or {}
    if "handshake" in base:
        hs = base["handshake"]
        pct = f" = {100 * hs['images_per_s'] / limit:.1f} % of the limit" if limit else ""
        rows.append(
            (
                f"Baseline: seed file handshake, concurrency {hs['concurrency']}",
                f"{hs['images_per_s']:.2f} images/s{pct}",
                "",
                "",
            )
        )
        rows.append(
            (
                "  its added latency p50 / p99; idle CPU",
                _ms(hs["idle"]["added_ms"], "p50", "p99")
                + f" ms; {hs['idle_cpu_percent_of_one_core']:.0f} % of one core",
                "",
                "",
            )
        )
        if "engine_s" in hs:
            rows.append(
                (
                    "  its engines busy; engine time per image",
                    f"{100 * hs['engine_busy_fraction']:.1f} % of the wall "
                    f"time; {1000 * hs['engine_s'] / hs['images']:.0f} ms",
                    "",
                    "",
                )
            )
    if "per_request" in base:
        pr = base["per_request"]
        pct = f" = {100 * pr['images_per_s'] / limit:.1f} % of the limit" if limit else ""
        rows.append(
            (
                "Baseline: model built per request, one process",
                f"{pr['images_per_s']:.2f} images/s{pct}",
                "",
                "",
            )
        )
        rows.append(
            (
                "  its latency p50 / p99 (building the model p50)",
                _ms(pr["latency_ms"], "p50", "p99") + f" ms ({pr['build_ms']['p50']:.0f} ms)",
                "",
                "",
            )
        )
    return rows


def markdown(results: dict) -> str:
    s = results["sections"]
    lay = results["layout"]
    lines = [
        f"# ocrfarm benchmark, {results['started']}",
        "",
        f"Mode `{results['mode']}`, {results['duration_s'] / 60:.1f} minutes. Machine: "
        f"{results['machine'].get('cores')} cores ({results['machine'].get('cpu', '?')}), "
        f"{results['machine'].get('memory_gb', '?')} GB, Python {results['machine'].get('python')}. "
        f"Layout: OCRFARM_WORKERS={lay['workers']}, OCRFARM_THREADS={lay['threads']}, "
        f"OCRFARM_MODELS={lay['models']}, OCRFARM_ENGINE={lay['engine']}.",
        "",
        "## Summary",
        "",
        "| measure | figure | target | result |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary_rows(results)]
    lines += ["", "## Targets", ""]
    for key, text in TARGETS.items():
        t = results["targets"].get(key)
        if t is None:
            lines.append(f"- {text}: not measured in this run")
        else:
            lines.append(f"- {text}: {t['figure']} -> {'pass' if t['pass'] else 'FAIL'}")
    if "accuracy" in s:
        from bench import accuracy_report

        lines += accuracy_report.markdown(s["accuracy"])
        if "idcards" in s["accuracy"]:
            from bench import card_accuracy

            lines += card_accuracy.markdown(s["accuracy"]["idcards"])
    lines += [
        "",
        "## Images",
        "",
        "Made by `bench/images.py` from seed 20261122 (the same bytes on every run; sha256 prefix below).",
        "",
        "| image | kind | size | bytes | lines drawn | what | sha256 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for image in results.get("images", []):
        lines.append(
            f"| {image['name']} | {image['kind']} | {image['width']}x{image['height']} | {image['bytes']} "
            f"| {image['lines']} | {image['description']} | {image['sha256']} |"
        )
    c = results["counts"]
    lines += [
        "",
        "## Counts",
        "",
        f"- engine limit, HTTP (at 4 x workers clients), drop folder: {c['rounds']} alternating rounds "
        f"(limit, HTTP, drop folder, limit, ...) of {c['passes']} passes over the set each, heaviest image "
        f"first in each pass, the same order for all three; each figure is its images over its summed "
        f"wall time",
        f"- concurrency sweep: {c['sweep_passes']} passes per point; idle single requests: {c['latency_repeats']} per image",
        f"- idle CPU window: {c['idle_seconds']:g} s; memory: {c['memory_jobs']} jobs per model set",
        f"- queue: depths {', '.join(map(str, c['queue_depths']))}, {c['queue_claims']} claims timed at each",
        f"- baselines: handshake {c['handshake_passes']} passes, model per request {c['per_request_passes']} passes",
    ]
    if "engine_single" in s and "latency" in s:
        lines += [
            "",
            "## Idle single requests, per image",
            "",
            "Engine alone: one process, median of its runs. Farm: median HTTP latency and the worker's own "
            "engine time for the same requests.",
            "",
            "| image | engine alone ms | farm latency ms | farm engine ms | added ms |",
            "| --- | --- | --- | --- | --- |",
        ]
        by_image: dict[str, list[dict]] = {}
        for row in s["latency"]["requests"]:
            by_image.setdefault(row["image"], []).append(row)
        alone = s["engine_single"].get("median_s", {})
        from bench.stats import percentile

        for name, rows in by_image.items():
            lat = percentile([r["latency_s"] for r in rows], 50) * 1000
            ocr = percentile([r["ocr_s"] for r in rows], 50) * 1000
            added = percentile([r["added_s"] for r in rows], 50) * 1000
            eng = alone.get(name)
            lines.append(
                f"| {name} | {eng * 1000:.0f} | {lat:.0f} | {ocr:.0f} | {added:.1f} |"
                if eng is not None
                else f"| {name} | - | {lat:.0f} | {ocr:.0f} | {added:.1f} |"
            )
    if "http" in s and "round_images_per_s" in s["http"]:
        lines += [
            "",
            "## Rounds",
            "",
            "Images/s of each contender in each round (they alternate, so each column saw the same machine):",
            "",
            "| round | engine limit | HTTP | drop folder |",
            "| --- | --- | --- | --- |",
        ]
        lim = _get(s, "limit", "round_images_per_s", default=[])
        dr = _get(s, "dropfolder", "round_images_per_s", default=[])
        for n, rate in enumerate(s["http"]["round_images_per_s"]):
            cells = [
                f"{lim[n]:.2f}" if n < len(lim) else "-",
                f"{rate:.2f}",
                f"{dr[n]:.2f}" if n < len(dr) else "-",
            ]
            lines.append(f"| {n + 1} | " + " | ".join(cells) + " |")
    if "http" in s:
        lines += [
            "",
            "## Concurrency",
            "",
            "| clients | images | images/s | latency p50 / p95 / p99 ms |",
            "| --- | --- | --- | --- |",
        ]
        for row in s["http"]["sweep"]:
            lines.append(
                f"| {row['concurrency']} | {row['images']} | {row['images_per_s']:.2f} | "
                f"{_ms(row['latency_ms'], 'p50', 'p95', 'p99')} |"
            )
        h = s["http"]
        lines += [
            "",
            f"Main run: engines busy {100 * h['engine_busy_fraction']:.1f} % of the wall time "
            f"(sum of the workers' ocr_s / (wall x workers)); images per worker {h['per_worker_images']}; "
            f"the client used {h['client_cpu_s']:.1f} s of CPU over {h['wall_s']:.0f} s.",
        ]
        if "farm_cpu_s" in h:
            lines += [
                "",
                "CPU seconds by kind of farm process over the main run: "
                + ", ".join(f"{role} {cpu:.1f}" for role, cpu in sorted(h["farm_cpu_s"].items()))
                + f"; the engines' own time {h['engine_s']:.1f} s. Everything but the engine calls: "
                f"{h['service_cpu_ms_per_image']:.1f} ms of CPU per image (upper bound: engine wall time "
                "stands in for engine CPU).",
            ]
    if "http" in s and "limit" in s and "engine_s" in s["limit"]:
        lim, h = s["limit"], s["http"]
        per_alone = lim["engine_s"] / lim["images"]
        per_farm = h["engine_s"] / h["images"]
        lines += [
            "",
            "## Where the difference to the limit goes",
            "",
            "Throughput = workers x (share of the wall time the engines are busy) / (engine seconds per "
            "image). The farm can fall short of the limit in two ways: its engines wait between jobs "
            "(the service's own work: upload, decode, spool writes, dispatch), or its engine calls are "
            "slower (they share the cores with the front and the client).",
            "",
            "| | engine limit | farm over HTTP | farm / limit |",
            "| --- | --- | --- | --- |",
            f"| engines busy, share of wall time | {100 * lim['engine_busy_fraction']:.1f} % | "
            f"{100 * h['engine_busy_fraction']:.1f} % | {h['engine_busy_fraction'] / lim['engine_busy_fraction']:.3f} |",
            f"| engine seconds per image | {per_alone * 1000:.0f} ms | {per_farm * 1000:.0f} ms | "
            f"{per_farm / per_alone:.3f} |",
            f"| images/s | {lim['images_per_s']:.2f} | {h['images_per_s']:.2f} | "
            f"{h['images_per_s'] / lim['images_per_s']:.3f} |",
        ]
    if "idle" in s:
        lines += ["", "## Idle CPU by process", "", "| pid | process | CPU s |", "| --- | --- | --- |"]
        for row in s["idle"]["per_process"]:
            lines.append(f"| {row['pid']} | {row['role']} | {row['cpu_s']:.3f} |")
    if "dropfolder" in s:
        d = s["dropfolder"]
        pw = d["plain_writes"]
        lines += [
            "",
            "## Drop folder",
            "",
            f"{d['files']} files, {d['mode']}: {d['images_per_s']:.2f} images/s from the first drop to the last "
            f"result ({d['wall_s']:.1f} s; dropping took {d['drop_s']:.2f} s); result after drop p50 "
            f"{d['result_after_drop_ms']['p50']:.0f} ms (queueing included). Failed: {d['failed']}.",
            f"Files written in place (no rename) wait for the quiet period, {pw['quiet_period_s']:g} s: beyond "
            f"it and the OCR itself they took {_ms(pw['beyond_quiet_period_and_ocr_ms'], 'p50', 'max')} ms "
            f"(p50 / max) over {len(pw['files'])} files.",
        ]
    if "queue" in s:
        q = s["queue"]
        variants = q.get("variants_described", ["as is"])
        lines += [
            "",
            "## Queue scale",
            "",
            'Claims per second (claim() alone; claim() + finish() in brackets). "as is" is '
            "ocrfarm/spool.py"
            + (
                "; the other columns are the changes described in bench/queue_scale.py, "
                "measured the same way."
                if len(variants) > 1
                else "."
            ),
            "",
            "| pending | listing queue/ p50 ms | " + " | ".join(variants) + " |",
            "| --- | --- | " + " | ".join("---" for _ in variants) + " |",
        ]
        for row in q["depths"]:
            cells = [
                f"{row['variants'][v]['claims_per_s']:.0f} ({row['variants'][v]['cycles_per_s']:.0f})"
                for v in variants
                if v in row.get("variants", {})
            ]
            lines.append(f"| {row['depth']} | {row['listing_ms']['p50']:.2f} | " + " | ".join(cells) + " |")
        lines.append(f"\nSubmitting (to fill the queue): {q['submits_per_s']:.0f} jobs/s.")
    for models, run in (s.get("memory") or {}).items():
        if isinstance(run, dict) and "per_worker" in run:
            env = "".join(f" with {k}={v}" for k, v in (run.get("extra_env") or {}).items())
            lines += [
                "",
                f"## Memory, {models}",
                "",
                f"{run['jobs']} jobs{env} in {run['wall_s']:.0f} s ({run['images']}); "
                f"recycled: {run['recycled']}.",
                "",
                "| worker | jobs | after warm-up MB | at half MB | end MB | max MB | growth after "
                "warm-up | growth over the second half (target) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for name, row in run["per_worker"].items():
                lines.append(
                    f"| {name} | {row['jobs']} | {row['warm_rss_mb']:.0f} | {row['half_rss_mb']:.0f} | "
                    f"{row['end_rss_mb']:.0f} | {row['max_rss_mb']:.0f} | "
                    f"{row['growth_after_warm_up_percent']:+.1f} % | {row['growth_percent']:+.1f} % |"
                )
    lines += [
        "",
        "## The machine during each section",
        "",
        "All cores' busy time over the section, this benchmark's own processes included (from /proc/stat). "
        "A section that should leave a core free (idle, single requests) but shows it busy ran beside "
        "other work on the machine, and its figures are less sure.",
        "",
        "| section | seconds | cores busy % | load average after |",
        "| --- | --- | --- | --- |",
    ]
    for name, section in s.items():
        if isinstance(section, dict) and "machine_busy_percent" in section:
            load = section.get("load_average_after") or ["?"]
            lines.append(
                f"| {name} | {section['section_s']:.0f} | {section['machine_busy_percent']:.0f} | "
                f"{load[0]:.2f} |"
                if load[0] != "?"
                else f"| {name} | {section['section_s']:.0f} | {section['machine_busy_percent']:.0f} | ? |"
            )
    if results.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in results["plots"]]
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


def _plots(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = results["sections"]
    made = []

    def save(fig, name):
        path = out / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

    bars = []
    if "limit" in s:
        bars.append(("engine limit", s["limit"]["images_per_s"]))
    if "http" in s:
        bars.append(("farm, HTTP", s["http"]["images_per_s"]))
    if "dropfolder" in s:
        bars.append(("farm, drop folder", s["dropfolder"]["images_per_s"]))
    base = s.get("baseline") or {}
    if "handshake" in base:
        bars.append(("seed handshake", base["handshake"]["images_per_s"]))
    if "per_request" in base:
        bars.append(("model per request", base["per_request"]["images_per_s"]))
    if bars:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.barh([b[0] for b in bars][::-1], [b[1] for b in bars][::-1], color="#4a78a8")
        for y, (_, value) in enumerate(bars[::-1]):
            ax.text(value, y, f" {value:.2f}", va="center")
        ax.set_xlabel("images per second")
        ax.set_title("Throughput on the same images")
        ax.set_xlim(0, max(b[1] for b in bars) * 1.2)
        save(fig, "throughput.png")
    if "latency" in s:
        rows = s["latency"]["requests"]
        fig, ax = plt.subplots(figsize=(7, 3.6))
        added = sorted(max(0.1, r["added_s"] * 1000) for r in rows)
        ax.plot(
            added,
            [100 * (i + 1) / len(added) for i in range(len(added))],
            label="farm: latency - engine time",
        )
        decode = sorted(max(0.1, r["decode_s"] * 1000) for r in rows)
        ax.plot(decode, [100 * (i + 1) / len(decode) for i in range(len(decode))], label="of which decoding")
        ax.axvline(15, color="grey", linestyle=":", label="target p50 15 ms")
        ax.axvline(50, color="grey", linestyle="--", label="target p99 50 ms")
        ax.set_xscale("log")
        ax.set_xlabel("ms added to the engine's own time, one request on an idle farm (log scale)")
        ax.set_ylabel("% of requests")
        ax.legend()
        save(fig, "latency_added.png")
    if "http" in s:
        sweep = s["http"]["sweep"]
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.plot(
            [r["concurrency"] for r in sweep],
            [r["images_per_s"] for r in sweep],
            "o-",
            label="farm over HTTP",
        )
        if "limit" in s:
            ax.axhline(s["limit"]["images_per_s"], color="grey", linestyle="--", label="engine limit")
            ax.axhline(
                0.95 * s["limit"]["images_per_s"], color="grey", linestyle=":", label="95 % of the limit"
            )
        ax.set_xlabel("clients at once")
        ax.set_ylabel("images per second")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower right")
        save(fig, "concurrency.png")
    for models, run in (s.get("memory") or {}).items():
        if not isinstance(run, dict) or "samples" not in run:
            continue
        fig, ax = plt.subplots(figsize=(7, 3.6))
        names = sorted({name for row in run["samples"] for name in row["workers"]})
        for name in names:
            points = [
                (row["workers"][name]["jobs"], row["workers"][name]["rss_mb"])
                for row in run["samples"]
                if name in row["workers"]
            ]
            ax.plot([p[0] for p in points], [p[1] for p in points], label=name)
        ax.set_xlabel("jobs done by the worker")
        ax.set_ylabel("resident memory, MB")
        ax.set_title(f"Worker memory, OCRFARM_MODELS={models}")
        ax.set_ylim(bottom=0)
        ax.legend()
        save(fig, f"memory_{models}.png")
    if "queue" in s:
        rows = s["queue"]["depths"]
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for variant in s["queue"].get("variants_described", ["as is"]):
            ax.plot(
                [r["depth"] for r in rows],
                [r["variants"][variant]["claims_per_s"] for r in rows],
                "o-",
                label=f"claim(), {variant}",
            )
        ax.plot(
            [r["depth"] for r in rows],
            [r["cycles_per_s"] for r in rows],
            "s--",
            label="claim() + finish(), as is",
        )
        ax.axhline(1000, color="grey", linestyle=":", label="target 1,000/s")
        ax.set_xscale("log")
        ax.set_xlabel("jobs pending")
        ax.set_ylabel("per second")
        top = max(v["claims_per_s"] for r in rows for v in r.get("variants", {"": r}).values())
        ax.set_ylim(0, top * 1.7)
        ax.legend(fontsize=8, loc="upper center", ncol=2)
        save(fig, "queue_scale.png")
    return made
