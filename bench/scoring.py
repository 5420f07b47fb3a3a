"""Accuracy against ground truth: character error rate, word recall and line recall. Pure functions.

What is compared (both sides alike):
- Text is NFKC-normalised: full-width Latin letters, digits and punctuation, ligatures and other
  compatibility forms are the same character to a reader (a Chinese model answers "，" where the
  reference has ","). Case and accents count.
- CER ignores ALL whitespace: a space read or missed, and a line split in two or two lines merged,
  are not character errors. CER = Levenshtein distance / reference characters; it can pass 1 when an
  engine reads much more than is there.

Line order. An engine's lines come in its own reading order. On a two-column page, a receipt with
prices on the right, or a page read upside down (PaddleOCR orders the boxes it found top-down in the
image as given, so a page turned 180 degrees comes out last line first), that order differs from the
reference's while every line may be read right; compared in that order, the CER would count whole
lines as deleted and inserted again. So the headline CER (`cer`) is order-free at line level: the
engine's lines, each kept whole, are put where each matches the reference best (rapidfuzz's partial
alignment; a stretch of the reference matched by one line is not offered to the next, so repeated
text is spread over its occurrences), then the two texts are compared. Within a line order still counts. This forgives
splitting a line into pieces (a receipt line read as "item" and "price") as well as true column order;
an engine that cut every line into single characters would be flattered by it, which is why the CER
in the engine's own order (`cer_ordered`) is computed and reported beside it, and why line recall
(whole reference lines read as one engine line) is reported too. The reordering's alignment also
splits the page's edits exactly among the reference lines (their sum is the page's distance), which
gives per-line and per-language figures and each line's reading for the report.

Word recall: share of the reference's words found among the engine's words, as multisets
(a word read once is found once). Words are whitespace-separated, with punctuation stripped at their
ends, case-sensitive. Chinese and Japanese are not written with spaces, so there each CJK character
(Han, kana, Hangul) counts as one word, and a Latin run inside such text as one word.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections import Counter
from collections.abc import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

# A reference line counts as read when one engine line matches it with at most this CER.
LINE_READ_CER = 0.1


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def squeeze(text: str) -> str:
    """The text without any whitespace, normalised: what CER is computed on."""
    return "".join(normalize(text).split())


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0x20000 <= code <= 0x2FA1F
    )  # CJK extensions B and beyond


def _strip_punctuation(token: str) -> str:
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(token[end - 1]).startswith("P"):
        end -= 1
    return token[start:end]


def words(text: str) -> list[str]:
    """Words for recall: whitespace-split, punctuation stripped at the ends, each CJK character alone."""
    out = []
    for token in normalize(text).split():
        run = ""
        for char in token:
            if is_cjk(char):
                if _strip_punctuation(run):
                    out.append(_strip_punctuation(run))
                run = ""
                out.append(char)
            else:
                run += char
        if _strip_punctuation(run):
            out.append(_strip_punctuation(run))
    return out


def cer(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over the reference's length, whitespace ignored (0 for two empty texts)."""
    ref, hyp = squeeze(reference), squeeze(hypothesis)
    if not ref:
        return 0.0 if not hyp else float(len(hyp))
    return Levenshtein.distance(ref, hyp) / len(ref)


# Stands for reference text already claimed by an engine line; it is in no text.
_CLAIMED = "\uffff"


def order_like_reference(reference_lines: Sequence[str], engine_lines: Sequence[str]) -> list[str]:
    """The engine's lines, each kept whole, in the order in which they best match the reference text.

    Each engine line is placed at the start of its best partial match in the whole reference, longest
    lines first; the stretch it matched is then claimed, so that a line repeated on the page (a
    price, a sentence) goes to its next occurrence instead of piling onto the first. Pieces of one
    reference line end up side by side in their own order, a second column's lines after the first
    column's; equal places keep the engine's order."""
    ref = "".join(squeeze(line) for line in reference_lines)
    free = ref
    placed = []
    longest_first = sorted(range(len(engine_lines)), key=lambda i: -len(squeeze(engine_lines[i])))
    for index in longest_first:
        text = squeeze(engine_lines[index])
        if not text or not ref:
            placed.append((0, index))
            continue
        where = fuzz.partial_ratio_alignment(text, free)
        placed.append((where.dest_start, index))
        if where.score > 0 and where.dest_end > where.dest_start:
            free = (
                free[: where.dest_start]
                + _CLAIMED * (where.dest_end - where.dest_start)
                + free[where.dest_end :]
            )
    return [engine_lines[index] for _, index in sorted(placed)]


@dataclasses.dataclass(frozen=True)
class LineScore:
    reference: str
    lang: str
    chars: int  # reference characters, whitespace left out
    edits: int  # this line's share of the page's edit distance (order-free)
    read_as: str  # what the engine read there (order-free alignment), whitespace kept, lines joined by " / "
    best_line_cer: float  # the best whole engine line's CER against this line
    words: int
    words_found: int

    @property
    def read(self) -> bool:
        return self.best_line_cer <= LINE_READ_CER


