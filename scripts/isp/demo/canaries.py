"""Canary figures: planted in the demo's sheets, recorded in its key folder, searched for everywhere.

A canary is a distinctive count (7919, say) in one cell of one sheet. It must never be readable
outside an encrypted file or an encrypted page. The search ignores digits that are part of a
longer run of letters and digits (base64 ciphertext, hex hashes), and also looks for the figure
written with a thousands separator or in Arabic-Indic digits, as the Arabic site would show it.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from isp.demo.story import Canary
from isp.fsutil import write_atomic
from isp.history import git

CANARY_FILE = "canaries.json"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def save(folder: Path, canaries: list[Canary]) -> Path:
    path = folder / CANARY_FILE
    write_atomic(path, json.dumps([asdict(c) for c in canaries], indent=2).encode("utf-8"), mode=0o600)
    return path


def load(folder: Path) -> list[Canary]:
    return [Canary(**item) for item in json.loads((folder / CANARY_FILE).read_text(encoding="utf-8"))]


def spellings(value: int) -> list[str]:
    """How a figure may be written: plain, with separators, in Arabic-Indic digits."""
    plain = str(value)
    grouped = f"{value:,}"
    forms = {plain, grouped, grouped.replace(",", " "), grouped.replace(",", "\u066c")}
    return sorted(forms | {form.translate(ARABIC_DIGITS) for form in forms})


def pattern(values: Iterable[int]) -> re.Pattern[bytes]:
    """Any spelling of any value, as UTF-8 bytes, not inside a longer run of (ASCII or Arabic-Indic)
    digits or of letters (ciphertext and hashes are such runs). Bytes, so that tens of megabytes of
    git objects are searched without decoding them."""
    forms = sorted({form.encode() for value in values for form in spellings(value)}, key=len, reverse=True)
    alternatives = b"|".join(re.escape(form) for form in forms)
    ascii_edge, arabic_digit = rb"[0-9A-Za-z+/]", rb"\xd9[\xa0-\xa9]"
    return re.compile(
        rb"(?<!" + ascii_edge + rb")(?<!" + arabic_digit + rb")(?:" + alternatives + rb")"
        rb"(?!" + ascii_edge + rb")(?!" + arabic_digit + rb")"
    )


def find(text: str | bytes, values: Iterable[int]) -> list[str]:
    """Every canary spelling found in ``text`` (empty when clean)."""
    data = text.encode() if isinstance(text, str) else text
    return [hit.decode() for hit in pattern(values).findall(data)]


def scan_files(root: Path, values: Iterable[int], exclude: Iterable[Path] = ()) -> dict[str, list[str]]:
    """Canaries in any readable file under ``root`` (``.git`` and ``exclude`` folders skipped)."""
    skipped = [p.resolve() for p in exclude]
    rx = pattern(values)
    hits: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(root).parts:
            continue
        if any(path.resolve().is_relative_to(folder) for folder in skipped):
            continue
        found = rx.findall(_readable(path))
        if found:
            hits[path.relative_to(root).as_posix()] = [hit.decode() for hit in found]
    return hits


def _readable(path: Path) -> bytes:
    """A file's bytes as a reader would see them (gzip files, such as sitemap.xml.gz, opened)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


def scan_git_objects(root: Path, values: Iterable[int]) -> list[str]:
    """Canaries in any object of the repository (every blob, tree, commit and tag, reachable or not)."""
    return [hit.decode() for hit in pattern(values).findall(git.all_objects(root))]
