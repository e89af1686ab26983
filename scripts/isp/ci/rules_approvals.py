"""Approvals bind their content.

* ``decision-date``: a decision, agreement or approval is dated by its author, but the date must
  lie within :data:`TOLERANCE_DAYS` of the signed commit that records it (the committer date, which
  the signature covers). A late approval cannot be dated back past an expiry or a breach.
  ``decision-date-format``: the date is a calendar date (``YYYY-MM-DD``) and nothing else. The
  records' models are lax (pydantic reads ``1772582400`` or ``2026-03-04T00:00:00Z`` as a date),
  so a date this rule could not read would otherwise escape it and still count.
* ``record-frozen``: once anyone has approved a membership record, its substance (everything but
  ``approvals``) never changes again, in any commit of the pull request, merges included (each
  parent is compared): the approvals were given to that text.
* ``approval-stale``: the change a membership record approves (the amended sections of the
  protocol, or the agency's presence, roles and system) must be, at the head, what it was when the
  record received its first approval: one more edit afterwards is not covered.

An approval counts only in the pull request that adds its record (records already on the base are
not matched again: :func:`isp.governance.membership.membership_check`), and a request edited after
its first decision is refused wherever the edit came from, merges included
(:mod:`isp.governance.request_files`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from isp import errors
from isp.ci.report import Context
from isp.history import attribution
from isp.history.attribution import Revision, entries_of, entry_changes

TOLERANCE_DAYS = 2
DATED = {"requests/": "decisions", "protocol/breaches/": "agreements", "protocol/membership/": "approvals"}


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNREADABLE = "unreadable"


def _date_of(value: Any) -> date | str | None:
    """The stated date; None when there is none (the record's own rules say so), UNREADABLE when
    it is anything but a YAML date or a ``YYYY-MM-DD`` string."""
    raw = value.get("date") if isinstance(value, dict) else value
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and _ISO_DAY.match(raw) else UNREADABLE
    except ValueError:
        return UNREADABLE


def check_decision_dates(ctx: Context, path: str, revs: list[Revision]) -> None:
    key = next(k for prefix, k in DATED.items() if path.startswith(prefix))
    for rev in revs:
        if not rev.in_review:
            continue
        committed = rev.signer.committed.date()
        for name, change in entry_changes(rev, key):
            if change == "removed":
                continue
            stated = _date_of(entries_of(rev.after, key).get(name))
            if isinstance(stated, str):
                ctx.violation(
                    path,
                    errors.DECISION_DATE_FORMAT,
                    fix="write the date as YYYY-MM-DD (`isp request decide` does)",
                    entry=f"{key}.{name}",
                    commit=rev.sha[:10],
                )
            elif stated is not None and abs((stated - committed).days) > TOLERANCE_DAYS:
                ctx.violation(
                    path,
                    errors.DECISION_DATE,
                    fix="date it the day you record it (`isp request decide` does)",
                    entry=f"{key}.{name}",
                    stated=stated,
                    committed=f"{committed} (commit {rev.sha[:10]})",
                    days=TOLERANCE_DAYS,
                )


def _substance(content: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k != "approvals"}


def check_frozen(ctx: Context, path: str, revs: list[Revision]) -> None:
    for rev in revs:
        if not rev.in_review:
            continue
        for parent in rev.parents:
            if entries_of(parent, "approvals") and _substance(parent) != _substance(rev.after):
                ctx.violation(
                    path,
                    errors.RECORD_FROZEN,
                    fix="leave it as approved, and add a new record for the new change",
                    sha=rev.sha[:10],
                )
                break


def _approved_subject(ctx: Context, record: dict[str, Any], rev: str) -> Any:
    from isp.governance import membership

    if record.get("change") == "protocol-amendment":
        sections = [s for s in record.get("sections") or [] if s in membership.AMENDED_SECTIONS]
        return {s: membership._section(ctx.root, rev, *membership.AMENDED_SECTIONS[s]) for s in sections}
    agency = membership._agencies_at(ctx.root, rev).get(str(record.get("agency")))
    if not isinstance(agency, dict):
        return None
    return {"roles": sorted(agency.get("roles") or []), "system": agency.get("system")}


def check_stale(ctx: Context, path: str, revs: list[Revision]) -> None:
    first = next((r for r in revs if r.in_review and entries_of(r.after, "approvals")), None)
    if first is None:
        return
    record = revs[-1].after
    if _approved_subject(ctx, record, first.sha) != _approved_subject(ctx, record, ctx.head):
        ctx.violation(
            path,
            errors.APPROVAL_STALE,
            fix="revert the later change, or start a new record and collect the approvals again",
            sha=first.sha[:10],
        )


def check_approvals(ctx: Context, changed: list[str]) -> None:
    """Every rule above, on the request, breach and membership records the pull request changes."""
    for path in changed:
        if not path.endswith(".yaml") or not any(path.startswith(p) for p in DATED):
            continue
        revs = attribution.revisions(ctx.root, path, ctx.head, ctx.base)
        check_decision_dates(ctx, path, revs)
        if path.startswith("protocol/membership/"):
            check_frozen(ctx, path, revs)
            check_stale(ctx, path, revs)
