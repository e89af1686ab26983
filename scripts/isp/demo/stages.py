"""The demo's stages beyond keys: each one uses another helper's library when it is there.

A stage that cannot run (its module is missing, or it fails) is reported as skipped with the
reason, and the demo goes on: ``isp demo`` always builds what the project can do today.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
import traceback
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from types import ModuleType

from isp.demo import canaries as demo_canaries
from isp.demo.build import (
    AGENCIES,
    RELEASES,
    Change,
    DemoContext,
    Event,
    StageResult,
    StageSkipped,
    replay,
    submission_events,
)
from isp.demo.story import Decision, RequestPlan
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


def _attempt(
    ctx: DemoContext, name: str, step: Callable[[], str], results: list[StageResult], quiet: bool = False
) -> None:
    """Run one stage; a stage that cannot run is reported as skipped and the demo goes on."""
    if not quiet:
        ctx.progress.start(name)
    started = time.monotonic()
    try:
        detail, status = step(), "done"
    except StageSkipped as exc:
        detail, status = str(exc), "skipped"
    except IspError as exc:
        detail, status = f"failed: {exc}", "skipped"
    except Exception as exc:  # another helper's module mid-way: report where, keep the demo going
        if os.environ.get("ISP_DEBUG") == "1":
            raise
        detail = f"failed unexpectedly ({type(exc).__name__} at {_where(exc)}; ISP_DEBUG=1 shows the traceback)"
        status = "skipped"
    if status == "skipped":
        ctx.progress.skipped(name, detail)
    elif not quiet:
        ctx.progress.done(name, detail)
    results.append(StageResult(name, status, detail, round(time.monotonic() - started, 1)))


def _where(exc: BaseException) -> str:
    """The innermost frame inside the isp package (file:line), never the message: it could hold data."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/isp/" in f.filename]
    last = frames[-1] if frames else None
    return f"{Path(last.filename).name}:{last.lineno}" if last else "unknown place"


# --- the timeline: sheets and governance, interleaved by date --------------------------------

TimelineSource = Callable[[DemoContext], list[Event]]


def timeline_sources() -> list[tuple[str, TimelineSource]]:
    return [("suspension", suspension_events), ("breach", breach_events), ("requests", request_events)]


def _day(moment: datetime) -> date:
    return moment.date()


def suspension_events(ctx: DemoContext) -> list[Event]:
    """One agency suspends its sharing for two months, with its written reason (its signatory signs)."""
    governance = optional("governance.membership", "suspend")
    plan = ctx.story.suspension
    if not ctx.suspending:
        raise StageSkipped("planned without a suspension")

    def act() -> list[Change]:
        governance.suspend(ctx.root, plan.agency, plan.start, plan.end, plan.reason, _day(plan.recorded))
        message = f"{plan.agency}: suspend sharing {plan.start} to {plan.end}\n\n{plan.reason}"
        return [Change([AGENCIES], message, ctx.signer(plan.agency, "signatory"), f"{plan.agency.lower()}/suspend")]

    return [Event(plan.recorded, "suspension", act, "suspension")]


def breach_events(ctx: DemoContext) -> list[Event]:
    """A breach reported by the coordinators, a meeting, then every signatory's signed agreement."""
    governance = optional("governance.membership", "open_breach", "update_breach", "agree_resolution")
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

    events = [Event(plan.reported, "breach report", report, "breach")]
    events.append(Event(plan.meeting, "breach meeting", meet, "breach"))
    events += [Event(when, f"{agency}'s agreement", agree(agency, when), "breach") for agency, when in plan.agreements]
    return events


