"""`isp status` from real signed history: commits dated with GIT_COMMITTER_DATE, a real holiday."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from isp.sheets import status
from tests.helpers import IspRepo, commit_at, isp, write_submission

TODAY = "2024-02-20"  # 2024-01 was due Wed 7 Feb; Thu 8 Feb was Isra' and Mi'raj, then the weekend


def _suspend(root: Path, agency: str, month: str) -> None:
    yaml = YAML()
    path = root / "protocol/agencies.yaml"
    doc = yaml.load(path)
    doc["agencies"][agency]["suspensions"] = [{"from": month, "to": month, "reason": "Internal review of sharing"}]
    yaml.dump(doc, path)


@pytest.fixture(scope="module")
def repo(module_repo: IspRepo) -> IspRepo:
    r = module_repo
    steps = [
        ("IRC", "2024-01", "2024-02-07T22:30:00+03:00", "IRC:primary"),  # the due day, late evening in Amman
        ("IMC", "2024-01", "2024-02-11T09:00:00+03:00", "IMC:secondary"),  # after a holiday and a weekend
        ("JRF", "2024-01", "2024-02-05T10:00:00+03:00", "JRF:primary"),
        ("JRF", "2024-01", "2024-02-14T10:00:00+03:00", "JRF:primary"),  # a revision
        ("NHF", "2024-01", "2024-02-06T10:00:00+03:00", "IRC:primary"),  # signed by another agency
        ("NHF", "2024-01", "2024-02-06T11:00:00+03:00", None),  # unsigned
        ("IRC", "2024-02", "2024-03-03T10:00:00+03:00", "IRC:primary"),
        ("IRC", "2023-12", "2024-01-20T10:00:00+03:00", "IRC:primary"),  # late by many days
    ]
    for seed, (agency, month, when, signer) in enumerate(steps):
        write_submission(r, agency, month, seed=seed)
        commit_at(r, f"{agency} {month}", when, signer=signer)
    _suspend(r.root, "UNHCR", "2024-02")
    commit_at(r, "UNHCR suspends its sharing for February", "2024-02-15T10:00:00+03:00", signer="UNHCR:primary")
    return r


def states(result: status.MonthStatus) -> dict[str, str]:
    return {item.agency: item.state for item in result.agencies}


def test_month_status_for_a_past_month(repo: IspRepo) -> None:
    result = status.month_status(repo.root, "2024-01", date.fromisoformat(TODAY))
    assert result.due == date(2024, 2, 7)
    by = {item.agency: item for item in result.agencies}
    assert states(result) == {"IRC": "on-time", "IMC": "late", "JRF": "on-time", "NHF": "overdue", "UNHCR": "overdue"}
    assert by["IRC"].submitted == date(2024, 2, 7)
    assert (by["IMC"].submitted, by["IMC"].late_days) == (date(2024, 2, 11), 1)
    assert by["JRF"].revised and by["JRF"].versions == 2 and by["JRF"].submitted == date(2024, 2, 5)
    assert by["NHF"].versions == 0 and by["NHF"].unverified == 2
    assert not by["IRC"].revised


def test_not_yet_due_and_suspended(repo: IspRepo) -> None:
    result = status.month_status(repo.root, "2024-02", date.fromisoformat(TODAY))
    assert states(result) == {
        "IRC": "on-time",
        "IMC": "pending",
        "JRF": "pending",
        "NHF": "pending",
        "UNHCR": "suspended",
    }
    unhcr = next(i for i in result.agencies if i.agency == "UNHCR")
    assert unhcr.suspension == "Internal review of sharing" and unhcr.symbol == "S"
    later = status.month_status(repo.root, "2024-02", date(2024, 3, 20))
    assert states(later)["IMC"] == "overdue"


def test_lateness_counts_working_days_only(repo: IspRepo) -> None:
    result = status.month_status(repo.root, "2023-12", date.fromisoformat(TODAY))
    irc = next(i for i in result.agencies if i.agency == "IRC")
    assert irc.state == "late" and irc.symbol == f"+{irc.late_days}"
    assert 5 <= irc.late_days < (date(2024, 1, 20) - result.due).days


def test_history_and_the_latest_due_month(repo: IspRepo) -> None:
    today = date.fromisoformat(TODAY)
    assert status.latest_due_month(repo.root, today) == "2024-01"
    assert status.latest_due_month(repo.root, date(2024, 2, 7)) == "2023-12"
    months = status.last_months("2024-02", 3)
    assert months == ["2023-12", "2024-01", "2024-02"]
    got = status.history(repo.root, months, today)
    assert [m.month for m in got] == months
    assert [i.symbol for i in got[1].agencies] == ["✓", "+1", "✓r", "✗", "✗"]


def test_cli_month_json(repo: IspRepo) -> None:
    result = isp("status", "--repo", repo.root, "--month", "2024-01", "--json", env={"ISP_TODAY": TODAY})
    assert result.code == 0, result.output
    data = json.loads(result.out)
    imc = next(a for a in data["agencies"] if a["agency"] == "IMC")
    assert imc == {
        "agency": "IMC",
        "month": "2024-01",
        "state": "late",
        "due": "2024-02-07",
        "submitted": "2024-02-11",
        "late_working_days": 1,
        "versions": 1,
        "revised": False,
        "unverified_versions": 0,
        "suspension": None,
    }


def test_cli_overview(repo: IspRepo) -> None:
    result = isp("status", "--repo", repo.root, env={"ISP_TODAY": TODAY})
    assert result.code == 0, result.output
    assert "Sheets for 2024-01" in result.out and "late by 1 working day(s)" in result.out
    assert "2 unsigned" in result.out and "not counted: versions that carry no SSH signature" in result.out
    # The overview starts at the group's first submitted month (2023-12), not 12 months back.
    assert "The last 2 months" in result.out and "2023-11" not in result.out and "S suspended" in result.out
    data = json.loads(isp("status", "--repo", repo.root, "--json", "--months", "2", env={"ISP_TODAY": TODAY}).out)
    assert data["latest"]["month"] == "2024-01" and [m["month"] for m in data["months"]] == ["2023-12", "2024-01"]


def test_cli_bad_month_is_a_usage_error(repo: IspRepo) -> None:
    result = isp("status", "--repo", repo.root, "--month", "2024-13")
    assert result.code == 2 and "is not a month" in result.err
