"""The rules a request file must follow on its own: the five required elements, the data asked for,
the type (media, government, onward), and each recorded decision.

Pure functions over the parsed :class:`isp.governance.request_models.Request` and the protocol; the history rules
(who signed what) live in :mod:`isp.history.attribution` and :func:`isp.governance.request_files.check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from isp import errors
from isp.errors import Problem
from isp.governance.request_models import Request
from isp.protocol.models import Isp

REPORTS = ("monthly", "quarterly", "half-yearly", "sectoral", "annual", "custom")
PERIOD_LABELS = {
    "monthly": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "quarterly": re.compile(r"^\d{4}-Q[1-4]$"),
    "half-yearly": re.compile(r"^\d{4}-H[12]$"),
    # A calendar half-year, or the months the protocol's calendar gives a report (2025-12_2026-05).
    "sectoral": re.compile(r"^(\d{4}-H[12]|\d{4}-(0[1-9]|1[0-2])_\d{4}-(0[1-9]|1[0-2]))$"),
    "annual": re.compile(r"^\d{4}$"),
}
GEOGRAPHY_WORDS = ("national", "sites", "governorates")
# The five required elements, and what each one means (for error messages and prompts).
ELEMENTS: dict[str, str] = {
    "requester.organization": "who asks: the organisation",
    "requester.name": "who asks: the person",
    "requester.position": "who asks: their position",
    "requester.contact": "who asks: how to reach them",
    "purpose": "what the data is for",
    "use": "how the data will be used",
    "feedback": "how the results come back to the group, or why they cannot",
    "guarantee": "the recipient's written guarantee",
    "data.report": "which report",
    "data.periods": "which periods",
    "data.indicators": "which indicators",
    "data.geography": "which geography",
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


def _element(request: Request, dotted: str) -> Any:
    value: Any = request
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _completeness(request: Request) -> Iterable[Problem]:
    for dotted, meaning in ELEMENTS.items():
        if _blank(_element(request, dotted)):
            yield Problem.of(
                errors.INCOMPLETE,
                request.path,
                column=dotted,
                fix=f"fill in {dotted} (a request needs all five required elements)",
                field=dotted,
                meaning=meaning,
            )


def _as_list(value: list[str] | str) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _data_rules(isp: Isp, request: Request) -> Iterable[Problem]:
    rel, data = request.path, request.data
    if data.report and data.report not in REPORTS:
        yield Problem.of(
            errors.DATA,
            rel,
            column="data.report",
            field="report",
            value=data.report,
            detail=f"is not one of {', '.join(REPORTS)}",
        )
    pattern = PERIOD_LABELS.get(data.report)
    for label in data.periods:
        if pattern and not pattern.match(str(label)):
            yield Problem.of(
                errors.DATA,
                rel,
                column="data.periods",
                fix="write 2026-01, 2026-Q1, 2026-H1 or 2026 to match data.report",
                field="periods",
                value=label,
                detail=f"is not a {data.report} period label",
            )
    known = set(isp.indicators) | set(isp.groups) | {"all"}
    for code in _as_list(data.indicators):
        if code not in known:
            yield Problem.of(
                errors.DATA,
                rel,
                column="data.indicators",
                fix="use codes from protocol/indicators.yaml, or `all`",
                field="indicators",
                value=code,
                detail="is neither an indicator nor a group",
            )
    never = set(isp.protocol.sharing.never_external_tags)
    withheld = [c for c in _expand(isp, data.indicators) if never & set(isp.indicators[c].tags)]
    if withheld:
        yield Problem.of(
            errors.WITHHELD,
            rel,
            column="data.indicators",
            severity="warning",
            detail=f"data.indicators: {', '.join(withheld)} never leave the group and will be left out of any release",
        )
    for place in _as_list(data.geography):
        if place not in GEOGRAPHY_WORDS and place not in isp.sites:
            yield Problem.of(
                errors.DATA,
                rel,
                column="data.geography",
                fix=f"use {', '.join(GEOGRAPHY_WORDS)} or codes from protocol/sites.yaml",
                field="geography",
                value=place,
                detail="is not a site code",
            )


def _expand(isp: Isp, requested: list[str] | str) -> list[str]:
    items = _as_list(requested)
    if "all" in items:
        return list(isp.indicators)
    return [c for c, ind in isp.indicators.items() if c in items or ind.group in items]


def _type_rules(isp: Isp, request: Request, others: Mapping[str, Request]) -> Iterable[Problem]:
    rel = request.path
    if request.type == "government":
        codes = [r.code for r in isp.protocol.sharing.government_recipients]
        if request.recipient not in codes:
            yield Problem.of(
                errors.GOVERNMENT_RECIPIENT,
                rel,
                column="recipient",
                recipient=request.recipient,
                known=", ".join(codes),
            )
        if request.data.report != "annual":
            yield Problem.of(
                errors.GOVERNMENT_ANNUAL,
                rel,
                column="data.report",
                fix="set data.report: annual and annual periods (2025)",
            )
    elif request.recipient is not None:
        yield Problem.of(errors.RECIPIENT, rel, column="recipient")
    if request.type == "onward":
        yield from _onward_rules(request, others)
    elif request.original_request is not None:
        yield Problem.of(errors.ORIGINAL_REQUEST, rel, column="original_request")
    if request.type == "media" and "all" in _as_list(request.data.indicators):
        yield Problem.of(errors.MEDIA_BLANKET, rel, column="data.indicators")


def _same_org(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _onward_rules(request: Request, others: Mapping[str, Request]) -> Iterable[Problem]:
    rel = request.path
    original = others.get(request.original_request or "")
    if original is None or original.id == request.id:
        yield Problem.of(
            errors.ONWARD_ORIGINAL,
            rel,
            column="original_request",
            fix="name the request under which the data first left the group",
            original=request.original_request,
        )
    elif _same_org(original.requester.organization, request.requester.organization):
        yield Problem.of(
            errors.ONWARD_FORWARDING,
            rel,
            column="requester.organization",
            organization=request.requester.organization,
            original=original.id,
        )


def _decision_rules(isp: Isp, request: Request) -> Iterable[Problem]:
    required = isp.data_gathering()
    for agency, decision in request.decisions.items():
        where = f"decisions.{agency}"
        if agency not in required:
            yield Problem.of(
                errors.NOT_A_PARTY, request.path, column=where, where=where, agency=agency, required=", ".join(required)
            )
        if decision.decision == "deny" and _blank(decision.reason):
            yield Problem.of(
                errors.DENIAL_WITHOUT_REASON,
                request.path,
                column=where,
                agency=agency,
                where=where,
            )
        yield from _profile_rule(isp, request, agency, decision)
        if decision.date < request.issued:
            error = errors.MEDIA_PRE_APPROVED if request.type == "media" else errors.DECISION_BEFORE_ISSUED
            when = f"dated {decision.date}"
            yield Problem.of(error, request.path, column=where, where=where, when=when, issued=request.issued)


def _profile_rule(isp: Isp, request: Request, agency: str, decision: Any) -> Iterable[Problem]:
    """A profile named by a decision is an approval's condition: an external profile of protocol.yaml."""
    if decision.profile is None:
        return
    where = f"decisions.{agency}.profile"
    allowed = isp.protocol.disclosure.strictness
    if decision.decision != "approve" or decision.profile not in allowed:
        yield Problem.of(
            errors.UNKNOWN_PROFILE,
            request.path,
            column=where,
            fix=f"approve with one of {', '.join(allowed)}, or leave `profile:` out",
            where=where,
            profile=decision.profile,
        )


