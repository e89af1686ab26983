"""The rules a request file must follow on its own: the five required elements, the data asked for,
the type (media, government, onward), and each recorded decision.

Pure functions over the parsed :class:`isp.governance.request_models.Request` and the protocol; the history rules
(who signed what) live in :mod:`isp.history.attribution` and :func:`isp.governance.request_files.check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from isp.errors import Problem
from isp.governance.request_models import Request
from isp.protocol.models import Isp

REPORTS = ("monthly", "quarterly", "half-yearly", "sectoral", "annual", "custom")
PERIOD_LABELS = {
    "monthly": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "quarterly": re.compile(r"^\d{4}-Q[1-4]$"),
    "half-yearly": re.compile(r"^\d{4}-H[12]$"),
    "sectoral": re.compile(r"^\d{4}-H[12]$"),
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
            yield Problem(
                request.path,
                "incomplete",
                f"{dotted} is missing: {meaning}",
                column=dotted,
                fix=f"fill in {dotted} (a request needs all five required elements)",
            )


def _as_list(value: list[str] | str) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _data_rules(isp: Isp, request: Request) -> Iterable[Problem]:
    rel, data = request.path, request.data
    if data.report and data.report not in REPORTS:
        yield Problem(
            rel, "data", f"data.report: '{data.report}' is not one of {', '.join(REPORTS)}", column="data.report"
        )
    pattern = PERIOD_LABELS.get(data.report)
    for label in data.periods:
        if pattern and not pattern.match(str(label)):
            yield Problem(
                rel,
                "data",
                f"data.periods: '{label}' is not a {data.report} period label",
                column="data.periods",
                fix="write 2026-01, 2026-Q1, 2026-H1 or 2026 to match data.report",
            )
    known = set(isp.indicators) | set(isp.groups) | {"all"}
    for code in _as_list(data.indicators):
        if code not in known:
            yield Problem(
                rel,
                "data",
                f"data.indicators: '{code}' is neither an indicator nor a group",
                column="data.indicators",
                fix="use codes from protocol/indicators.yaml, or `all`",
            )
    never = set(isp.protocol.sharing.never_external_tags)
    withheld = [c for c in _expand(isp, data.indicators) if never & set(isp.indicators[c].tags)]
    if withheld:
        yield Problem(
            rel,
            "withheld",
            f"data.indicators: {', '.join(withheld)} never leave the group and will be left out of any release",
            column="data.indicators",
            severity="warning",
        )
    for place in _as_list(data.geography):
        if place not in GEOGRAPHY_WORDS and place not in isp.sites:
            yield Problem(
                rel,
                "data",
                f"data.geography: '{place}' is not a site code",
                column="data.geography",
                fix=f"use {', '.join(GEOGRAPHY_WORDS)} or codes from protocol/sites.yaml",
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
            yield Problem(
                rel,
                "government-recipient",
                f"recipient: '{request.recipient}' is not a government body of protocol.yaml ({', '.join(codes)})",
                column="recipient",
            )
        if request.data.report != "annual":
            yield Problem(
                rel,
                "government-annual",
                "a government request receives the annual analysis only",
                column="data.report",
                fix="set data.report: annual and annual periods (2025)",
            )
    elif request.recipient is not None:
        yield Problem(rel, "recipient", "recipient is only for government requests", column="recipient")
    if request.type == "onward":
        yield from _onward_rules(request, others)
    elif request.original_request is not None:
        yield Problem(
            rel, "original-request", "original_request is only for onward requests", column="original_request"
        )
    if request.type == "media" and "all" in _as_list(request.data.indicators):
        yield Problem(
            rel,
            "media-blanket",
            "a media request names the exact indicators it needs; media requests "
            "are decided case by case, never as a blanket approval",
            column="data.indicators",
        )


def _same_org(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _onward_rules(request: Request, others: Mapping[str, Request]) -> Iterable[Problem]:
    rel = request.path
    original = others.get(request.original_request or "")
    if original is None or original.id == request.id:
        yield Problem(
            rel,
            "onward-original",
            f"original_request: '{request.original_request}' is not an existing request",
            column="original_request",
            fix="name the request under which the data first left the group",
        )
    elif _same_org(original.requester.organization, request.requester.organization):
        yield Problem(
            rel,
            "onward-forwarding",
            f"{request.requester.organization} received the data under "
            f"{original.id} and may never pass it on itself; the third party asks the group directly",
            column="requester.organization",
        )


def _decision_rules(isp: Isp, request: Request) -> Iterable[Problem]:
    required = isp.data_gathering()
    for agency, decision in request.decisions.items():
        where = f"decisions.{agency}"
        if agency not in required:
            yield Problem(
                request.path,
                "not-a-party",
                f"{where}: {agency} is not a data-gathering agency of agencies.yaml ({', '.join(required)})",
                column=where,
            )
        if decision.decision == "deny" and _blank(decision.reason):
            yield Problem(
                request.path,
                "denial-without-reason",
                f"{where}: a denial needs its reason",
                column=where,
                fix=f"{agency} adds `reason:` in a signed commit",
            )
        if decision.date < request.issued:
            rule = "media-pre-approved" if request.type == "media" else "decision-before-issued"
            yield Problem(
                request.path,
                rule,
                f"{where}: dated {decision.date}, before the request was issued "
                f"({request.issued}); nothing is approved in advance",
                column=where,
            )


def content_problems(isp: Isp, request: Request, others: Mapping[str, Request]) -> list[Problem]:
    """Every rule that reads the file alone (plus the other requests, for onward ones)."""
    problems = list(_completeness(request))
    if request.issued < request.received:
        problems.append(
            Problem(
                request.path, "dates", f"issued {request.issued} is before received {request.received}", column="issued"
            )
        )
    problems += [*_data_rules(isp, request), *_type_rules(isp, request, others), *_decision_rules(isp, request)]
    return problems
