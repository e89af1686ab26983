"""Recognise what must never be in a tracking sheet: names, dates of birth, phone numbers, case or
registration numbers, free text, and spreadsheet formulas.

A tracking sheet holds codes and counts only. Anything that is neither is an error anyway; this
module names the kind of thing it looks like, so the message can say why it is refused, and so
the message never repeats the value itself (it might be a child's name).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from isp import errors

# What a cell or column looks like is a catalogue entry; its message says "the cell ..." or
# "the column ..." (``place``), and never repeats the value.
Finding = errors.ErrorCode

NAME = errors.IDENTIFIABLE_NAME
DATE = errors.IDENTIFIABLE_DATE
PHONE = errors.IDENTIFIABLE_PHONE
CASE_ID = errors.IDENTIFIABLE_ID
FREE_TEXT = errors.FREE_TEXT
FORMULA = errors.FORMULA

_DIGIT = re.compile(r"\d")
_DATE_NUMERIC = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DATE_WORDS = re.compile(
    r"^(?:\d{1,2}\s+[a-z]{3,9}\.?,?\s+\d{2,4}|[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{2,4})$", re.IGNORECASE
)
_PHONE = re.compile(r"^\+?[\d\s().-]+$")
_WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")

_HEADER_PATTERNS = [
    (NAME, r"\bnames?\b|first.?name|last.?name|surname|family.?name|full.?name|caregiver|guardian|father|mother"),
    (DATE, r"\bdob\b|date.?of.?birth|birth|\bborn\b"),
    (PHONE, r"phone|mobile|\btel\b|telephone|whatsapp|e-?mail|contact"),
    (
        CASE_ID,
        r"case.?(?:id|no|num|number|code|#)|registration|\breg\b|unhcr.?id|progres|individual.?id|national.?id"
        r"|\bid\b|passport|file.?(?:no|number)|address|gps|coordinates",
    ),
    (FREE_TEXT, r"comment|\bnotes?\b|remark|description|narrative|details|observation|story"),
    (NAME, r"اسم|الاسم|الأب|الأم"),
    (DATE, r"الميلاد|تاريخ"),
    (PHONE, r"هاتف|جوال|موبايل|بريد"),
    (CASE_ID, r"رقم|العنوان"),
    (FREE_TEXT, r"ملاحظات|تعليق|وصف"),
]
HEADER_RULES = [(finding, re.compile(pattern, re.IGNORECASE)) for finding, pattern in _HEADER_PATTERNS]


def header_finding(header: str) -> Finding | None:
    """What an unexpected column header suggests it holds (None: nothing personal)."""
    text = " ".join(header.split())
    return next((finding for finding, pattern in HEADER_RULES if pattern.search(text)), None)


def is_formula(text: str) -> bool:
    """A cell that a spreadsheet would evaluate: starts with = + - @ (or a tab or CR) and is not a
    plain number. ``-3`` is a negative count, reported as such; ``=1+2`` or ``-2+cmd`` is a formula."""
    stripped = text.lstrip(" ")
    if not stripped or stripped[0] not in "=+-@\t\r":
        return False
    return not _NUMBER.match(stripped.strip())


def value_finding(value: object) -> Finding | None:
    """What a cell that is neither a known code nor a count looks like, or None if nothing personal."""
    if isinstance(value, datetime | date | time):
        return DATE
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text:
        return None
    if _DATE_NUMERIC.match(text) or _DATE_WORDS.match(text):
        return DATE
    digits = len(_DIGIT.findall(text))
    if _PHONE.match(text) and digits >= 7:
        return PHONE
    if is_formula(value):
        return FORMULA
    if digits >= 4 and re.search(r"[^\W\d_]", text):
        return CASE_ID
    words = text.split(" ")
    if len(text) > 40 or len(words) >= 5:
        return FREE_TEXT
    if 2 <= len(words) <= 4 and all(_WORD.match(w) for w in words):
        return NAME
    return None


def count_finding(text: str) -> Finding | None:
    """A count cell given as text that is not a plain number: what it looks like."""
    stripped = " ".join(text.split())
    if _DATE_NUMERIC.match(stripped) or _DATE_WORDS.match(stripped):
        return DATE
    digits = len(_DIGIT.findall(stripped))
    if _PHONE.match(stripped) and digits >= 7 and not stripped.isdigit():
        return PHONE
    if stripped.isdigit() and len(stripped) >= 7:
        return PHONE if stripped.startswith("0") else CASE_ID
    return value_finding(text)
