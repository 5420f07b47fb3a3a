"""Reading uploads: a cheap check for the front, page images for the workers.

A document is an image (JPEG, PNG, BMP, WebP, GIF: its first frame), a TIFF (one page per frame) or
a PDF (every page, rendered with pdfium at the configured DPI). The type comes from the bytes, never
from the file name. Sizes and page counts are checked from headers, before anything is decoded, so
a small file claiming a huge canvas is refused cheaply.

A password-protected PDF is opened with the request's `password` option; a PDF page that already
has text (born digital, or OCRed before) can give its lines from that text, with their positions,
instead of being read again (text_layer_lines()).
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
    encrypted: bool = False  # a PDF with a security handler (a user or only an owner password)


def inspect(data: bytes, limits: Limits, password: str | None = None) -> DocumentInfo:
    """Type, page count and size from the headers only. Raises ImageError with a clear reason.
    `password`: a PDF's, when it has one."""
    if not data:
        raise ImageError("empty_file", "the uploaded file is empty")
    if data.startswith(b"%PDF-"):
        document = _open_pdf(data, password)
        try:
            _check_pages(len(document), limits)
            sizes = [_pdf_page_pixels(document[i], limits.dpi) for i in range(len(document))]
            encrypted = _encrypted(document)
        finally:
            document.close()
        for width, height in sizes:
            _check_pixels(width, height, limits)
        return DocumentInfo("PDF", len(sizes), *sizes[0], encrypted=encrypted)
    image = _open_image(data)
    frames = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    _check_pages(frames, limits)
    for frame in range(frames):
        image.seek(frame)
        _check_pixels(*image.size, limits)
    image.seek(0)
    return DocumentInfo(image.format, frames, *image.size)


def pages(
    data: bytes, limits: Limits, info: DocumentInfo | None = None, password: str | None = None
) -> Iterator[np.ndarray]:
    """Each page as an H x W x 3 BGR array (what PaddleOCR expects), in order. `info`: what
    inspect() said of these bytes, if the caller has it already."""
    import cv2

    info = info or inspect(data, limits, password)
    if info.format in ("JPEG", "PNG"):
        page = _decode_plain(data, info)
        if page is not None:
            yield page
            return
    for page in page_images(data, limits, info, password):
        # One conversion into a new contiguous array; slicing and copying took twice as long.
        yield cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def page_images(
    data: bytes, limits: Limits, info: DocumentInfo | None = None, password: str | None = None
) -> Iterator[Image.Image]:
    """Each page as an RGB Pillow image, checked as inspect() checks it."""
    info = info or inspect(data, limits, password)
    if info.format == "PDF":
        document = _open_pdf(data, password)
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


def page_image(data: bytes, limits: Limits, number: int, password: str | None = None) -> Image.Image:
    """Page `number` (1-based) as an RGB image."""
    for index, page in enumerate(page_images(data, limits, password=password), start=1):
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
        raise ImageError(
            "unsupported_type", f"the file is not an image or document of a supported type ({SUPPORTED})"
        ) from None
    if image.format not in IMAGE_FORMATS:
        raise ImageError("unsupported_type", f"{image.format} images are not supported; send {SUPPORTED}")
    return image


def _open_pdf(data: bytes, password: str | None = None):
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(data, password=password)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            if password is None:
                raise ImageError(
                    "encrypted_pdf",
                    "the PDF is password protected: send its password in the 'password' option",
                ) from None
            raise ImageError("wrong_password", "the PDF's password is wrong") from None
        raise ImageError("undecodable", f"the PDF could not be read: {exc}") from None


def _encrypted(document) -> bool:
    import pypdfium2.raw as pdfium_c

    # -1: no security handler. A PDF with only an owner password opens without one but is still
    # encrypted, and OCRmyPDF refuses encrypted input: such a file is decrypted first (decrypted()).
    return pdfium_c.FPDF_GetSecurityHandlerRevision(document) != -1


