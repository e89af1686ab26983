"""A consolidation run killed at any point leaves the previous aggregates intact and consistent
with their manifest; the next run finishes the job. The kill is real: SIGKILL to `isp consolidate`
running in its own process."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

from isp import consolidate
from isp.crypto import sops
from isp.errors import IspError
from isp.protocol.periods import period_of
from tests.consolidate.helpers import (
    MONTHS,
    SKIPPED,
    SUBMITTERS,
    Dataset,
    expected_table,
    tidy_sorted,
    write_submissions,
)
from tests.helpers import Keyring, patched_env


@pytest.fixture(scope="module")
def consolidated(base: Dataset, tmp_path_factory: pytest.TempPathFactory, keyring: Keyring) -> Dataset:
    data = base.copy(tmp_path_factory.mktemp("atomic") / "isp")
    with patched_env(keyring.env("ci")):
        consolidate.run(data.root, jobs=2)
    return data


def _files(root: Path) -> dict[str, bytes]:
    folder = root / "aggregates"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _temps(root: Path) -> list[Path]:
    return list((root / "aggregates").rglob(".*.tmp"))


def _complete(root: Path) -> list[Path]:
    """Staged outputs already written in full."""
    found = []
    for path in _temps(root):
        try:
            if sops.is_envelope(path.read_bytes()):
                found.append(path)
        except FileNotFoundError:  # renamed or removed meanwhile
            pass
    return found


def _kill_once_outputs_are_staged(root: Path, key: str) -> list[Path]:
    """Start `isp consolidate` in its own process; SIGKILL it as soon as it has written an output."""
    env = {**{k: v for k, v in os.environ.items() if k != "SOPS_AGE_KEY_FILE"}, "SOPS_AGE_KEY": key}
    cmd = [sys.executable, "-m", "isp", "consolidate", "--repo", str(root), "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not _complete(root) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        staged = _complete(root)
        proc.kill()
    finally:
        proc.wait()
    assert proc.returncode == -9, "the run finished before it could be killed"
    return staged


def test_a_run_killed_midway_leaves_the_previous_aggregates_intact(
    consolidated: Dataset, tmp_path: Path, keyring: Keyring
) -> None:
    data = consolidated.copy(tmp_path / "isp")
    before = _files(data.root)
    items = [(a, m) for a in SUBMITTERS for m in MONTHS if (a, m) not in SKIPPED]
    write_submissions(data, items, seed=99)  # every input changes: every output is stale

    staged = _kill_once_outputs_are_staged(data.root, keyring.age_secret["ci"])

    assert staged, "the kill came before any output was written"
    leftovers = _temps(data.root)
    assert leftovers and all(b"period,site" not in p.read_bytes() for p in leftovers)  # ciphertext only
    assert {rel: b for rel, b in _files(data.root).items() if not rel.split("/")[-1].startswith(".")} == before

    report = consolidate.run(data.root, jobs=2)
    assert len(report.updated) == 21 and not _temps(data.root)
    period = period_of("2026-01", "quarterly")
    got = tidy_sorted(consolidate.read_output(data.root, "aggregates/quarterly/2026-Q1.csv"))
    assert_frame_equal(got, expected_table(data.repo.load(), data.frames, period))


def test_an_output_that_does_not_match_its_manifest_entry_is_redone(consolidated: Dataset, tmp_path: Path) -> None:
    """What a run killed between its renames and its manifest leaves: a file the manifest does
    not describe. The next run notices by hash and redoes exactly that output."""
    data = consolidated.copy(tmp_path / "isp")
    target = data.root / "aggregates/monthly/2026-01.csv"
    target.write_bytes((data.root / "aggregates/monthly/2026-02.csv").read_bytes())
    report = consolidate.run(data.root, jobs=2)
    assert report.updated == ["aggregates/monthly/2026-01.csv"] and report.decrypted == 5
    got = tidy_sorted(consolidate.read_output(data.root, "aggregates/monthly/2026-01.csv"))
    assert_frame_equal(got, expected_table(data.repo.load(), data.frames, period_of("2026-01", "monthly")))


def test_a_missing_output_is_redone_and_leftover_temporary_files_are_removed(
    consolidated: Dataset, tmp_path: Path
) -> None:
    data = consolidated.copy(tmp_path / "isp")
    (data.root / "aggregates/agency/NHF/2025.csv").unlink()
    leftover = data.root / "aggregates/quarterly/.2026-Q1.csv.abc123.tmp"
    leftover.write_bytes(b"{}")
    own_leftover = data.root / "aggregates/agency/NHF/.2026.csv.abc123.tmp"
    own_leftover.write_bytes(b"{}")
    report = consolidate.run(data.root, jobs=2)
    assert report.updated == ["aggregates/agency/NHF/2025.csv"]
    assert report.decrypted == 2 and report.outputs_read == 0  # nothing to read back: NHF's 2025 sheets
    assert not leftover.exists() and not own_leftover.exists()
    assert not leftover.exists()


def test_a_second_run_at_the_same_time_is_refused(consolidated: Dataset, tmp_path: Path) -> None:
    import fcntl

    data = consolidated.copy(tmp_path / "isp")
    fd = os.open(data.root / "aggregates", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(IspError, match="another `isp consolidate` is running"):
            consolidate.run(data.root, jobs=2)
    finally:
        os.close(fd)


def _per_period_layout(data: Dataset, agency: str) -> list[str]:
    """Turn an agency's year files back into the earlier layout, one file per period
    (aggregates/agency/<A>/<kind>/<label>.csv, with its manifest); returns their rel paths."""
    root = data.root
    doc = json.loads((root / f"aggregates/agency/{agency}/manifest.json").read_text())
    outputs, rels = {}, []
    for year, entry in doc["outputs"].items():
        table = consolidate.read_agency_year(root, agency, year)
        for key in entry["periods"]:
            rel = f"aggregates/agency/{agency}/{key}.csv"
            rows = table[table["period"] == key.split("/")[1]]
            envelope = sops.encrypt(root, rel, rows.to_csv(index=False).encode())
            (root / rel).parent.mkdir(exist_ok=True)
            (root / rel).write_bytes(envelope)
            outputs[key] = {"inputs": [], "sha256": hashlib.sha256(envelope).hexdigest(), "updated": entry["updated"]}
            rels.append(rel)
        (root / f"aggregates/agency/{agency}/{year}.csv").unlink()
    (root / f"aggregates/agency/{agency}/manifest.json").write_text(json.dumps({**doc, "outputs": outputs}))
    return sorted(rels)


def test_a_repository_with_per_period_agency_files_migrates_to_year_files(
    consolidated: Dataset, tmp_path: Path
) -> None:
    """The per-period files of the earlier layout are removed once the year files are in place,
    with their folders; one no manifest lists any more goes too; the next run has nothing to do."""
    data = consolidated.copy(tmp_path / "isp")
    after = _files(data.root)
    old = _per_period_layout(data, "IRC") + _per_period_layout(data, "NHF")
    stray = "aggregates/agency/IMC/monthly/2024-01.csv"
    (data.root / stray).parent.mkdir()
    (data.root / stray).write_bytes((data.root / "aggregates/agency/IMC/2025.csv").read_bytes())

    report = consolidate.run(data.root, jobs=2)

    own = [f"aggregates/agency/{a}/{y}.csv" for a in ("IRC", "NHF") for y in ("2025", "2026")]
    assert report.updated == own and report.removed == sorted([*old, stray])
    assert not [p for p in (data.root / "aggregates/agency").rglob("*") if p.is_dir() and p.parent.name != "agency"]
    files = _files(data.root)
    assert sorted(files) == sorted(after)
    redone = [*own, "aggregates/agency/IRC/manifest.json", "aggregates/agency/NHF/manifest.json"]
    assert {r: b for r, b in files.items() if r not in redone} == {r: b for r, b in after.items() if r not in redone}
    for agency in ("IRC", "NHF"):
        assert list(consolidate.read_agency_manifest(data.root, agency)["outputs"]) == ["2025", "2026"]
        for year in ("2025", "2026"):
            got = consolidate.read_agency_year(data.root, agency, year)
            assert sops.decrypt(data.root / f"aggregates/agency/{agency}/{year}.csv") == sops.decrypt(
                consolidated.root / f"aggregates/agency/{agency}/{year}.csv"
            ), (agency, year)
            assert len(got)
    again = consolidate.run(data.root, jobs=2)
    assert again.updated == [] and again.removed == []
