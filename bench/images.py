"""The benchmark's images: a fixed, varied set drawn here from a seed, so every run reads the same pixels.

Photos of text (perspective, blur, noise, uneven light), documents, small labels and large scans. Only
Pillow's built-in font is used, so the set is the same on every machine with the pinned Pillow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

SEED = 20261122

WORDS = [
    "invoice",
    "total",
    "amount",
    "paid",
    "order",
    "delivery",
    "account",
    "customer",
    "number",
    "date",
    "reference",
    "payment",
    "due",
    "balance",
    "shipping",
    "address",
    "street",
    "city",
    "station",
    "platform",
    "ticket",
    "price",
    "quantity",
    "item",
    "product",
    "code",
    "warehouse",
    "north",
    "south",
    "east",
    "west",
    "report",
    "summary",
    "meeting",
    "agenda",
    "project",
    "budget",
    "review",
    "approved",
    "received",
    "checked",
    "page",
    "section",
    "chapter",
    "figure",
    "table",
    "notes",
    "contact",
    "phone",
    "email",
    "office",
    "monday",
    "tuesday",
    "friday",
    "january",
    "march",
    "october",
    "december",
]


@dataclasses.dataclass(frozen=True)
class BenchImage:
    name: str
    kind: str  # "photo", "document", "small", "large"
    description: str
    data: bytes
    fmt: str
    width: int
    height: int
    lines: int  # lines of text drawn
    texts: tuple[str, ...] = ()  # the text of each line drawn, top to bottom: the accuracy section's truth

    @property
    def filename(self) -> str:
        return f"{self.name}.{'jpg' if self.fmt == 'JPEG' else self.fmt.lower()}"

    def describe(self) -> dict:
        return {
            "name": self.filename,
            "kind": self.kind,
            "description": self.description,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
            "lines": self.lines,
            "sha256": hashlib.sha256(self.data).hexdigest()[:16],
        }


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _phrase(rng: np.random.Generator, words: int) -> str:
    parts = []
    for _ in range(words):
        roll = rng.random()
        if roll < 0.15:
            parts.append(f"{rng.integers(10, 99999)}")
        elif roll < 0.22:
            parts.append(f"{rng.integers(1, 9999)}.{rng.integers(0, 99):02d}")
        elif roll < 0.27:
            parts.append(f"2026-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}")
        else:
            word = str(rng.choice(WORDS))
            parts.append(word.capitalize() if rng.random() < 0.3 else word)
    return " ".join(parts)


def _page(
    width: int,
    height: int,
    lines: list[tuple[str, int]],
    *,
    margin: int,
    spacing: float = 1.7,
    ink=(20, 20, 20),
    paper=(250, 250, 246),
) -> np.ndarray:
    """Black text on paper, one (text, font size) per line; returns a BGR array."""
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    y = margin
    for text, size in lines:
        draw.text((margin, y), text, fill=ink, font=_font(size))
        y += int(size * spacing)
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def _perspective(
    page: np.ndarray, out_w: int, out_h: int, rng: np.random.Generator, skew: float, background=(90, 100, 110)
) -> np.ndarray:
    """The page as a camera at an angle sees it, on a background."""
    h, w = page.shape[:2]
    scale = min(out_w / w, out_h / h) * 0.82
    cx, cy = out_w / 2, out_h / 2
    corners = np.float32(
        [
            [cx - w * scale / 2, cy - h * scale / 2],
            [cx + w * scale / 2, cy - h * scale / 2],
            [cx + w * scale / 2, cy + h * scale / 2],
            [cx - w * scale / 2, cy + h * scale / 2],
        ]
    )
    jitter = rng.uniform(-skew, skew, size=(4, 2)).astype(np.float32) * np.float32([out_w, out_h])
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(src, corners + jitter)
    return cv2.warpPerspective(
        page,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )


def _light(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Uneven light: a bright spot somewhere and a falloff, as from a desk lamp or a window."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sx, sy = rng.uniform(0, w), rng.uniform(0, h)
    dist = np.sqrt((xx - sx) ** 2 + (yy - sy) ** 2) / np.hypot(w, h)
    gain = 1.0 - strength * dist + strength * 0.25
    return np.clip(image.astype(np.float32) * gain[..., None], 0, 255).astype(np.uint8)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0 else image


def _noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    noisy = image.astype(np.float32) + rng.normal(0, sigma, size=image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _encode(image: np.ndarray, fmt: str, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if fmt == "JPEG":
        pil.save(buffer, "JPEG", quality=quality)
    else:
        pil.save(buffer, fmt)
    return buffer.getvalue()


def _visible(drawn: list[tuple[str, int]], width: int, margin: int) -> tuple[str, ...]:
    """Each drawn line's text as far as it fits on its page (a long line runs off the right edge, and
    what is cut off is not there to be read); a character cut in two is left out."""
    texts = []
    for text, size in drawn:
        font = _font(size)
        while text and margin + font.getlength(text) > width:
            text = text[:-1]
        texts.append(text.rstrip())
    return tuple(texts)


def _lines(rng: np.random.Generator, count: int, size: int, words=(3, 7)) -> list[tuple[str, int]]:
    return [(_phrase(rng, int(rng.integers(words[0], words[1] + 1))), size) for _ in range(count)]


def build_set(seed: int = SEED) -> list[BenchImage]:
    """The full set, in a fixed order. Same seed, same bytes."""
    rng = np.random.default_rng(seed)
    out: list[BenchImage] = []

    def add(name, kind, description, image, fmt, drawn, fit, quality=85):
        data = _encode(image, fmt, quality)
        h, w = image.shape[:2]
        out.append(BenchImage(name, kind, description, data, fmt, w, h, len(drawn), _visible(drawn, *fit)))

    # Each list of drawn lines is made before its picture, in the order the generator is drawn from:
    # the texts are the ground truth of the accuracy section, and the bytes stay as they were.
    # Small: labels and stickers, one or two lines.
    drawn = [("ZX-4471-B", 36)]
    add("label", "small", "a clean one-word label", _page(260, 70, drawn, margin=16), "PNG", drawn, (260, 16))
    drawn = _lines(rng, 2, 30, (2, 3))
    sticker = _page(360, 130, drawn, margin=14)
    add(
        "sticker",
        "small",
        "two-line sticker, slight blur and noise",
        _noise(_blur(sticker, 0.8), rng, 6),
        "JPEG",
        drawn,
        (360, 14),
        quality=80,
    )
    # Photos of text.
    drawn = [("Marta Lindqvist", 52)] + _lines(rng, 4, 34, (2, 4))
    card = _page(900, 520, drawn, margin=50, spacing=1.9)
    add(
        "card-photo",
        "photo",
        "business card at an angle, uneven light, noise",
        _noise(_light(_perspective(card, 1000, 700, rng, 0.05), rng, 0.6), rng, 5),
        "JPEG",
        drawn,
        (900, 50),
    )
    drawn = _lines(rng, 3, 90, (2, 3))
    sign = _page(1200, 500, drawn, margin=60, spacing=1.5, ink=(250, 250, 250), paper=(40, 70, 150))
    add(
        "sign-photo",
        "photo",
        "light text on a coloured sign, perspective and blur",
        _blur(_light(_perspective(sign, 1280, 720, rng, 0.06), rng, 0.5), 1.2),
        "JPEG",
        drawn,
        (1200, 60),
    )
    drawn = [("SUPERMARKT NORD", 40)] + _lines(rng, 22, 26, (3, 5))
    receipt = _page(520, 1500, drawn, margin=30, spacing=2.2)
    add(
        "receipt-photo",
        "photo",
        "long receipt, perspective, blur, shadow",
        _noise(_blur(_light(_perspective(receipt, 760, 1600, rng, 0.04), rng, 0.8), 1.0), rng, 4),
        "JPEG",
        drawn,
        (520, 30),
    )
    drawn = _lines(rng, 7, 56, (3, 5))
    board = _page(1500, 1000, drawn, margin=70, spacing=2.0, ink=(140, 40, 30), paper=(235, 235, 228))
    add(
        "whiteboard-photo",
        "photo",
        "whiteboard, big uneven light, blur",
        _light(_blur(_perspective(board, 1600, 1200, rng, 0.05), 1.6), rng, 0.9),
        "JPEG",
        drawn,
        (1500, 70),
        quality=75,
    )
    drawn = _lines(rng, 3, 40, (3, 4))
    upside = _page(820, 280, drawn, margin=30)
    add(
        "upside-down",
        "photo",
        "a card upside down (the angle classifier turns it)",
        _noise(cv2.rotate(upside, cv2.ROTATE_180), rng, 4),
        "JPEG",
        drawn,
        (820, 30),
    )
    drawn = _lines(rng, 5, 32, (3, 5))
    dim = _page(800, 420, drawn, margin=30, ink=(110, 110, 110), paper=(160, 160, 160))
    add(
        "low-contrast",
        "photo",
        "grey on grey, noisy",
        _noise(dim, rng, 10),
        "JPEG",
        drawn,
        (800, 30),
        quality=70,
    )
    # Documents.
    drawn = [("Quarterly report", 48)] + _lines(rng, 30, 24, (6, 10))
    letter = _page(1240, 1754, drawn, margin=110, spacing=1.8)
    add(
        "page-scan", "document", "A4 page at 150 dpi, 31 lines, clean scan", letter, "PNG", drawn, (1240, 110)
    )
    drawn = _lines(rng, 12, 26, (3, 6))
    form = _page(1240, 900, drawn, margin=90, spacing=2.4)
    add(
        "form-photo",
        "document",
        "half a page photographed on a desk, perspective, light, noise",
        _noise(_light(_perspective(form, 1400, 1050, rng, 0.05), rng, 0.7), rng, 6),
        "JPEG",
        drawn,
        (1240, 90),
    )
    drawn = [(_phrase(rng, 4), s) for s in (34, 22, 22, 18, 18, 18, 28, 16)]
    screen = _page(1024, 640, drawn, margin=40, paper=(255, 255, 255), ink=(30, 30, 60))
    add("screenshot", "document", "a screenshot, mixed text sizes", screen, "PNG", drawn, (1024, 40))
    # Large.
    drawn = _lines(rng, 6, 150, (2, 4))
    poster = _page(3000, 2200, drawn, margin=160, spacing=1.9)
    add(
        "large-scan",
        "large",
        "3000x2200 scan of a poster (the detector scales it to 960)",
        _noise(poster, rng, 3),
        "JPEG",
        drawn,
        (3000, 160),
    )
    return out


# Line-heavy documents are left out of the memory run's mix so that its 2,000 jobs fit the time budget;
# the shapes still vary job by job, which is what grows native caches.
MEMORY_MIX_EXCLUDES = ("page-scan", "receipt-photo", "form-photo", "screenshot")


def variant(base: BenchImage, index: int, seed: int = SEED) -> tuple[str, bytes]:
    """Job `index` of the memory run: `base` scaled by a seeded factor (0.4 to 1.0), so sizes differ."""
    rng = np.random.default_rng((seed, index))
    scale = float(rng.uniform(0.4, 1.0))
    array = cv2.imdecode(np.frombuffer(base.data, np.uint8), cv2.IMREAD_COLOR)
    h, w = array.shape[:2]
    resized = cv2.resize(
        array, (max(16, round(w * scale)), max(16, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    ok, encoded = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return f"{base.name}-{index:05d}.jpg", encoded.tobytes()


def pass_order(images: list[BenchImage]) -> list[int]:
    """One pass over the set, heaviest first: a run of whole passes then ends on small images, so the
    last stretch, when some processes have nothing left to take, is short for every contender alike."""
    return sorted(range(len(images)), key=lambda i: (-images[i].lines, -images[i].width * images[i].height))
