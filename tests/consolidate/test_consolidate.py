"""`isp consolidate`: figures, coverage, suspensions, revisions, per-agency outputs, incremental runs.

Real sops and age throughout; expected tables come from an independent pandas oracle
(tests/consolidate/helpers.py), not from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from ruamel.yaml import YAML

from isp import consolidate
from isp.consolidate import codec
from isp.crypto import keys, sops
from isp.protocol import loading
from isp.protocol.periods import Period, PeriodKind, custom_period, period_of
from tests.consolidate.helpers import (
    MONTHS,
    SKIPPED,
    SUBMITTERS,
    Dataset,
    encrypt_sheet,
    expected_table,
    tidy_sorted,
    write_submissions,
)
from tests.helpers import AGENCIES, Keyring, isp, patched_env

CONSOLIDATED_KEYS = [
    "monthly/2025-11", "monthly/2025-12", "monthly/2026-01", "monthly/2026-02", "monthly/2026-03",
    "quarterly/2025-Q4", "quarterly/2026-Q1", "half-yearly/2025-H2", "half-yearly/2026-H1",
    "annual/2025", "annual/2026",
]  # fmt: skip


@pytest.fixture(scope="module")
def done(base: Dataset, tmp_path_factory: pytest.TempPathFactory, keyring: Keyring) -> tuple[Dataset, object]:
    """``base`` after one consolidation run (read-only for the tests that use it)."""
    data = base.copy(tmp_path_factory.mktemp("consolidate-done") / "isp")
    with patched_env(keyring.env("ci")):
        report = consolidate.run(data.root, jobs=2)
    return data, report


FIRST_MONTH = {"Q1": "01", "Q2": "04", "Q3": "07", "Q4": "10", "H1": "01", "H2": "07"}


def _period(key: str) -> Period:
    """``quarterly/2026-Q1`` -> that Period."""
    kind, label = key.split("/")
    first = label if kind == "monthly" else f"{label[:4]}-{FIRST_MONTH.get(label[5:], '01')}"
    return period_of(first, cast(PeriodKind, kind))


def _read(data: Dataset, rel: str) -> pd.DataFrame:
    return tidy_sorted(consolidate.read_output(data.root, rel))


def _own(data: Dataset, agency: str, key: str) -> pd.DataFrame:
    """One period's rows of an agency's year file (``quarterly/2026-Q1`` from its 2026.csv)."""
    period = _period(key)
    year = consolidate.read_agency_year(data.root, agency, period.first[:4])
    return tidy_sorted(year[year["period"] == period.label])


def _ci(keyring: Keyring) -> dict[str, str | None]:
    return keyring.env("ci")


# --- figures ---------------------------------------------------------------------------------


def test_first_run_writes_every_period_consolidated_and_per_agency(done, keyring: Keyring) -> None:
    data, report = done
    assert consolidate.list_outputs(data.root) == [f"aggregates/{key}.csv" for key in CONSOLIDATED_KEYS]
    per_agency = {a: consolidate.list_agency_outputs(data.root, a) for a in SUBMITTERS}
    assert per_agency == {a: [f"aggregates/agency/{a}/2025.csv", f"aggregates/agency/{a}/2026.csv"] for a in SUBMITTERS}
    assert sorted(p.relative_to(data.root).as_posix() for p in data.root.glob("aggregates/agency/*/*")) == sorted(
        [
            *(rel for rels in per_agency.values() for rel in rels),
            *(f"aggregates/agency/{a}/manifest.json" for a in SUBMITTERS),
        ]
    )  # one file per agency and year, and nothing else
    assert len(report.updated) == 11 + 2 * 5 and report.unchanged == 0 and report.outputs_read == 0
    assert report.decrypted == report.inputs == len(SUBMITTERS) * len(MONTHS) - len(SKIPPED)
    manifest = consolidate.read_manifest(data.root)
    assert manifest["rules_version"] == data.repo.load().protocol.rules_version
    entry = manifest["outputs"]["quarterly/2026-Q1"]
    assert entry["months"] == ["2026-01", "2026-02", "2026-03"]
    assert entry["coverage"] == {"reported": 5, "expected": 5, "agency_months": {"reported": 14, "expected": 15}}
    assert entry["inputs"] == sorted(entry["inputs"]) and len(entry["inputs"]) == 14
    assert entry["revised"] is False and entry["suspended"] == 0
    assert not list(data.root.glob("aggregates/**/.*.tmp"))
    own = consolidate.read_agency_manifest(data.root, "JRF")["outputs"]["2026"]
    assert own["months"] == ["2026-01", "2026-02"] and len(own["inputs"]) == 2
    assert own["periods"] == [
        "monthly/2026-01",
        "monthly/2026-02",
        "quarterly/2026-Q1",
        "half-yearly/2026-H1",
        "annual/2026",
    ]
    assert own["revised"] is False and own["suspended"] == 0 and "coverage" not in own


def test_each_agency_year_file_holds_every_period_of_its_own_figures_in_order(done) -> None:
    """What the per-period files held, period by period, from that agency's sheets alone."""
    data, _ = done
    isp_ = data.repo.load()
    for agency in SUBMITTERS:
        own = {k: f for k, f in data.frames.items() if k[0] == agency}
        for year in ("2025", "2026"):
            table = consolidate.read_agency_year(data.root, agency, year)
            keys = consolidate.read_agency_manifest(data.root, agency)["outputs"][year]["periods"]
            assert list(dict.fromkeys(table["period"])) == [key.split("/")[1] for key in keys]
            assert keys == [k for k in CONSOLIDATED_KEYS if k.split("/")[1].startswith(year)] or agency == "JRF"
            for key in keys:
                assert_frame_equal(
                    _own(data, agency, key), expected_table(isp_, own, _period(key)), obj=f"{agency} {key}"
                )


