"""Reading uploads as images: a cheap header check for the front, a full decode for the workers.

The type comes from the bytes, never from the file name. Pixel counts are checked from the header,
before anything is decoded, so a small file claiming a huge canvas is refused cheaply.
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ocrfarm.exceptions import ImageError

FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageError("empty_file", "the uploaded file is empty")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and later raises) on big canvases; our own limit below is the one that counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise ImageError(
            "unsupported_type", "the file is not an image of a supported type (" + ", ".join(FORMATS) + ")"
        ) from None
    if image.format not in FORMATS:
        raise ImageError(
            "unsupported_type", f"{image.format} images are not supported; send one of " + ", ".join(FORMATS)
        )
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"the image is {width}x{height} pixels, more than the limit of {max_pixels} pixels",
        )
    return image


def sniff(data: bytes, max_pixels: int) -> ImageInfo:
    """Check type and size from the header only. Raises ImageError with a clear reason."""
    image = _open(data, max_pixels)
    return ImageInfo(image.format, *image.size)


def decode(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode fully to a BGR array (what PaddleOCR expects). Truncated or corrupt data is an ImageError."""
    image = _open(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                # Transparent areas become white, so dark text on a transparent background stays readable.
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, rgba)
            rgb = image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError("undecodable", f"the image could not be decoded: {exc}") from None
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
