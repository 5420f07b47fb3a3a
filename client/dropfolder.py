"""Sending a file through the drop folder of a spool on this machine (--spool), without HTTP.

The file is copied to a dotfile beside its place in <spool>/inbox/ (the intake ignores dotfiles),
flushed to disk, then renamed to its real name: the intake takes a file renamed into the inbox at
once, and never a half-copied one. The rename never replaces a file already waiting there under
that name; this one then gets another name (`scan-1a2b3c4d.png`).

The result is the record the farm delivers to <spool>/outbox/<rel>.json, or the reason it writes to
<spool>/failed/<rel>.error.json. Its file name may carry a suffix (a second scan.jpg's result can be
scan-<8 hex>.json), so records are matched by their "filename" field, the path relative to the inbox,
and by being new: any record already there for that name, from an earlier drop, is not this one.
Two clients dropping the same path at the same moment can still not tell their records apart;
give them different folders.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import threading
import time
from pathlib import Path, PurePosixPath

from client.farm import Failed, Stopped
from client.inputs import Item

POLL_FIRST = 0.1
POLL_MAX = 1.0
# How long a delivered result's searchable PDF is waited for once its .json is there.
PDF_WAIT = 10.0


class NotASpool(Exception):
    pass


class DropFolder:
    def __init__(self, root: Path, *, timeout: float, stop: threading.Event, say):
        from ocrfarm.spool import Spool  # the one module that knows the spool's layout

        self.spool = Spool(Path(root))
        if not self.spool.inbox.is_dir():
            raise NotASpool(f"{root} is not a spool: it has no inbox/ folder (is the farm set up there?)")
        self.timeout = timeout
        self.stop = stop
        self.say = say
        self.busy_answers = 0
        self.unanswered = 0
        self.cache: dict[Path, tuple[int, int, str | None, str | None]] = {}
        self.cache_lock = threading.Lock()

    def describe(self) -> str:
        return str(self.spool.inbox)

    def run(self, item: Item) -> dict:
        rel = item.rel
        before = self._ids(rel.parent, rel.stem)
        dropped = self._drop(item, rel)
        self.say(f"{item.label}: dropped as inbox/{dropped}")
        deadline = time.monotonic() + self.timeout if self.timeout else None
        delay = POLL_FIRST
        while True:
            record = self._find(dropped, before)
            if record is not None:
                if record.get("status") == "done":
                    return record
                error = record.get("error") or {}
                raise Failed(f"{error.get('message', 'failed')} ({error.get('code', 'error')})")
            if deadline is not None and time.monotonic() + delay > deadline:
                where = (
                    "it is still in the inbox: is the farm's intake running?"
                    if (self.spool.inbox / dropped).exists()
                    else "the farm took it but has not answered yet"
                )
                raise Failed(f"no result after {self.timeout:g} s; {where}")
            if self.stop.wait(delay):
                raise Stopped()
            delay = min(POLL_MAX, delay * 1.5)

    def pdf(self, item: Item, record: dict) -> bytes:
        """The searchable PDF the farm delivered beside the record (outbox/<name>.pdf). It is
        written a moment after the .json is named, so it is waited for a little."""
        rel = PurePosixPath(record.get("filename") or item.rel.as_posix())
        deadline = time.monotonic() + PDF_WAIT
        while True:
            for path, record_id, _ in self._records(rel.parent, rel.stem):
                if record_id == record.get("id") and path.suffix == ".json":
                    try:
                        return path.with_suffix(".pdf").read_bytes()
                    except FileNotFoundError:
                        pass
            if time.monotonic() > deadline:
                raise Failed(
                    "the farm delivered no searchable PDF for it (is OCRFARM_OUTBOX_PDF off, or does "
                    "the result say why under 'warnings'?)"
                )
            if self.stop.wait(0.2):
                raise Stopped()

    def _drop(self, item: Item, rel: PurePosixPath) -> PurePosixPath:
        folder = self.spool.inbox.joinpath(*rel.parent.parts)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{rel.name}.{secrets.token_hex(4)}.part"
        try:
            with open(item.source, "rb") as src, open(staging, "xb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
        except OSError as exc:
            staging.unlink(missing_ok=True)
            raise Failed(f"cannot copy the file into the inbox: {exc.strerror or exc}") from None
        name = rel.name
        try:
            while True:
                try:
                    rename_no_replace(staging, folder / name)
                    return rel.parent / name
                except FileExistsError:
                    # A file of that name is waiting in the inbox: this one must not replace it.
                    name = f"{rel.stem}-{secrets.token_hex(4)}{rel.suffix}"
        except BaseException:
            staging.unlink(missing_ok=True)
            raise

    def _ids(self, parent: PurePosixPath, stem: str) -> set[str]:
        """Ids of the records already delivered for names like this one."""
        return {record_id for _, record_id, _ in self._records(parent, stem)}

    def _find(self, dropped: PurePosixPath, before: set[str]) -> dict | None:
        fresh = [
            path
            for path, record_id, filename in self._records(dropped.parent, dropped.stem)
            if filename == dropped.as_posix() and record_id not in before
        ]
        for path in sorted(fresh, key=lambda p: p.stat().st_mtime_ns if p.exists() else 0):
            try:
                return json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
        return None

    def _records(self, parent: PurePosixPath, stem: str):
        """(path, id, filename) of the delivered records whose file names start with `stem`:
        results in the outbox (`.json`) and reasons in failed/ (`.error.json`)."""
        for base, suffix in ((self.spool.outbox, ".json"), (self.spool.failed, ".error.json")):
            folder = base.joinpath(*parent.parts)
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            for entry in entries:
                if (
                    entry.name.startswith(stem)
                    and entry.name.endswith(suffix)
                    and not entry.name.startswith(".")
                ):
                    record_id, filename = self._read(Path(entry.path))
                    if record_id is not None:
                        yield Path(entry.path), record_id, filename

    def _read(self, path: Path) -> tuple[str | None, str | None]:
        """A record's id and filename, read once per version of the file."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return None, None
        with self.cache_lock:
            cached = self.cache.get(path)
        if cached and cached[:2] == (st.st_ino, st.st_mtime_ns):
            return cached[2], cached[3]
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None, None  # not a whole record
        if not isinstance(record, dict):
            return None, None
        record_id, filename = record.get("id"), record.get("filename")
        with self.cache_lock:
            self.cache[path] = (st.st_ino, st.st_mtime_ns, record_id, filename)
        return record_id, filename


# ---- renaming without replacing ----------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_libc = None


def rename_no_replace(source: Path, target: Path) -> None:
    """Rename `source` to `target`; FileExistsError if `target` exists, never replacing it.

    renameat2(RENAME_NOREPLACE) where the kernel and filesystem have it: one step, so the intake
    sees the file appear complete. Elsewhere a hard link and an unlink, which also never replace
    (the intake then takes the file after its quiet period instead of at once).
    """
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(_libc, "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(target))
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(target))
    os.link(source, target)
    os.unlink(source)
