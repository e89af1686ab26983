"""What the site shows, loaded once per build: the aggregates (contract C), decrypted in memory.

Every ``aggregates/<kind>/<label>.csv`` and every agency year file ``aggregates/agency/<A>/<YYYY>.csv``
is decrypted through :func:`isp.crypto.sops.decrypt_many` (sops writes to a pipe) and parsed straight
from memory; nothing plaintext touches the disk. Files of one scope and kind (or all of an
agency's year files) are parsed in one ``read_csv`` call, which keeps a ten-year repository
within the build budget; an agency's rows are then split by period kind, from their labels.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypedDict, cast

import pandas as pd

from isp.consolidate import codec
from isp.consolidate.manifest import Coverage
from isp.crypto import sops
from isp.crypto.keys import AGENCY_OUTPUTS
from isp.errors import IspError
from isp.protocol import loading, workdays
from isp.protocol import models as protocol
from isp.protocol.periods import PERIOD_KINDS, kind_of_label

log = logging.getLogger("mkdocs.isp.site")

COLUMNS = ["period", "site", "indicator", "sex", "age_group", "nationality", "count"]
HEADER = ",".join(COLUMNS).encode()
NATIONAL = "ALL"
MANIFEST = "aggregates/manifest.json"
YEAR_FILES = "years"  # the pseudo-kind of an agency's year files, split by kind once parsed


class EntryView(TypedDict, total=False):
    """What the site reads of a manifest entry (:class:`isp.consolidate.manifest.Entry`); every
    key may be missing, as in an entry written by an earlier layout."""

    revised: bool
    suspended: int
    coverage: Coverage


@dataclass
class Outputs:
    """The decrypted aggregates of one scope: the consolidated ones, or one agency's own."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # kind -> every period of that kind
    unreadable: list[str] = field(default_factory=list)  # files the build key could not open
    _periods: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def periods(self, kind: str) -> list[str]:
        if kind not in self._periods:
            frame = self.frames.get(kind)
            self._periods[kind] = [] if frame is None else sorted(str(label) for label in frame["period"].unique())
        return self._periods[kind]

    @property
    def empty(self) -> bool:
        return not any(len(frame) for frame in self.frames.values())


@dataclass
class SiteData:
    root: Path
    isp: protocol.Isp
    today: date
    consolidated: Outputs
    agencies: dict[str, Outputs]
    entries: dict[str, EntryView]  # the manifest's outputs, by key (``monthly/2026-01``)

    def latest_month(self) -> str | None:
        months = self.consolidated.periods("monthly")
        return months[-1] if months else None

    def coverage(self, kind: str, label: str) -> Coverage | None:
        return self.manifest_entry(kind, label).get("coverage")

    def manifest_entry(self, kind: str, label: str) -> EntryView:
        return self.entries.get(f"{kind}/{label}", {})


def _files(root: Path, prefix: str) -> dict[str, list[Path]]:
    return {kind: sorted((root / prefix / kind).glob("*.csv")) for kind in PERIOD_KINDS}


def _year_files(root: Path, agency: str) -> dict[str, list[Path]]:
    return {YEAR_FILES: sorted((root / AGENCY_OUTPUTS / agency).glob("[0-9][0-9][0-9][0-9].csv"))}


def _by_kind(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """An agency's year files' rows, one frame per period kind (years in order, so each kind's
    labels stay sorted)."""
    labels = frame["period"].cat.categories
    kinds = frame["period"].cat.codes.map(dict(enumerate(kind_of_label(str(label)) for label in labels)))
    frames: dict[str, pd.DataFrame] = {}
    for kind in PERIOD_KINDS:
        part = frame[(kinds == kind).to_numpy()].reset_index(drop=True)
        part["period"] = part["period"].cat.remove_unused_categories()
        frames[kind] = part
    return frames


def _body(data: bytes, rel: str) -> bytes:
    head, _, body = data.partition(b"\n")
    if head.strip().replace(b" ", b"") != HEADER:
        raise IspError(f"{rel}: the columns are not {','.join(COLUMNS)} (contract C): rerun `isp consolidate`")
    return body if not body or body.endswith(b"\n") else body + b"\n"


def _parse(bodies: list[bytes]) -> pd.DataFrame:
    """One frame from many files' rows; codes as categories (a few distinct values, millions of rows)."""
    text = HEADER + b"\n" + b"".join(bodies)
    keys = {column: "category" for column in COLUMNS[:-1]}
    frame = pd.read_csv(io.BytesIO(text), dtype={**keys, "count": "Int64"}, keep_default_na=False)
    frame["count"] = frame["count"].fillna(0).astype("int64")
    return frame


def _decrypt(root: Path, scopes: dict[str, dict[str, list[Path]]], jobs: int | None) -> dict[str, Outputs]:
    """Decrypt every file of every scope in one pool of sops processes, parsing each scope's kind
    as soon as its last file is in, while the pool goes on with the next ones."""
    groups = [(scope, kind, files) for scope, kinds in scopes.items() for kind, files in kinds.items()]
    plain = sops.decrypt_many([path for _, _, files in groups for path in files], jobs=jobs)
    result = {scope: Outputs() for scope in scopes}
    for scope, kind, files in groups:
        outputs, bodies = result[scope], []
        for path, data in itertools.islice(plain, len(files)):
            rel = path.relative_to(root).as_posix()
            if isinstance(data, sops.CryptoError):
                outputs.unreadable.append(f"{rel}: {data.reason}")
                continue
            bodies.append(_body(codec.unpack(data, rel), rel))
        if kind == YEAR_FILES:
            outputs.frames |= _by_kind(_parse(bodies))
        else:
            outputs.frames[kind] = _parse(bodies)
    return result


def read_manifest(root: Path) -> dict[str, EntryView]:
    """The manifest's entries, by output key; none when there is no manifest, and only the
    entries that are JSON objects (their values are checked where they are read)."""
    path = root / MANIFEST
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise IspError(f"{MANIFEST}: not valid JSON: rerun `isp consolidate`") from None
    outputs = doc.get("outputs") if isinstance(doc, dict) else None
    if not isinstance(outputs, dict):
        return {}
    return {str(key): cast(EntryView, entry) for key, entry in outputs.items() if isinstance(entry, dict)}


def load(root: Path, jobs: int | None = None) -> SiteData:
    """Decrypt and parse every aggregate under ``root`` (needs SOPS_AGE_KEY or SOPS_AGE_KEY_FILE)."""
    root = root.resolve()
    isp = loading.load(root)
    scopes = {"": _files(root, "aggregates")}
    for code in isp.agencies:
        scopes[code] = _year_files(root, code)
    decrypted = _decrypt(root, scopes, jobs)
    consolidated = decrypted.pop("")
    if consolidated.unreadable:
        first = consolidated.unreadable[0]
        raise IspError(f"{first} (the site is built with a key that opens the consolidated aggregates, e.g. CI's)")
    return SiteData(root, isp, workdays.today(), consolidated, decrypted, read_manifest(root))