def test_totals_are_conserved_in_every_consolidated_output(done) -> None:
    """Before suppression, every cell (per site and ALL) equals the sum of the inputs' cells."""
    data, _ = done
    isp_ = data.repo.load()
    for key in CONSOLIDATED_KEYS:
        period = _period(key)
        got = _read(data, f"aggregates/{key}.csv")
        assert_frame_equal(got, expected_table(isp_, data.frames, period), obj=key)
        national = got[got["site"] == "ALL"].groupby("indicator")["count"].sum()
        sites = got[got["site"] != "ALL"].groupby("indicator")["count"].sum()
        assert national.equals(sites), key


def test_monthly_national_totals_equal_the_sum_of_the_submissions(done) -> None:
    data, _ = done
    got = _read(data, "aggregates/monthly/2026-02.csv")
    national = got[got["site"] == "ALL"].groupby("indicator")["count"].sum()
    inputs = pd.concat([f for (_a, m), f in data.frames.items() if m == "2026-02"])
    assert national.to_dict() == inputs.groupby("indicator")["count"].sum().to_dict()


def test_stocks_come_from_each_agencys_last_month_and_flows_are_summed(done) -> None:
    """JRF did not report March: its February caseload stands for it in 2026-Q1."""
    data, _ = done
    got = _read(data, "aggregates/quarterly/2026-Q1.csv")
    total = got[got["site"] == "ALL"].groupby("indicator")["count"].sum()

    def figure(agency: str, month: str, indicator: str) -> int:
        frame = data.frames[(agency, month)]
        return int(frame.loc[frame["indicator"] == indicator, "count"].sum())

    active = sum(figure(a, "2026-03", "active_cases") for a in SUBMITTERS if a != "JRF")
    active += figure("JRF", "2026-02", "active_cases")
    new = sum(figure(a, m, "new_cases") for (a, m) in data.frames if m.startswith("2026"))
    assert total["active_cases"] == active
    assert total["new_cases"] == new
    march = _read(data, "aggregates/monthly/2026-03.csv")
    assert total["active_cases"] != march[march["site"] == "ALL"].query("indicator == 'active_cases'")["count"].sum()


def test_a_custom_range_through_the_library_api(done) -> None:
    data, _ = done
    isp_ = data.repo.load()
    frames = consolidate.load_submissions(data.root, jobs=2)
    assert sorted(frames) == sorted(SUBMITTERS)
    across_years = custom_period("2025-12", "2026-02")
    got = tidy_sorted(consolidate.consolidate_range(frames, isp_, across_years))
    assert_frame_equal(got, expected_table(isp_, data.frames, across_years))
    assert set(got["period"]) == {"2025-12_2026-02"}
    quarter = tidy_sorted(consolidate.consolidate_range(frames, isp_, period_of("2026-01", "quarterly")))
    assert_frame_equal(quarter, _read(data, "aggregates/quarterly/2026-Q1.csv"))


