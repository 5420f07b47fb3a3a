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
    images = [
        Image.open(io.BytesIO(render_text([f"Page {n} of the report"]))).convert("RGB")
        for n in range(1, pages + 1)
    ]
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
    lines = engine_for("onnx", "ppocrv3").recognize(page)  # the farm's default engine
    assert_reads([line.text for line in lines], SAMPLE_LINES)


# The OpenCV fast path for plain JPEGs and PNGs must hand the engine the very array Pillow did.


def photo(width: int = 641, height: int = 479, mode: str = "RGB") -> Image.Image:
    """Smooth colour gradients, noise and text at odd sizes: chroma subsampling, upsampling at
    the edges and the IDCT all have something to get wrong."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], axis=2)
    pixels = np.clip(pixels + rng.normal(0, 25, pixels.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    ImageDraw.Draw(image).text((20, 20), SAMPLE_LINES[0], fill="black", font=ImageFont.load_default(size=40))
    return image.convert(mode)


def through_pillow(data: bytes) -> np.ndarray:
    """What pages() gave before the fast path: Pillow's RGB page turned into BGR."""
    import cv2

    return cv2.cvtColor(np.asarray(next(documents.page_images(data, LIMITS))), cv2.COLOR_RGB2BGR)


def assert_fast_and_identical(data: bytes) -> np.ndarray:
    info = documents.inspect(data, LIMITS)
    assert documents._decode_plain(data, info) is not None, "this file should take the fast path"
    page, expected = only_page(data), through_pillow(data)
    assert page.flags["C_CONTIGUOUS"] and page.dtype == np.uint8
    assert page.shape == expected.shape and np.array_equal(page, expected)
    return page


@pytest.mark.parametrize(
    "params",
    [
        {"quality": 85},
        {"quality": 40},
        {"quality": 97, "subsampling": 0},
        {"quality": 90, "subsampling": 1},
        {"quality": 75, "subsampling": 2},
        {"quality": 85, "progressive": True},
        {"quality": 85, "optimize": True},
        {"quality": 85, "progressive": True, "subsampling": 0},
        {"quality": 85, "restart_marker_rows": 2},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_plain_colour_jpeg_fast_path_is_pixel_identical(params):
    assert_fast_and_identical(encode(photo(), "JPEG", **params))


@pytest.mark.parametrize("progressive", [False, True])
def test_plain_grey_jpeg_fast_path_is_pixel_identical(progressive):
    page = assert_fast_and_identical(encode(photo(mode="L"), "JPEG", quality=85, progressive=progressive))
    assert np.array_equal(page[:, :, 0], page[:, :, 2])


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_every_exif_orientation_turns_the_page_as_pillow_does(orientation, mode):
    stored = photo(mode=mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    page = assert_fast_and_identical(encode(stored, "JPEG", quality=85, exif=exif))
    turned = orientation >= 5
    assert page.shape[:2] == ((stored.width, stored.height) if turned else (stored.height, stored.width))


def test_an_orientation_given_only_in_xmp_is_applied_as_pillow_applies_it():
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
    )
    stored = photo()
    page = assert_fast_and_identical(encode(stored, "JPEG", quality=85, xmp=xmp))
    assert page.shape[:2] == (stored.width, stored.height)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_plain_png_fast_path_is_pixel_identical(mode):
    from PIL import PngImagePlugin

    assert_fast_and_identical(encode(photo(mode=mode), "PNG"))
    text = PngImagePlugin.PngInfo()
    text.add_text("Software", "scanner 1.0")
    text.add_itxt("Comment", "zusammengefasst", zip=True)
    assert_fast_and_identical(encode(photo(mode=mode), "PNG", pnginfo=text, dpi=(300, 300), compress_level=1))


def png_with_orientation(where: str) -> bytes:
    from PIL import PngImagePlugin

    if where == "eXIf":
        exif = Image.Exif()
        exif[0x0112] = 6
        return encode(photo(), "PNG", exif=exif)
    text = PngImagePlugin.PngInfo()
    text.add_itxt(
        "XML:com.adobe.xmp",
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
        '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff='
        '"http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>',
    )
    return encode(photo(), "PNG", pnginfo=text)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: encode(photo(mode="CMYK"), "JPEG"), id="cmyk-jpeg"),
        pytest.param(lambda: encode(photo(mode="P"), "PNG"), id="palette-png"),
        pytest.param(lambda: encode(photo(mode="RGBA"), "PNG"), id="rgba-png"),
        pytest.param(lambda: encode(photo(), "PNG", transparency=(255, 255, 255)), id="rgb-trns-png"),
        pytest.param(lambda: encode(photo(mode="L"), "PNG", bits=4), id="4-bit-grey-png"),
        pytest.param(
            lambda: encode(Image.fromarray(np.asarray(photo(mode="L"), np.uint16) * 257), "PNG"),
            id="16-bit-png",
        ),
        pytest.param(lambda: png_with_orientation("eXIf"), id="png-exif-orientation"),
        pytest.param(lambda: png_with_orientation("XMP"), id="png-xmp-orientation"),
        pytest.param(lambda: encode(photo(), "JPEG") + b"trailing bytes", id="jpeg-trailing-bytes"),
    ],
)
def test_everything_else_goes_through_pillow_as_before(data):
    data = data()
    assert documents._decode_plain(data, documents.inspect(data, LIMITS)) is None
    assert np.array_equal(only_page(data), through_pillow(data))


def outcome(decode, data: bytes):
    try:
        return decode(data)
    except ImageError as exc:
        return exc.code


def damaged(fmt: str, how: str) -> bytes:
    data = bytearray(encode(photo(), fmt, **({"quality": 85} if fmt == "JPEG" else {})))
    if how == "truncated":
        return bytes(data[: len(data) * 2 // 3])
    if how == "cut-before-end":
        return bytes(data[:-30])
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(range(64))  # "corrupt": coded data overwritten, the end intact
    return bytes(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("how", ["truncated", "cut-before-end", "corrupt"])
def test_damaged_files_fare_as_they_did_through_pillow(fmt, how):
    data = damaged(fmt, how)
    fast, before = outcome(only_page, data), outcome(through_pillow, data)
    if isinstance(before, str):
        assert fast == before
    else:
        assert isinstance(fast, np.ndarray) and np.array_equal(fast, before)
    if how != "corrupt":
        assert fast == "undecodable"