def request_events(ctx: DemoContext) -> list[Event]:
    """Three external requests: recorded by a coordinator, each decision signed by its agency."""
    requests = optional("governance.request_files", "new_request", "decide", "status")
    optional("governance.membership", "breach_intervals")
    events = []
    for plan in ctx.story.requests:
        ids: dict[str, str] = {}
        events.append(Event(plan.issued, "a new request", _recorder(ctx, requests, plan, ids), "requests"))
        events += [
            Event(d.when, f"{d.agency}'s decision", _decider(ctx, requests, d, ids), "requests") for d in plan.decisions
        ]
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
    """Plan the governance story, replay the whole history, then the stages that follow it."""
    results: list[StageResult] = []
    events: list[Event] = []
    planned = [name for name, source in timeline_sources() if _plan(ctx, name, source, events, results)]
    _history(ctx, seed, events, results)
    after: dict[str, Callable[[DemoContext], str]] = {
        "suspension": suspension_state,
        "breach": breach_state,
        "requests": request_states,
    }
    for name in planned:
        _attempt(ctx, name, lambda name=name: _after(ctx, name, after[name]), results)  # type: ignore[misc]
    _attempt(ctx, "consolidate", lambda: consolidate(ctx), results)
    if _done(results, "consolidate") and _done(results, "requests"):
        _attempt(ctx, "release", lambda: release(ctx), results)
    _attempt(ctx, "site credentials", lambda: site_credentials(ctx), results)
    if _done(results, "consolidate") and _done(results, "site credentials"):
        _attempt(ctx, "site", lambda: site(ctx), results)
    ctx.progress.start("canary scan")
    started = time.monotonic()
    detail = canary_scan(ctx)
    ctx.progress.done("canary scan", detail)
    results.append(StageResult("canary scan", "done", detail, round(time.monotonic() - started, 1)))
    return results


def _after(ctx: DemoContext, name: str, check: Callable[[DemoContext], str]) -> str:
    """How a governance source ended: its failure during the history, or its check now."""
    if name in ctx.failed:
        raise StageSkipped(ctx.failed[name])
    return check(ctx)


def _plan(ctx: DemoContext, name: str, source: TimelineSource, events: list[Event], results: list[StageResult]) -> bool:
    """Add ``source``'s events to the timeline; a source that cannot run is reported as skipped."""
    found: list[Event] = []
    attempt: list[StageResult] = []

    def collect() -> str:
        found.extend(source(ctx))
        return f"{len(found)} events"

    _attempt(ctx, name, collect, attempt, quiet=True)
    if attempt[0].status != "done":
        results.extend(attempt)
        return False
    events.extend(found)
    return True


def _history(ctx: DemoContext, seed: int, events: list[Event], results: list[StageResult]) -> None:
    ctx.progress.start("history", total=len(ctx.story.submissions))
    started = time.monotonic()
    sheet_events, stop = submission_events(ctx, seed)
    try:
        merged = replay(ctx, [*sheet_events, *events])
    finally:
        stop()
    story = ctx.story
    detail = (
        f"{len(story.submissions)} signed, encrypted sheets over {len(story.months)} months; "
        f"{merged} pull requests, each an agency-signed commit merged with --no-ff"
    )
    ctx.progress.done("history", detail)
    results.append(StageResult("history", "done", detail, round(time.monotonic() - started, 1)))


def canary_scan(ctx: DemoContext) -> str:
    """The planted figures must be nowhere readable: not in any git object, not in any file of the
    folder (the site and the release included). Only the key folder's own list names them."""
    values = [c.value for c in ctx.story.canaries]
    in_git = demo_canaries.scan_git_objects(ctx.root, values)
    in_files = demo_canaries.scan_files(ctx.root, values, exclude=[ctx.key_dir])
    if in_git or in_files:
        where = sorted(in_files)[:5] + (["git objects"] if in_git else [])
        raise IspError(f"a planted canary figure is readable in {', '.join(where)}: plaintext leaked")
    return f"none of the {len(values)} planted figures is readable in git objects or in any file of the folder"


def _done(results: list[StageResult], name: str) -> bool:
    return any(r.name == name and r.status == "done" for r in results)


