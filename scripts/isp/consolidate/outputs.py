"""Reading aggregates/: the outputs the manifest lists, decrypted in memory (contract C)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from isp.consolidate import codec, manifest
from isp.consolidate.layout import HEADER
from isp.crypto import sops

OUTPUT_COLUMNS = HEADER.strip().split(",")


def read_table(data: bytes) -> pd.DataFrame:
    """An output's plaintext as a frame: string codes, integer counts."""
    dtypes = {column: "string" for column in OUTPUT_COLUMNS[:-1]} | {"count": "int64"}
    return pd.read_csv(io.BytesIO(data), dtype=dtypes, keep_default_na=False)


def read_output(root: Path, rel_path: str) -> pd.DataFrame:
    """Decrypt one output (``aggregates/quarterly/2026-Q1.csv``...) in memory."""
    return read_table(codec.unpack(sops.decrypt(root / rel_path, rel_path), rel_path))


def read_manifest(root: Path) -> manifest.Manifest:
    """aggregates/manifest.json (an empty manifest when consolidation has not run yet)."""
    return manifest.read(root)


def read_agency_manifest(root: Path, agency: str) -> manifest.Manifest:
    """aggregates/agency/<AGENCY>/manifest.json."""
    return manifest.read(root, agency)


def list_outputs(root: Path) -> list[str]:
    """Rel paths of the consolidated outputs, monthly first, each kind by label."""
    keys = sorted(manifest.read(root)["outputs"], key=manifest.sort_key)
    return [manifest.output_rel(key) for key in keys]


def list_agency_outputs(root: Path, agency: str) -> list[str]:
    """Rel paths of one agency's own outputs: its year files (aggregates/agency/<A>/<YYYY>.csv),
    oldest first. Each holds every period of its year; ``period`` tells them apart."""
    return [manifest.output_rel(year, agency) for year in agency_years(root, agency)]


def agency_years(root: Path, agency: str) -> list[str]:
    """The years an agency has a year file for, by its manifest."""
    return sorted(key for key in manifest.read(root, agency)["outputs"] if key.isdigit())


def read_agency_year(root: Path, agency: str, year: str | int) -> pd.DataFrame:
    """Decrypt one agency's year file in memory: its months, quarters, halves and year, in that
    order (split with :func:`isp.protocol.periods.kind_of_label` on ``period``)."""
    return read_output(root, manifest.output_rel(str(year), agency))
