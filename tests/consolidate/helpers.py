"""Shared set-up for the consolidation tests: a repository with real encrypted submissions, and an
independent (plain pandas, no numpy tricks) oracle for what a consolidated table must hold."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from isp.crypto import sops
from isp.demo import synthetic
from isp.fsutil import write_atomic
from isp.protocol import loading
from isp.protocol import models as protocol
from isp.protocol.periods import Period
from isp.sheets import tidy
from tests.helpers import IspRepo, Keyring, patched_env

SUBMITTERS = ("IMC", "IRC", "JRF", "NHF", "UNHCR")
MONTHS = ("2025-11", "2025-12", "2026-01", "2026-02", "2026-03")
SKIPPED = {("JRF", "2026-03")}  # JRF's last month of 2026-Q1 is February: stocks must use it
KEYS = ["site", "indicator", "sex", "age_group", "nationality"]


@dataclass
class Dataset:
    """A repository and the plaintext of every submission it holds."""

    repo: IspRepo
    frames: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.repo.root

    def copy(self, to: Path) -> Dataset:
        shutil.copytree(self.root, to, symlinks=True)
        return Dataset(IspRepo(to, self.repo.keyring), dict(self.frames))


def encrypt_sheet(root: Path, agency: str, month: str, frame: pd.DataFrame) -> None:
    """What tests.helpers.write_submission does, for a frame already made (thread-safe)."""
    rel = f"submissions/{agency}/{month}.csv"
    write_atomic(root / rel, sops.encrypt(root, rel, tidy.to_csv(frame)))


def write_submissions(data: Dataset, items: list[tuple[str, str]], seed: int = 2015) -> None:
    """Synthetic sheets for every (agency, month), encrypted in parallel."""
    isp = loading.load(data.root)
    frames = {(a, m): synthetic.month_sheet(isp, a, m, seed=seed) for a, m in items}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda key: encrypt_sheet(data.root, key[0], key[1], frames[key]), frames))
    data.frames.update(frames)


def make_dataset(repo: IspRepo, keyring: Keyring) -> Dataset:
    data = Dataset(repo)
    items = [(a, m) for a in SUBMITTERS for m in MONTHS if (a, m) not in SKIPPED]
    with patched_env(keyring.env("ci")):
        write_submissions(data, items)
    for agency in SUBMITTERS:  # each agency's sheets in a commit signed by its own focal point
        repo.commit(f"{agency}: sheets 2025-11 to 2026-03", paths=[f"submissions/{agency}"], signer=f"{agency}:primary")
    return data


def expected_table(
    isp: protocol.Isp, frames: dict[tuple[str, str], pd.DataFrame], period: Period, leave_out: frozenset = frozenset()
) -> pd.DataFrame:
    """The consolidated table as the protocol defines it, computed the slow, obvious way."""
    parts = [f.assign(agency=a) for (a, m), f in frames.items() if m in period.months and (a, m) not in leave_out]
    if not parts:
        return pd.DataFrame(columns=["period", *KEYS, "count"])
    data = pd.concat(parts, ignore_index=True)
    flow = data["indicator"].map(lambda code: isp.indicators[code].aggregation == "flow")
    last = data.groupby("agency")["month"].transform("max")
    chosen = data[flow | (data["month"] == last)]
    by_site = chosen.groupby(KEYS, as_index=False)["count"].sum()
    national = by_site.groupby(KEYS[1:], as_index=False)["count"].sum().assign(site="ALL")
    table = pd.concat([by_site, national], ignore_index=True).assign(period=period.label)
    return tidy_sorted(table)


def tidy_sorted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["period", *KEYS, "count"]].astype({c: str for c in ["period", *KEYS]})
    out = out.astype({"count": "int64"})
    return out.sort_values(KEYS, kind="mergesort").reset_index(drop=True)