def decrypted(data: bytes, password: str | None) -> bytes:
    """The PDF without its encryption (for OCRmyPDF, which takes no encrypted input)."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data), password=password or "") as pdf:
            out = io.BytesIO()
            pdf.save(out)
            return out.getvalue()
    except pikepdf.PasswordError:
        raise ImageError("wrong_password", "the PDF's password is wrong") from None


def text_layers(data: bytes, limits: Limits, password: str | None = None) -> list[list[dict] | None]:
    """For each page of a PDF: its lines from its own text (born digital, or OCRed before), in
    pixels at the rendering DPI as OCR lines are, or None when the page has no text to speak of."""
    document = _open_pdf(data, password)
    try:
        out = []
        for index in range(len(document)):
            page = document[index]
            try:
                out.append(_page_text_lines(page, limits.dpi))
            finally:
                page.close()
        return out
    finally:
        document.close()


def _page_text_lines(page, dpi: int) -> list[dict] | None:
    textpage = page.get_textpage()
    try:
        if not textpage.get_text_range().strip():
            return None
        left, bottom, right, top = page.get_bbox()  # the crop box, as the page is rendered
        scale = dpi / 72
        runs = []
        # pdfium's text rectangles: one per run of text on a line, in reading order.
        for index in range(textpage.count_rects()):
            x0, y0, x1, y1 = textpage.get_rect(index)
            text = textpage.get_text_bounded(x0, y0, x1, y1).strip()
            if text:
                runs.append([x0, y0, x1, y1, text])
        lines = _join_runs(runs)
        return [
            {
                "text": text,
                "confidence": 1.0,
                "box": [
                    [round((x0 - left) * scale, 1), round((top - y1) * scale, 1)],
                    [round((x1 - left) * scale, 1), round((top - y1) * scale, 1)],
                    [round((x1 - left) * scale, 1), round((top - y0) * scale, 1)],
                    [round((x0 - left) * scale, 1), round((top - y0) * scale, 1)],
                ],
            }
            for x0, y0, x1, y1, text in lines
        ]
    finally:
        textpage.close()


def _join_runs(runs: list[list]) -> list[list]:
    """Runs that follow each other on one baseline (a change of font splits a line) made one line."""
    lines: list[list] = []
    for run in runs:
        if lines:
            x0, y0, x1, y1, text = lines[-1]
            height = max(y1 - y0, run[3] - run[1])
            same_row = abs((y0 + y1) / 2 - (run[1] + run[3]) / 2) < height / 2
            if same_row and 0 <= run[0] - x1 < 2 * height:
                gap = " " if run[0] - x1 > height / 8 else ""
                lines[-1] = [x0, min(y0, run[1]), run[2], max(y1, run[3]), text + gap + run[4]]
                continue
        lines.append(list(run))
    return lines


def _pdf_page_pixels(page, dpi: int) -> tuple[int, int]:
    width, height = page.get_size()  # in points, 1/72 inch
    page.close()
    return round(width * dpi / 72), round(height * dpi / 72)


def _check_pages(count: int, limits: Limits) -> None:
    if count > limits.max_pages:
        raise ImageError(
            "too_many_pages", f"the document has {count} pages, more than the limit of {limits.max_pages}"
        )
    if count == 0:
        raise ImageError("undecodable", "the document has no pages")


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"a page is {width}x{height} pixels, more than the limit of {limits.max_pixels} pixels",
        )


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
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
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


# The fast path for the commonest uploads. Pillow's load, np.asarray (a copy of the whole image) and
# the RGB -> BGR conversion are three passes over the pixels; OpenCV decodes straight into BGR, in
# about half the time for a 3000x2200 scan. Both bundle libjpeg-turbo 3 (the same integer IDCT and
# upsampling) and PNG is lossless, so the arrays are the same to the last pixel: the tests compare
# them. Only files whose every feature is known to come out alike take it; anything else, and
# anything OpenCV fails on, goes through Pillow, whose errors stay the ones the users get.

# What exif_transpose() does for each EXIF orientation, done on the BGR array.
_ORIENTATIONS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: a.transpose(1, 0, 2)[::-1],
}

# PNG chunks that change nothing Pillow gives us (colour management and gamma are ignored by both).
# Text chunks are fine unless they carry EXIF or XMP, where Pillow finds an orientation; tRNS, PLTE,
# eXIf, APNG frames and anything unknown go through Pillow.
_PNG_HARMLESS = {
    b"IHDR",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"pHYs",
    b"sBIT",
    b"tIME",
    b"bKGD",
    b"tEXt",
    b"zTXt",
    b"iTXt",
}
_PNG_ORIENTING_TEXT = (b"Raw profile type exif", b"XML:com.adobe.xmp")


def _decode_plain(data: bytes, info: DocumentInfo) -> np.ndarray | None:
    """An 8-bit RGB or grey JPEG or PNG without transparency decoded by OpenCV into the very array
    the Pillow path gives; None if the file is of any other kind or OpenCV cannot read it."""
    import cv2

    try:
        image = _open_image(data)
        if image.mode not in ("RGB", "L") or "transparency" in image.info:
            return None
        if info.format == "JPEG":
            # Pillow refuses a truncated JPEG ("image file is truncated"); libjpeg, reading from
            # memory, fills the rest with grey and OpenCV returns that. A file that ends with the
            # EOI marker is whole (0xFF in the coded data is always stuffed, FFD9 is a marker).
            if image.format != "JPEG" or not data.endswith(b"\xff\xd9"):
                return None
            orientation = image.getexif().get(0x0112, 1)
        else:
            # 8-bit samples only: Pillow scales 1-, 2- and 4-bit grey and truncates 16 bits its own way.
            if image.format != "PNG" or not image.tile or image.tile[0].args not in ("RGB", "L"):
                return None
            if not _png_is_plain(data):
                return None
            orientation = 1  # no eXIf and no EXIF or XMP text: Pillow finds no orientation either
        # The orientation is applied here, from the value Pillow reads (EXIF, or XMP when EXIF has
        # none), not by OpenCV's own EXIF reader, so both paths turn exactly the same files.
        page = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    except Exception:
        return None
    if page is None or page.shape != (image.height, image.width, 3):
        return None
    transpose = _ORIENTATIONS.get(orientation)
    return np.ascontiguousarray(transpose(page)) if transpose else page


def _png_is_plain(data: bytes) -> bool:
    """Every chunk header walked: only harmless chunks, one run of IDAT, an IEND inside the file."""
    position, seen_data = 8, False
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = position + 8
        end = body + length + 4  # and the CRC
        if end > len(data):
            return False  # truncated
        if kind == b"IEND":
            return seen_data
        if kind == b"IDAT":
            seen_data = True
        elif seen_data or kind not in _PNG_HARMLESS:
            return False  # chunks after the image data are read by Pillow's load: let it
        elif (
            kind in (b"tEXt", b"zTXt", b"iTXt")
            and data[body : body + length].split(b"\0", 1)[0] in _PNG_ORIENTING_TEXT
        ):
            return False
        position = end
    return False
