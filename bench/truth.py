"""Ground truth for the accuracy section: images whose text is known, line by line.

Three sources, reported apart:
- drawn: pages, receipts, photos, labels, signs, other languages and turned text, drawn here from a
  seed with real TrueType fonts from Debian packages (the same pixels on every run with the pinned
  Pillow and the same font packages); nothing is stored.
- bench images: the twelve images of bench/images.py, with the text of their drawn lines, scored under
  their own kinds (photo, document, small, large).
- real: photographs and scans of real documents in bench/groundtruth/real/ (manifest.json, and per
  image <name>.gt.txt with one line of text per line of the image, in reading order).

This module is not called groundtruth.py because bench/groundtruth/ is that folder of real pages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.images import _blur, _encode, _light, _noise, _perspective, build_set

SEED = 20261205
REAL_DIR = Path(__file__).resolve().parent / "groundtruth" / "real"

# name: (file, Debian package). Fixed paths, so that the pixels do not depend on what fontconfig finds.
FONTS = {
    "sans": ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    "sans-bold": ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "serif": ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "fonts-dejavu-core"),
    "mono": ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "fonts-dejavu-core"),
    "lib-sans": ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "fonts-liberation"),
    "lib-sans-bold": ("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf", "fonts-liberation"),
    "lib-serif": ("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf", "fonts-liberation"),
    "lib-mono": ("/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf", "fonts-liberation"),
    "cjk": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "fonts-wqy-zenhei"),  # Chinese and Japanese
    # A Ming (Song-style) face beside the Hei one, for the identity cards' values (bench/cards.py).
    "cjk-ming": ("/usr/share/fonts/truetype/arphic/uming.ttc", "fonts-arphic-uming"),
}

# Language codes of the reference lines, and Tesseract's traineddata for each. "mul" (a real page in
# several Latin-script languages) gets every Latin-script language installed.
TESSERACT_LANGS = {
    "en": "eng",
    "zh": "chi_sim",
    "fr": "fra",
    "de": "deu",
    "es": "spa",
    "pl": "pol",
    "ja": "jpn",
    "it": "ita",
    "la": "lat",
    "mul": "eng+fra+deu+spa+pol",
}


class GroundTruthError(Exception):
    """A font or a file of the real set is missing or malformed; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Sample:
    name: str
    cls: str  # the class it is reported under: "page-en", "receipt", "real-receipt", ...
    origin: str  # "drawn", "bench images" or "real"
    description: str
    data: bytes  # the encoded image, as a client would send it
    lines: tuple[tuple[str, str], ...]  # (text, language) per line, in reading order
    # The turn (degrees clockwise) that makes the image upright; None where it is not known (real
    # pages are photographed as they come, bench images are upright).
    rotation: int | None = None

    @property
    def languages(self) -> tuple[str, ...]:
        seen = []
        for _, lang in self.lines:
            for part in lang.split("+"):
                if part not in seen:
                    seen.append(part)
        return tuple(seen)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "class": self.cls,
            "origin": self.origin,
            "description": self.description,
            "bytes": len(self.data),
            "lines": len(self.lines),
            "languages": list(self.languages),
            "sha256": hashlib.sha256(self.data).hexdigest()[:16],
        }


# ---- fonts and drawing ---------------------------------------------------------------------------

_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path, package = FONTS[name]
    key = (name, size)
    if key not in _font_cache:
        if not Path(path).is_file():
            raise GroundTruthError(
                f"font {path} is missing: install the Debian package {package} "
                "(scripts/system-packages installs it)"
            )
        _font_cache[key] = ImageFont.truetype(path, size)
    return _font_cache[key]


def check_fonts() -> None:
    for name in FONTS:
        font(name, 12)


class Canvas:
    """A page to draw lines of text on; it remembers each line's text and language, top to bottom."""

    def __init__(self, width: int, height: int, paper=(250, 250, 246)):
        self.image = Image.new("RGB", (width, height), paper)
        self.draw = ImageDraw.Draw(self.image)
        self.paper = paper
        self.lines: list[tuple[float, float, str, str]] = []  # (y, x, text, lang)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        face: ImageFont.FreeTypeFont,
        lang: str = "en",
        ink=(20, 20, 20),
        upside_down: bool = False,
    ) -> None:
        width = face.getlength(text)
        if x + width > self.image.width or y + face.size > self.image.height:
            # A generator bug, not a case to score: the reference would hold text that is not there.
            raise ValueError(f"line does not fit its page: {text!r}")
        if upside_down:
            left, top, right, bottom = self.draw.textbbox((0, 0), text, font=face)
            patch = Image.new("RGB", (right, bottom), self.paper)
            ImageDraw.Draw(patch).text((0, 0), text, fill=ink, font=face)
            self.image.paste(patch.rotate(180), (int(x), int(y)))
        else:
            self.draw.text((x, y), text, fill=ink, font=face)
        self.lines.append((y, x, text, lang))

    def column(
        self,
        x: float,
        y: float,
        texts: list[str],
        face,
        lang: str = "en",
        spacing: float = 1.6,
        ink=(20, 20, 20),
    ) -> float:
        for text in texts:
            self.text(x, y, text, face, lang, ink)
            y += face.size * spacing
        return y

    def truth(self) -> tuple[tuple[str, str], ...]:
        """The lines in reading order: top to bottom, left to right within a row. A page in columns
        keeps its own order (lines are added column by column): see page_columns()."""
        # Runs of spaces (a receipt's columns) are only layout: whitespace counts nowhere in the scores.
        return tuple((" ".join(text.split()), lang) for _, _, text, lang in self.lines)

    def bgr(self) -> np.ndarray:
        return cv2.cvtColor(np.asarray(self.image), cv2.COLOR_RGB2BGR)


