"""Identity cards drawn here, with invented people, for the tests and the accuracy section.

A card is drawn at 10 pixels per millimetre (856 x 540, the card's 85.6 x 54 mm) with its fields where
a resident identity card has them, in WenQuanYi Zen Hei and AR PL UMing (Debian's fonts-wqy-zenhei and
fonts-arphic-uming; bench/truth.py names the files), then photographed the ways people photograph one: flat, turned, at an angle, with
glare, small in a larger picture. Names, addresses and numbers are made up from a seed; a number's
check character is right unless the card is asked for with a wrong one.
"""

from __future__ import annotations

import dataclasses
import datetime

import cv2
import numpy as np
from PIL import Image, ImageDraw

from bench.images import _blur, _encode, _light, _noise
from bench.truth import font
from ocrfarm.idcard import number as id_number

WIDTH, HEIGHT = 856, 540
LABEL_INK = (30, 110, 170)
VALUE_FACES = ("cjk", "cjk-ming")
INK = (20, 20, 20)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚辉玲桂英华慧建国红梅志文斌鹏宇浩然欣怡晨阳子涵思雨佳琪"
ETHNICITIES = ("汉", "汉", "汉", "回", "满", "壮", "苗", "蒙古", "维吾尔", "土家")
# Place codes and the places they name (real codes, invented streets and people).
PLACES = (
    ("110101", "北京市东城区", "北京市公安局东城分局"),
    ("310104", "上海市徐汇区", "上海市公安局徐汇分局"),
    ("420106", "湖北省武汉市武昌区", "武汉市公安局武昌分局"),
    ("440305", "广东省深圳市南山区", "深圳市公安局南山分局"),
    ("510107", "四川省成都市武侯区", "成都市公安局武侯区分局"),
    ("330106", "浙江省杭州市西湖区", "杭州市公安局西湖区分局"),
)
ROADS = ("建设路", "人民路", "解放大道", "中山路", "和平街", "文化路", "长江路", "新华街", "光明路")
ADDRESS_LINE = 11  # characters per line of the address, as on the card


@dataclasses.dataclass(frozen=True)
class Person:
    name: str
    sex: str
    ethnicity: str
    birth: datetime.date
    address: str
    number: str
    authority: str
    valid_from: datetime.date
    valid_until: datetime.date | None  # None: 长期 (for life)

    @property
    def birth_text(self) -> str:
        return f"{self.birth.year}年{self.birth.month}月{self.birth.day}日"

    @property
    def validity_text(self) -> str:
        until = "长期" if self.valid_until is None else self.valid_until.strftime("%Y.%m.%d")
        return f"{self.valid_from.strftime('%Y.%m.%d')}-{until}"

    def front_truth(self) -> dict[str, str]:
        return {
            "name": self.name,
            "sex": self.sex,
            "ethnicity": self.ethnicity,
            "birth_date": self.birth_text,
            "address": self.address,
            "number": self.number,
        }

    def back_truth(self) -> dict[str, str]:
        return {"issuing_authority": self.authority, "validity_period": self.validity_text}


def person(rng: np.random.Generator, *, right_check: bool = True) -> Person:
    """An invented person; with `right_check=False` the number's check character is wrong."""
    code, place, authority = PLACES[int(rng.integers(len(PLACES)))]
    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 365 * 55)))
    sex = "男" if rng.random() < 0.5 else "女"
    order = int(rng.integers(0, 100)) * 10 + int(rng.integers(0, 5)) * 2 + (1 if sex == "男" else 0)
    first17 = f"{code}{birth:%Y%m%d}{order:03d}"
    check = id_number.check_character(first17)
    if not right_check:
        check = str(rng.choice([c for c in "0123456789X" if c != check]))
    given = "".join(rng.choice(list(GIVEN), size=int(rng.integers(1, 3))))
    address = (
        f"{place}{rng.choice(ROADS)}{rng.integers(1, 300)}号"
        f"{rng.integers(1, 30)}栋{rng.integers(1, 6)}单元{rng.integers(101, 2400)}室"
    )
    issued = max(birth + datetime.timedelta(days=365 * 16), datetime.date(2005, 1, 1)) + datetime.timedelta(
        days=int(rng.integers(0, 3000))
    )
    age = (issued - birth).days // 365
    years = None if age >= 46 else 20 if age >= 26 else 10
    until = None if years is None else issued.replace(year=issued.year + years)
    return Person(
        name=str(rng.choice(list(SURNAMES))) + given,
        sex=sex,
        ethnicity=str(rng.choice(ETHNICITIES)),
        birth=birth,
        address=address,
        number=first17 + check,
        authority=authority,
        valid_from=issued,
        valid_until=until,
    )