@dataclasses.dataclass(frozen=True)
class PageScore:
    chars: int
    edits: int  # order-free
    edits_ordered: int  # the engine's own line order
    words: int
    words_found: int
    lines: tuple[LineScore, ...]
    engine_lines: int

    @property
    def cer(self) -> float:
        return self.edits / self.chars if self.chars else 0.0

    @property
    def cer_ordered(self) -> float:
        return self.edits_ordered / self.chars if self.chars else 0.0

    @property
    def word_recall(self) -> float:
        return self.words_found / self.words if self.words else 1.0

    @property
    def lines_read(self) -> int:
        return sum(line.read for line in self.lines)

    @property
    def line_recall(self) -> float:
        return self.lines_read / len(self.lines) if self.lines else 1.0


def _boundaries(ref: str, hyp: str) -> list[int]:
    """For each position 0..len(ref) of the reference, where the optimal alignment has got to in the
    engine's text. Text the engine has in excess at a boundary goes to the line before it."""
    bound = [0] * (len(ref) + 1)
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(ref, hyp):
        if tag in ("equal", "replace"):
            for k in range(i1, i2):
                bound[k] = j1 + (k - i1)
            bound[i2] = j2
        elif tag == "delete":
            for k in range(i1, i2 + 1):
                bound[k] = j1
        else:  # insert: ref[i1] is aligned after the inserted text
            bound[i1] = j2
    bound[0] = 0
    bound[len(ref)] = len(hyp)
    return bound


def _squeezed_with_origin(lines: Sequence[str]) -> tuple[str, list[int], str]:
    """The lines without whitespace, and for each of its characters the index in the lines joined by
    " / " (the form the report shows)."""
    chars, origin, shown = [], [], []
    offset = 0
    for number, line in enumerate(lines):
        line = normalize(line)
        if number:
            shown.append(" / ")
            offset += 3
        for i, char in enumerate(line):
            if not char.isspace():
                chars.append(char)
                origin.append(offset + i)
        shown.append(line)
        offset += len(line)
    return "".join(chars), origin, "".join(shown)


def score_page(reference: Sequence[tuple[str, str]], engine_lines: Sequence[str]) -> PageScore:
    """`reference`: (text, language) per line in reading order; `engine_lines`: the engine's texts in
    its order. Blank reference lines are left out."""
    reference = [(text, lang) for text, lang in reference if squeeze(text)]
    ref_lines = [text for text, _ in reference]
    ref = "".join(squeeze(text) for text in ref_lines)
    ordered = "".join(squeeze(line) for line in engine_lines)
    arranged = order_like_reference(ref_lines, engine_lines)
    hyp, origin, joined = _squeezed_with_origin(arranged)
    bound = _boundaries(ref, hyp)
    engine_squeezed = [squeeze(line) for line in engine_lines if squeeze(line)]
    available = Counter(word for line in engine_lines for word in words(line))
    scores = []
    start = 0
    for text, lang in reference:
        piece = squeeze(text)
        a, b = bound[start], bound[start + len(piece)]
        start += len(piece)
        read_as = joined[origin[a] : origin[b - 1] + 1] if b > a else ""
        best = 1.0
        if engine_squeezed:
            match = process.extractOne(piece, engine_squeezed, scorer=Levenshtein.distance)
            best = match[1] / len(piece)
        line_words = words(text)
        found = 0
        for word in line_words:  # in reading order: a word the engine read once is found once
            if available[word] > 0:
                available[word] -= 1
                found += 1
        scores.append(
            LineScore(
                text,
                lang,
                len(piece),
                Levenshtein.distance(piece, hyp[a:b]),
                read_as,
                best,
                len(line_words),
                found,
            )
        )
    return PageScore(
        chars=len(ref),
        edits=sum(s.edits for s in scores),
        edits_ordered=Levenshtein.distance(ref, ordered),
        words=sum(s.words for s in scores),
        words_found=sum(s.words_found for s in scores),
        lines=tuple(scores),
        engine_lines=len(engine_lines),
    )


@dataclasses.dataclass
class Totals:
    """Scores added up over pages (or lines): each rate is its errors over all the reference's
    characters, words or lines, so a page with more text weighs more (the usual micro average)."""

    pages: int = 0
    chars: int = 0
    edits: int = 0
    edits_ordered: int = 0
    words: int = 0
    words_found: int = 0
    lines: int = 0
    lines_read: int = 0

    def add_page(self, page: PageScore) -> None:
        self.pages += 1
        self.chars += page.chars
        self.edits += page.edits
        self.edits_ordered += page.edits_ordered
        self.words += page.words
        self.words_found += page.words_found
        self.lines += len(page.lines)
        self.lines_read += page.lines_read

    def add_line(self, line: LineScore) -> None:
        """One line alone (for per-language rows); the reading-order CER has no per-line share."""
        self.chars += line.chars
        self.edits += line.edits
        self.words += line.words
        self.words_found += line.words_found
        self.lines += 1
        self.lines_read += line.read

    def figures(self) -> dict:
        return {
            "pages": self.pages,
            "chars": self.chars,
            "lines": self.lines,
            "words": self.words,
            "cer": self.edits / self.chars if self.chars else None,
            "cer_ordered": self.edits_ordered / self.chars if self.chars and self.pages else None,
            "word_recall": self.words_found / self.words if self.words else None,
            "line_recall": self.lines_read / self.lines if self.lines else None,
        }