def wrap(text: str, face, width: float, cjk: bool = False) -> list[str]:
    """Greedy line breaking at spaces (at any character for Chinese and Japanese) to fit `width`."""
    units = list(text) if cjk else text.split()
    joiner = "" if cjk else " "
    lines, current = [], ""
    for unit in units:
        candidate = current + joiner + unit if current else unit
        if face.getlength(candidate) <= width:
            current = candidate
        else:
            if current:
                lines.append(current)
            current = unit
    if current:
        lines.append(current)
    return lines


def fitting_size(name: str, text: str, width: float, start: int) -> int:
    size = start
    while size > 8 and font(name, size).getlength(text) > width:
        size -= 2
    return size


# ---- texts ---------------------------------------------------------------------------------------

EN_SENTENCES = (
    "The quarterly figures were sent to the board on {date} and approved without changes.",
    "Please return the signed copy of this agreement to our office before the end of the month.",
    "Our warehouse in the north of the city will be closed for inventory from {date} to {date2}.",
    "The new delivery schedule applies to all orders placed after {time} on weekdays.",
    "If you have any questions about your invoice, call our customer service on {phone}.",
    "A total of {n} parcels were shipped last week, which is {pct} percent more than a year ago.",
    "The meeting will take place in room {room} on the second floor, starting at {time}.",
    "Payment is due within thirty days of the invoice date; late payments may incur a fee of {money}.",
    "Each department is asked to review its budget and report any expected changes by Friday.",
    "The heating system in the east wing was serviced and is working normally again.",
    "Visitors must sign in at the reception desk and wear their badge at all times.",
    "We thank you for your order and hope that the goods arrive in perfect condition.",
    "The report covers the period from January to June and includes all regional offices.",
    "Train services between the central station and the airport run every {mins} minutes.",
    "The library will extend its opening hours during the examination period.",
    "Please note that the car park behind the building is reserved for delivery vans.",
    "According to the survey, most customers would like shorter waiting times on the phone.",
    "The contract may be renewed for another year if both parties agree in writing.",
    "Reference number {ref} must be quoted in all correspondence about this claim.",
    "The price of the standard package rises to {money} per month from {date}.",
    "Minutes of the last meeting were circulated by email and accepted as a true record.",
    "Staff who wish to take part in the training course should contact their manager.",
    "The bridge on the old river road will remain closed to traffic until further notice.",
    "Samples were taken at {n} points along the shore and sent to the laboratory for testing.",
    "An updated version of the safety instructions is attached to this letter.",
    "Our opening hours are Monday to Friday from 8 am to 6 pm, and Saturday until noon.",
    "The committee decided to postpone the decision until more information is available.",
    "In case of fire, leave the building by the nearest exit and do not use the lifts.",
    "The software update fixes several problems reported by users since the last release.",
    "Goods that are returned within fourteen days will be refunded in full.",
    "The annual general meeting is held in March, and all members are welcome to attend.",
    "Water consumption fell by {pct} percent after the new pipes were installed.",
)
EN_HEADINGS = (
    "Annual Report",
    "Notice to Customers",
    "Minutes of the Meeting",
    "Delivery Terms",
    "Information for Visitors",
    "Project Summary",
)

ZH_SENTENCES = (
    "本公司将于下个月起调整营业时间，请各位顾客留意。",
    "会议定于星期三上午九点在三楼会议室举行。",
    "请在收到货物后七天内确认订单信息是否正确。",
    "本报告总结了今年第一季度的销售情况和主要问题。",
    "由于天气原因，部分航班可能会延误或取消。",
    "图书馆在考试期间延长开放时间至晚上十点。",
    "所有员工必须参加每年一次的安全培训。",
    "如有任何疑问，请拨打客服电话与我们联系。",
    "新的交通规则将从下周一开始正式实施。",
    "我们感谢您的支持，并期待与您继续合作。",
    "该项目的预算已经通过审批，预计明年完成。",
    "请保持公共场所的清洁，不要随地乱扔垃圾。",
    "城市北部的新公园已经对市民免费开放。",
    "本店所有商品均可在三十天内无理由退换。",
    "学校将组织学生参观博物馆和科学中心。",
    "公司今年的利润比去年增长了百分之十二。",
    "请将填写好的申请表交到一楼服务台。",
    "火车站到机场的大巴每二十分钟一班。",
    "医生建议每天多喝水，并保持足够的睡眠。",
    "这座桥梁正在维修，车辆需要绕行。",
    "欢迎参加本周六举办的社区文化活动。",
    "网上银行系统将在今晚进行例行维护。",
    "订单编号为{ref}，请妥善保管。",
    "本月共发出{n}件包裹，比上月增加了{pct}%。",
)
ZH_HEADINGS = ("年度工作报告", "顾客须知", "会议纪要")

