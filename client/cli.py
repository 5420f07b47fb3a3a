"""scripts/ocr: the options, the pool of senders, the progress bar, the results and the report."""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path

from tqdm import tqdm

from client.farm import Failed, HttpFarm, Refused, Stopped
from client.inputs import Item, collect

DEFAULT_URL = "http://127.0.0.1:8080"
URL_VARIABLE = "OCRFARM_URL"
TOKEN_VARIABLE = "OCRFARM_API_TOKEN"

DESCRIPTION = """\
Recognise the text in images and PDFs with an ocrfarm: give it files and folders, and for each file
it writes what the farm read as <name>.json (every line with its confidence and box, page by page,
and the text) and <name>.txt (the text alone); with --pdf also <name>.pdf, the searchable PDF.

Files are sent over HTTP to the farm at --url, or with --spool dropped straight into the drop folder
of a spool on this machine. In folders, files ending in .jpg .jpeg .png .bmp .tif .tiff .webp .gif or
.pdf are sent (dotfiles and dot-folders are skipped); a file named on the command line is sent
whatever its name."""

EPILOG = f"""\
results:
  Without --out, results are written next to each file: scans/a.png gives scans/a.json and
  scans/a.txt. With --out DIR they go into DIR, mirroring the input tree: a folder keeps its own
  name, as with cp -r (scripts/ocr scans --out res gives res/scans/a.json). Two files that would
  share a result name (a.jpg and a.png) get a.jpg.json and a.png.json. A result is written whole
  (to a temporary name, then renamed) and replaces an older one of the same name.

retries:
  When the farm's queue is full it answers 503 with Retry-After; the file is sent again after that
  wait, for as long as --timeout allows. A request that gets no answer (farm restarting, connection
  refused or reset) is tried again up to --retries times, after 1, 2, 4 ... seconds.

exit status:
  0 every file was read; 1 some file failed (each is listed with the farm's reason, on stderr);
  2 bad usage or nothing to send; 130 interrupted.

environment:
  {URL_VARIABLE}         the farm's address when --url is not given
  {TOKEN_VARIABLE}   the API token when --token is not given (better than --token, which
                      other users of the machine can see in the process list)

examples:
  scripts/ocr scan.jpg                          # scan.json and scan.txt beside it
  scripts/ocr invoices/ --out results/ -j 8     # a whole tree, 8 files at a time
  scripts/ocr --url http://ocr.lan:8080 a.pdf   # another machine's farm
  scripts/ocr --model ppocrv6 scan.jpg          # one of the farm's other model sets
  scripts/ocr --pdf scans/                      # and a searchable PDF of each (scans/a.pdf)
  scripts/ocr --spool /srv/ocrfarm/spool inbox-batch/
"""


