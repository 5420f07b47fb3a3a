"""The accuracy section's figures from the contenders' readings: per contender x class, per language,
and the lines two contenders read differently. Scoring itself is bench/scoring.py."""

from __future__ import annotations

from bench import scoring
from bench.accuracy import PADDLE_NO_CLS, PADDLE_REFERENCE, PIPELINE_VARIANTS, TESSERACT
from bench.stats import percentile

# The order of the rows; classes not listed here come after, alphabetically.
CLASS_ORDER = (
    "page-en",
    "page-zh",
    "receipt",
    "photo",
    "small",
    "sign",
    "languages",
    "upside-down",
    "columns",
    "rotated",
    "skewed",
    "document",
    "large",
)
LANGUAGE_CLASS = "languages"
DIFFERENCES_SHOWN = 30


def _class_key(name: str) -> tuple:
    return (CLASS_ORDER.index(name) if name in CLASS_ORDER else len(CLASS_ORDER), name)


def summarise(raw: dict, samples) -> dict:
    """Scores for every contender; `raw` is bench.accuracy.run()'s result."""
    by_name = {sample.name: sample for sample in samples}
    contenders = []
    for contender in raw["contenders"]:
        if "images" not in contender:
            contenders.append(
                {key: contender.get(key) for key in ("label", "kind", "settings", "default", "error")}
            )
            continue
        pages = {}
        for name, reading in contender["images"].items():
            sample = by_name[name]
            page = scoring.score_page(sample.lines, reading["lines"])
            pages[name] = page
        contenders.append(
            {
                "label": contender["label"],
                "kind": contender["kind"],
                "settings": contender["settings"],
                "default": contender["default"],
                "engine": contender.get("engine"),
                "load_s": contender.get("load_s"),
                "startup_cpu_s": contender.get("startup_cpu_s"),
                "process_s": contender.get("process_s"),
                "rows": _rows(pages, contender["images"], by_name),
                "rotation": _rotation(contender["images"], by_name),
                "images": {
                    name: _image_row(page, contender["images"][name], by_name[name])
                    for name, page in pages.items()
                },
                "_pages": pages,  # for the differences below; not written out
            }
        )
    result = {
        "contenders": contenders,
        "skipped": raw.get("skipped", []),
        "repeats": raw.get("repeats"),
        "parallel_contenders": raw.get("parallel_contenders", 1),
        "farm_default": raw.get("farm_default"),
        "samples": [sample.describe() for sample in samples],
        "differences": _all_differences(contenders, raw["contenders"]),
    }
    for contender in contenders:
        contender.pop("_pages", None)
    return result


def _rotation(readings: dict, by_name: dict) -> dict | None:
    """How often the page's turn was found: on the drawn pages whose turn is known, those turned
    (90, 180, 270) read at their turn, and those upright read as if turned. None for contenders
    that report no rotation (Tesseract here)."""
    known = [(name, by_name[name].rotation) for name in readings if by_name[name].rotation is not None]
    if not known or any("rotation" not in readings[name] for name, _ in known):
        return None
    turned = [(name, want) for name, want in known if want]
    upright = [name for name, want in known if not want]
    return {
        "turned": len(turned),
        "turned_right": sum(readings[name]["rotation"] == want for name, want in turned),
        "upright": len(upright),
        "upright_turned": sum(readings[name]["rotation"] != 0 for name in upright),
        "wrong": [
            {"image": name, "expected": want, "found": readings[name]["rotation"]}
            for name, want in known
            if readings[name]["rotation"] != want
        ],
    }


def _cpu(reading: dict) -> float:
    # The lower of several runs: what the image costs when nothing else gets in the way.
    return min(reading["cpu_s"])


def _image_row(page: scoring.PageScore, reading: dict, sample) -> dict:
    return {
        "class": sample.cls,
        "origin": sample.origin,
        "cer": page.cer,
        "cer_ordered": page.cer_ordered,
        "word_recall": page.word_recall,
        "line_recall": page.line_recall,
        "chars": page.chars,
        "reference_lines": len(page.lines),
        "lines_found": len(reading["lines"]),
        "lines_dropped": len(reading.get("dropped", [])),
        "cpu_s": _cpu(reading),
        "wall_s": percentile(reading["wall_s"], 50),
        "text": reading["lines"],
        "rotation": reading.get("rotation"),
    }


