"""The 18-character citizen identity number (GB 11643-1999): its checks, and the OCR confusions that
may be undone.

The number is six digits of the place of registration, eight of the date of birth (YYYYMMDD), three
of an order code whose last digit is odd for men and even for women, and a check character (0-9 or
X) by ISO 7064 MOD 11-2 over the first seventeen. python-stdnum computes the check character and
reads the date, so this module only decides what an OCR reading of it may be turned into.
"""

from __future__ import annotations

import dataclasses
import datetime
import re

from stdnum.iso7064 import mod_11_2

LENGTH = 18
# What the recogniser puts for a digit or the X of a number on a card: the letter O for 0, I or l for
# 1, a lower-case x for X (issue 14 names these three). Only these are ever changed, and only when the
# check character then holds.
CONFUSIONS = {"O": "0", "o": "0", "I": "1", "l": "1", "x": "X"}
# A run that may be a number as read: digits, X, and the letters above.
CANDIDATE = re.compile(r"[0-9Xx" + "".join(c for c in CONFUSIONS if c != "x") + r"]{18}")


@dataclasses.dataclass(frozen=True)
class Reading:
    """One number as read, and what could be made of it."""

    read: str  # as the recogniser gave it
    number: str  # corrected when the check character then holds, else as read
    corrected: bool

    def checks(self, birth_date: datetime.date | None, sex: str | None) -> dict:
        """Which checks pass. `birth_date` and `sex` are the card's own fields (None when not read):
        the agreements with them are None then, since there is nothing to agree with."""
        born = birth_date_of(self.number)
        return {
            "check_character": is_checksum_valid(self.number),
            "birth_date_real": born is not None,
            "birth_date_agrees": None if birth_date is None or born is None else born == birth_date,
            "sex_agrees": None if sex is None or sex_of(self.number) is None else sex_of(self.number) == sex,
        }


def is_checksum_valid(number: str) -> bool:
    """The ISO 7064 MOD 11-2 check character (the 18th) agrees with the first 17 digits."""
    return (
        len(number) == LENGTH
        and number[:17].isdigit()
        and number[17] in "0123456789X"
        and mod_11_2.is_valid(number)
    )


def check_character(first17: str) -> str:
    """The check character of 17 digits."""
    return mod_11_2.calc_check_digit(first17)


def birth_date_of(number: str) -> datetime.date | None:
    """The date of birth in the number, if it is a real date (not in the future)."""
    digits = number[6:14]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    return born if datetime.date(1900, 1, 1) <= born <= datetime.date.today() else None


def sex_of(number: str) -> str | None:
    """男 for an odd 17th digit, 女 for an even one (the order code's parity)."""
    if len(number) < 17 or not number[16].isdigit():
        return None
    return "男" if int(number[16]) % 2 else "女"


def find(text: str) -> str | None:
    """The first run of 18 characters in `text` that may be a number as read (spaces ignored)."""
    match = CANDIDATE.search("".join(text.split()))
    return match.group(0) if match else None


def read(raw: str) -> Reading:
    """A number as read, with the confusions undone when, and only when, the check character then
    holds. A reading that fails its check either way is given as it was read."""
    if is_checksum_valid(raw):
        return Reading(raw, raw, False)
    fixed = "".join(CONFUSIONS.get(c, c) for c in raw)
    if fixed != raw and is_checksum_valid(fixed):
        return Reading(raw, fixed, True)
    return Reading(raw, raw, False)
