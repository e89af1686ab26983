"""aggregates/manifest.json and each agency's own manifest: what every output was made from.

An entry records the sha256 of each input's ciphertext (an agency's year file also by month, and
the periods it holds), the months it covers, how many agencies
reported against how many were expected, whether a month was revised, how many agency-months a
suspension left out, and the sha256 of the output's own ciphertext. Hashes and counts of
agencies only: never a figure, never an agency's code or name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NotRequired, TypedDict, cast

from isp.crypto.keys import AGENCY_OUTPUTS
from isp.errors import IspError
from isp.fsutil import write_text_atomic
from isp.protocol.periods import PERIOD_KINDS

AGGREGATES = "aggregates"
MANIFEST = f"{AGGREGATES}/manifest.json"


class Count(TypedDict):
    reported: int
    expected: int


class Coverage(TypedDict):
    """How many agencies (and agency-months) a consolidated output holds, of how many expected."""

    reported: int
    expected: int
    agency_months: Count


class Planned(TypedDict):
    """An entry as the plan makes it, before its output is written."""

    inputs: list[str]  # sha256 of each input's ciphertext, sorted
    months: list[str]
    revised: bool
    revised_months: list[str]
    suspended: int  # agency-months a suspension left out
    periods: NotRequired[list[str]]  # an agency's year file: the periods it holds
    coverage: NotRequired[Coverage]  # a consolidated output


class Stamp(TypedDict):
    """What is known once an output is written: its ciphertext's sha256 and when."""

    sha256: str
    updated: str


class Entry(Planned, Stamp):
    """One output's entry in a manifest."""


class Manifest(TypedDict):
    rules_version: int | None
    recipe: str | None
    generated: str | None
    outputs: dict[str, Entry]


def manifest_rel(agency: str | None = None) -> str:
    return MANIFEST if agency is None else f"{AGENCY_OUTPUTS}/{agency}/manifest.json"


def output_rel(key: str, agency: str | None = None) -> str:
    """``monthly/2026-01`` -> aggregates/monthly/2026-01.csv; an agency's ``2026`` ->
    aggregates/agency/<AGENCY>/2026.csv (its year file)."""
    return f"{AGGREGATES}/{key}.csv" if agency is None else f"{AGENCY_OUTPUTS}/{agency}/{key}.csv"


def empty() -> Manifest:
    return {"rules_version": None, "recipe": None, "generated": None, "outputs": {}}


def read(root: Path, agency: str | None = None) -> Manifest:
    """The manifest (an empty one when there is none yet). Only its shape is checked: what a run
    reads back of an entry (``inputs``, ``sha256``, ``updated``) it compares with what it
    computes; an entry written by an earlier layout may lack the other keys."""
    rel = manifest_rel(agency)
    path = root / rel
    if not path.exists():
        return empty()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise IspError(f"{rel}: not valid JSON: run `isp consolidate --full` to rebuild it") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("outputs"), dict):
        raise IspError(f"{rel}: no `outputs` table: run `isp consolidate --full` to rebuild it")
    return cast(Manifest, doc)


def dumps(doc: Manifest) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(root: Path, doc: Manifest, agency: str | None = None) -> None:
    write_text_atomic(root / manifest_rel(agency), dumps(doc))


def same_content(old: Manifest, new: Manifest) -> bool:
    """Equal apart from the time stamp of the run."""
    return {**old, "generated": None} == {**new, "generated": None}


def sort_key(key: str) -> tuple[int, str]:
    """Outputs in reading order: monthly, quarterly, half-yearly, annual, each by label; an
    agency's year files (keys without a kind) by year."""
    kind, _, label = key.partition("/")
    return (PERIOD_KINDS.index(kind), label) if kind in PERIOD_KINDS else (len(PERIOD_KINDS), key)
