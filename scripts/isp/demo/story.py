"""The demo's storyline: which months, who submits when, what goes wrong, and the canaries.

A pure plan (no files, no git): the builder in ``isp.demo.build`` replays it. Dates are in Amman time
and follow the protocol's working-day calendar, so the history reads like a real group's: sheets
arrive a few working days before the 7th, one arrives late, one is corrected, one agency
suspends its sharing for two months, a breach is reported and resolved, and three external
requests sit in three different states. Everything is deterministic for a given seed and today.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from isp.errors import UsageError
from isp.protocol.models import Isp
from isp.protocol.periods import add_months, first_day, month_range, period_of
from isp.protocol.workdays import WorkingCalendar

AMMAN = ZoneInfo("Asia/Amman")
MIN_MONTHS = 6
# Distinctive figures planted in single cells. They must never be readable outside an encrypted
# file or an encrypted page; tests and `make demo` scan for them.
CANARY_VALUES = (7919, 6007, 8837)
# A cell that nothing sums to, so a large value keeps every sheet rule true.
CANARY_INDICATOR = "service_ftr"


@dataclass(frozen=True)
class Submission:
    agency: str
    month: str
    when: datetime
    version: int = 1  # 2 for the corrected sheet
    late: bool = False

    @property
    def path(self) -> str:
        return f"submissions/{self.agency}/{self.month}.csv"


@dataclass(frozen=True)
class Canary:
    """A planted figure: its value and its cell. ``superseded``: only in a version later corrected."""

    value: int
    agency: str
    month: str
    site: str
    indicator: str
    sex: str
    age_group: str
    nationality: str
    superseded: bool = False

    def cell(self) -> dict[str, str]:
        return {
            "month": self.month,
            "site": self.site,
            "indicator": self.indicator,
            "sex": self.sex,
            "age_group": self.age_group,
            "nationality": self.nationality,
        }


@dataclass(frozen=True)
class SuspensionPlan:
    agency: str
    start: str
    end: str
    recorded: datetime
    reason: str


@dataclass(frozen=True)
class Decision:
    agency: str
    decision: str  # approve | deny
    when: datetime
    reason: str = ""


@dataclass(frozen=True)
class RequestPlan:
    id: str
    expected: str  # approved | denied | pending
    received: datetime
    issued: datetime
    organization: str
    purpose: str
    use: str
    report: str  # monthly | quarterly
    periods: tuple[str, ...]
    indicators: tuple[str, ...]
    geography: str
    decisions: tuple[Decision, ...]


@dataclass(frozen=True)
class BreachPlan:
    id: str
    agency: str
    reported: datetime
    meeting: datetime
    agreements: tuple[tuple[str, datetime], ...]
    resolved: datetime
    summary: str


@dataclass(frozen=True)
class Story:
    today: date
    months: list[str]
    start: datetime
    submissions: list[Submission]
    late: Submission
    revised: Submission
    suspension: SuspensionPlan
    canaries: list[Canary]
    requests: list[RequestPlan]
    breach: BreachPlan
    submitters: list[str] = field(default_factory=list)


def last_due_month(cal: WorkingCalendar, today: date) -> str:
    """The last month whose submission deadline has passed."""
    month = add_months(f"{today:%Y-%m}", -1)
    while cal.submission_due(month) >= today:
        month = add_months(month, -1)
    return month


def working_days_before(cal: WorkingCalendar, day: date, count: int) -> date:
    while count > 0:
        day -= timedelta(days=1)
        if cal.is_working_day(day):
            count -= 1
    return day


class _Clock:
    """Office-hours timestamps on working days, deterministic for a seed."""

    def __init__(self, cal: WorkingCalendar, rng: random.Random) -> None:
        self.cal, self.rng = cal, rng

    def at(self, day: date, earliest: int = 9, latest: int = 16) -> datetime:
        day = self.cal.roll_forward(day)
        moment = time(self.rng.randint(earliest, latest), self.rng.randint(0, 59), self.rng.randint(0, 59))
        return datetime.combine(day, moment, tzinfo=AMMAN)

    def after(self, moment: datetime, working_days: int) -> datetime:
        return self.at(self.cal.add_working_days(moment.date(), working_days))


def plan(isp: Isp, months: int, today: date, seed: int) -> Story:
    """The whole storyline for ``months`` months ending at the last month already due."""
    if months < MIN_MONTHS:
        raise UsageError(f"--months must be at least {MIN_MONTHS} (the storyline needs that many)")
    cal = WorkingCalendar(isp)
    rng = random.Random(seed)
    clock = _Clock(cal, rng)
    last = last_due_month(cal, today)
    span = month_range(add_months(last, 1 - months), last)
    submitters = [code for code in isp.submitters() if isp.agencies[code].sites]
    story_agencies = _cast(isp, submitters)
    suspension = _suspension(clock, story_agencies["suspends"], span)
    late_key = (story_agencies["late"], span[-2])
    revised_key = (story_agencies["revises"], span[-3])
    submissions: list[Submission] = []
    for month in span:
        due = cal.submission_due(month)
        for agency in submitters:
            if agency == suspension.agency and suspension.start <= month <= suspension.end:
                continue
            if (agency, month) == late_key:
                submissions.append(Submission(agency, month, clock.after(clock.at(due), rng.randint(4, 6)), late=True))
                continue
            day = working_days_before(cal, due, rng.choice((0, 1, 1, 2, 2, 3, 4)))
            day = max(day, cal.roll_forward(first_day(add_months(month, 1))))
            submissions.append(Submission(agency, month, clock.at(day)))
    original = next(s for s in submissions if (s.agency, s.month) == revised_key)
    revised = Submission(original.agency, original.month, clock.after(original.when, rng.randint(7, 9)), version=2)
    submissions.append(revised)
    submissions.sort(key=lambda s: s.when)
    late = next(s for s in submissions if s.late)
    start = clock.at(working_days_before(cal, first_day(span[0]), 3))
    return Story(
        today=today,
        months=span,
        start=start,
        submissions=submissions,
        late=late,
        revised=revised,
        suspension=suspension,
        canaries=_canaries(isp, span, story_agencies, late, revised, rng),
        requests=_requests(isp, clock, today, span, rng),
        breach=_breach(isp, clock, today, story_agencies["breach"]),
        submitters=submitters,
    )


def _cast(isp: Isp, submitters: list[str]) -> dict[str, str]:
    """Who plays which part. Prefers the template's agencies, falls back to any submitter."""

    def pick(preferred: str, avoid: set[str]) -> str:
        if preferred in submitters and preferred not in avoid:
            return preferred
        return next((a for a in submitters if a not in avoid), submitters[0])

    coordinators = set(isp.coordinators())
    suspends = pick("JRF", coordinators)
    late = pick("NHF", {suspends})
    revises = pick("UNHCR", {suspends, late})
    canary = pick("IRC", {suspends, late, revises})
    return {"suspends": suspends, "late": late, "revises": revises, "canary": canary, "breach": canary}