LANG_SENTENCES = {
    "fr": (
        "Le marché de la place centrale est ouvert tous les samedis matin.",
        "Veuillez présenter votre billet à l'entrée du musée.",
        "La réunion du comité a été reportée à la semaine prochaine.",
        "Nous espérons que vous avez passé un agréable séjour à l'hôtel.",
        "Les élèves étudient la géographie et l'histoire de la région.",
        "Ce produit doit être conservé à l'abri de la lumière et de la chaleur.",
        "Le théâtre présente une pièce très appréciée du public.",
        "Où se trouve la gare la plus proche, s'il vous plaît ?",
    ),
    "de": (
        "Die Öffnungszeiten gelten auch an Feiertagen.",
        "Bitte schließen Sie die Tür, wenn Sie den Raum verlassen.",
        "Der Zug nach München fährt heute von Gleis drei ab.",
        "Für Rückfragen stehen wir Ihnen gern zur Verfügung.",
        "Die Straße ist wegen Bauarbeiten bis Ende März gesperrt.",
        "Größere Bestellungen werden innerhalb von zwei Wochen geliefert.",
        "Wir wünschen Ihnen frohe Feiertage und einen guten Übergang.",
        "Das Museum zeigt Gemälde aus dem achtzehnten Jahrhundert.",
    ),
    "es": (
        "La biblioteca estará cerrada el próximo lunes por mantenimiento.",
        "¿Dónde está la estación de autobuses más cercana?",
        "El niño aprendió a nadar el verano pasado.",
        "Por favor, espere su turno en la sala de atención.",
        "Los resultados del análisis estarán disponibles mañana.",
        "La reunión comenzará a las diez en la oficina de dirección.",
        "¡Bienvenidos a nuestra exposición de fotografía!",
        "El pago se realizará en efectivo o con tarjeta de crédito.",
    ),
    "pl": (
        "Zażółć gęślą jaźń.",
        "Pociąg do Krakowa odjeżdża z peronu drugiego.",
        "Proszę zamknąć drzwi po wyjściu z pokoju.",
        "Sklep jest czynny od poniedziałku do soboty.",
        "Dziękujemy za zakupy i zapraszamy ponownie.",
        "Wejście na teren budowy jest surowo zabronione.",
        "Spotkanie odbędzie się w środę o godzinie dziesiątej.",
        "Łódź jest trzecim co do wielkości miastem w Polsce.",
    ),
    "ja": (
        "本日は営業時間を短縮しております。",
        "会議は午後三時から始まります。",
        "駅の東口を出て右に曲がってください。",
        "お支払いは現金またはカードでお願いします。",
        "この電車は東京行きの急行です。",
        "ご来店いただき、ありがとうございました。",
        "図書館は月曜日が休みです。",
        "詳しくは係員にお尋ねください。",
        "新しい商品が入荷しました。",
        "足元にご注意ください。",
    ),
}

