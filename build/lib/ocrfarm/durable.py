"""Writing files so that a crash or a power cut leaves either the old state or the whole new one.

The spool (ocrfarm/spool.py) decides where files go; this module only knows how to write one.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from pathlib import Path

# A write that failed for want of room: the farm's trouble, not the job's. Callers keep what they
# have and try again later instead of counting it against a job.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


def no_room(exc: BaseException) -> bool:
    """True when `exc` is a write refused because the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in _NO_ROOM


def write_atomically(path: Path, data: bytes, tmp_dir: Path) -> None:
    """Write `data` to `path` so that readers see either nothing or the whole file.

    Temp file in the spool's tmp/ (same filesystem), fsync, rename over the final name, fsync the
    directory: a rename alone is not durable until its directory entry is (fsync(2)).
    """
    write_renamed(path, data, tmp_dir)
    fsync_dir(path.parent)


def write_renamed(path: Path, data: bytes, tmp_dir: Path) -> None:
    """write_atomically() without the directory's fsync, for a caller that puts several names in
    one directory and fsyncs it once for all of them (until then the new name may not survive a
    power cut; the content it points to has been fsynced)."""
    tmp = tmp_dir / temp_name(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def temp_name(label: str) -> str:
    """A name for a file in tmp/ that says which process writes it, so that the sweep can remove it
    as soon as that process is gone: a temp file of a dead writer will never be renamed."""
    return f"{label}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def writer_alive(name: str) -> bool:
    parts = name.rsplit(".", 3)
    if len(parts) != 4 or parts[3] != "tmp" or not parts[1].isdigit():
        return True  # not ours to judge by name; the age limit applies
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def append_line(path: Path, entry: dict) -> None:
    # Not fsynced: the lines count attempts, and a killed process's writes are in the page cache
    # all the same. Only a power cut can lose the last line, and then the attempt is simply not
    # counted. (An fsync here cost each job about a millisecond and a disk flush.)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    finally:
        os.close(fd)