# --- identity, recipients, plaintext ---------------------------------------------------------


def test_no_agency_code_or_name_in_consolidated_outputs_or_the_manifest(done) -> None:
    data, _ = done
    isp_ = data.repo.load()
    names = [a.name.lower() for a in isp_.agencies.values()] + [a.label.lower() for a in isp_.agencies.values()]
    manifest_text = (data.root / "aggregates/manifest.json").read_text(encoding="utf-8")
    texts = {"manifest.json": manifest_text}
    for rel in consolidate.list_outputs(data.root):
        texts[rel] = codec.unpack(sops.decrypt(data.root / rel)).decode("utf-8")
    for where, text in texts.items():
        assert not [code for code in AGENCIES if code in text], where
        assert not [name for name in names if name in text.lower()], where
    assert "agency/" not in manifest_text


def test_outputs_are_encrypted_for_the_right_readers(done, keyring: Keyring) -> None:
    data, _ = done
    isp_ = data.repo.load()
    consolidated = data.root / "aggregates/annual/2026.csv"
    assert sops.recipients(consolidated.read_bytes()) == keys.required_recipients(isp_, "aggregates/annual/2026.csv")
    assert keyring.age_public["UNICEF"] in sops.recipients(consolidated.read_bytes())
    own = "aggregates/agency/IRC/2026.csv"
    assert keys.required_recipients(isp_, own) == {keyring.age_public["IRC"], keyring.age_public["ci"]}
    assert sops.recipients((data.root / own).read_bytes()) == {keyring.age_public["IRC"], keyring.age_public["ci"]}
    with patched_env(keyring.env("IRC")):
        stored = sops.decrypt(consolidated)
        assert stored.startswith(codec.GZIP_MAGIC) and codec.unpack(stored).startswith(b"period,site,indicator")
        mine = _own(data, "IRC", "quarterly/2026-Q1")
    for other in ("IMC", "UNICEF"):
        with patched_env(keyring.env(other)), pytest.raises(sops.CryptoError):
            sops.decrypt(data.root / own)
    irc_only = {k: f for k, f in data.frames.items() if k[0] == "IRC"}
    assert_frame_equal(mine, expected_table(isp_, irc_only, period_of("2026-01", "quarterly")))
    assert json.loads((data.root / "aggregates/agency/IRC/manifest.json").read_text())["outputs"]["2026"]


def test_no_plaintext_figure_reaches_disk_or_the_terminal(base: Dataset, tmp_path: Path, keyring: Keyring) -> None:
    data = base.copy(tmp_path / "isp")
    frame = data.frames[("IRC", "2026-01")].copy()
    frame.loc[0, "count"] = 9876543  # a canary no synthetic sheet holds
    with patched_env(_ci(keyring)):
        encrypt_sheet(data.root, "IRC", "2026-01", frame)
    result = isp("consolidate", "--repo", data.root, "--jobs", "2", env=_ci(keyring))
    assert result.code == 0, result.output
    with patched_env(_ci(keyring)):
        table = consolidate.read_output(data.root, "aggregates/monthly/2026-01.csv")
    canaries = {str(v) for v in table["count"] if v >= 9876543} | {"9876543"}
    assert len(canaries) >= 2 and max(int(c) for c in canaries) > 9876543
    for value in canaries:
        assert value not in result.output
        for path in data.root.rglob("*"):  # .git/ included: the run keeps a hash cache there
            if path.is_file():
                assert value.encode() not in path.read_bytes(), path


# --- suspension and revision -----------------------------------------------------------------


def _suspend(root: Path, agency: str, first: str, last: str) -> None:
    yaml = YAML()
    path = root / "protocol/agencies.yaml"
    doc = yaml.load(path)
    doc["agencies"][agency]["suspensions"] = [{"from": first, "to": last, "reason": "Written notice, test"}]
    yaml.dump(doc, path)
    loading.load(root)