ITEMS = (
    "Milk 1L",
    "Bread wholemeal",
    "Eggs 10 pack",
    "Apples 1kg",
    "Coffee beans 500g",
    "Butter 250g",
    "Orange juice",
    "Cheddar cheese",
    "Tomatoes",
    "Rice 2kg",
    "Pasta 500g",
    "Olive oil 0.75L",
    "Bananas",
    "Yoghurt natural",
    "Chocolate bar",
    "Toothpaste",
    "Dish soap",
    "Paper towels",
    "Green tea",
    "Oat flakes 1kg",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _fill(template: str, rng: np.random.Generator) -> str:
    day, month = int(rng.integers(1, 29)), str(rng.choice(MONTHS))
    values = {
        "date": f"{day} {month} 2026",
        "date2": f"{min(28, day + 3)} {month} 2026",
        "time": f"{rng.integers(7, 18)}:{rng.choice(['00', '15', '30', '45'])}",
        "phone": f"0{rng.integers(20, 99)} {rng.integers(1000, 9999)} {rng.integers(1000, 9999)}",
        "n": f"{rng.integers(12, 4800)}",
        "pct": f"{rng.integers(2, 40)}",
        "room": f"B{rng.integers(101, 420)}",
        "money": f"${rng.integers(5, 250)}.{rng.integers(0, 100):02d}",
        "mins": f"{rng.choice([10, 15, 20, 30])}",
        "ref": f"{rng.choice(list('ABCDEFGHKLMNPRSTX'))}{rng.integers(10000, 99999)}-{rng.integers(10, 99)}",
    }
    return template.format(**values)


class Prose:
    """Sentences dealt from a shuffled pack, reshuffled only when it runs out: a page repeats no
    sentence before it has used them all (repeated text makes any alignment ambiguous)."""

    def __init__(self, rng: np.random.Generator, sentences: tuple[str, ...], joiner: str = " "):
        self.rng, self.sentences, self.joiner = rng, sentences, joiner
        self.pack: list[int] = []

    def take(self, count: int) -> str:
        out = []
        for _ in range(count):
            if not self.pack:
                self.pack = [int(i) for i in self.rng.permutation(len(self.sentences))]
            out.append(_fill(self.sentences[self.pack.pop()], self.rng))
        return self.joiner.join(out)


# ---- the drawn set -------------------------------------------------------------------------------

A4 = (1240, 1754)  # at 150 dpi


def page_en(rng, face_name: str, size: int, paragraphs: int) -> Canvas:
    """One column of English prose, full-width lines (60 to 90 characters at these font sizes)."""
    width, height = A4
    margin = 110
    canvas = Canvas(width, height)
    y = canvas.column(margin, margin, [str(rng.choice(EN_HEADINGS))], font("sans-bold", size + 14))
    face = font(face_name, size)
    prose = Prose(rng, EN_SENTENCES)
    for _ in range(paragraphs):
        text = prose.take(int(rng.integers(3, 5)))
        lines = wrap(text, face, width - 2 * margin)
        if y + len(lines) * size * 1.6 > height - margin:
            break
        y = canvas.column(margin, y + size, lines, face)
    return canvas


def page_columns(rng) -> Canvas:
    """Two columns: the reference reads the left one, then the right one."""
    width, height = A4
    margin, gap = 100, 60
    canvas = Canvas(width, height)
    face = font("lib-sans", 22)
    y0 = canvas.column(margin, margin, ["Newsletter, Spring Issue"], font("lib-sans-bold", 40)) + 20
    column_width = (width - 2 * margin - gap) / 2
    prose = Prose(rng, EN_SENTENCES)
    for x in (margin, margin + column_width + gap):
        y = y0
        while True:
            lines = wrap(prose.take(3), face, column_width)
            if y + len(lines) * 22 * 1.6 > height - margin:
                break
            y = canvas.column(x, y, lines, face) + 22
    return canvas


def page_columns_framed(rng, cjk: bool = False) -> Canvas:
    """Two columns under a full-width title and above a full-width footer line: the reference reads
    the title, the left column, the right column, then the footer. Paragraph gaps fall where they
    fall in each column, so some rows of both columns have gaps at the same height."""
    width, height = A4
    margin, gap = 100, 70
    canvas = Canvas(width, height)
    lang = "zh" if cjk else "en"
    title = str(rng.choice(ZH_HEADINGS)) if cjk else "Community News, Autumn Issue"
    y0 = canvas.column(margin, margin, [title], font("cjk" if cjk else "lib-sans-bold", 40), lang) + 24
    face = font("cjk" if cjk else "serif", 22)
    column_width = (width - 2 * margin - gap) / 2
    prose = Prose(rng, ZH_SENTENCES, "") if cjk else Prose(rng, EN_SENTENCES)
    bottom = height - margin - 80
    for x in (margin, margin + column_width + gap):
        y = y0
        while True:
            lines = wrap(prose.take(int(rng.integers(2, 4))), face, column_width, cjk=cjk)
            if y + len(lines) * 22 * 1.6 > bottom:
                break
            y = canvas.column(x, y, lines, face, lang) + 22
    footer = (
        "如需更多信息，请访问我们的网站或致电服务台。"
        if cjk
        else (f"Printed on recycled paper. Page {rng.integers(2, 9)} of 12. Next issue in spring.")
    )
    canvas.text(margin, height - margin - 30, footer, font("cjk" if cjk else "sans", 20), lang)
    return canvas


def turned_page(image: np.ndarray, turn: int, paper=(246, 250, 250)) -> np.ndarray:
    """The page as scanned turned by `turn` degrees clockwise (90, 180, 270), or skewed by a small
    angle (any other value, degrees counterclockwise, on the page's own size and paper)."""
    quarter = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if turn in quarter:
        return cv2.rotate(image, quarter[turn])
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), turn, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=paper)


def page_zh(rng, size: int, height: int = A4[1]) -> Canvas:
    width = A4[0]
    margin = 110
    canvas = Canvas(width, height)
    y = canvas.column(margin, margin, [str(rng.choice(ZH_HEADINGS))], font("cjk", size + 14), "zh")
    face = font("cjk", size)
    prose = Prose(rng, ZH_SENTENCES, "")
    while True:
        lines = wrap(prose.take(int(rng.integers(2, 4))), face, width - 2 * margin, cjk=True)
        if y + size + len(lines) * size * 1.7 > height - margin:
            break
        y = canvas.column(margin, y + size, lines, face, "zh", spacing=1.7)
    return canvas