def _paper(rng: np.random.Generator) -> Image.Image:
    # A pale, slightly uneven tint with faint guilloche waves, as the printed background has.
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    waves = 6 * np.sin(xx / 23.0 + np.sin(yy / 41.0) * 2.0) + 4 * np.sin(yy / 17.0)
    base = np.stack([232 + waves, 240 + waves * 0.5, 236 + waves * 0.8], axis=-1)
    base += rng.normal(0, 1.5, size=base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def draw_front(p: Person, rng: np.random.Generator) -> np.ndarray:
    image = _paper(rng)
    draw = ImageDraw.Draw(image)
    # Labels in the Hei face as printed; the values in the Hei or the Ming face, the number in the
    # Hei face or a monospaced one (the card's own is OCR-B-like).
    face = str(rng.choice(VALUE_FACES))
    label, value = font("cjk", 26), font(face, 30)
    digits = font(str(rng.choice(("cjk", "mono"))), 38)
    draw.text((60, 70), "姓 名", font=label, fill=LABEL_INK)
    draw.text((160, 66), p.name, font=font(face, 34), fill=INK)
    draw.text((60, 140), "性 别", font=label, fill=LABEL_INK)
    draw.text((160, 136), p.sex, font=value, fill=INK)
    draw.text((290, 140), "民 族", font=label, fill=LABEL_INK)
    draw.text((390, 136), p.ethnicity, font=value, fill=INK)
    draw.text((60, 205), "出 生", font=label, fill=LABEL_INK)
    draw.text((160, 201), f"{p.birth.year}", font=value, fill=INK)
    draw.text((235, 205), "年", font=label, fill=LABEL_INK)
    draw.text((275, 201), f"{p.birth.month}", font=value, fill=INK)
    draw.text((315, 205), "月", font=label, fill=LABEL_INK)
    draw.text((355, 201), f"{p.birth.day}", font=value, fill=INK)
    draw.text((395, 205), "日", font=label, fill=LABEL_INK)
    draw.text((60, 270), "住 址", font=label, fill=LABEL_INK)
    for row in range(0, len(p.address), ADDRESS_LINE):
        draw.text(
            (160, 266 + (row // ADDRESS_LINE) * 44), p.address[row : row + ADDRESS_LINE], font=value, fill=INK
        )
    draw.text((60, 450), "公民身份号码", font=label, fill=LABEL_INK)
    draw.text((290, 442), p.number, font=digits, fill=INK)
    # The photograph: a grey head and shoulders in a frame.
    draw.rectangle((560, 60, 800, 360), fill=(205, 212, 220))
    draw.ellipse((625, 100, 735, 230), fill=(120, 110, 105))
    draw.pieslice((585, 230, 775, 430), 180, 360, fill=(70, 80, 95))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def draw_back(p: Person, rng: np.random.Generator) -> np.ndarray:
    image = _paper(rng)
    draw = ImageDraw.Draw(image)
    # The emblem: red rings and a star, then the title.
    draw.ellipse((60, 50, 200, 190), outline=(200, 30, 30), width=10)
    draw.regular_polygon((130, 120, 40), 5, fill=(200, 30, 30))
    draw.text((260, 80), "中华人民共和国", font=font("cjk", 48), fill=INK)
    draw.text((300, 170), "居民身份证", font=font("cjk", 64), fill=INK)
    label, value = font("cjk", 26), font(str(rng.choice(VALUE_FACES)), 30)
    draw.text((150, 370), "签发机关", font=label, fill=LABEL_INK)
    draw.text((290, 366), p.authority, font=value, fill=INK)
    draw.text((150, 440), "有效期限", font=label, fill=LABEL_INK)
    draw.text((290, 436), p.validity_text, font=value, fill=INK)
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


# ---- the ways people photograph a card -------------------------------------------------------------

PHOTOS = ("flat", "rotated", "angle", "glare", "small")


def _on_table(
    card: np.ndarray,
    out_w: int,
    out_h: int,
    rng: np.random.Generator,
    scale: float,
    skew: float,
    tilt: float = 0,
):
    """The card at `scale` of the picture's width, at a camera angle of up to `skew`, turned in the
    picture by up to `tilt` degrees either way, on a table."""
    table = np.empty((out_h, out_w, 3), np.uint8)
    table[:] = (int(rng.integers(60, 110)), int(rng.integers(70, 120)), int(rng.integers(90, 140)))
    table = _noise(table, rng, 6)
    h, w = card.shape[:2]
    cw = out_w * scale
    ch = cw * h / w
    cx, cy = rng.uniform(cw / 2 + 10, out_w - cw / 2 - 10), rng.uniform(ch / 2 + 10, out_h - ch / 2 - 10)
    corners = np.float32(
        [
            [cx - cw / 2, cy - ch / 2],
            [cx + cw / 2, cy - ch / 2],
            [cx + cw / 2, cy + ch / 2],
            [cx - cw / 2, cy + ch / 2],
        ]
    )
    jitter = rng.uniform(-skew, skew, size=(4, 2)).astype(np.float32) * np.float32([cw, ch])
    angle = np.radians(rng.uniform(-tilt, tilt))
    turn = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = (corners - np.float32([cx, cy])) @ turn.T + np.float32([cx, cy])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), corners + jitter)
    return cv2.warpPerspective(card, matrix, (out_w, out_h), dst=table, borderMode=cv2.BORDER_TRANSPARENT)


def _glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A bright reflection: an elliptical bloom that washes part of the card out (not all of it)."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sx, sy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.12, 0.22) * w, rng.uniform(0.15, 0.3) * h
    bloom = np.exp(-(((xx - sx) / rx) ** 2 + ((yy - sy) / ry) ** 2)) * rng.uniform(0.7, 0.9)
    out = image.astype(np.float32) * (1 - bloom[..., None]) + 255 * bloom[..., None]
    return _light(out.astype(np.uint8), rng, 0.3)


def _camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone camera's softness and sensor noise."""
    return _noise(_blur(image, rng.uniform(0.4, 1.0)), rng, 3)


def photograph(card: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The card photographed as `kind` (one of PHOTOS); also the clockwise turn in degrees."""
    turn = 0
    if kind == "flat":
        image = card
    elif kind == "rotated":
        turn = int(rng.choice([90, 180, 270]))
        image = np.ascontiguousarray(np.rot90(card, k=-turn // 90))
    elif kind == "angle":
        image = _camera(_light(_on_table(card, 1280, 960, rng, 0.7, 0.07, tilt=12), rng, 0.35), rng)
    elif kind == "glare":
        image = _camera(_glare(_on_table(card, 1200, 900, rng, 0.8, 0.02, tilt=4), rng), rng)
    elif kind == "small":
        image = _camera(_on_table(card, 3000, 2250, rng, 0.22, 0.03, tilt=6), rng)
    else:
        raise ValueError(f"unknown kind of photo {kind!r}; one of {', '.join(PHOTOS)}")
    return image, turn


def decode_png(data: bytes) -> np.ndarray:
    """An encoded picture as the BGR array the engine takes."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def encode(image: np.ndarray, fmt: str = "JPEG", quality: int = 88) -> bytes:
    return _encode(image, fmt, quality)