def _rows(pages: dict, readings: dict, by_name: dict) -> list[dict]:
    """Rows: each drawn class, drawn (all), the languages class per language, each real class, real (all)."""
    groups: dict[str, list[str]] = {}
    for name in pages:
        groups.setdefault(by_name[name].cls, []).append(name)
    drawn = sorted((c for c in groups if not c.startswith("real-")), key=_class_key)
    real = sorted(c for c in groups if c.startswith("real-"))
    rows = []

    def row(label: str, names: list[str], group: str) -> dict:
        totals = scoring.Totals()
        for name in names:
            totals.add_page(pages[name])
        cpu = [_cpu(readings[name]) for name in names]
        wall = [percentile(readings[name]["wall_s"], 50) for name in names]
        return {
            "row": label,
            "group": group,
            **totals.figures(),
            "images": len(names),
            "cpu_s_per_image": sum(cpu) / len(cpu) if cpu else None,
            "wall_s_per_image": sum(wall) / len(wall) if wall else None,
        }

    for cls in drawn:
        rows.append(row(cls, groups[cls], "drawn"))
    if drawn:
        rows.append(row("drawn (all)", [n for c in drawn for n in groups[c]], "drawn"))
    if LANGUAGE_CLASS in groups:
        per_language: dict[str, scoring.Totals] = {}
        for name in groups[LANGUAGE_CLASS]:
            for line in pages[name].lines:
                per_language.setdefault(line.lang, scoring.Totals()).add_line(line)
        for lang in sorted(per_language):
            rows.append(
                {
                    "row": f"{LANGUAGE_CLASS}: {lang}",
                    "group": "language",
                    **per_language[lang].figures(),
                    "images": None,
                    "cpu_s_per_image": None,
                    "wall_s_per_image": None,
                }
            )
    for cls in real:
        rows.append(row(cls, groups[cls], "real"))
    if real:
        rows.append(row("real (all)", [n for c in real for n in groups[c]], "real"))
    return rows


# ---- where two contenders read differently ---------------------------------------------------------


def _all_differences(scored: list[dict], raw: list[dict]) -> list[dict]:
    """The farm's default against PaddleOCR 2.10 as the workers ran it (when they differ), against each
    pipeline variant (what one change did), and PaddleOCR with its classifier against without it
    (which shows what the classifier turns)."""
    by_label = {c["label"]: c for c in scored if "_pages" in c}
    raw_by_label = {c["label"]: c for c in raw if "images" in c}
    default = next((c["label"] for c in scored if c.get("default") and c["label"] in by_label), None)
    pairs = []
    if default and PADDLE_REFERENCE in by_label and default != PADDLE_REFERENCE:
        pairs.append(
            (
                default,
                PADDLE_REFERENCE,
                "the farm's default against PaddleOCR 2.10 with its classifier (what the workers ran)",
                False,
            )
        )
    for label, _, _ in PIPELINE_VARIANTS:
        if default and label in by_label:
            pairs.append(
                (
                    default,
                    label,
                    f"the farm's default against {label}: the same pipeline with one part as it was "
                    "before a change, so every difference is that change's",
                    False,
                )
            )
    if PADDLE_REFERENCE in by_label and PADDLE_NO_CLS in by_label:
        pairs.append(
            (
                PADDLE_REFERENCE,
                PADDLE_NO_CLS,
                "PaddleOCR 2.10 with the angle classifier against without it: the same detector and "
                "recogniser, so every difference is a line crop the classifier turned 180 degrees",
                True,
            )
        )
    return [_differences(a, b, why, by_label, raw_by_label, cls_pair) for a, b, why, cls_pair in pairs]


def _dropped_match(reference: str, reading: dict) -> dict | None:
    """A line the engine read but dropped under the confidence floor, if one matches `reference`."""
    best = None
    for line in reading.get("dropped", []):
        error = scoring.cer(reference, line["text"])
        if error <= 0.5 and (best is None or error < best[0]):
            best = (error, line)
    return best[1] if best else None


def _nothing(label: str, line, reading: dict, turned: str | None) -> str:
    """Why `label` has nothing for this line. `turned`: what the one difference between the two
    contenders (the classifier) did, when that is the only difference."""
    dropped = _dropped_match(line.reference, reading)
    if dropped:
        return (
            f"{label} read it as {dropped['text']!r} but dropped it under the confidence floor "
            f"({dropped['confidence']:.2f})"
        )
    count = len(reading.get("dropped", []))
    if count and turned:
        return turned
    if count:
        # Typically a crop read the wrong way up: garbage with a low confidence.
        return (
            f"{label} has nothing here; it dropped {count} line(s) of this image under the confidence "
            f"floor, none like this one"
        )
    return f"{label} found nothing here"


