"""Identity-card field accuracy: drawn cards (bench/cards.py) photographed each way people do, read
by the farm's default engine through the card reader a worker runs (ocrfarm/idcard/), one thread, in
a process of its own (`python -m bench.card_accuracy`), as the accuracy section's contenders are.

A field counts as read when its text is exactly the drawn one. Per kind of photo and per field; also
whether the number's check came out as drawn (half the cards have a wrong check character, which
must be reported as failing and never corrected), and the engine readings and CPU seconds per card
(a turned or small card is read more than once).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261214
CARDS = {"smoke": 1, "quick": 6, "full": 10}


def drawn(count: int, seed: int = SEED):
    """(name, side, kind, truth, right_check, encoded picture, turn) for `count` people, both sides,
    every kind of photo."""
    import numpy as np

    from bench import cards

    rng = np.random.default_rng(seed)
    for n in range(count):
        right = n % 2 == 0
        person = cards.person(rng, right_check=right)
        for side, picture, truth in (
            ("front", cards.draw_front(person, rng), person.front_truth()),
            ("back", cards.draw_back(person, rng), person.back_truth()),
        ):
            for kind in cards.PHOTOS:
                image, turn = cards.photograph(picture, kind, rng)
                yield f"card{n:02d}-{side}-{kind}", side, kind, truth, right, cards.encode(image), turn


def run(mode: str, work: Path, log) -> dict:
    """Read the drawn cards in a child process; returns the section's figures."""
    out = work / "idcards.json"
    count = CARDS.get(mode, CARDS["quick"])
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "bench.card_accuracy", "--count", str(count), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if process.returncode != 0 or not out.is_file():
        log(f"  idcards: FAILED (exit {process.returncode}): {process.stderr[-2000:]}")
        return {"error": process.stderr[-2000:]}
    result = summarise(json.loads(out.read_text()))
    result["process_s"] = round(time.monotonic() - started, 1)
    log(f"  idcards: {count} cards x 2 sides x {len(result['kinds'])} kinds of photo: " + _line(result))
    return result


def _line(result: dict) -> str:
    return ", ".join(f"{kind} {100 * row['fields_read']:.0f} %" for kind, row in result["kinds"].items())


def summarise(raw: dict) -> dict:
    from ocrfarm.idcard.fields import BACK, FRONT

    kinds: dict[str, dict] = {}
    fields: dict[str, dict] = {name: {"read": 0, "of": 0} for name in FRONT + BACK}
    for item in raw["images"]:
        row = kinds.setdefault(
            item["kind"],
            {
                "cards": 0,
                "found": 0,
                "read": 0,
                "of": 0,
                "checks_right": 0,
                "fronts": 0,
                "turn_right": 0,
                "readings": 0,
                "cpu_s": 0.0,
                "fields": {},
            },
        )
        row["cards"] += 1
        row["readings"] += item["readings"]
        row["cpu_s"] += item["cpu_s"]
        card = item["card"]
        row["found"] += card is not None and card["side"] == item["side"]
        row["turn_right"] += card is not None and card["turned"] == item["turn"]
        for name, expected in item["truth"].items():
            got = (card or {}).get("fields", {}).get(name, {}).get("text")
            right = got == expected
            row["read"] += right
            row["of"] += 1
            per = row["fields"].setdefault(name, {"read": 0, "of": 0})
            per["read"] += right
            per["of"] += 1
            fields[name]["read"] += right
            fields[name]["of"] += 1
        if item["side"] == "front":
            row["fronts"] += 1
            check = (card or {}).get("checks", {}).get("check_character")
            row["checks_right"] += check is item["right_check"] and not (card or {}).get("corrections")
    out_kinds = {}
    for kind, row in kinds.items():
        out_kinds[kind] = {
            "cards": row["cards"],
            "side_found": round(row["found"] / row["cards"], 4),
            "turn_found": round(row["turn_right"] / row["cards"], 4),
            "fields_read": round(row["read"] / row["of"], 4),
            "fields": {name: round(v["read"] / v["of"], 4) for name, v in row["fields"].items()},
            "number_check_as_drawn": round(row["checks_right"] / max(row["fronts"], 1), 4),
            "readings_per_card": round(row["readings"] / row["cards"], 2),
            "cpu_s_per_card": round(row["cpu_s"] / row["cards"], 3),
        }
    return {
        "engine": raw["engine"],
        "kinds": out_kinds,
        "fields": {name: round(v["read"] / v["of"], 4) for name, v in fields.items() if v["of"]},
        "misread": [m for item in raw["images"] for m in _misread(item)][:40],
    }