class _ConsolidationBar:
    """consolidate.run's progress (decrypt, encrypt phases) shown on the demo's own bar."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx

    def start(self, phase: str, total: int) -> None:
        if phase == "encrypt" and total:
            self.ctx.progress.start("consolidate", total)

    def advance(self, phase: str) -> None:
        if phase == "encrypt":
            self.ctx.progress.advance()


def consolidate(ctx: DemoContext) -> str:
    """Aggregates for every period, committed by CI straight to main (as the workflow does on merge)."""
    consolidation = optional("consolidate", "run", "list_outputs")
    report = consolidation.run(ctx.root, jobs=ctx.jobs, progress=_ConsolidationBar(ctx))
    ctx.git.commit(["aggregates"], "Consolidate the submissions (CI)", ctx.ci(), ctx.now(0))
    outputs = consolidation.list_outputs(ctx.root)
    return f"{len(outputs)} consolidated tables plus each agency's own; {report.summary()}"


def release(ctx: DemoContext) -> str:
    """The approved request's package, in the git-ignored releases/ folder; the release is recorded
    in the request file by a coordinator's signed commit."""
    releasing = optional("release.build", "release")
    approved = [rid for rid, expected in ctx.requests.items() if expected == "approved"]
    if not approved:
        raise StageSkipped("no approved request in this demo")
    request_id = approved[0]
    result = releasing.release(ctx.root, request_id, ctx.root / RELEASES / request_id, today=ctx.story.today)
    coordinator = ctx.signer(ctx.isp().coordinators()[0])
    message = f"Record release {result.release_id} of {request_id}"
    ctx.merge(Change([result.request_file], message, coordinator, f"release/{result.release_id}"), ctx.now(10))
    rel = result.out.relative_to(ctx.root)
    return (
        f"{result.release_id} for {request_id}: {len(result.files)} files in {rel}/, {result.suppressed} cells hidden"
    )


def request_states(ctx: DemoContext) -> str:
    """Where each request stands today, checked against what the story meant it to be."""
    requests = optional("governance.request_files", "status")
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


def site_credentials(ctx: DemoContext) -> str:
    """One passphrase per access level, sops-encrypted for coordinators and CI, committed by a coordinator."""
    credentials = optional("site.credentials", "ensure", "load", "levels")
    report = credentials.ensure(ctx.root)
    rel = report.path.relative_to(ctx.root).as_posix()
    coordinator = ctx.signer(ctx.isp().coordinators()[0])
    ctx.merge(Change([rel], "Create the site passphrases", coordinator, "site/credentials"), ctx.now(100))
    ctx.credentials = credentials.load(ctx.root, ctx.isp())
    return f"{len(ctx.credentials)} access levels in {rel} (encrypted for the coordinators and CI)"


def site(ctx: DemoContext) -> str:
    """The access-controlled site, English and Arabic, in the git-ignored build/site."""
    build = optional("site.build", "build_site")
    report = build.build_site(ctx.root)
    ctx.site = report.out
    rel = report.out.relative_to(ctx.root) if report.out.is_relative_to(ctx.root) else report.out
    return f"{report.pages} pages x {len(report.languages)} languages ({', '.join(report.languages)}) in {rel}/"


def suspension_state(ctx: DemoContext) -> str:
    plan = ctx.story.suspension
    suspension = ctx.isp_now().agencies[plan.agency].suspended_in(plan.start)
    if suspension is None:
        raise IspError(f"{plan.agency}'s suspension is not in agencies.yaml")
    return f"{plan.agency} suspended its sharing {plan.start}..{plan.end}, signed by its signatory"


def breach_state(ctx: DemoContext) -> str:
    governance = optional("governance.membership", "breach_statuses")
    statuses = governance.breach_statuses(ctx.root, ctx.story.today)
    still_open = [b.id for b in statuses if b.open]
    if still_open:
        raise IspError(f"breach {', '.join(still_open)} is still open: the story meant it resolved")
    return "; ".join(f"{b.id} resolved on {b.closed_on} with every signatory's signed agreement" for b in statuses)