def _suspension(clock: _Clock, agency: str, span: list[str]) -> SuspensionPlan:
    start, end = span[-5], span[-4]
    recorded = clock.at(first_day(start) - timedelta(days=6))
    reason = (
        "Our case-management database is being migrated to a new server; we suspend sharing until the "
        "migrated figures have been checked against the old system."
    )
    return SuspensionPlan(agency, start, end, recorded, reason)


def _canaries(
    isp: Isp, span: list[str], cast: dict[str, str], late: Submission, revised: Submission, rng: random.Random
) -> list[Canary]:
    dims = isp.dimension_codes()

    def cell(value: int, agency: str, month: str, superseded: bool = False) -> Canary:
        site = rng.choice(list(isp.agencies[agency].sites))
        return Canary(
            value,
            agency,
            month,
            site,
            CANARY_INDICATOR,
            rng.choice(dims["sex"]),
            rng.choice(dims["age_group"]),
            rng.choice(dims["nationality"]),
            superseded,
        )

    first, second, third = CANARY_VALUES
    return [
        cell(first, cast["canary"], span[-6]),
        cell(second, revised.agency, revised.month, superseded=True),
        cell(third, late.agency, late.month),
    ]


def _requests(isp: Isp, clock: _Clock, today: date, span: list[str], rng: random.Random) -> list[RequestPlan]:
    cal = clock.cal
    agencies = isp.data_gathering()
    # Requests only ask for months already consolidated when they were issued.
    approved_issue = clock.at(today - timedelta(days=75))
    denied_issue = clock.at(today - timedelta(days=40))
    pending_issue = clock.at(working_days_before(cal, today, 7))

    def answers(issued: datetime, who: list[str], decision: str = "approve") -> list[Decision]:
        return [Decision(a, decision, clock.after(issued, rng.randint(1, 4))) for a in who]

    denier = agencies[0]
    deny_reason = (
        "The requested split by camp and nationality would leave single-digit cells for the few children we "
        "serve in some camps; we cannot authorise it in this form."
    )
    denied = answers(denied_issue, agencies[1:3])
    denied.append(Decision(denier, "deny", clock.after(denied_issue, 2), deny_reason))
    pending = answers(pending_issue, agencies[: len(agencies) // 2])
    return [
        RequestPlan(
            "R-approved",
            "approved",
            clock.at(approved_issue.date() - timedelta(days=3)),
            approved_issue,
            "A university child-protection research centre",
            "Describe how the caseload of child-protection case management, and the child labour and "
            "early marriage it meets, change over a quarter.",
            "A briefing note for the sector's planning workshop, national totals only.",
            *_asked(cal, span, approved_issue.date(), 2),
            # child labour is small enough by sex, age and nationality to show suppression at work;
            # early marriage leaves only as a percentage, sexual violence never
            ("new_cases", "active_cases", "closed_cases", "concern_child_labour", "concern_early_marriage"),
            "national",
            tuple(answers(approved_issue, agencies)),
        ),
        RequestPlan(
            "R-denied",
            "denied",
            clock.at(denied_issue.date() - timedelta(days=2)),
            denied_issue,
            "A regional research institute",
            "A study of child labour among refugee children by camp and nationality.",
            "A journal article and a public dataset.",
            *_asked(cal, span, denied_issue.date(), 2, quarters=False),
            ("concern_child_labour",),
            "sites",
            tuple(sorted(denied, key=lambda d: d.when)),
        ),
        RequestPlan(
            "R-pending",
            "pending",
            clock.at(pending_issue.date() - timedelta(days=1)),
            pending_issue,
            "An international donor",
            "Report the number of children reached with case management in the last quarter funded.",
            "A confidential donor report, national totals only.",
            *_asked(cal, span, pending_issue.date(), 1),
            ("new_cases",),
            "national",
            tuple(pending),
        ),
    ]


def _asked(
    cal: WorkingCalendar, span: list[str], issued: date, count: int, quarters: bool = True
) -> tuple[str, tuple[str, ...]]:
    """What a request issued on ``issued`` asks for: the latest quarter already consolidated then
    (when the demo's months cover one), else its latest ``count`` consolidated months."""
    done = [m for m in span if cal.consolidation_due(m) < issued] or span[:1]
    if quarters:
        for month in reversed(done):
            quarter = period_of(month, "quarterly")
            if quarter.last == month and quarter.first in done:
                return "quarterly", (quarter.label,)
    return "monthly", tuple(done[-count:])


def _breach(isp: Isp, clock: _Clock, today: date, agency: str) -> BreachPlan:
    reported = clock.at(today - timedelta(days=120))
    meeting = clock.after(reported, 4)
    agreements = []
    moment = clock.after(meeting, 3)
    for code in isp.agencies:
        agreements.append((code, moment))
        moment = clock.after(moment, 1)
    summary = (
        "A consolidated monthly table was forwarded by e-mail to a partner outside the group before the "
        "agencies had agreed to share it."
    )
    return BreachPlan("B-demo", agency, reported, meeting, tuple(agreements), moment, summary)
