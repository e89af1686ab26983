"""Working days and deadlines against dates checked by hand on a calendar."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from isp.protocol import loading, workdays
from tests.helpers import REPO_ROOT, isp


@pytest.fixture(scope="module")
def cal() -> workdays.WorkingCalendar:
    return workdays.WorkingCalendar(loading.load(REPO_ROOT))


def test_friday_and_saturday_are_the_weekend(cal: workdays.WorkingCalendar) -> None:
    assert cal.closure(date(2026, 3, 6)) == "weekend"  # Friday
    assert cal.closure(date(2026, 3, 7)) == "weekend"  # Saturday
    assert cal.is_working_day(date(2026, 3, 8))  # Sunday is a working day in Jordan


@pytest.mark.parametrize(
    ("month", "due"),
    [
        ("2026-02", date(2026, 3, 8)),  # 7 March 2026 is a Saturday
        ("2025-08", date(2025, 9, 7)),  # 7 September 2025 is a Sunday: no move
        ("2026-07", date(2026, 8, 9)),  # 7 August 2026 is a Friday: Sat, then Sunday 9th
        ("2025-12", date(2026, 1, 7)),  # year end: the 7th of January, a Wednesday
        ("2025-05", date(2025, 6, 9)),  # 7 June 2025: Eid al-Adha holiday (Saturday too), 8th holiday
    ],
)
def test_submission_due(cal: workdays.WorkingCalendar, month: str, due: date) -> None:
    assert cal.submission_due(month) == due


def test_eid_al_fitr_is_not_a_working_day(cal: workdays.WorkingCalendar) -> None:
    assert cal.closure(date(2025, 3, 31)) and "Eid" in cal.closure(date(2025, 3, 31))
    # 30 Mar 2025 (Sun) to 1 Apr (Tue) are Eid; 2 April is the next working day.
    assert cal.roll_forward(date(2025, 3, 30)) == date(2025, 4, 2)


def test_working_day_arithmetic_crosses_weekends_and_holidays(cal: workdays.WorkingCalendar) -> None:
    # Thursday 26 March 2026 + 5 working days: Sun 29, Mon 30, Tue 31, Wed 1, Thu 2 April.
    assert cal.add_working_days(date(2026, 3, 26), 5) == date(2026, 4, 2)
    # Eid al-Fitr 2026 (20-22 March) is skipped: Thu 19 March + 1 -> Mon 23 March.
    assert cal.add_working_days(date(2026, 3, 19), 1) == date(2026, 3, 23)
    assert cal.working_days_between(date(2026, 3, 19), date(2026, 3, 23)) == 1
    assert cal.working_days_between(date(2026, 3, 23), date(2026, 3, 19)) == -1


def test_year_end_and_new_year(cal: workdays.WorkingCalendar) -> None:
    assert not cal.is_working_day(date(2026, 1, 1))
    assert cal.consolidation_due("2025-12") == date(2026, 1, 11)  # 10 Jan 2026 is a Saturday


def test_sectoral_report_tenth_working_day(cal: workdays.WorkingCalendar) -> None:
    # June 2026 (the protocol: the 10th working day of June): working days 1,2,3,4,7,8,9,10,11,14
    # -> Sunday 14 June (Islamic New Year falls on the 16th, after it).
    assert cal.sectoral_due(2026, 6) == date(2026, 6, 14)


def test_extra_closures_from_the_protocol(tmp_path: Path) -> None:
    import shutil

    import yaml

    shutil.copytree(REPO_ROOT / "protocol", tmp_path / "protocol")
    path = tmp_path / "protocol" / "protocol.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["extra_closures"] = [{"date": "2026-03-08", "name": "Office closure"}]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    cal = workdays.WorkingCalendar(loading.load(tmp_path))
    assert cal.submission_due("2026-02") == date(2026, 3, 9)


def test_deadlines_cli_json_gives_the_8th_of_march() -> None:
    result = isp("deadlines", "--month", "2026-02", "--json", "--repo", REPO_ROOT)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    due = {d["kind"]: d["due"] for d in data["deadlines"]}
    assert due["submission"] == "2026-03-08"
    assert due["consolidation"] == "2026-03-10"
    assert due["protocol-review"] == "2027-09-15"


def test_ics_file_parses(tmp_path: Path) -> None:
    from icalendar import Calendar

    out = tmp_path / "isp.ics"
    result = isp("deadlines", "--month", "2026-01", "--months", "12", "--ics", out, "--repo", REPO_ROOT)
    assert result.code == 0, result.err
    events = Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    summaries = [str(e["summary"]) for e in events]
    assert sum("Submission" in s for s in summaries) == 12
    assert any("Sectoral report" in s for s in summaries)


def test_bad_month_is_a_usage_error() -> None:
    result = isp("deadlines", "--month", "2026-13", "--repo", REPO_ROOT)
    assert result.code == 2 and "YYYY-MM" in result.err
