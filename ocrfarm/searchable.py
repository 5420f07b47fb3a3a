"""The searchable PDF of a finished job: its document with an invisible text layer from its result.

The OCR has already run as a farm job; this assembles the PDF with OCRmyPDF, whose engine plugin
(ocrfarm/ocrmypdf_plugin.py) answers each page from the job's result. A PDF keeps its own pages
(OCRmyPDF grafts the text layer onto them and leaves pages that already have text alone); an image
becomes a PDF page at its own resolution first (img2pdf embeds a JPEG or PNG as it is).
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from pathlib import Path

from PIL import Image

from ocrfarm import documents
from ocrfarm.exceptions import ImageError, OcrFarmError

log = logging.getLogger(__name__)

PLUGIN = "ocrfarm.ocrmypdf_plugin"
# img2pdf's own assumption for an image that does not say its resolution.
DEFAULT_IMAGE_DPI = 96
# PDF/A (OCRFARM_PDFA) by OCRmyPDF's own writer (pikepdf), not Ghostscript: OCRmyPDF refuses
# Ghostscript 10.0.0 to 10.02.0 (Debian 12 has 10.0.0) on PDFs whose pages keep their text, as
# born-digital pages here do, because those versions corrupt them.
PDFA_BACKEND = "internal"
PAGE_MIN_UNITS, PAGE_MAX_UNITS = 3.0, 14400.0


class PdfError(OcrFarmError):
    """OCRmyPDF could not make the searchable PDF; the message says why."""


def make_pdf(data: bytes, result: dict, limits: documents.Limits, *, pdfa: bool = False) -> bytes:
    """The searchable PDF of the document `data`, whose farm result (done) is `result`."""
    import ocrmypdf

    options = result.get("options", {})
    password = options.get("password") if isinstance(options.get("password"), str) else None
    info = documents.inspect(data, limits, password=password)
    with tempfile.TemporaryDirectory(prefix="ocrfarm-pdf-") as folder:
        folder = Path(folder)
        source = folder / "in.pdf"
        if info.format == "PDF":
            source.write_bytes(documents.decrypted(data, password) if info.encrypted else data)
        else:
            source.write_bytes(image_pdf(data, limits, info))
        result_file = folder / "result.json"
        result_file.write_text(json.dumps({"pages": result["pages"]}), encoding="utf-8")
        output = folder / "out.pdf"
        try:
            ocrmypdf.ocr(
                source,
                output,
                plugins=[PLUGIN],
                farm_result=str(result_file),
                # Pages with text of their own keep it and are not given a second layer; a job
                # that was told to OCR them anyway gets them rasterised and laid over (OCRmyPDF's
                # force mode), as its lines came from OCR.
                mode="force" if options.get("force_ocr") else "skip",
                output_type="pdfa" if pdfa else "pdf",
                pdfa_backend=PDFA_BACKEND,
                # Pages as they came: no recompression, no rotation or deskew of OCRmyPDF's own.
                optimize=0,
                rotate_pages=False,
                deskew=False,
                jobs=1,
                progress_bar=False,
                # The output is a new file: a signature over the old bytes cannot hold for it.
                invalidate_digital_signatures=True,
            )
        except ocrmypdf.exceptions.ExitCodeException as exc:
            raise PdfError(f"OCRmyPDF could not make the PDF: {type(exc).__name__}: {exc}") from None
        return output.read_bytes()


def image_pdf(data: bytes, limits: documents.Limits, info: documents.DocumentInfo) -> bytes:
    """A PDF with one page per page of the image, each the size the image says it is printed at."""
    import img2pdf

    with Image.open(io.BytesIO(data)) as image:
        dpi = image.info.get("dpi", (DEFAULT_IMAGE_DPI, DEFAULT_IMAGE_DPI))
        orientation = image.getexif().get(0x0112, 1)
        mode = image.mode
    # Screenshots and some cameras say 1 dpi or 72.0001; anything below 36 is not a resolution.
    dpi = [float(d) if 36 <= float(d) <= 4800 else DEFAULT_IMAGE_DPI for d in dpi]
    # A PDF page is 3 to 14400 units (1/72 inch) a side: a tiny or a huge image gets the resolution
    # that keeps its page within them (one for both sides, to keep its shape, where one will do).
    shortest, longest = min(info.width, info.height), max(info.width, info.height)
    low, high = longest * 72 / PAGE_MAX_UNITS, shortest * 72 / PAGE_MIN_UNITS
    if not all(low <= d <= high for d in dpi):
        if low <= high:
            dpi = [min(max(dpi[0], low), high)] * 2
        else:  # a sliver: each side on its own
            dpi = [
                min(max(d, n * 72 / PAGE_MAX_UNITS), n * 72 / PAGE_MIN_UNITS)
                for d, n in zip(dpi, (info.width, info.height), strict=True)
            ]
    layout = img2pdf.get_fixed_dpi_layout_fun(tuple(dpi))
    if info.format in ("JPEG", "PNG") and orientation == 1 and mode in ("RGB", "L"):
        images = [data]  # embedded as it is: the PDF page shows the very pixels sent
    else:
        # Everything else is embedded as the farm decoded it (EXIF turn applied, transparency laid
        # on its background, 16 bits scaled), so the boxes fit the page shown.
        images = []
        for page in documents.page_images(data, limits, info):
            buffer = io.BytesIO()
            page.save(buffer, "PNG")
            images.append(buffer.getvalue())
    try:
        return img2pdf.convert(images, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.ImageOpenError, ValueError) as exc:
        raise ImageError("undecodable", f"the image could not be made into a PDF page: {exc}") from None