def _misread(item: dict):
    card = item["card"] or {}
    for name, expected in item["truth"].items():
        got = card.get("fields", {}).get(name, {}).get("text")
        if got != expected:
            yield {"image": item["name"], "field": name, "expected": expected, "read": got}


def markdown(section: dict) -> list[str]:
    if "kinds" not in section:
        return ["", "### Identity cards", "", f"Not measured: {section.get('error', '?')[:300]}"]
    kinds = list(section["kinds"])
    names = list(section["fields"])
    out = [
        "",
        "### Identity cards",
        "",
        f"Drawn cards read by {section['engine'].get('engine')} through the card reader (one thread); a "
        "field counts when its text is exactly the drawn one. Number check as drawn: the check "
        "character reported passing on right numbers and failing (uncorrected) on wrong ones.",
        "",
        "| kind of photo | cards | side found | "
        + " | ".join(names)
        + " | all fields | number check as drawn "
        "| readings per card | CPU s per card |",
        "| --- " * (len(names) + 7) + "|",
    ]
    for kind in kinds:
        row = section["kinds"][kind]
        cells = [f"{100 * row['fields'][n]:.0f} %" if n in row["fields"] else "—" for n in names]
        out.append(
            f"| {kind} | {row['cards']} | {100 * row['side_found']:.0f} % | "
            + " | ".join(cells)
            + f" | {100 * row['fields_read']:.1f} % | {100 * row['number_check_as_drawn']:.0f} % | "
            f"{row['readings_per_card']:.2f} | {row['cpu_s_per_card']:.2f} |"
        )
    if section.get("misread"):
        out += ["", "Fields not read as drawn:", ""]
        out += [
            f"- {m['image']} {m['field']}: {m['read']!r} for {m['expected']!r}" for m in section["misread"]
        ]
    return out


# ---- the child -------------------------------------------------------------------------------------


def _child(count: int) -> dict:
    from bench import engine_use

    settings, engine = engine_use.load(threads=1)
    from ocrfarm.idcard.fields import NotAnIdCard
    from ocrfarm.idcard.reading import read_card

    readings = [0]

    def recognize(image):
        readings[0] += 1
        lines = engine_use.recognize(engine, image, settings)
        return [line.to_json() for line in lines if line.confidence >= settings.min_confidence]

    items = list(drawn(count))
    engine_use.recognize(engine, engine_use.decode(items[0][5], settings), settings)  # warm-up
    images = []
    for name, side, kind, truth, right, data, turn in items:
        image = engine_use.decode(data, settings)
        readings[0] = 0
        c0 = time.process_time()
        _, card = read_card(image, recognize)
        cpu = time.process_time() - c0
        images.append(
            {
                "name": name,
                "side": side,
                "kind": kind,
                "truth": truth,
                "right_check": right,
                "turn": turn,
                "card": None if isinstance(card, NotAnIdCard) else card,
                "readings": readings[0],
                "cpu_s": cpu,
            }
        )
    return {"engine": engine.describe(), "images": images}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.card_accuracy", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--count", type=int, default=CARDS["quick"], help="people drawn (each card both sides)"
    )
    parser.add_argument("--out", type=Path, help="raw readings (JSON); without it, print the report")
    args = parser.parse_args(argv)
    raw = _child(args.count)
    if args.out:
        args.out.write_text(json.dumps(raw, ensure_ascii=False))
    else:
        print("\n".join(markdown(summarise(raw))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