def receipt(rng, face_name: str, items: int) -> Canvas:
    """A till receipt: items with prices aligned right, a total. The reference keeps each item and its
    price on one line, as printed; an engine that reads them as two boxes loses the line, not the text."""
    size = 22
    face = font(face_name, size)
    chars = 32
    width = int(face.getlength("M" * chars)) + 60
    shop = str(rng.choice(["CORNER MARKET", "FRESH FOODS LTD", "CITY GROCER"]))
    picked = [ITEMS[int(i)] for i in rng.choice(len(ITEMS), size=items, replace=False)]
    prices = [int(rng.integers(49, 1599)) for _ in picked]
    total = sum(prices)
    rows = [
        shop.center(chars).rstrip(),
        f"{rng.integers(1, 250)} High Street".center(chars).rstrip(),
        f"2026-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d} {rng.integers(8, 21):02d}:"
        f"{rng.integers(0, 60):02d}   Till {rng.integers(1, 9)}",
        "",
    ]
    rows += [f"{name:<{chars - 9}}{price / 100:>9.2f}" for name, price in zip(picked, prices, strict=True)]
    rows += [
        "",
        f"{'TOTAL':<{chars - 9}}{total / 100:>9.2f}",
        f"{'CARD':<{chars - 9}}{total / 100:>9.2f}",
        f"VAT included {total * 0.2 / 100:.2f}",
        "",
        "Thank you for shopping".center(chars).rstrip(),
    ]
    height = 60 + int(len(rows) * size * 1.5) + 40
    canvas = Canvas(width, height, paper=(246, 244, 236))
    y = 40
    for row in rows:
        if row.strip():
            canvas.text(30, y, row, face, ink=(40, 40, 50))
        y += size * 1.5
    return canvas


def card(rng, turned: bool = False) -> Canvas:
    first = str(rng.choice(["Anna", "James", "Sofia", "Daniel", "Helen", "Robert"]))
    last = str(rng.choice(["Fischer", "Morgan", "Clarke", "Novak", "Bennett", "Walsh"]))
    canvas = Canvas(900, 520, paper=(252, 252, 250))
    canvas.text(50, 50, f"{first} {last}", font("lib-sans-bold", 48))
    canvas.column(
        50,
        130,
        [
            str(rng.choice(["Sales Manager", "Senior Engineer", "Project Lead", "Accountant"])),
            f"Phone {_fill('{phone}', rng)}",
            f"{first.lower()}.{last.lower()}@example.com",
            f"{rng.integers(2, 200)} Market Street, Bristol",
        ],
        font("lib-sans", 30),
        spacing=1.7,
    )
    return canvas


def notice(rng) -> Canvas:
    canvas = Canvas(1100, 760, paper=(248, 246, 238))
    canvas.text(70, 60, "NOTICE", font("sans-bold", 64))
    face = font("sans", 30)
    lines = wrap(Prose(rng, EN_SENTENCES).take(4), face, 960)
    canvas.column(70, 180, lines[:11], face, spacing=1.55)
    return canvas


def small_labels(rng) -> list[tuple[str, str, Canvas]]:
    out = []
    tag = Canvas(300, 130, paper=(255, 255, 255))
    tag.text(
        12, 10, str(rng.choice(["Organic Apples", "Fresh Carrots", "Red Peppers"])), font("lib-sans-bold", 20)
    )
    tag.text(12, 44, f"${rng.integers(1, 9)}.{rng.integers(0, 100):02d} / kg", font("lib-sans-bold", 28))
    tag.text(12, 90, f"Item {rng.integers(10000, 99999)}  Origin: Spain", font("lib-sans", 13))
    out.append(("small-price-tag", "a price tag: 13 to 28 px text", tag))
    label = Canvas(420, 150, paper=(255, 255, 250))
    label.column(
        14,
        12,
        [
            f"Ms {rng.choice(['Laura', 'Emma', 'Grace'])} {rng.choice(['Hughes', 'Turner', 'Price'])}",
            f"{rng.integers(2, 99)} Willow Lane, Flat {rng.integers(1, 20)}",
            f"Leeds LS{rng.integers(1, 28)} {rng.integers(1, 9)}AB",
            "United Kingdom",
        ],
        font("sans", 15),
        spacing=1.8,
    )
    out.append(("small-address", "an address label, 15 px text", label))
    product = Canvas(520, 110, paper=(250, 248, 240))
    face = font("lib-sans", 12)
    ingredients = (
        "Ingredients: wheat flour, water, sunflower oil, salt, yeast, sugar, barley malt extract, "
        f"flour treatment agent. Best before {rng.integers(1, 29)} {rng.choice(MONTHS)} 2026. "
        "Store in a cool dry place. Once opened, eat within two days."
    )
    product.text(12, 10, "Seeded Farmhouse Loaf 800g", font("lib-sans-bold", 16))
    product.column(12, 40, wrap(ingredients, face, 490), face, spacing=1.6)
    out.append(("small-ingredients", "product label, 12 px ingredients", product))
    caption = Canvas(700, 60, paper=(255, 255, 255))
    caption.text(
        10,
        10,
        f"Figure {rng.integers(2, 12)}: monthly deliveries by region, {rng.integers(2019, 2026)} "
        "to 2026 (thousands)",
        font("serif", 11),
    )
    caption.text(10, 32, f"Source: company records, page {rng.integers(10, 200)}", font("serif", 10))
    out.append(("small-caption", "a figure caption, 10 and 11 px serif", caption))
    return out


def sign(words: list[str], face_name: str, paper, ink, width: int = 1100, height: int = 400) -> Canvas:
    canvas = Canvas(width, height, paper=paper)
    sizes = [
        fitting_size(face_name, text, width - 120, 130 if i == 0 else 80) for i, text in enumerate(words)
    ]
    y = (height - sum(s * 1.3 for s in sizes)) / 2
    for text, size in zip(words, sizes, strict=True):
        face = font(face_name, size)
        canvas.text((width - face.getlength(text)) / 2, y, text, face, ink=ink)
        y += size * 1.3
    return canvas