@dataclasses.dataclass
class Outcome:
    item: Item
    record: dict | None = None
    error: str | None = None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/ocr",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="image or PDF files, and folders to search for them"
    )
    where = p.add_argument_group("where the files go (one of)")
    where.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE) or DEFAULT_URL,
        help=f"the farm's address (default: ${URL_VARIABLE} or {DEFAULT_URL})",
    )
    where.add_argument(
        "--spool",
        type=Path,
        metavar="DIR",
        help="instead of HTTP, drop the files into DIR/inbox/ (at their path in the input tree) "
        "and read the results from DIR/outbox/ and DIR/failed/; DIR is the farm's "
        "OCRFARM_SPOOL, on this machine, and the farm must be running on it",
    )
    p.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE) or None,
        help=f"API token, sent as 'Authorization: Bearer <token>' (default: ${TOKEN_VARIABLE})",
    )
    p.add_argument(
        "--model",
        metavar="NAME",
        help="the farm's model set to read with, one of those it has loaded (GET /readyz lists them, "
        "the first is its default); not with --spool, whose files are read with the default",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write <name>.pdf: the document as a searchable PDF, its pages as they were with the "
        "text laid invisibly where it was read (<name>.ocr.pdf when <name>.pdf is the file sent)",
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        metavar="DIR",
        help="write results into DIR, mirroring the input tree (default: next to each file)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=4,
        metavar="N",
        help="files in flight at once (default: 4)",
    )
    p.add_argument(
        "--timeout",
        type=_non_negative,
        default=600,
        metavar="SECONDS",
        help="give up on a file after this long, waits for a busy farm included; 0: never (default: 600)",
    )
    p.add_argument(
        "--retries",
        type=_non_negative_int,
        default=3,
        metavar="N",
        help="times a request that got no answer is tried again (default: 3)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar; only failures and the summary"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="a line per file as it finishes, and every retry with its reason",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.spool is None and not args.url.startswith(("http://", "https://")):
        print(f"scripts/ocr: --url must start with http:// or https://, got {args.url!r}", file=sys.stderr)
        return 2
    if args.spool is not None and args.model is not None:
        # The drop folder has no options: its files are read with the farm's default set.
        print(
            "scripts/ocr: --model needs HTTP; files dropped with --spool are read with the farm's default "
            "model set",
            file=sys.stderr,
        )
        return 2
    items, missing = collect(args.paths, args.out)
    if not items and not missing:
        print("scripts/ocr: no image or PDF files found in " + " ".join(args.paths), file=sys.stderr)
        return 2

    stop = threading.Event()
    bar = tqdm(
        total=len(items),
        unit="file",
        desc="ocr",
        dynamic_ncols=True,
        file=sys.stderr,
        disable=args.quiet or not items,
        smoothing=0.1,
    )

    def say(text: str) -> None:
        if args.verbose:
            bar.write(text, file=sys.stderr)

    try:
        if args.spool is not None:
            from client.dropfolder import DropFolder, NotASpool

            try:
                farm = DropFolder(args.spool, timeout=args.timeout, stop=stop, say=say)
            except NotASpool as exc:
                bar.close()
                print(f"scripts/ocr: {exc}", file=sys.stderr)
                return 2
        else:
            farm = HttpFarm(
                args.url,
                args.token,
                retries=args.retries,
                timeout=args.timeout,
                stop=stop,
                say=say,
                model=args.model,
            )
        return _run(farm, items, missing, args, bar, stop, say)
    finally:
        bar.close()


def _run(farm, items: list[Item], missing, args, bar, stop: threading.Event, say) -> int:
    started = time.monotonic()
    refused: list[str] = []

    def one(item: Item) -> Outcome:
        if stop.is_set():
            return Outcome(
                item,
                error="not sent: "
                + (f"the farm refused the token ({refused[0]})" if refused else "the run was interrupted"),
            )
        try:
            record = farm.run(item)
        except Failed as exc:
            return Outcome(item, error=str(exc))
        except Refused as exc:
            refused.append(str(exc))
            stop.set()
            return Outcome(item, error=f"the farm refused the token: {exc}")
        except Stopped:
            return Outcome(item, error="not finished: the run was interrupted")
        try:
            write_result(item, record)
        except OSError as exc:
            return Outcome(item, record, error=f"read, but the result could not be written: {exc}")
        if args.pdf:
            try:
                _write_whole(item.pdf_out, farm.pdf(item, record))
            except Failed as exc:
                return Outcome(item, record, error=f"read, but no searchable PDF: {exc}")
            except Stopped:
                return Outcome(item, record, error="read; the PDF was not finished: the run was interrupted")
            except OSError as exc:
                return Outcome(item, record, error=f"read, but the PDF could not be written: {exc}")
        return Outcome(item, record)

    outcomes: list[Outcome] = []
    done = failed = 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs, thread_name_prefix="ocr")
    try:
        futures = [pool.submit(one, item) for item in items]
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            if outcome.error is None:
                done += 1
                say(f"{outcome.item.label}: {_lines(outcome.record)} -> {outcome.item.json_out}")
            else:
                failed += 1
                say(f"{outcome.item.label}: FAILED: {outcome.error}")
            bar.set_postfix_str(f"done={done} failed={failed}", refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        bar.close()
        print(
            f"scripts/ocr: interrupted; {done} files done, {len(items) - done - failed} not finished",
            file=sys.stderr,
        )
        return 130
    pool.shutdown()
    bar.close()

    failures = sorted(
        [(m.label, m.reason) for m in missing]
        + [(o.item.label, o.error) for o in outcomes if o.error is not None]
    )
    _report(farm, len(items) + len(missing), done, failures, time.monotonic() - started, args)
    if refused:
        print(
            f"scripts/ocr: the farm wants a valid API token: pass --token or set ${TOKEN_VARIABLE}",
            file=sys.stderr,
        )
    return 1 if failures else 0


def _report(farm, total: int, done: int, failures: list[tuple[str, str]], seconds: float, args) -> None:
    out = sys.stderr
    where = f"into {args.out}" if args.out is not None else "next to each file"
    print(
        f"scripts/ocr: {total} files: {done} read, {len(failures)} failed, in {seconds:.1f} s "
        f"(via {farm.describe()}); results written {where}",
        file=out,
    )
    notes = []
    if farm.busy_answers:
        notes.append(
            f"the farm was busy {farm.busy_answers} times and each file was sent again when it asked"
        )
    if farm.unanswered:
        notes.append(f"{farm.unanswered} requests got no answer and were tried again")
    if notes:
        print("scripts/ocr: " + "; ".join(notes), file=out)
    if failures:
        print("failed:", file=out)
        for label, reason in failures:
            print(f"  {label}: {reason}", file=out)


def _lines(record: dict) -> str:
    pages = record.get("pages") or []
    count = len(record.get("lines") or [])
    return (f"{count} line" + ("" if count == 1 else "s")) + (
        f" on {len(pages)} pages" if len(pages) > 1 else ""
    )


def write_result(item: Item, record: dict) -> None:
    """<name>.json with the whole record and <name>.txt with the text, each written whole."""
    item.json_out.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(item.json_out, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    _write_whole(item.txt_out, (record.get("text") or "") + "\n")


def _write_whole(path: Path, content: str | bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        if isinstance(content, bytes):
            temp.write_bytes(content)
        else:
            temp.write_text(content, encoding="utf-8")
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value
