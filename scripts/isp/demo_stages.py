"""The demo's stages beyond keys: each one uses another helper's library when it is there.

A stage that cannot run (its module is missing, or it fails) is reported as skipped with the
reason, and the demo goes on: ``isp demo`` always builds what the project can do today.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from datetime import date, datetime
from types import ModuleType

from isp.demo import AGENCIES, Change, DemoContext, Event, StageResult, StageSkipped, replay, submission_events
from isp.demo_story import Decision, RequestPlan
from isp.errors import IspError


def optional(module: str, *names: str) -> ModuleType:
    """Import ``isp.<module>`` and check it has ``names``; otherwise the stage is skipped."""
    if importlib.util.find_spec(f"isp.{module}") is None:
        raise StageSkipped(f"isp.{module} is not written yet")
    try:
        loaded = importlib.import_module(f"isp.{module}")
    except Exception as exc:  # another helper's module mid-way: skip the stage, keep the demo
        raise StageSkipped(f"isp.{module} cannot be imported yet ({type(exc).__name__})") from exc
    missing = [name for name in names if not hasattr(loaded, name)]
    if missing:
        raise StageSkipped(f"isp.{module} has no {', '.join(missing)} yet")
    return loaded


def available(module: str, *names: str) -> bool:
    try:
        optional(module, *names)
    except StageSkipped:
        return False
    return True


def _attempt(ctx: DemoContext, name: str, step: Callable[[], str], results: list[StageResult]) -> None:
    ctx.progress.start(name)
    try:
        detail = step()
    except StageSkipped as exc:
        ctx.progress.skipped(name, str(exc))
        results.append(StageResult(name, "skipped", str(exc)))
        return
    except IspError as exc:
        why = f"failed: {exc}"
        ctx.progress.skipped(name, why)
        results.append(StageResult(name, "skipped", why))
        return
    ctx.progress.done(name, detail)
    results.append(StageResult(name, "done", detail))


# --- the timeline: sheets and governance, interleaved by date --------------------------------

TimelineSource = Callable[[DemoContext], list[Event]]


def timeline_sources() -> list[tuple[str, TimelineSource]]:
    return [("suspension", suspension_events), ("breach", breach_events), ("requests", request_events)]


def _day(moment: datetime) -> date:
    return moment.date()


def suspension_events(ctx: DemoContext) -> list[Event]:
    """One agency suspends its sharing for two months, with its written reason (its signatory signs)."""
    governance = optional("governance", "suspend")
    plan = ctx.story.suspension
    if not ctx.suspending:
        raise StageSkipped("planned without a suspension")

    def act() -> list[Change]:
        governance.suspend(ctx.root, plan.agency, plan.start, plan.end, plan.reason, _day(plan.recorded))
        message = f"{plan.agency}: suspend sharing {plan.start} to {plan.end}\n\n{plan.reason}"
        return [Change([AGENCIES], message, ctx.signer(plan.agency, "signatory"), f"{plan.agency.lower()}/suspend")]

    return [Event(plan.recorded, "suspension", act)]


def breach_events(ctx: DemoContext) -> list[Event]:
    """A breach reported by the coordinators, a meeting, then every signatory's signed agreement."""
    governance = optional("governance", "open_breach", "update_breach", "agree_resolution")
    plan = ctx.story.breach
    ids: dict[str, str] = {}
    coordinator = ctx.signer(ctx.isp().coordinators()[0])

    def report() -> list[Change]:
        breach = governance.open_breach(ctx.root, _day(plan.reported), plan.summary, agency=plan.agency)
        ids["id"] = breach.id
        return [Change([breach.path], f"Report breach {breach.id}", coordinator, f"breach/{breach.id}")]

    def meet() -> list[Change]:
        breach = governance.update_breach(ctx.root, ids["id"], meeting=_day(plan.meeting))
        return [Change([breach.path], f"Breach {breach.id}: meeting held", coordinator, f"breach/{breach.id}-meeting")]

    def agree(agency: str, moment: datetime) -> Callable[[], list[Change]]:
        def act() -> list[Change]:
            breach = governance.agree_resolution(ctx.root, ids["id"], agency, _day(moment))
            message = f"{agency}: agree that breach {breach.id} is resolved"
            branch = f"{agency.lower()}/agree-{breach.id}"
            return [Change([breach.path], message, ctx.signer(agency, "signatory"), branch)]

        return act

    events = [Event(plan.reported, "breach", report), Event(plan.meeting, "breach meeting", meet)]
    events += [Event(moment, f"{agency} agrees", agree(agency, moment)) for agency, moment in plan.agreements]
    return events


