"""Reading documents: every accepted kind of image and PDF, made by the tests themselves."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocrfarm import documents
from ocrfarm.exceptions import ImageError
from tests.helpers import SAMPLE_LINES, assert_reads, render_text

LIMITS = documents.Limits(max_pixels=10**8, max_pages=10, dpi=100)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def text_on_transparent(color) -> bytes:
    font = ImageFont.load_default(size=48)
    image = Image.new("RGBA", (900, 220), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(SAMPLE_LINES):
        draw.text((48, 24 + i * 96), line, fill=color, font=font)
    return encode(image, "PNG")


def pdf(pages: int) -> bytes:
    images = [Image.open(io.BytesIO(render_text([f"Page {n} of the report"]))).convert("RGB") for n in range(1, pages + 1)]
    return encode(images[0], "PDF", save_all=True, append_images=images[1:], resolution=100)


def only_page(data: bytes) -> np.ndarray:
    found = list(documents.pages(data, LIMITS))
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"])
def test_every_image_format_is_read_from_its_bytes(fmt):
    data = render_text(fmt=fmt)
    info = documents.inspect(data, LIMITS)
    assert (info.format, info.pages) == (fmt, 1)
    page = only_page(data)
    assert page.shape[2] == 3 and page.dtype == np.uint8
    assert page.min() < 50 and page.max() > 200, "text and background survive"


def test_the_name_does_not_matter_only_the_bytes():
    assert documents.inspect(render_text(fmt="PNG"), LIMITS).format == "PNG"
    with pytest.raises(ImageError) as caught:
        documents.inspect(b"plain text pretending to be a .png", LIMITS)
    assert caught.value.code == "unsupported_type"


def test_exif_orientation_is_applied():
    upright = Image.open(io.BytesIO(render_text())).convert("RGB")
    stored = upright.rotate(90, expand=True)  # what a camera held sideways writes
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 CW to view"
    page = only_page(encode(stored, "JPEG", exif=exif))
    assert page.shape[:2] == (upright.height, upright.width)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1"])
def test_other_colour_modes_become_rgb(mode):
    image = Image.open(io.BytesIO(render_text())).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG" if mode != "1" else "BMP"
    page = only_page(encode(image, fmt))
    assert page.shape[2] == 3 and page.min() < 60 and page.max() > 190


def test_sixteen_bit_images_are_scaled_not_clipped():
    # A 12-bit scan stored in 16 bits: values up to 4095.
    gray = np.asarray(Image.open(io.BytesIO(render_text())).convert("L"), dtype=np.uint16) * 16
    page = only_page(encode(Image.fromarray(gray.astype(np.uint16)), "PNG"))
    assert page.max() == 255 and page.min() == 0


def test_gif_first_frame_and_tiff_every_frame():
    frames = [Image.open(io.BytesIO(render_text([f"Frame {n}"]))).convert("RGB") for n in range(3)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert documents.inspect(gif, LIMITS).pages == 1
    tiff = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    assert documents.inspect(tiff, LIMITS).pages == 3
    assert len(list(documents.pages(tiff, LIMITS))) == 3


def test_pdf_pages_are_rendered_in_order_at_the_dpi():
    data = pdf(3)
    info = documents.inspect(data, LIMITS)
    assert (info.format, info.pages) == ("PDF", 3)
    pages = list(documents.pages(data, LIMITS))
    assert len(pages) == 3
    # The PDF page is the 100-dpi rendering of an image saved at 100 dpi: the same size.
    source = Image.open(io.BytesIO(render_text(["Page 1 of the report"])))
    assert abs(pages[0].shape[1] - source.width) <= 2


def test_page_limit():
    with pytest.raises(ImageError) as caught:
        documents.inspect(pdf(3), documents.Limits(max_pixels=10**8, max_pages=2, dpi=100))
    assert caught.value.code == "too_many_pages" and "3 pages" in caught.value.message


def test_encrypted_pdf_is_named_as_such():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(pdf(1))).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ImageError) as caught:
        documents.inspect(buffer.getvalue(), LIMITS)
    assert caught.value.code == "encrypted_pdf" and "password" in caught.value.message


def test_decompression_bomb_is_refused_from_the_header():
    # 20000 x 20000 pixels of one colour compress to almost nothing.
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < 200_000
    with pytest.raises(ImageError) as caught:
        documents.inspect(bomb, documents.Limits(max_pixels=50_000_000, max_pages=10, dpi=100))
    assert caught.value.code == "too_many_pixels"


@pytest.mark.engine
@pytest.mark.parametrize("color", [(0, 0, 0, 255), (255, 255, 255, 255)], ids=["dark-text", "white-text"])
def test_text_on_a_transparent_background_stays_readable(color):
    from tests.test_engine import engine_for

    page = only_page(text_on_transparent(color))
    lines = engine_for("ppocrv3").recognize(page)
    assert_reads([line.text for line in lines], SAMPLE_LINES)