def _verdict(a: str, b: str, line_a, line_b, reading_a: dict, reading_b: dict, cls_pair: bool = False) -> str:
    if not scoring.squeeze(line_a.read_as):
        return _nothing(
            a,
            line_a,
            reading_a,
            "the classifier turned this upright line over; read upside down "
            "it fell under the confidence floor and was dropped"
            if cls_pair
            else None,
        )
    if not scoring.squeeze(line_b.read_as):
        return _nothing(
            b,
            line_b,
            reading_b,
            "without the classifier this upside-down line is read as it "
            "lies, as garbage under the confidence floor, and dropped"
            if cls_pair
            else None,
        )
    if line_a.edits < line_b.edits:
        return f"{a} is closer"
    if line_b.edits < line_a.edits:
        return f"{b} is closer"
    return "different, equally far from the reference"


def _differences(a: str, b: str, why: str, scored: dict, raw: dict, cls_pair: bool) -> dict:
    rows = []
    for name, page_a in scored[a]["_pages"].items():
        page_b = scored[b]["_pages"].get(name)
        if page_b is None:
            continue
        for line_a, line_b in zip(page_a.lines, page_b.lines, strict=True):
            if scoring.squeeze(line_a.read_as) == scoring.squeeze(line_b.read_as):
                continue
            rows.append(
                {
                    "image": name,
                    "class": scored[a]["images"][name]["class"],
                    "reference": line_a.reference,
                    "a": line_a.read_as,
                    "a_cer": line_a.edits / line_a.chars,
                    "b": line_b.read_as,
                    "b_cer": line_b.edits / line_b.chars,
                    "why": _verdict(
                        a, b, line_a, line_b, raw[a]["images"][name], raw[b]["images"][name], cls_pair
                    ),
                }
            )
    # Largest differences first: those are the ones that decide.
    rows.sort(key=lambda row: -abs(row["a_cer"] - row["b_cer"]))
    better_a = sum(row["a_cer"] < row["b_cer"] for row in rows)
    better_b = sum(row["b_cer"] < row["a_cer"] for row in rows)
    return {
        "a": a,
        "b": b,
        "about": why,
        "lines": rows,
        "count": len(rows),
        "a_closer": better_a,
        "b_closer": better_b,
    }


