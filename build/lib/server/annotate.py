"""The picture answer: a page with each detected line's box drawn and numbered."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

BOX = (230, 30, 30)
LABEL_TEXT = (255, 255, 255)


def annotate(page: Image.Image, lines: list[dict]) -> Image.Image:
    """A copy of `page` with line n's box outlined and labelled n (1-based, the order of `lines`)."""
    image = page.convert("RGB")
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 500))
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 60)))
    for number, line in enumerate(lines, start=1):
        points = [tuple(point) for point in line["box"]]
        draw.polygon(points, outline=BOX, width=width)
        x, y = points[0]
        label = str(number)
        left, top, right, bottom = draw.textbbox((x, y), label, font=font, anchor="lb")
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=BOX)
        draw.text((x, y), label, fill=LABEL_TEXT, font=font, anchor="lb")
    return image


def encode(image: Image.Image, kind: str) -> bytes:
    """`kind` is "png" or "jpeg"."""
    buffer = io.BytesIO()
    if kind == "jpeg":
        image.save(buffer, "JPEG", quality=90)
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()
