"""Jordanian working days and the protocol's deadlines.

Working days skip the protocol's weekend (Friday and Saturday), Jordan's public holidays from
the ``holidays`` package, and any extra closures listed in protocol.yaml. Islamic holidays are
the package's estimates; a closure announced differently is added under ``extra_closures``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

from isp.protocol.models import Isp
from isp.protocol.periods import add_months, first_day, month_of, month_str, parse_month

# A fixed DTSTAMP keeps the .ics file byte-for-byte reproducible.
ICS_STAMP = datetime(2015, 10, 15, tzinfo=UTC)


def today() -> date:
    """Today in Amman; ``ISP_TODAY=YYYY-MM-DD`` pins it (tests, demos, replaying history)."""
    pinned = os.environ.get("ISP_TODAY")
    if pinned:
        return date.fromisoformat(pinned)
    return datetime.now(ZoneInfo("Asia/Amman")).date()


class WorkingCalendar:
    def __init__(self, isp: Isp) -> None:
        self.protocol = isp.protocol
        self._weekend = isp.protocol.weekend_days
        self._extra = {c.date: c.name for c in isp.protocol.extra_closures}

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.protocol.country)

    def closure(self, day: date) -> str | None:
        """Why ``day`` is not a working day, or None when it is one."""
        if day.weekday() in self._weekend:
            return "weekend"
        if day in self._extra:
            return self._extra[day]
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        return self.closure(day) is None

    def roll_forward(self, day: date) -> date:
        """``day`` itself when it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself not counted)."""
        while count > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))

    def nth_working_day(self, year: int, month: int, n: int) -> date:
        return self.add_working_days(date(year, month, 1) - timedelta(days=1), n)

    def _due(self, day: date) -> date:
        return self.roll_forward(day) if self.protocol.deadlines.roll_to_next_working_day else day

    def submission_due(self, month: str) -> date:
        """When each agency's sheet for ``month`` is due."""
        nxt = first_day(add_months(month, 1))
        return self._due(nxt.replace(day=self.protocol.deadlines.submission_day))

    def consolidation_due(self, month: str) -> date:
        nxt = first_day(add_months(month, 1))
        return self._due(nxt.replace(day=self.protocol.deadlines.consolidation_day))

    def sectoral_due(self, year: int, month: int) -> date:
        """The sectoral report due in ``month`` of ``year`` (June or December): its working day."""
        return self.nth_working_day(year, month, self.protocol.deadlines.sectoral_report.working_day)

    def sectoral_covers(self, year: int, month: int) -> tuple[str, str]:
        """First and last month of the sectoral report due in ``month``: the most recent months
        whose consolidated report was due by the sectoral report's own due date."""
        due = self.sectoral_due(year, month)
        last = add_months(month_str(year, month), -1)
        while self.consolidation_due(last) > due:
            last = add_months(last, -1)
        return add_months(last, 1 - self.protocol.deadlines.sectoral_report.covers_months), last

    def task_force_meeting_due(self, month: str) -> date:
        """The monthly Task Force meeting on the consolidated report for ``month``."""
        days = self.protocol.deadlines.meetings.task_force_working_days
        return self.add_working_days(self.consolidation_due(month), days)

    def signatories_meeting_due(self, year: int, month: int) -> date:
        """The signatories' meeting on the sectoral report due in ``month``."""
        days = self.protocol.deadlines.meetings.signatories_working_days
        return self.add_working_days(self.sectoral_due(year, month), days)


@dataclass(frozen=True)
class Deadline:
    """One due date: what is due, for which period, and when."""

    kind: str
    subject: str
    due: date
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        data = asdict(self)
        data["due"] = self.due.isoformat()
        return data


def deadlines_for_month(isp: Isp, month: str) -> list[Deadline]:
    """The deadlines that concern the data of ``month`` (its sheets, its consolidated report and
    the Task Force meeting on it), any sectoral report and signatories' meeting due the month
    after, and the protocol's review."""
    cal = WorkingCalendar(isp)
    parse_month(month)
    items = [
        Deadline(
            "submission", month, cal.submission_due(month), f"each data-gathering agency's tracking sheet for {month}"
        ),
        Deadline(
            "consolidation",
            month,
            cal.consolidation_due(month),
            f"the consolidated report for {month}, agency identities removed",
        ),
    ]
    items.append(
        Deadline(
            "task-force-meeting",
            month,
            cal.task_force_meeting_due(month),
            f"the Task Force meets on the trends of the consolidated report for {month}",
        )
    )
    items += _sectoral_deadlines(isp, cal, month)
    review = isp.protocol.validity.review_date
    if month_of(review) >= month:
        items.append(Deadline("protocol-review", "protocol", review, "the signatories review the protocol"))
    return sorted(items, key=lambda d: d.due)


def _sectoral_deadlines(isp: Isp, cal: WorkingCalendar, month: str) -> list[Deadline]:
    """The sectoral report and the signatories' meeting, listed with the month before they fall
    due (the data month whose other deadlines fall in the same month)."""
    year, due_month = parse_month(add_months(month, 1))
    if due_month not in isp.protocol.deadlines.sectoral_report.due_months:
        return []
    first, last = cal.sectoral_covers(year, due_month)
    groups = ", ".join(isp.protocol.deadlines.meetings.working_groups)
    subject = month_str(year, due_month)
    return [
        Deadline(
            "sectoral-report", subject, cal.sectoral_due(year, due_month), f"the sectoral report on {first}..{last}"
        ),
        Deadline(
            "signatories-meeting",
            subject,
            cal.signatories_meeting_due(year, due_month),
            f"the signatories meet on the sectoral report ({first}..{last}); findings presented to {groups}",
        ),
    ]


def deadlines_between(isp: Isp, first: str, last: str) -> list[Deadline]:
    """Submission, consolidation and sectoral deadlines for every month in first..last."""
    from isp.protocol.periods import month_range

    items = {d for m in month_range(first, last) for d in deadlines_for_month(isp, m) if d.kind != "protocol-review"}
    review = isp.protocol.validity.review_date
    items.add(Deadline("protocol-review", "protocol", review, "the signatories review the protocol"))
    return sorted(items, key=lambda d: (d.due, d.kind))


def to_ics(deadlines: list[Deadline], calendar_name: str) -> bytes:
    """An iCalendar file with one all-day event per deadline (stable UIDs, so re-imports update)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//ISP Jordan//isp deadlines//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", calendar_name)
    for item in deadlines:
        event = Event()
        event.add("uid", f"{item.kind}-{item.subject}@isp.example.org")
        event.add("summary", f"{item.kind.replace('-', ' ').capitalize()} due: {item.subject}")
        event.add("description", item.note)
        event.add("dtstart", item.due)
        event.add("dtend", item.due + timedelta(days=1))
        event.add("dtstamp", ICS_STAMP)
        cal.add_component(event)
    ical: bytes = cal.to_ical()
    return ical