def test_a_suspended_agencys_months_are_left_out_and_coverage_says_so(done, tmp_path: Path) -> None:
    """Suspended after a first run: the next run redoes what the suspension changes, and only that."""
    data = done[0].copy(tmp_path / "isp")
    _suspend(data.root, "NHF", "2025-12", "2026-02")
    report = consolidate.run(data.root, jobs=2)
    isp_ = data.repo.load()
    out = frozenset({("NHF", "2025-12"), ("NHF", "2026-01"), ("NHF", "2026-02")})
    assert not [rel for rel in report.updated if "/agency/" in rel]  # NHF's own tables keep its months
    assert len(report.updated) == 9  # three months, and the quarter, half and year of each year
    for key in CONSOLIDATED_KEYS:
        want = expected_table(isp_, data.frames, _period(key), leave_out=out)
        assert_frame_equal(_read(data, f"aggregates/{key}.csv"), want, obj=key)
    entry = consolidate.read_manifest(data.root)["outputs"]["monthly/2026-02"]
    assert entry["coverage"]["reported"] == 4 and entry["coverage"]["expected"] == 5
    assert entry["suspended"] == 1 and len(entry["inputs"]) == 4
    assert consolidate.read_manifest(data.root)["outputs"]["monthly/2026-03"]["suspended"] == 0
    assert consolidate.read_manifest(data.root)["outputs"]["quarterly/2026-Q1"]["suspended"] == 2
    own = _own(data, "NHF", "monthly/2026-02")
    nhf = {k: f for k, f in data.frames.items() if k == ("NHF", "2026-02")}
    assert_frame_equal(own, expected_table(isp_, nhf, _period("monthly/2026-02")))


@pytest.fixture(scope="module")
def revised(base: Dataset, tmp_path_factory: pytest.TempPathFactory, keyring: Keyring):
    """Consolidated, then IRC resubmits 2026-01 (a signed commit), then consolidated again."""
    data = base.copy(tmp_path_factory.mktemp("consolidate-revised") / "isp")
    with patched_env(_ci(keyring)):
        first = consolidate.run(data.root, jobs=2)
        before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in data.root.glob("aggregates/**/*.csv")}
        write_submissions(data, [("IRC", "2026-01")], seed=77)
        data.repo.commit("IRC resubmits 2026-01", signer="IRC:primary")
        second = consolidate.run(data.root, jobs=2)
        manifest_bytes = (data.root / "aggregates/manifest.json").read_bytes()
        third = consolidate.run(data.root, jobs=2)
    return data, first, second, third, before, manifest_bytes


CHANGED = [
    "aggregates/agency/IRC/2026.csv", "aggregates/annual/2026.csv", "aggregates/half-yearly/2026-H1.csv",
    "aggregates/monthly/2026-01.csv", "aggregates/quarterly/2026-Q1.csv",
]  # fmt: skip


def test_a_resubmission_recomputes_only_the_outputs_it_feeds(revised) -> None:
    data, first, second, third, before, _ = revised
    assert second.updated == CHANGED
    assert second.unchanged == len(first.updated) - len(CHANGED)
    # 2026-Q1 comes from all its submissions (JRF's latest stock is in February, not March), and
    # so does IRC's 2026 file (always from its own submissions of the year); nothing from 2025
    assert second.decrypted == 14 and second.outputs_read == 0
    assert second.summary().startswith(f"5 outputs updated, {second.unchanged} unchanged")
    for path, (content, mtime) in before.items():
        if path.relative_to(data.root).as_posix() not in CHANGED:
            assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime, path
    assert third.updated == [] and third.decrypted == 0


def test_after_incremental_runs_every_output_is_what_a_full_run_gives(revised) -> None:
    data, *_ = revised
    isp_ = data.repo.load()
    for agency, keys_ in {None: CONSOLIDATED_KEYS, "IRC": CONSOLIDATED_KEYS, "IMC": CONSOLIDATED_KEYS}.items():
        frames = {k: f for k, f in data.frames.items() if agency is None or k[0] == agency}
        for key in keys_:
            got = _read(data, f"aggregates/{key}.csv") if agency is None else _own(data, agency, key)
            assert_frame_equal(got, expected_table(isp_, frames, _period(key)), obj=f"{agency} {key}")


