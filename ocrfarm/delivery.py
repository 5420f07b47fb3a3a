"""Drop-folder delivery: a dropped file's result into outbox/, its original into done/ or failed/.

The one module that knows the drop folder's output layout (spool/README.md, rules 7 and 8). The
spool's workers call it before writing a dropped job's result; with a shared queue (Redis) each
host's intake calls it when the result of a file dropped on that host comes back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from ocrfarm.durable import fsync_dir, temp_name, write_renamed, write_synced
from ocrfarm.jobs import Job, State, dump


class DropFolder:
    def __init__(self, root: Path, tmp: Path, keep_originals: bool = True):
        self.root = Path(root)
        self.tmp = tmp
        # The drop folder's output and archive sit beside the inbox, never inside it, so the farm
        # cannot take its own output for input.
        self.inbox = self.root / "inbox"
        self.outbox = self.root / "outbox"
        self.done = self.root / "done"
        self.failed = self.root / "failed"
        # Dropped files: moved to done/ after their job (True), or deleted.
        self.keep_originals = keep_originals

    @property
    def folders(self) -> tuple[Path, ...]:
        return (self.inbox, self.outbox, self.done, self.failed)

    def answer(self, job: Job, record: dict, original: Path, attachments: dict[str, bytes]) -> dict:
        """Archive the original (a second link: the caller removes its own) and deliver the output;
        returns where the output went. A second call for the same job finds its own files and reuses
        their names, so a re-run after a crash answers once."""
        self.archive(job, record, original)
        return self.deliver(job, record, attachments)

    def deliver(self, job: Job, record: dict, attachments: dict[str, bytes]) -> dict:
        """Write a dropped file's result to outbox/ (done) or its reason to failed/ (failed), with
        its attachments (by suffix) beside the result."""
        rel = PurePosixPath(job.filename)
        staged = self.tmp / temp_name(f"{job.id}.deliver")
        try:
            write_synced(staged, dump(record))
            if record["status"] == State.DONE:
                folder = inside(self.outbox, rel.parent)
                json_path = link_unique(
                    staged,
                    folder,
                    (f"{rel.stem}.json", f"{rel.stem}-{job.id[-8:]}.json"),
                    lambda taken: _record_id(taken) == job.id,
                    self.tmp,
                    sync=False,
                )
                text_path = json_path.with_suffix(".txt")
                write_renamed(text_path, (record.get("text", "") + "\n").encode(), self.tmp)
                delivered = {"json": self._rel(json_path), "txt": self._rel(text_path)}
                for suffix, data in attachments.items():
                    path = json_path.with_suffix(f".{suffix}")
                    write_renamed(path, data, self.tmp)
                    delivered[suffix] = self._rel(path)
                # One directory fsync makes all the names durable, before the result is written (a
                # crash before it re-runs the job, which finds and reuses the names as before).
                fsync_dir(folder)
                return delivered
            folder = inside(self.failed, rel.parent)
            error_path = link_unique(
                staged,
                folder,
                (f"{rel.name}.error.json", f"{rel.stem}-{job.id[-8:]}{rel.suffix}.error.json"),
                lambda taken: _record_id(taken) == job.id,
                self.tmp,
            )
            return {"error": self._rel(error_path)}
        finally:
            staged.unlink(missing_ok=True)

    def archive(self, job: Job, record: dict, original: Path) -> None:
        """Link a dropped file into done/ or failed/, mirroring its path."""
        rel = PurePosixPath(job.filename)
        if record["status"] == State.DONE and not self.keep_originals:
            return  # deleted with the job
        base = self.done if record["status"] == State.DONE else self.failed
        link_unique(
            original,
            inside(base, rel.parent),
            (rel.name, f"{rel.stem}-{job.id[-8:]}{rel.suffix}"),
            lambda taken: same_file(taken, original),
            self.tmp,
        )

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def inside(base: Path, rel: PurePosixPath) -> Path:
    """`base/rel`, refusing anything that would land outside `base` (rel comes from a file's path)."""
    folder = (base / rel).resolve()
    if folder != base.resolve() and base.resolve() not in folder.parents:
        raise ValueError(f"{rel} leads outside {base}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def link_unique(
    source: Path, folder: Path, names: tuple[str, str], ours, tmp_dir: Path, *, sync: bool = True
) -> Path:
    """Give `source` a name in `folder` without replacing anything that is not ours.

    The plain name is tried with link(), which refuses a taken name. If this very job took it (an
    earlier run that crashed) it is reused; otherwise the second name, which carries the job's id
    and so can only be ours, is used; it is staged in tmp/ (the same filesystem) and renamed over.
    sync=False leaves the directory's fsync to the caller, who has more to put in the same folder.
    """
    plain = folder / names[0]
    try:
        os.link(source, plain)
        target = plain
    except FileExistsError:
        # Ours (an earlier run of this job) or not, the name is replaced only by this job's content.
        target = plain if ours(plain) else folder / names[1]
        if not same_file(source, target):
            staged = tmp_dir / temp_name("link")
            os.link(source, staged)
            os.replace(staged, target)
    if sync:
        fsync_dir(folder)
    return target


def same_file(a: Path, b: Path) -> bool:
    # rename() between two links of one file does nothing, so linking again is skipped instead.
    try:
        return os.path.samefile(a, b)
    except FileNotFoundError:
        return False


def _record_id(path: Path) -> str | None:
    try:
        return json.loads(path.read_bytes()).get("id")
    except (OSError, ValueError, AttributeError):
        return None
