"""Loading submissions: find them, hash their ciphertext, decrypt them in memory and parse them
into cell vectors.

Plaintext lives only in memory, for the time it takes to parse it. Submissions were validated
when they were merged; here we only re-check what the figures depend on (header, month, codes,
counts, duplicates), and a problem names the file, row and column, never a value.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from isp import errors
from isp.consolidate import codec
from isp.consolidate.layout import AXES, NATIONAL, Layout
from isp.crypto import sops
from isp.errors import ErrorCode, Problem, ValidationFailed
from isp.protocol.models import Isp
from isp.protocol.periods import is_month
from isp.sheets.tidy import COLUMNS, KEY_COLUMNS

SUBMISSIONS = "submissions"
_FIX = "check it with `isp validate {rel}` and submit a corrected sheet"
_OUTPUT_FIX = "the output is damaged: run `isp consolidate --full`"
AGGREGATES = "aggregates/"
OUTPUT_COLUMNS = ["period", *KEY_COLUMNS[1:], "count"]


@dataclass(frozen=True)
class Submission:
    """One submission file: whose, which month, its ciphertext hash, and whether it counts."""

    agency: str
    month: str
    rel: str
    sha256: str
    suspended: bool

    @property
    def year(self) -> str:
        return self.month[:4]


@dataclass(frozen=True)
class Cells:
    """One parsed submission: the cell ids it reports and their counts."""

    ids: np.ndarray
    counts: np.ndarray


def submission_files(root: Path, isp: Isp) -> list[tuple[str, str, str]]:
    """(agency, month, rel path) of every submission of a sheet-submitting agency, sorted."""
    found = []
    for agency in sorted(isp.submitters()):
        folder = root / SUBMISSIONS / agency
        for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
            if is_month(path.stem):
                found.append((agency, path.stem, f"{SUBMISSIONS}/{agency}/{path.name}"))
    return found


def describe(isp: Isp, files: list[tuple[str, str, str]], hashes: list[str]) -> list[Submission]:
    """Submissions with their hashes and whether a suspension leaves them out of consolidation."""
    return [
        Submission(agency, month, rel, digest, isp.agencies[agency].suspended_in(month) is not None)
        for (agency, month, rel), digest in zip(files, hashes, strict=True)
    ]


def _problem(
    error: ErrorCode, rel: str, row: int | None = None, column: str | None = None, **values: object
) -> ValidationFailed:
    fix = _OUTPUT_FIX if rel.startswith(AGGREGATES) else _FIX.format(rel=rel)
    return ValidationFailed([Problem.filled(error, rel, values, row=row, column=column, fix=fix)])


def _read(data: bytes, rel: str, columns: list[str]) -> pd.DataFrame:
    header = data[: data.find(b"\n")].decode("utf-8", "replace").strip()
    if header.split(",") != columns:
        raise _problem(errors.COLUMNS, rel, row=1, columns=",".join(columns))
    dtypes = {column: "category" for column in columns[:-1]} | {"count": "int64"}
    try:
        return pd.read_csv(io.BytesIO(data), dtype=dtypes, na_filter=False)
    except (ValueError, pd.errors.ParserError):
        # never pass pandas' message on: it may quote a cell
        raise _counts_problem(data, rel) from None


def _counts_problem(data: bytes, rel: str) -> ValidationFailed:
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, na_filter=False)
    except (ValueError, pd.errors.ParserError):
        return _problem(errors.CSV, rel)
    numbers = pd.to_numeric(raw["count"], errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() | (numbers.fillna(0) % 1 != 0).to_numpy())
    row = int(bad[0]) + 2 if len(bad) else None
    return _problem(errors.COUNT, rel, row=row, column="count", expected="be a whole number")


def _first_row(frame: pd.DataFrame, mask: np.ndarray) -> int:
    return int(frame.index[np.flatnonzero(mask)[0]]) + 2  # 1-based, after the header


def _codes(frame: pd.DataFrame, layout: Layout, rel: str) -> dict[str, np.ndarray]:
    codes = {}
    for axis in AXES:
        column = frame[axis]
        known = layout.index[axis]
        lookup = np.array([known.get(str(c), -1) for c in column.cat.categories] + [-1], dtype=np.int64)
        positions = lookup[column.cat.codes.to_numpy()]
        if (positions < 0).any():
            row = _first_row(frame, positions < 0)
            raise _problem(
                errors.UNKNOWN_CODE, rel, row=row, column=axis, value="the value", what=axis, codes_file="protocol/"
            )
        codes[axis] = positions
    return codes


def cells_of(frame: pd.DataFrame, layout: Layout, label: str, rel: str, column: str = "month") -> Cells:
    """Cell ids and counts of a tidy frame holding one month (or one output's period)."""
    frame = frame.astype({name: "category" for name in (column, *AXES)})
    if len(frame) and (frame[column] != label).any():
        row = _first_row(frame, (frame[column] != label).to_numpy())
        raise _problem(errors.PERIOD, rel, row, column, label=label)
    counts = frame["count"].to_numpy(dtype=np.int64)
    if (counts < 0).any():
        raise _problem(errors.COUNT, rel, _first_row(frame, counts < 0), "count", expected="not be negative")
    ids = layout.cell_ids(_codes(frame, layout, rel))
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    if len(first) != len(ids):
        again = int(np.flatnonzero(first[inverse] != np.arange(len(ids)))[0])
        row, earlier = int(frame.index[again]) + 2, int(frame.index[first[inverse[again]]]) + 2
        raise _problem(errors.DUPLICATE, rel, row, cell=f"on row {row}", first=earlier)
    return Cells(ids, counts)


def parse(data: bytes, layout: Layout, month: str, rel: str) -> Cells:
    """Cell ids and counts of one decrypted submission; ValidationFailed names what is wrong."""
    return cells_of(_read(data, rel, COLUMNS), layout, month, rel)


def parse_output(data: bytes, layout: Layout, label: str, rel: str) -> Cells:
    """The per-site cells of one decrypted output (its national rows are recomputed, not read)."""
    frame = _read(data, rel, OUTPUT_COLUMNS)
    return cells_of(frame[frame["site"] != NATIONAL], layout, label, rel, column="period")


def load(root: Path, sub: Submission, layout: Layout) -> Cells:
    """Decrypt one submission to memory and parse it (runs in a worker thread)."""
    return parse(sops.decrypt(root / sub.rel, sub.rel), layout, sub.month, sub.rel)


def load_output(root: Path, rel: str, label: str, layout: Layout) -> Cells:
    """Decrypt one earlier output to memory and parse it (runs in a worker thread)."""
    return parse_output(codec.unpack(sops.decrypt(root / rel, rel), rel), layout, label, rel)


def load_submissions(root: Path, jobs: int | None = None) -> dict[str, pd.DataFrame]:
    """Agency -> every month it submitted, as one tidy frame (decrypted in memory, in parallel).

    Suspended months are included: :func:`isp.consolidate.consolidate_range` leaves them out.
    """
    from isp.protocol import loading
    from isp.sheets import tidy

    isp = loading.load(root)
    files = submission_files(root, isp)
    frames: dict[str, list[pd.DataFrame]] = {}
    results = sops.decrypt_many([root / rel for _, _, rel in files], jobs)
    for (agency, _month, rel), (_path, result) in zip(files, results, strict=True):
        if isinstance(result, sops.CryptoError):
            raise sops.CryptoError(rel, result.reason)
        frames.setdefault(agency, []).append(tidy.read_csv(result))
    return {agency: pd.concat(parts, ignore_index=True) for agency, parts in frames.items()}