def request_events(ctx: DemoContext) -> list[Event]:
    """Three external requests: recorded by a coordinator, each decision signed by its agency."""
    requests = optional("requests", "new_request", "decide", "status")
    optional("governance", "breach_intervals")
    events = []
    for plan in ctx.story.requests:
        ids: dict[str, str] = {}
        events.append(Event(plan.issued, f"request {plan.expected}", _recorder(ctx, requests, plan, ids)))
        events += [Event(d.when, f"{d.agency} decides", _decider(ctx, requests, d, ids)) for d in plan.decisions]
    return events


def _request_fields(plan: RequestPlan) -> dict[str, object]:
    return {
        "type": "external",
        "received": _day(plan.received),
        "issued": _day(plan.issued),
        "requester": {
            "organization": plan.organization,
            "name": "Amal Example",
            "position": "Research coordinator",
            "contact": "requests@example.org",
        },
        "purpose": plan.purpose,
        "use": plan.use,
        "feedback": "The requester sends the group its draft before anything is shared further.",
        "guarantee": "Signed undertaking: the figures serve this purpose only, are never passed on, and are "
        "deleted after one year.",
        "data": {
            "report": plan.report,
            "periods": list(plan.periods),
            "indicators": list(plan.indicators),
            "geography": plan.geography,
        },
    }


def _recorder(
    ctx: DemoContext, requests: ModuleType, plan: RequestPlan, ids: dict[str, str]
) -> Callable[[], list[Change]]:
    def act() -> list[Change]:
        request = requests.new_request(ctx.root, _request_fields(plan))
        ids["id"] = request.id
        ctx.requests[request.id] = plan.expected
        message = f"Record request {request.id} from {plan.organization}"
        return [Change([request.path], message, ctx.signer(ctx.isp().coordinators()[0]), f"requests/{request.id}")]

    return act


def _decider(
    ctx: DemoContext, requests: ModuleType, decision: Decision, ids: dict[str, str]
) -> Callable[[], list[Change]]:
    def act() -> list[Change]:
        approve = decision.decision == "approve"
        requests.decide(ctx.root, ids["id"], decision.agency, approve, decision.reason or None, _day(decision.when))
        verb = "approve" if approve else "deny"
        message = f"{decision.agency}: {verb} request {ids['id']}"
        if decision.reason:
            message += f"\n\n{decision.reason}"
        path = requests.path_of(ids["id"])
        return [Change([path], message, ctx.signer(decision.agency), f"{decision.agency.lower()}/{verb}-{ids['id']}")]

    return act


def run_all(ctx: DemoContext, seed: int) -> list[StageResult]:
    results: list[StageResult] = []
    events: list[Event] = []
    for name, source in timeline_sources():
        _attempt(ctx, name, lambda source=source: _collect(ctx, source, events), results)  # type: ignore[misc]
    ctx.progress.start("history", total=len(ctx.story.submissions))
    sheet_events, stop = submission_events(ctx, seed)
    try:
        merged = replay(ctx, [*sheet_events, *events])
    finally:
        stop()
    story = ctx.story
    detail = (
        f"{len(story.submissions)} signed sheets over {len(story.months)} months "
        f"({story.months[0]}..{story.months[-1]}), {merged} pull requests merged"
    )
    ctx.progress.done("history", detail)
    results.append(StageResult("history", "done", detail))
    if ctx.requests:
        _attempt(ctx, "request states", lambda: request_states(ctx), results)
    return results


def request_states(ctx: DemoContext) -> str:
    """Where each request stands today, checked against what the story meant it to be."""
    requests = optional("requests", "status")
    parts, wrong = [], []
    for request_id, expected in ctx.requests.items():
        status = requests.status(ctx.root, request_id, ctx.story.today)
        text = f"{request_id} {status.state}"
        if status.state == "pending":
            due = [a.agency for a in status.agencies if a.state == "follow-up-due"]
            text += f" (follow-up due: {', '.join(due)})" if due else ""
        elif status.state == "denied":
            text += f" by {', '.join(a.agency for a in status.agencies if a.state == 'denied')}"
        parts.append(text)
        if status.state != expected:
            wrong.append(f"{request_id} should be {expected}")
    if wrong:
        raise IspError(f"the requests did not end as planned: {'; '.join(wrong)}")
    return ", ".join(parts)


def _collect(ctx: DemoContext, source: TimelineSource, events: list[Event]) -> str:
    found = source(ctx)
    events.extend(found)
    return f"{len(found)} events planned"
