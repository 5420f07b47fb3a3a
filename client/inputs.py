"""Which files to send, and where each one's result goes.

A file named on the command line is sent whatever its name. In a folder, every file with the suffix
of an accepted type is sent (the farm judges the bytes, but a folder also holds the .json and .txt
results of an earlier run, notes, and so on); dotfiles and dot-folders are skipped, and symlinked
folders are not followed.

Each file gets a relative path, its place in the input tree: a named file is just its name, a file
found in a folder is the folder's own name and the path below it (`scans/2026/a.png`), as `cp -r`
would copy it. Results go next to the file, or into --out at that relative path.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from pathlib import Path, PurePosixPath

SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".gif", ".pdf"}
)


@dataclasses.dataclass(frozen=True)
class Item:
    source: Path  # the file to send
    rel: PurePosixPath  # its place in the input tree
    json_out: Path
    txt_out: Path

    @property
    def pdf_out(self) -> Path:
        """Where --pdf writes the searchable PDF: beside the .json, as <name>.pdf, or <name>.ocr.pdf
        when that would be the very file sent (a PDF's results written next to it)."""
        path = self.json_out.with_suffix(".pdf")
        if path.resolve() == self.source.resolve():
            path = self.json_out.with_suffix(".ocr.pdf")
        return path

    @property
    def label(self) -> str:
        """How the file is named in messages: the path as given on the command line."""
        return str(self.source)


@dataclasses.dataclass(frozen=True)
class Missing:
    label: str
    reason: str


def collect(arguments: list[str], out: Path | None) -> tuple[list[Item], list[Missing]]:
    """The files to send, with their result paths; and the arguments that named nothing usable."""
    found: list[tuple[Path, PurePosixPath]] = []
    missing: list[Missing] = []
    seen: set[Path] = set()
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            name = path.resolve().name or "root"
            files = [(f, PurePosixPath(name, *f.relative_to(path).parts)) for f in _walk(path)]
        elif path.is_file():
            files = [(path, PurePosixPath(path.name))]
        elif path.exists():
            missing.append(Missing(argument, "not a regular file or folder"))
            continue
        else:
            missing.append(Missing(argument, "no such file or folder"))
            continue
        for file, rel in files:
            key = file.resolve()
            if key not in seen:  # named twice, or inside a folder also named
                seen.add(key)
                found.append((file, rel))
    return _place(found, out), missing


def _walk(folder: Path):
    for top, folders, files in os.walk(folder):  # symlinked folders are not followed
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(files):
            path = Path(top, name)
            if not name.startswith(".") and path.suffix.lower() in SUFFIXES and path.is_file():
                yield path


def _place(found: list[tuple[Path, PurePosixPath]], out: Path | None) -> list[Item]:
    """Result names: `<stem>.json` and `<stem>.txt`; files that would share them (scan.jpg and
    scan.png in one folder) use their whole name instead (`scan.jpg.json`), then a number."""
    groups: dict[tuple[Path, str], list[int]] = defaultdict(list)
    folders = []
    for i, (file, rel) in enumerate(found):
        folder = out.joinpath(*rel.parent.parts) if out is not None else file.parent
        folders.append(folder)
        groups[(folder.resolve(), file.stem)].append(i)
    taken: set[Path] = set()
    items = []
    for i, (file, rel) in enumerate(found):
        folder = folders[i]
        base = file.stem if len(groups[(folder.resolve(), file.stem)]) == 1 else file.name
        name, n = base, 1
        while (folder.resolve() / name) in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(folder.resolve() / name)
        items.append(Item(file, rel, folder / f"{name}.json", folder / f"{name}.txt"))
    return items