# ---- markdown ---------------------------------------------------------------------------------------


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _seconds(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _short(text: str, limit: int = 90) -> str:
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(section: dict) -> list[str]:
    contenders = [c for c in section["contenders"] if "rows" in c]
    failed = [c for c in section["contenders"] if "rows" not in c]
    default = next((c for c in section["contenders"] if c.get("default")), None)
    out = [
        "",
        "## Accuracy",
        "",
        "Each contender read every ground-truth image in a fresh process with one thread "
        f"({section['repeats']} run(s) per image; {section.get('parallel_contenders', 1)} contender(s) at a "
        "time). CER: edit distance over the reference's characters, all whitespace left out, with the "
        "engine's lines put in the reference's order; reading order: the same CER of the whole page "
        "with the lines in the farm's reading order (ocrfarm/layout.py, for every farm contender; "
        "Tesseract's own order) against the reference in reading order; "
        "word recall: reference words found among the engine's words (a CJK character is a word); line "
        f"recall: reference lines read as one engine line with CER <= {scoring.LINE_READ_CER:g}. "
        "Figures are over all the characters, words and lines of a row's images. docs/bench/README.md "
        "explains each choice.",
        "",
    ]
    if section.get("machine_busy_percent") is not None:
        load = (section.get("load_average_after") or [None])[0]
        out.append(
            f"All cores were {section['machine_busy_percent']:.0f} % busy over the section"
            + (f" (load average {load:.1f} after it)" if load is not None else "")
            + f", {section.get('parallel_contenders', 1)} contender(s) at a time taking one core each: "
            "CPU seconds taken beside other work are less sure (shared caches), wall times much less."
        )
    if default:
        settings = ", ".join(f"{k}={v}" for k, v in default["settings"].items())
        out.append(f"The farm's default (Settings with nothing set: {settings}) is **{default['label']}**.")
    if section.get("skipped"):
        out.append(
            "Not run (Settings does not accept them on this checkout): "
            + "; ".join(f"{s['label']} ({s['reason']})" for s in section["skipped"])
            + "."
        )
    for c in failed:
        out.append(f"**{c['label']} failed**: {_short(str(c.get('error')), 400)}")
    tess = next((c for c in contenders if c["label"] == TESSERACT), None)
    if tess:
        startup = ", ".join(
            f"-l {lang} {cpu:.2f} s" for lang, cpu in (tess.get("startup_cpu_s") or {}).items()
        )
        out.append(
            f"Tesseract: `tesseract <image> stdout -l <languages> --psm 3 tsv`, OMP_THREAD_LIMIT=1, told each "
            "image's languages (eng for English, chi_sim for Chinese, the languages of its lines for the "
            "languages class and the real pages' manifest language). Its CPU per image includes loading its "
            f"language data on every call; that start-up alone, on a blank image: {startup}."
        )
    if not contenders:
        return out
    labels = [c["label"] + (" (default)" if c.get("default") else "") for c in contenders]
    rows = [r["row"] for r in contenders[0]["rows"]]
    tables = (
        ("CER %, engine's lines in the reference's order (headline)", "cer", _pct),
        ("CER %, the whole page in the farm's reading order (reading-order quality)", "cer_ordered", _pct),
        ("Word recall", "word_recall", _ratio),
        ("Line recall", "line_recall", _ratio),
        ("CPU seconds per image (one thread)", "cpu_s_per_image", _seconds),
    )
    for title, key, form in tables:
        out += [
            "",
            f"### {title}",
            "",
            "| class | images | " + " | ".join(labels) + " |",
            "| --- | --- | " + " | ".join("---" for _ in labels) + " |",
        ]
        for name in rows:
            cells = []
            images = None
            for c in contenders:
                row = next((r for r in c["rows"] if r["row"] == name), None)
                cells.append(form(row.get(key)) if row else "-")
                images = images or (row or {}).get("images")
            if key in ("cpu_s_per_image", "cer_ordered") and name.startswith(LANGUAGE_CLASS + ":"):
                continue  # a line has no CPU time, nor a share of the engine's own order
            bold = name.endswith("(all)")
            label = f"**{name}**" if bold else name
            out.append(f"| {label} | {images or ''} | " + " | ".join(cells) + " |")
    turns = [c for c in contenders if c.get("rotation")]
    if turns:
        out += [
            "",
            "### Page rotation found",
            "",
            "Drawn pages whose turn is known: turned ones (90, 180, 270 degrees) read at their turn, "
            "upright ones read as if turned.",
            "",
            "| contender | turned pages read at their turn | upright pages read as turned | wrong |",
            "| --- | --- | --- | --- |",
        ]
        for c in turns:
            r = c["rotation"]
            wrong = ", ".join(f"{w['image']} ({w['found']} for {w['expected']})" for w in r["wrong"]) or "-"
            out.append(
                f"| {c['label']} | {r['turned_right']} of {r['turned']} | {r['upright_turned']} of "
                f"{r['upright']} | {_short(wrong, 200)} |"
            )
    real = [r for r in contenders[0]["rows"] if r["group"] == "real"]
    out += [
        "",
        "Real pages: "
        + (
            f"{sum(r['images'] for r in real if not r['row'].endswith('(all)'))} images in "
            "bench/groundtruth/real/, the rows starting with real-, apart from the drawn ones."
            if real
            else "none in bench/groundtruth/real/ on this checkout; drawn images only."
        ),
    ]
    for diff in section.get("differences", []):
        out += [
            "",
            f"### Where {diff['a']} and {diff['b']} read differently",
            "",
            f"{diff['about']}. {diff['count']} reference lines read differently: {diff['a']} closer on "
            f"{diff['a_closer']}, {diff['b']} closer on {diff['b_closer']}"
            + (
                f"; the first {DIFFERENCES_SHOWN}, largest difference first (all in report.json):"
                if diff["count"] > DIFFERENCES_SHOWN
                else ":"
            ),
            "",
        ]
        if diff["lines"]:
            out += [
                f"| image | reference | {diff['a']} | CER | {diff['b']} | CER | why |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for row in diff["lines"][:DIFFERENCES_SHOWN]:
                out.append(
                    f"| {row['image']} | {_short(row['reference'])} | {_short(row['a'])} | "
                    f"{100 * row['a_cer']:.0f} % | {_short(row['b'])} | {100 * row['b_cer']:.0f} % | "
                    f"{_short(row['why'], 160)} |"
                )
    out += [
        "",
        "### Per image",
        "",
        "CER % (headline) / lines found (dropped under the confidence floor) / CPU s, per contender.",
        "",
        "| image | class | " + " | ".join(labels) + " |",
        "| --- | --- | " + " | ".join("---" for _ in labels) + " |",
    ]
    for sample in section["samples"]:
        cells = []
        for c in contenders:
            image = c["images"].get(sample["name"])
            cells.append(
                "-"
                if image is None
                else f"{100 * image['cer']:.1f} / {image['lines_found']}"
                + (f" ({image['lines_dropped']})" if image["lines_dropped"] else "")
                + f" / {image['cpu_s']:.2f}"
            )
        out.append(f"| {sample['name']} | {sample['class']} | " + " | ".join(cells) + " |")
    return out