def test_a_resubmission_derives_the_longer_periods_from_stored_outputs(done, tmp_path: Path) -> None:
    """Every agency reported in December, so 2025-Q4 is November's stored table plus the new
    December; the half and the year follow from the quarter. IRC's 2025 file is made from its
    November and December submissions. 6 submissions, 1 stored output."""
    data = done[0].copy(tmp_path / "isp")
    write_submissions(data, [("IRC", "2025-12")], seed=5)
    report = consolidate.run(data.root, jobs=2)
    assert len(report.updated) == 5 and report.decrypted == 6 and report.outputs_read == 1
    isp_ = data.repo.load()
    irc = {k: f for k, f in data.frames.items() if k[0] == "IRC"}
    for key in ("monthly/2025-11", "monthly/2025-12", "quarterly/2025-Q4", "half-yearly/2025-H2", "annual/2025"):
        assert_frame_equal(_read(data, f"aggregates/{key}.csv"), expected_table(isp_, data.frames, _period(key)))
        assert_frame_equal(_own(data, "IRC", key), expected_table(isp_, irc, _period(key)))


def test_a_resubmitted_month_is_flagged_revised(revised, keyring: Keyring) -> None:
    data, *_ = revised
    outputs = consolidate.read_manifest(data.root)["outputs"]
    for key in ("monthly/2026-01", "quarterly/2026-Q1", "half-yearly/2026-H1", "annual/2026"):
        assert outputs[key]["revised"] is True and outputs[key]["revised_months"] == ["2026-01"], key
    assert outputs["monthly/2026-02"]["revised"] is False and outputs["annual/2025"]["revised"] is False
    irc = consolidate.read_agency_manifest(data.root, "IRC")["outputs"]
    assert irc["2026"]["revised"] is True and irc["2026"]["revised_months"] == ["2026-01"]
    assert irc["2025"]["revised"] is False
    assert consolidate.read_agency_manifest(data.root, "IMC")["outputs"]["2026"]["revised"] is False
    with patched_env(_ci(keyring)):
        got = _read(data, "aggregates/quarterly/2026-Q1.csv")
    assert_frame_equal(got, expected_table(data.repo.load(), data.frames, _period("quarterly/2026-Q1")))


def test_a_re_encryption_by_someone_else_is_not_a_revision(done, tmp_path: Path) -> None:
    """`isp keys sync` re-wraps submissions (new ciphertext, same figures) in a coordinator's or
    CI's commit: the outputs are redone from the new inputs, and nothing is flagged revised."""
    data = done[0].copy(tmp_path / "isp")
    encrypt_sheet(data.root, "IMC", "2026-02", data.frames[("IMC", "2026-02")])
    data.repo.commit("Re-wrap for a new member", signer="UNHCR:primary")
    before = _read(data, "aggregates/monthly/2026-02.csv")
    report = consolidate.run(data.root, jobs=2)
    assert "aggregates/monthly/2026-02.csv" in report.updated
    assert_frame_equal(_read(data, "aggregates/monthly/2026-02.csv"), before)
    assert consolidate.read_manifest(data.root)["outputs"]["monthly/2026-02"]["revised"] is False
    assert consolidate.read_agency_manifest(data.root, "IMC")["outputs"]["2026"]["revised"] is False


def test_a_run_with_nothing_new_leaves_the_manifest_alone(revised) -> None:
    data, *_, manifest_bytes = revised
    assert (data.root / "aggregates/manifest.json").read_bytes() == manifest_bytes


def test_same_inputs_give_the_same_figures(done, tmp_path: Path, keyring: Keyring) -> None:
    data = done[0].copy(tmp_path / "isp")
    with patched_env(_ci(keyring)):
        first = {rel: sops.decrypt(data.root / rel) for rel in consolidate.list_outputs(data.root)}
        ciphertext = {rel: (data.root / rel).read_bytes() for rel in first}
        report = consolidate.run(data.root, jobs=2, full=True)
        again = {rel: sops.decrypt(data.root / rel) for rel in consolidate.list_outputs(data.root)}
    assert len(report.updated) == len(done[1].updated)
    assert again == first
    assert all((data.root / rel).read_bytes() != ciphertext[rel] for rel in first)  # fresh sops data keys


