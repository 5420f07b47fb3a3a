"""Reading uploads: a cheap check for the front, page images for the workers.

A document is an image (JPEG, PNG, BMP, WebP, GIF: its first frame), a TIFF (one page per frame) or
a PDF (every page, rendered with pdfium at the configured DPI). The type comes from the bytes, never
from the file name. Sizes and page counts are checked from headers, before anything is decoded, so
a small file claiming a huge canvas is refused cheaply.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from ocrfarm.exceptions import ImageError

IMAGE_FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")
SUPPORTED = "JPEG, PNG, BMP, TIFF, WebP, GIF or PDF"


@dataclasses.dataclass(frozen=True)
class Limits:
    max_pixels: int
    max_pages: int
    dpi: int


@dataclasses.dataclass(frozen=True)
class DocumentInfo:
    format: str
    pages: int
    width: int  # of the first page, in pixels (PDF: at the rendering DPI)
    height: int


def inspect(data: bytes, limits: Limits) -> DocumentInfo:
    """Type, page count and size from the headers only. Raises ImageError with a clear reason."""
    if not data:
        raise ImageError("empty_file", "the uploaded file is empty")
    if data.startswith(b"%PDF-"):
        document = _open_pdf(data)
        try:
            _check_pages(len(document), limits)
            sizes = [_pdf_page_pixels(document[i], limits.dpi) for i in range(len(document))]
        finally:
            document.close()
        for width, height in sizes:
            _check_pixels(width, height, limits)
        return DocumentInfo("PDF", len(sizes), *sizes[0])
    image = _open_image(data)
    frames = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    _check_pages(frames, limits)
    for frame in range(frames):
        image.seek(frame)
        _check_pixels(*image.size, limits)
    image.seek(0)
    return DocumentInfo(image.format, frames, *image.size)


def pages(data: bytes, limits: Limits, info: DocumentInfo | None = None) -> Iterator[np.ndarray]:
    """Each page as an H x W x 3 BGR array (what PaddleOCR expects), in order. `info`: what
    inspect() said of these bytes, if the caller has it already."""
    import cv2

    for page in page_images(data, limits, info):
        # One conversion into a new contiguous array; slicing and copying took twice as long.
        yield cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def page_images(data: bytes, limits: Limits, info: DocumentInfo | None = None) -> Iterator[Image.Image]:
    """Each page as an RGB Pillow image, checked as inspect() checks it."""
    info = info or inspect(data, limits)
    if info.format == "PDF":
        document = _open_pdf(data)
        try:
            for index in range(len(document)):
                page = document[index]
                try:
                    yield page.render(scale=limits.dpi / 72).to_pil().convert("RGB")
                finally:
                    page.close()
        finally:
            document.close()
        return
    image = _open_image(data)
    if info.format != "TIFF":
        yield _decode(image)
        return
    for frame in ImageSequence.Iterator(image):
        # The iterator moves one image object from frame to frame: each page gets its own copy.
        yield _decode(frame.copy())


def page_image(data: bytes, limits: Limits, number: int) -> Image.Image:
    """Page `number` (1-based) as an RGB image."""
    for index, page in enumerate(page_images(data, limits), start=1):
        if index == number:
            return page
    raise IndexError(number)


def _open_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns (and later raises) on big canvases; our own limit is the one that counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError("too_many_pixels", f"the image is far too large: {exc}") from None
    except UnidentifiedImageError:
        raise ImageError("unsupported_type", f"the file is not an image or document of a supported type ({SUPPORTED})") from None
    if image.format not in IMAGE_FORMATS:
        raise ImageError("unsupported_type", f"{image.format} images are not supported; send {SUPPORTED}")
    return image


def _open_pdf(data: bytes):
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ImageError("encrypted_pdf", "the PDF is encrypted (password protected); send an unprotected copy") from None
        raise ImageError("undecodable", f"the PDF could not be read: {exc}") from None


def _pdf_page_pixels(page, dpi: int) -> tuple[int, int]:
    width, height = page.get_size()  # in points, 1/72 inch
    page.close()
    return round(width * dpi / 72), round(height * dpi / 72)


def _check_pages(count: int, limits: Limits) -> None:
    if count > limits.max_pages:
        raise ImageError("too_many_pages", f"the document has {count} pages, more than the limit of {limits.max_pages}")
    if count == 0:
        raise ImageError("undecodable", "the document has no pages")


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_pixels:
        raise ImageError("too_many_pixels",
                         f"a page is {width}x{height} pixels, more than the limit of {limits.max_pixels} pixels")


def _decode(image: Image.Image) -> Image.Image:
    """Decode one frame fully and turn it into 8-bit RGB that keeps its text readable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            if image.getexif().get(0x0112, 1) != 1:  # an orientation to apply; a copy otherwise
                image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError("undecodable", f"the image could not be decoded: {exc}") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16-bit and float images: stretch the values in use to 0..255 (a 12-bit scan in a 16-bit
        # file would otherwise come out nearly black).
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        return _flatten(image.convert("RGBA"))
    return image.convert("RGB")


def _flatten(rgba: Image.Image) -> Image.Image:
    """Composite onto a background that contrasts with what is drawn: white under dark text, black
    under light text (white text on a transparent background would vanish on white)."""
    pixels = np.asarray(rgba)
    opaque = pixels[:, :, 3] > 127
    luminance = pixels[:, :, :3].mean(axis=2)
    light_content = opaque.any() and luminance[opaque].mean() > 127
    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255) if light_content else (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