def languages_page(
    rng, langs: list[str], face_name: str, size: int, lines: int, width: int = 1240, height: int = 1000
) -> Canvas:
    """One sentence per line, the languages taken in turn; each line is labelled with its language."""
    canvas = Canvas(width, height)
    pools = {lang: list(rng.permutation(len(LANG_SENTENCES[lang]))) for lang in langs}
    y = 80
    for n in range(lines):
        lang = langs[n % len(langs)]
        text = LANG_SENTENCES[lang][int(pools[lang].pop())]
        face = font("cjk" if lang in ("ja", "zh") else face_name, size)
        canvas.text(80, y, text, face, lang)
        y += size * 1.9
    return canvas


def turned_lines(rng) -> Canvas:
    """A page whose lines 3, 7 and 11 are printed upside down in place (as a strip pasted on the wrong way)."""
    width, height = 1240, 1000
    canvas = Canvas(width, height)
    face = font("sans", 24)
    lines = wrap(Prose(rng, EN_SENTENCES).take(12), face, width - 220)[:13]
    y = 90
    for n, text in enumerate(lines):
        canvas.text(110, y, text, face, upside_down=n in (2, 6, 10))
        y += 24 * 2.2
    return canvas


def drawn_set(seed: int = SEED) -> list[Sample]:
    """The drawn images, in a fixed order. Each has its own generator, so adding one changes no other."""
    check_fonts()
    out: list[Sample] = []

    def rng_for(name: str) -> np.random.Generator:
        return np.random.default_rng([seed, int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)])

    def add(
        name: str,
        cls: str,
        description: str,
        image: np.ndarray,
        fmt: str,
        canvas: Canvas,
        quality=85,
        truth=None,
        rotation=0,
    ):
        out.append(
            Sample(
                name,
                cls,
                "drawn",
                description,
                _encode(image, fmt, quality),
                truth if truth is not None else canvas.truth(),
                rotation,
            )
        )

    # page-en: A4 at 150 dpi, one column; long lines are where the angle classifier fails.
    c = page_en(rng_for("page-en-sans"), "sans", 24, 12)
    add("page-en-sans", "page-en", "A4, DejaVu Sans 24 px, clean", c.bgr(), "PNG", c)
    c = page_en(rng_for("page-en-serif"), "lib-serif", 30, 12)
    add("page-en-serif", "page-en", "A4, Liberation Serif 30 px, clean", c.bgr(), "PNG", c)
    r = rng_for("page-en-scan")
    c = page_en(r, "serif", 24, 12)
    add(
        "page-en-scan",
        "page-en",
        "A4, DejaVu Serif 24 px, scanned: slight blur and noise",
        _noise(_blur(c.bgr(), 0.6), r, 5),
        "JPEG",
        c,
        quality=88,
    )
    c = page_columns(rng_for("page-en-columns"))
    add(
        "page-en-columns",
        "page-en",
        "A4 in two columns, Liberation Sans 22 px (read left, then right)",
        c.bgr(),
        "PNG",
        c,
    )
    # page-zh
    c = page_zh(rng_for("page-zh-clean"), 26)
    add("page-zh-clean", "page-zh", "A4 Chinese, WenQuanYi Zen Hei 26 px, clean", c.bgr(), "PNG", c)
    r = rng_for("page-zh-scan")
    c = page_zh(r, 24, height=1200)
    add(
        "page-zh-scan",
        "page-zh",
        "Chinese, 24 px, scanned: slight blur and noise",
        _noise(_blur(c.bgr(), 0.7), r, 6),
        "JPEG",
        c,
    )
    # receipt
    c = receipt(rng_for("receipt-mono"), "mono", 9)
    add("receipt-mono", "receipt", "till receipt, DejaVu Sans Mono, clean", c.bgr(), "PNG", c)
    r = rng_for("receipt-photo-2")
    c = receipt(r, "lib-mono", 12)
    add(
        "receipt-photo-2",
        "receipt",
        "till receipt photographed: perspective, light, blur, noise",
        _noise(_blur(_light(_perspective(c.bgr(), 760, 1300, r, 0.04), r, 0.7), 0.9), r, 5),
        "JPEG",
        c,
    )
    r = rng_for("receipt-faded")
    c = receipt(r, "mono", 7)
    faded = cv2.addWeighted(c.bgr(), 0.45, np.full_like(c.bgr(), 250), 0.55, 0)
    add(
        "receipt-faded", "receipt", "faded thermal print: low contrast, noise", _noise(faded, r, 6), "JPEG", c
    )
    # photo
    r = rng_for("photo-letter")
    c = page_en(r, "lib-serif", 30, 5)
    add(
        "photo-letter",
        "photo",
        "an A4 letter photographed at an angle: perspective, light, blur, noise",
        _noise(_blur(_light(_perspective(c.bgr(), 1400, 1700, r, 0.04), r, 0.7), 1.0), r, 5),
        "JPEG",
        c,
    )
    r = rng_for("photo-card")
    c = card(r)
    add(
        "photo-card",
        "photo",
        "business card at an angle, uneven light, noise",
        _noise(_light(_perspective(c.bgr(), 1000, 700, r, 0.06), r, 0.6), r, 6),
        "JPEG",
        c,
    )
    r = rng_for("photo-notice")
    c = notice(r)
    add(
        "photo-notice",
        "photo",
        "a notice on a wall: perspective, strong blur, light",
        _blur(_light(_perspective(c.bgr(), 1200, 900, r, 0.05), r, 0.8), 1.8),
        "JPEG",
        c,
        quality=75,
    )
    r = rng_for("photo-dim")
    c = notice(r)
    dim = (c.bgr().astype(np.float32) * 0.45).astype(np.uint8)
    add(
        "photo-dim",
        "photo",
        "the same kind of notice in dim light, heavy noise",
        _noise(_light(_perspective(dim, 1200, 900, r, 0.04, background=(30, 30, 35)), r, 0.5), r, 14),
        "JPEG",
        c,
        quality=70,
    )
    # small
    for name, description, c in small_labels(rng_for("small")):
        add(name, "small", description, c.bgr(), "PNG", c)
    # sign
    c = sign(["Station Road"], "lib-sans-bold", (0, 110, 60), (255, 255, 255), 1000, 260)
    add("sign-street", "sign", "street sign, white on green", c.bgr(), "JPEG", c)
    c = sign(["CAUTION", "Wet floor"], "sans-bold", (250, 205, 0), (10, 10, 10), 900, 500)
    add("sign-caution", "sign", "warning sign, black on yellow", c.bgr(), "JPEG", c)
    r = rng_for("sign-shop")
    c = sign(["Bakery & Cafe", "Open daily 7-19"], "serif", (170, 20, 30), (255, 240, 220))
    add(
        "sign-shop",
        "sign",
        "shop sign, cream on red, photographed with perspective and light",
        _light(_perspective(c.bgr(), 1280, 720, r, 0.07, background=(120, 120, 110)), r, 0.5),
        "JPEG",
        c,
    )
    r = rng_for("sign-platform")
    c = sign(["Platform 4", "Exit Way Out"], "lib-sans-bold", (20, 60, 150), (255, 255, 255), 1000, 420)
    add(
        "sign-platform",
        "sign",
        "station sign, white on blue, blurred photo",
        _noise(_blur(_perspective(c.bgr(), 1200, 700, r, 0.05, background=(60, 60, 60)), 1.5), r, 5),
        "JPEG",
        c,
    )
    # languages: every line labelled, so that the report scores each language too
    c = languages_page(rng_for("lang-fr-de"), ["fr", "de"], "sans", 26, 12)
    add("lang-fr-de", "languages", "French and German lines, DejaVu Sans 26 px", c.bgr(), "PNG", c)
    c = languages_page(rng_for("lang-es-pl"), ["es", "pl"], "lib-serif", 30, 12)
    add("lang-es-pl", "languages", "Spanish and Polish lines, Liberation Serif 30 px", c.bgr(), "PNG", c)
    c = languages_page(rng_for("lang-ja"), ["ja"], "cjk", 30, 10, height=700)
    add("lang-ja", "languages", "Japanese lines, WenQuanYi Zen Hei 30 px", c.bgr(), "PNG", c)
    c = languages_page(rng_for("lang-mixed"), ["fr", "de", "es", "pl", "ja"], "lib-sans", 28, 10, height=700)
    add(
        "lang-mixed",
        "languages",
        "one line in each of French, German, Spanish, Polish, Japanese, twice",
        c.bgr(),
        "PNG",
        c,
    )
    r = rng_for("lang-photo")
    c = languages_page(r, ["pl", "de", "fr", "es"], "sans", 28, 8, height=700)
    add(
        "lang-photo",
        "languages",
        "Polish, German, French, Spanish lines photographed: perspective, light, noise",
        _noise(_light(_perspective(c.bgr(), 1400, 900, r, 0.04), r, 0.6), r, 5),
        "JPEG",
        c,
    )
    # upside-down: the classifier's case
    c = page_en(rng_for("upside-page"), "sans", 24, 8)
    add(
        "upside-page",
        "upside-down",
        "an English A4 page turned 180 degrees",
        cv2.rotate(c.bgr(), cv2.ROTATE_180),
        "PNG",
        c,
        rotation=180,
    )
    r = rng_for("upside-card")
    c = card(r)
    add(
        "upside-card",
        "upside-down",
        "a business card turned 180 degrees, photographed",
        _noise(_light(cv2.rotate(_perspective(c.bgr(), 1000, 700, r, 0.04), cv2.ROTATE_180), r, 0.4), r, 5),
        "JPEG",
        c,
        rotation=180,
    )
    c = page_zh(rng_for("upside-zh"), 26, height=900)
    add(
        "upside-zh",
        "upside-down",
        "a Chinese page turned 180 degrees",
        cv2.rotate(c.bgr(), cv2.ROTATE_180),
        "PNG",
        c,
        rotation=180,
    )
    c = turned_lines(rng_for("upside-lines"))
    add(
        "upside-lines",
        "upside-down",
        f"a page with three of its {len(c.lines)} lines printed upside down",
        c.bgr(),
        "PNG",
        c,
    )
    # columns: reading order across a page in columns, with lines spanning both above and below
    c = page_columns_framed(rng_for("columns-framed"))
    add(
        "columns-framed",
        "columns",
        "two columns between a full-width title and footer, DejaVu Serif 22 px",
        c.bgr(),
        "PNG",
        c,
    )
    c = page_columns_framed(rng_for("columns-zh"), cjk=True)
    add("columns-zh", "columns", "Chinese in two columns between a title and a footer", c.bgr(), "PNG", c)
    # rotated: whole pages scanned a quarter or half turn off; the reference is the upright page's
    c = page_en(rng_for("rotated-90-en"), "sans", 24, 6)
    add(
        "rotated-90-en",
        "rotated",
        "an English page scanned turned 90 degrees clockwise",
        turned_page(c.bgr(), 90),
        "PNG",
        c,
        rotation=270,
    )
    c = page_en(rng_for("rotated-270-en"), "lib-serif", 28, 6)
    add(
        "rotated-270-en",
        "rotated",
        "an English page scanned turned 90 degrees counterclockwise",
        turned_page(c.bgr(), 270),
        "PNG",
        c,
        rotation=90,
    )
    c = page_zh(rng_for("rotated-90-zh"), 26, height=1200)
    add(
        "rotated-90-zh",
        "rotated",
        "a Chinese page scanned turned 90 degrees clockwise",
        turned_page(c.bgr(), 90),
        "PNG",
        c,
        rotation=270,
    )
    c = page_columns_framed(rng_for("rotated-180-columns"))
    add(
        "rotated-180-columns",
        "rotated",
        "a two-column page turned 180 degrees",
        turned_page(c.bgr(), 180),
        "PNG",
        c,
        rotation=180,
    )
    # skewed: a page fed a few degrees off straight
    r = rng_for("skewed-en")
    c = page_en(r, "serif", 24, 8)
    add(
        "skewed-en",
        "skewed",
        "an English page skewed by 3 degrees, scanned: slight blur and noise",
        _noise(_blur(turned_page(c.bgr(), 3.0), 0.6), r, 5),
        "JPEG",
        c,
        quality=88,
    )
    c = page_columns_framed(rng_for("skewed-columns"))
    add(
        "skewed-columns",
        "skewed",
        "a two-column page skewed by -2 degrees",
        turned_page(c.bgr(), -2.0),
        "PNG",
        c,
    )
    return out


