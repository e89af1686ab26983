"""The half-yearly sectoral report (June and December) as a release of a standing request.

The protocol lets nothing leave the group without every data-gathering agency's written
consent, and the sectoral report goes to members and to the government bodies of protocol.yaml.
So it is modelled as a request like any other, ``requests/SECTORAL-<half>.yaml`` (type
``external``, report ``sectoral``), proposed by the coordinators once the half-year has ended
(:func:`propose`) and approved by each agency in a signed commit. The report is then a release
of that request, from the half-yearly aggregates, with the external profile (SGBV withheld,
early marriage as percentages only, small cells hidden) and the group's own template,
``protocol/reports/sectoral.html.j2``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isp.errors import IspError, UsageError
from isp.protocol import loading, workdays
from isp.protocol.models import Isp
from isp.protocol.periods import Period, custom_period, first_day, period_of
from isp.release.build import Options, ReleaseResult, release

if TYPE_CHECKING:
    from isp.governance.request_models import Request

HALF = re.compile(r"^(\d{4})-H([12])$")
TEMPLATE = "sectoral.html.j2"
# National by default: with every indicator, a breakdown by governorate or site is slow to
# protect and audit today (benchmarks/bench_release.py). The coordinators may widen it in the
# request file before the agencies decide; the rules are the same.
GEOGRAPHY = "national"
TEMPLATE_PATH = "protocol/reports/sectoral.html.j2"


DUE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def due_period(isp: Isp, due: str) -> Period:
    """The months the sectoral report due in month ``due`` covers, as protocol.yaml says (by
    default the six most recent consolidated months: December to May for June)."""
    match = DUE.match(due or "")
    months = isp.protocol.deadlines.sectoral_report.due_months
    if not match or int(match.group(2)) not in months:
        names = " or ".join(f"{m:02d}" for m in months)
        raise UsageError(f"'{due}' is not a sectoral report's due month: write YYYY-MM with the month {names}")
    first, last = workdays.WorkingCalendar(isp).sectoral_covers(int(match.group(1)), int(match.group(2)))
    return custom_period(first, last)


def report_period(isp: Isp, which: str) -> Period:
    """A sectoral report named by its half (2026-H1: the calendar half-year) or by its due month
    (2026-06: the months the protocol's calendar gives it)."""
    return half_period(which) if HALF.match(which or "") or not DUE.match(which or "") else due_period(isp, which)


def half_period(half: str) -> Period:
    match = HALF.match(half or "")
    if not match:
        raise UsageError(f"'{half}' is not a half-year: write it as YYYY-H1 or YYYY-H2, for example 2026-H1")
    return period_of(f"{match.group(1)}-{6 * int(match.group(2)):02d}", "half-yearly")


def request_id(which: str) -> str:
    return f"SECTORAL-{which}" if DUE.match(which or "") else f"SECTORAL-{half_period(which).label}"


def _ended(period: Period) -> date:
    """The first day after the half-year."""
    year, month = (int(p) for p in period.last.split("-"))
    return first_day(f"{year + month // 12}-{month % 12 + 1:02d}")


def _name(period: Period) -> str:
    return f"{period.first} to {period.last}" if period.kind == "custom" else period.label


def audience(isp: Isp) -> str:
    bodies = ", ".join(f"{r.name} ({r.code})" for r in isp.protocol.sharing.government_recipients)
    return f"Members of the {isp.protocol.short_name} and {bodies}"


def standing_request(isp: Isp, half: str, today: date) -> dict[str, Any]:
    """The fields of the standing request for ``half`` (a half-year or a due month; for
    ``isp.governance.request_files.new_request``)."""
    period = report_period(isp, half)
    coordinator = isp.agencies[isp.coordinators()[0]].focal_points.primary
    return {
        "id": request_id(half),
        "type": "external",
        "received": today,
        "issued": today,
        "requester": {
            "organization": f"Members of the {isp.protocol.short_name} and the government bodies of the protocol",
            "name": "The protocol's coordinating agencies",
            "position": "Coordinators of the information sharing protocol",
            "contact": coordinator.email,
        },
        "purpose": f"The half-yearly sectoral report for {period.first}..{period.last}, as the protocol provides.",
        "use": "Planning and coordination of child-protection services by members and government bodies.",
        "feedback": "Discussed at the sectoral coordination meeting that follows the report.",
        "guarantee": (
            "Recipients use the report as published, cite it with its release identifier, and do not attempt "
            "to identify any child or agency."
        ),
        "data": {"report": "sectoral", "periods": [period.label], "indicators": "all", "geography": GEOGRAPHY},
    }


def propose(root: Path, half: str, today: date | None = None) -> Request:
    """Write ``requests/SECTORAL-<half>.yaml`` once the half-year has ended (agencies then decide)."""
    from isp.governance import request_files

    today = today or workdays.today()
    isp = loading.load(root)
    period = report_period(isp, half)
    if today < _ended(period):
        raise IspError(f"{period.label} ends on {_ended(period) - timedelta(days=1)}: propose its report after that")
    return request_files.new_request(root, standing_request(isp, half, today), isp)


def release_sectoral(
    root: Path, half: str, out: Path, today: date | None = None, jobs: int | None = None
) -> ReleaseResult:
    """The sectoral report of ``half`` (a half-year, or the due month of the protocol's report),
    refused on the same rules as any release."""
    isp = loading.load(root)
    period = report_period(isp, half)
    today = today or workdays.today()
    if today < _ended(period):
        raise IspError(f"{period.label} has not ended yet: its sectoral report is made from all its months")
    if not (root / TEMPLATE_PATH).exists():
        raise IspError(f"{TEMPLATE_PATH} is missing: restore it (`git checkout -- {TEMPLATE_PATH}`)")
    options = Options(
        kind="sectoral",
        template=TEMPLATE,
        title=f"Sectoral report {_name(period)}: child protection in Jordan",
        audience=audience(isp),
        recipient=audience(isp),
    )
    return release(root, request_id(half), out, today, jobs, options)