def content_problems(isp: Isp, request: Request, others: Mapping[str, Request]) -> list[Problem]:
    """Every rule that reads the file alone (plus the other requests, for onward ones)."""
    problems = list(_completeness(request))
    if request.issued < request.received:
        problems.append(
            Problem.of(
                errors.DATES,
                request.path,
                column="issued",
                detail=f"issued {request.issued} is before received {request.received}",
            )
        )
    problems += [*_data_rules(isp, request), *_type_rules(isp, request, others), *_decision_rules(isp, request)]
    return problems


def withheld_warnings(isp: Isp, request: Request) -> list[Problem]:
    """A warning per indicator the protocol never shares outside the group (SGBV) that the request
    names, directly, through its group or with ``all``: the release will leave it out."""
    never = set(isp.protocol.sharing.never_external_tags)
    asked = request.data.indicators
    items = [asked] if isinstance(asked, str) else list(asked)
    named: dict[str, str] = {}
    for item in map(str, items):
        for code, indicator in isp.indicators.items():
            if set(indicator.tags) & never and item in (code, indicator.group, "all"):
                named.setdefault(code, item)
    return [
        Problem.of(
            errors.WITHHELD,
            request.path,
            column="data.indicators",
            fix="tell the requester now; the protocol's sharing rules cannot be waived by consent",
            severity="warning",
            detail=f"{code} ({isp.indicators[code].name_en}, asked as '{item}') is never shared outside the group: "
            "the release will withhold it",
        )
        for code, item in named.items()
    ]
