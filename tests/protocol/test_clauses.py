"""Clauses of the signed protocol that need no git: the attribution of ground rule 10, the
sectoral report's dates, the meetings' calendar, focal points as the annex has them.

Dates are checked on years other than the examples, against a working-day count written out by
hand here (the Jordanian public holidays of one year listed below), not against the calendar
module's own arithmetic.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from isp.errors import ValidationFailed
from isp.protocol import attribution, loading, workdays
from tests.helpers import REPO_ROOT
from tests.protocol.helpers import edit


def problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        loading.load(root)
    return info.value.lines()


# --- ground rule 10 ----------------------------------------------------------------------------

# A paraphrase in the signatories' own style, as they might paste it: every element is there.
SIGNED = [
    "The data shared comes only from reported cases and is in no way representative of the total "
    "child protection concerns in Jordan. This consolidated statistical report is generated "
    "exclusively by child protection case management providers who use the CPIMS, in twelve "
    "governorates of Jordan, for the population affected by the Syrian crisis, with the consent of "
    "children and their caregivers.",
    "This information is confidential and cannot be reproduced without the authorization of the CPIMS "
    "agencies. For any other purpose please contact the CPIMS focal points: {contacts}.",
]


def test_the_default_attribution_has_every_element_and_the_coordinators_contacts() -> None:
    isp_ = loading.load(REPO_ROOT)
    texts = attribution.wording(isp_)
    assert attribution.missing_elements(texts, isp_) == []
    joined = " ".join(texts)
    assert "focal.unhcr@example.org" in joined and "focal.imc@example.org" in joined
    assert "focal.irc@example.org" not in joined  # only the coordinators' focal points
    assert "{contacts}" not in joined


@pytest.mark.parametrize("element", attribution.ELEMENTS, ids=lambda e: e.code)
def test_each_element_missing_is_caught(element: attribution.Element) -> None:
    isp_ = loading.load(REPO_ROOT)
    text = " ".join(attribution.wording(isp_))
    broken = element.pattern.sub("", text)
    if element.code == "contact":
        broken = broken.replace("focal.unhcr@example.org", "")
    assert element in attribution.missing_elements([broken], isp_)


def test_the_signatories_may_paste_their_signed_wording(proto: Path) -> None:
    edit(proto, "protocol.yaml", lambda d: d["sharing"].update(attribution=SIGNED))
    isp_ = loading.load(proto)
    assert attribution.wording(isp_)[0].startswith("The data shared comes only from reported cases")
    assert "focal.imc@example.org" in attribution.release_notices(isp_)[1]


def test_pasted_wording_that_drops_an_element_is_refused(proto: Path) -> None:
    dropped = [SIGNED[0].replace("in twelve governorates of Jordan, ", ""), SIGNED[1]]
    edit(proto, "protocol.yaml", lambda d: d["sharing"].update(attribution=dropped))
    (line,) = [p for p in problems(proto) if "attribution" in p]
    assert "twelve-governorates" in line and "protocol/protocol.yaml" in line


def test_a_coordinator_missing_from_the_contact_is_refused(proto: Path) -> None:
    fixed = [SIGNED[0], SIGNED[1].replace("{contacts}", "focal.imc@example.org")]
    edit(proto, "protocol.yaml", lambda d: d["sharing"].update(attribution=fixed))
    assert any("(contact)" in p for p in problems(proto))


# --- a denial's reasons, for the requester -----------------------------------------------------


def _denied_status():
    from isp.governance import request_models, request_status
    from tests.governance.helpers import ISSUED, REQUIRED, fields, shipped_isp

    request = request_models.Request.model_validate(fields())
    decisions = {a: request_models.Decision(decision="approve", date=ISSUED) for a in REQUIRED}
    decisions["IRC"] = request_models.Decision(
        decision="deny",
        date=ISSUED,
        reason="IRC (International Rescue Committee): Rana Example <focal.irc@example.org> asks that irc's "
        "camp figures stay inside the group while the site is reviewed.",
    )
    decisions["NHF"] = request_models.Decision(
        decision="deny", date=ISSUED, reason="The Institute for Family Health sees a risk to children in small sites."
    )
    return shipped_isp(), request_status.timeline(shipped_isp(), request, decisions, [], ISSUED)


def test_a_denials_reasons_reach_the_requester_without_any_agency_named() -> None:
    from isp.governance import requester_notice

    isp_, status = _denied_status()
    assert status.state == "denied"
    text = requester_notice.notice(isp_, status)
    assert "camp figures stay inside the group" in text and "risk to children in small sites" in text
    body = text.split("Questions:")[0]
    for name in requester_notice.identities(isp_):
        assert name.lower() not in body.lower(), name
    reasons = requester_notice.anonymised_reasons(isp_, status)
    assert reasons == sorted(reasons)  # never in the order the agencies answered


def test_the_coordinators_may_keep_the_reasons_back() -> None:
    from isp.governance import requester_notice

    isp_, status = _denied_status()
    text = requester_notice.notice(isp_, status, with_reasons=False)
    assert "camp figures" not in text and "may share the reasons" in text


def test_for_requester_needs_a_request_id(tmp_path: Path) -> None:
    from tests.helpers import isp as run

    shutil.copytree(REPO_ROOT / "protocol", tmp_path / "protocol")
    result = run("request", "status", "--for-requester", "--repo", tmp_path)
    assert result.code == 2 and "needs a request id" in result.err


# --- the sectoral report and the meetings, on years other than the examples ----------------------

# Jordan's public holidays of 2027 and 2028, listed by hand (the Islamic ones as estimated for
# those years: 1 Muharram 1449 on 6 June 2027, Isra' and Mi'raj 1450 on 14 December 2028).
HOLIDAYS = {
    date(2027, 1, 1), date(2027, 1, 5), date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11),
    date(2027, 5, 1), date(2027, 5, 15), date(2027, 5, 16), date(2027, 5, 17), date(2027, 5, 18),
    date(2027, 5, 25), date(2027, 6, 6), date(2027, 8, 14), date(2027, 12, 25),
    date(2028, 1, 1), date(2028, 2, 26), date(2028, 2, 27), date(2028, 2, 28), date(2028, 5, 1),
    date(2028, 5, 4), date(2028, 5, 5), date(2028, 5, 6), date(2028, 5, 7), date(2028, 5, 25),
    date(2028, 8, 3), date(2028, 12, 14), date(2028, 12, 25),
}  # fmt: skip


def _working(day: date) -> bool:
    return day.weekday() not in (4, 5) and day not in HOLIDAYS  # Friday and Saturday off


def _nth_working_day(year: int, month: int, n: int) -> date:
    days = [date(year, month, d) for d in range(1, 32) if _valid(year, month, d)]
    return [d for d in days if _working(d)][n - 1]


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _roll(day: date) -> date:
    while not _working(day):
        day = date.fromordinal(day.toordinal() + 1)
    return day


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [(2027, 6, date(2027, 6, 15)), (2027, 12, date(2027, 12, 14)), (2028, 6, date(2028, 6, 14)),
     (2028, 12, date(2028, 12, 17))],
)  # fmt: skip
def test_the_sectoral_report_is_due_on_the_tenth_working_day_of_june_and_december(
    year: int, month: int, expected: date
) -> None:
    cal = workdays.WorkingCalendar(loading.load(REPO_ROOT))
    assert _nth_working_day(year, month, 10) == expected == cal.sectoral_due(year, month)


def test_each_sectoral_report_covers_the_six_most_recent_consolidated_months() -> None:
    isp_ = loading.load(REPO_ROOT)
    cal = workdays.WorkingCalendar(isp_)
    assert cal.sectoral_covers(2027, 6) == ("2026-12", "2027-05")
    assert cal.sectoral_covers(2028, 12) == ("2028-06", "2028-11")
    # Independently: November 2028's consolidated report is due on the 10th (a Sunday).
    assert _roll(date(2028, 12, 10)) <= _nth_working_day(2028, 12, 10)
    items = {(d.kind, d.subject): d for d in workdays.deadlines_between(isp_, "2027-01", "2027-12")}
    assert items[("sectoral-report", "2027-06")].due == date(2027, 6, 15)
    assert "2026-12..2027-05" in items[("sectoral-report", "2027-06")].note
    assert items[("sectoral-report", "2027-12")].due == date(2027, 12, 14)
    assert not [k for k in items if k[0] == "sectoral-report" and k[1] not in ("2027-06", "2027-12")]


def test_what_the_sectoral_report_covers_is_configurable(proto: Path) -> None:
    edit(proto, "protocol.yaml", lambda d: d["deadlines"]["sectoral_report"].update(covers_months=12))
    assert workdays.WorkingCalendar(loading.load(proto)).sectoral_covers(2027, 6) == ("2026-06", "2027-05")
    # Due on the 3rd working day, May's consolidated report (due the 10th) is not in yet.
    edit(proto, "protocol.yaml", lambda d: d["deadlines"]["sectoral_report"].update(working_day=3))
    assert workdays.WorkingCalendar(loading.load(proto)).sectoral_covers(2027, 6) == ("2026-05", "2027-04")
    edit(proto, "protocol.yaml", lambda d: d["deadlines"]["sectoral_report"].update(due_months=[13]))
    assert any("due_months" in p for p in problems(proto))


def test_the_meetings_are_in_the_calendar_and_the_ics_file() -> None:
    from icalendar import Calendar

    isp_ = loading.load(REPO_ROOT)
    items = workdays.deadlines_between(isp_, "2028-05", "2028-11")
    found = {(d.kind, d.subject): d.due for d in items}
    # May 2028's consolidated report: 10 June is a Saturday -> Sunday 11; five working days
    # later (12, 13, 14, 15, 18 June) the Task Force meets.
    assert _roll(date(2028, 6, 10)) == date(2028, 6, 11)
    assert found[("task-force-meeting", "2028-05")] == date(2028, 6, 18)
    # The December 2028 sectoral report (17 Dec), then ten working days: 18-21, 24 (25th is
    # Christmas), 26-28, 31 Dec, 1 Jan 2029 is New Year -> 2 Jan 2029.
    assert found[("signatories-meeting", "2028-12")] == date(2029, 1, 2)
    ics = Calendar.from_ical(workdays.to_ics(items, "ISP"))
    summaries = {str(e.get("summary")) for e in ics.walk("VEVENT")}
    assert any(s.startswith("Task force meeting") for s in summaries)
    assert any(s.startswith("Signatories meeting") for s in summaries)
    assert any(s.startswith("Sectoral report") for s in summaries)


# --- minutes of the meetings -------------------------------------------------------------------

EVERYONE = [f"focal.{a}@example.org" for a in ("irc", "imc", "jrf", "nhf", "unhcr", "unicef")]


def _minutes(**overrides):
    from isp.governance import meetings

    base = {"id": "BRM-BR-2027-001", "kind": "breach", "subject": "BR-2027-001", "date": date(2027, 3, 4)}
    base |= {"attended": EVERYONE, "decisions": ["The coordinators write to the recipient on 2027-03-05."]}
    return meetings.Minutes.model_validate(base | overrides)


def _rules(minutes) -> list[str]:
    from isp.governance import meetings

    return [p.rule for p in meetings.problems(loading.load(REPO_ROOT), minutes, f"{minutes.path}")]


def test_good_minutes_pass() -> None:
    assert _rules(_minutes()) == []


def test_minutes_break_each_rule() -> None:
    assert _rules(_minutes(decisions=["Agreed to hide the cells of the camps."])) == []
    assert _rules(_minutes(decisions=["Four cases leaked: 4 of them in Azraq."])) == ["minutes-figures"]
    assert _rules(_minutes(attended=[*EVERYONE, "stranger@example.org"])) == ["attended"]
    assert _rules(_minutes(id="BRM-BR-2027-002")) == ["id"]
    # The breach meeting is of every agency's focal points, not the coordinators and one agency.
    partial = _minutes(attended=["focal.unhcr@example.org", "focal.imc@example.org", "focal.irc@example.org"])
    assert _rules(partial) == ["breach-meeting-attendance"]
    task_force = _minutes(id="TF-2027-02", kind="task-force", subject="2027-02", attended=EVERYONE[:2])
    assert _rules(task_force) == []


def test_bad_minutes_in_the_repository_are_listed_at_once(proto: Path) -> None:
    from isp.governance import meetings

    folder = proto / "protocol" / "meetings"
    folder.mkdir(exist_ok=True)
    (folder / "TF-2027-02.yaml").write_text("id: TF-2027-02\nkind: task-force\nsubject: 2027-02\n")
    (folder / "TF-2027-03.yaml").write_text(
        "id: TF-2027-03\nkind: task-force\nsubject: 2027-03\ndate: 2027-04-20\n"
        "attended: [focal.irc@example.org]\ndecisions: [We counted 12 new cases.]\n"
    )
    with pytest.raises(ValidationFailed) as info:
        meetings.all_minutes(proto, loading.load(proto))
    lines = info.value.lines()
    assert any("TF-2027-02.yaml" in line and "date" in line for line in lines)
    assert any("TF-2027-03.yaml" in line and "minutes-figures" in line for line in lines)


# --- focal points as the annex has them ----------------------------------------------------------


def test_two_to_four_focal_points_per_agency_each_with_a_position() -> None:
    isp_ = loading.load(REPO_ROOT)
    counts = {code: len(a.annex_focal_points()) for code, a in isp_.agencies.items()}
    assert counts == {"IRC": 2, "IMC": 3, "JRF": 2, "NHF": 2, "UNHCR": 4, "UNICEF": 2}
    assert all(fp.position for a in isp_.agencies.values() for _, fp in a.annex_focal_points())
    # The clocks still use primary, secondary and signatory; another focal point is a known person.
    assert isp_.agency_of_email("fourth.unhcr@example.org") == "UNHCR"
    assert [role for role, _ in isp_.agencies["IMC"].annex_focal_points()] == [
        "primary",
        "secondary",
        "monitoring and evaluation",
    ]


def test_a_fifth_focal_point_or_a_clock_role_among_the_others_is_refused(proto: Path) -> None:
    extra = {"name": "Nadia Example", "email": "fifth.unhcr@example.org", "position": "Officer", "role": "reporting"}
    edit(proto, "agencies.yaml", lambda d: d["agencies"]["UNHCR"]["other_focal_points"].append(extra))
    assert any("other_focal_points" in p for p in problems(proto))
    shutil.copy(REPO_ROOT / "protocol" / "agencies.yaml", proto / "protocol" / "agencies.yaml")
    clock = extra | {"email": "third.irc@example.org", "role": "secondary"}
    edit(proto, "agencies.yaml", lambda d: d["agencies"]["IRC"].update(other_focal_points=[clock]))
    assert any("focal_points' own keys" in p for p in problems(proto))


def test_a_focal_point_without_a_position_is_a_warning(proto: Path) -> None:
    from isp.protocol import checks

    edit(proto, "agencies.yaml", lambda d: d["agencies"]["JRF"]["focal_points"]["secondary"].pop("position"))
    found = [p for p in checks.all_problems(loading.load(proto)) if p.rule == "focal-point-position"]
    assert len(found) == 1 and found[0].severity == "warning" and "JRF" in found[0].message
