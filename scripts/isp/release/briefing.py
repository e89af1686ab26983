"""The CPSWG media briefing note: what a media request may receive from the annual report.

The protocol lets figures of the CPIMS annual report go into the briefing note the child-protection
sub-working group gives the media on request, with the content agreed by every Task Force member.
Here that is a media request (``type: media``) for the annual report (``data.report: annual``),
approved by every data-gathering agency like any request, released with its own short template:
the same files, rules, attribution and audit as every release, only the HTML reads as a note.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from isp.errors import IspError
from isp.release.build import Options, ReleaseResult, release

TEMPLATE = "release/briefing-note.html.j2"
TITLE = "Child protection in Jordan: figures for the CPSWG media briefing note"
AUDIENCE = "the media, through the Child Protection Sub-Working Group's briefing note"


def briefing_problem(request_type: str, report: str) -> str | None:
    """Why this request cannot give a briefing note, or None when it can."""
    if request_type != "media":
        return f"a briefing note answers a media request; this request is of type '{request_type}'"
    if report != "annual":
        return f"a briefing note draws on the annual report; this request asks for the '{report}' report"
    return None


def release_briefing(
    root: Path, request_id: str, out: Path, today: date | None = None, jobs: int | None = None
) -> ReleaseResult:
    """The briefing-note package of an approved media request for the annual report."""
    from isp.governance import request_files

    request = request_files.load(root.resolve(), request_id)
    problem = briefing_problem(request.type, request.data.report)
    if problem:
        raise IspError(f"{request.path}: {problem}")
    options = Options(kind="briefing-note", template=TEMPLATE, title=TITLE, audience=AUDIENCE)
    return release(root, request_id, out, today=today, jobs=jobs, options=options)