def bench_images() -> list[Sample]:
    """bench/images.py's set, scored under its own kinds."""
    return [
        Sample(
            image.name,
            image.kind,
            "bench images",
            image.description,
            image.data,
            tuple((text, "en") for text in image.texts if text.strip()),
        )
        for image in build_set()
    ]


# ---- the real set --------------------------------------------------------------------------------


def _language(value) -> str:
    """A manifest's language(s) as our codes joined by "+": "en", "de+en"; Tesseract names are taken too."""
    parts = value if isinstance(value, list) else str(value).replace(",", "+").replace(" ", "+").split("+")
    back = {tess: code for code, tess in TESSERACT_LANGS.items() if "+" not in tess}
    out = []
    for part in parts:
        part = str(part).strip().lower()
        if not part:
            continue
        code = back.get(part, part)
        if code in ("zh-cn", "zh_cn", "zh-hans", "chi"):
            code = "zh"
        out.append(code)
    return "+".join(out) or "en"


def real_set(folder: Path = REAL_DIR) -> list[Sample]:
    """The real pages: manifest.json lists {"file", "kind", "lang", "capture", "source", "licence", ...};
    each image's text is in <name>.gt.txt beside it, one line of text per line of the image. No manifest:
    no real pages. A listed file that is missing is an error, never skipped."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return []
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise GroundTruthError(f"{manifest}: not valid JSON: {exc}") from None
    if isinstance(entries, dict):  # tolerate {"images": [...]}
        entries = entries.get("images", entries.get("files", []))
    if not isinstance(entries, list):
        raise GroundTruthError(f"{manifest}: expected a list of entries")
    out = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("file") or not entry.get("kind"):
            raise GroundTruthError(f'{manifest}: entry {number} needs at least "file" and "kind": {entry!r}')
        image = folder / entry["file"]
        truth = folder / (Path(entry["file"]).stem + ".gt.txt")
        for path in (image, truth):
            if not path.is_file():
                raise GroundTruthError(f"{manifest}: entry {number}: {path.name} is missing")
        lang = _language(entry.get("lang", "en"))
        lines = tuple(
            (line.strip(), lang) for line in truth.read_text(encoding="utf-8").splitlines() if line.strip()
        )
        details = ", ".join(
            f"{key} {entry[key]}" for key in ("capture", "source", "licence") if entry.get(key)
        )
        out.append(
            Sample(
                Path(entry["file"]).stem, f"real-{entry['kind']}", "real", details, image.read_bytes(), lines
            )
        )
    return out
