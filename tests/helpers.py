"""Things several test modules need: images with known text, and checks on what OCR read."""

from __future__ import annotations

import difflib
import io
import time

from PIL import Image, ImageDraw, ImageFont

# Lines the engines read reliably at this size in Pillow's built-in font, so a miss is a real fault.
SAMPLE_LINES = ["Invoice 2026-11-22", "Total 1234.56 EUR"]


def render_text(lines: list[str] = SAMPLE_LINES, *, size: int = 48, fmt: str = "PNG") -> bytes:
    """An image with `lines` drawn in black on white, encoded as `fmt`."""
    font = ImageFont.load_default(size=size)
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    height = len(lines) * size * 2 + size
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size // 2 + i * size * 2), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def blank_image(width: int = 40, height: int = 30, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, fmt)
    return buffer.getvalue()


def _squash(text: str) -> str:
    return "".join(text.split()).casefold()


def assert_reads(found_lines: list[str], expected_lines: list[str] = SAMPLE_LINES) -> None:
    """Each expected line was read, in order, ignoring spaces and case and allowing a stray character."""
    assert len(found_lines) == len(expected_lines), found_lines
    for found, expected in zip(found_lines, expected_lines, strict=True):
        ratio = difflib.SequenceMatcher(None, _squash(found), _squash(expected)).ratio()
        assert ratio >= 0.9, f"read {found!r}, expected {expected!r}"


def wait_for(condition, timeout: float, interval: float = 0.05, message: str = "condition"):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {message}")
        time.sleep(interval)


# Lines a test wants printed at the very end of the run (see conftest.pytest_terminal_summary).
SUMMARY_LINES: list[str] = []


def fail_first_result_write(monkeypatch, spool, error: OSError) -> list:
    """Make the first write of a result file raise `error` (a full or failing disk); returns the
    list of paths that failed, to assert on."""
    from ocrfarm import spool as spool_module

    real_write = spool_module.write_atomically
    failed = []

    def write(path, data, tmp_dir):
        if path.parent == spool.results and not failed:
            failed.append(path)
            raise error
        return real_write(path, data, tmp_dir)

    monkeypatch.setattr(spool_module, "write_atomically", write)
    return failed