def test_outputs_no_longer_made_are_removed(done, tmp_path: Path, keyring: Keyring) -> None:
    data = done[0].copy(tmp_path / "isp")
    for agency in SUBMITTERS:
        (data.root / f"submissions/{agency}/2025-12.csv").unlink()
    with patched_env(_ci(keyring)):
        report = consolidate.run(data.root, jobs=2)
    assert report.removed == ["aggregates/monthly/2025-12.csv"]
    assert not list(data.root.glob("aggregates/**/2025-12.csv"))
    assert not [k for k in consolidate.read_manifest(data.root)["outputs"] if "2025-12" in k]
    # the 2025 quarter, half and year now come from November alone, read back; each agency's 2025
    # file (now November only) from its November submission
    assert len(report.updated) == 3 + 5 and report.decrypted == 5 and report.outputs_read == 1
    assert consolidate.read_agency_manifest(data.root, "IRC")["outputs"]["2025"]["months"] == ["2025-11"]
    assert set(consolidate.read_agency_year(data.root, "IRC", 2025)["period"]) == {
        "2025-11",
        "2025-Q4",
        "2025-H2",
        "2025",
    }
    frames = {k: f for k, f in data.frames.items() if k[1] != "2025-12"}
    got = _read(data, "aggregates/annual/2025.csv")
    assert_frame_equal(got, expected_table(data.repo.load(), frames, _period("annual/2025")))


# --- the command line ------------------------------------------------------------------------


def test_cli_reports_what_it_did_and_json_for_machines(done, tmp_path: Path, keyring: Keyring) -> None:
    data = done[0].copy(tmp_path / "isp")
    result = isp("consolidate", "--repo", data.root, env=_ci(keyring))
    assert result.code == 0 and "0 outputs updated, 21 unchanged" in result.out
    result = isp("consolidate", "--repo", data.root, "--json", "--full", "--jobs", "2", env=_ci(keyring))
    report = json.loads(result.out)
    assert len(report["updated"]) == 21 and report["decrypted"] == 24 and report["revisions_known"] is True


def test_without_a_key_nothing_is_written_and_the_file_is_named(done, tmp_path: Path) -> None:
    data = done[0].copy(tmp_path / "isp")
    before = {p: p.read_bytes() for p in (data.root / "aggregates").rglob("*") if p.is_file()}
    result = isp("consolidate", "--repo", data.root, "--full", env={"SOPS_AGE_KEY": None, "SOPS_AGE_KEY_FILE": None})
    assert result.code == 1
    assert "submissions/" in result.err and "SOPS_AGE_KEY" in result.err and "Traceback" not in result.err
    after = {p: p.read_bytes() for p in (data.root / "aggregates").rglob("*") if p.is_file()}
    assert after == before


def test_a_broken_submission_is_refused_with_file_row_column_and_nothing_changes(
    done, tmp_path: Path, keyring: Keyring
) -> None:
    data = done[0].copy(tmp_path / "isp")
    frame = data.frames[("IMC", "2026-02")].copy()
    frame.loc[5, "site"] = "JO99"
    with patched_env(_ci(keyring)):
        encrypt_sheet(data.root, "IMC", "2026-02", frame)
    before = {p: p.read_bytes() for p in (data.root / "aggregates").rglob("*") if p.is_file()}
    result = isp("consolidate", "--repo", data.root, "--jobs", "2", env=_ci(keyring))
    assert result.code == 1, result.output
    assert "submissions/IMC/2026-02.csv, row " in result.err and "column site: [unknown-code]" in result.err
    after = {p: p.read_bytes() for p in (data.root / "aggregates").rglob("*") if p.is_file()}
    assert after == before and not list(data.root.glob("aggregates/**/.*.tmp"))


def test_outputs_of_the_earlier_plain_layout_are_still_read(done) -> None:
    """Outputs written before compression hold the CSV itself: read back, they give the same table."""
    data, _ = done
    rel = "aggregates/quarterly/2026-Q1.csv"
    table = consolidate.read_output(data.root, rel)
    plain = codec.unpack(sops.decrypt(data.root / rel))
    assert codec.unpack(plain) == plain
    old = data.root / "aggregates/quarterly/old-layout.csv"
    old.write_bytes(sops.encrypt(data.root, rel, plain))
    try:
        assert_frame_equal(consolidate.read_output(data.root, old.relative_to(data.root).as_posix()), table)
    finally:
        old.unlink()


def test_a_damaged_compressed_table_is_one_clear_error() -> None:
    from isp.errors import IspError

    packed = codec.pack(b"period,site,indicator,sex,age_group,nationality,count\n")
    with pytest.raises(IspError, match=r"aggregates/monthly/2026-01.csv: its compressed table is damaged"):
        codec.unpack(packed[:-6], "aggregates/monthly/2026-01.csv")
