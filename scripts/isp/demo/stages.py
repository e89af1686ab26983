"""The demo's stages after the keys: the history (sheets and governance interleaved by date), then
consolidation, the release, the site's passphrases and the site, and the canary scan.

A stage that a rule refuses (an :class:`~isp.errors.IspError`) or that has nothing to do in this
story (:class:`~isp.demo.context.StageSkipped`) is reported as skipped with the reason, and the demo
goes on; any other exception is a bug and stops the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime

from isp import consolidate as consolidation
from isp.demo import canaries as demo_canaries
from isp.demo.context import AGENCIES, RELEASES, Change, DemoContext, Event, StageResult, StageSkipped
from isp.demo.story import Decision, RequestPlan
from isp.demo.timeline import replay, submission_events
from isp.errors import IspError
from isp.governance import breaches, membership, request_files
from isp.governance.request_models import path_of
from isp.release import build as releasing
from isp.site import build as site_build
from isp.site import credentials


def _attempt(
    ctx: DemoContext, name: str, step: Callable[[], str], results: list[StageResult], quiet: bool = False
) -> None:
    """Run one stage; a stage that is refused or has nothing to do is reported as skipped."""
    if not quiet:
        ctx.progress.start(name)
    started = time.monotonic()
    try:
        detail, status = step(), "done"
    except StageSkipped as exc:
        detail, status = str(exc), "skipped"
    except IspError as exc:
        detail, status = f"failed: {exc}", "skipped"
    if status == "skipped":
        ctx.progress.skipped(name, detail)
    elif not quiet:
        ctx.progress.done(name, detail)
    results.append(StageResult(name, status, detail, round(time.monotonic() - started, 1)))


# --- the timeline: sheets and governance, interleaved by date --------------------------------

TimelineSource = Callable[[DemoContext], list[Event]]


def timeline_sources() -> list[tuple[str, TimelineSource]]:
    return [("suspension", suspension_events), ("breach", breach_events), ("requests", request_events)]


def _day(moment: datetime) -> date:
    return moment.date()


def suspension_events(ctx: DemoContext) -> list[Event]:
    """One agency suspends its sharing for two months, with its written reason (its signatory signs)."""
    plan = ctx.story.suspension

    def act() -> list[Change]:
        membership.suspend(ctx.root, plan.agency, plan.start, plan.end, plan.reason, _day(plan.recorded))
        message = f"{plan.agency}: suspend sharing {plan.start} to {plan.end}\n\n{plan.reason}"
        return [Change([AGENCIES], message, ctx.signer(plan.agency, "signatory"), f"{plan.agency.lower()}/suspend")]

    return [Event(plan.recorded, "suspension", act, "suspension")]


def breach_events(ctx: DemoContext) -> list[Event]:
    """A breach reported by the coordinators, a meeting, then every signatory's signed agreement."""
    plan = ctx.story.breach
    ids: dict[str, str] = {}
    coordinator = ctx.signer(ctx.isp().coordinators()[0])

    def report() -> list[Change]:
        breach = breaches.open_breach(ctx.root, _day(plan.reported), plan.summary, agency=plan.agency)
        ids["id"] = breach.id
        return [Change([breach.path], f"Report breach {breach.id}", coordinator, f"breach/{breach.id}")]

    def meet() -> list[Change]:
        breach = breaches.update_breach(ctx.root, ids["id"], meeting=_day(plan.meeting))
        return [Change([breach.path], f"Breach {breach.id}: meeting held", coordinator, f"breach/{breach.id}-meeting")]

    def agree(agency: str, moment: datetime) -> Callable[[], list[Change]]:
        def act() -> list[Change]:
            breach = breaches.agree_resolution(ctx.root, ids["id"], agency, _day(moment))
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
    events = []
    for plan in ctx.story.requests:
        ids: dict[str, str] = {}
        events.append(Event(plan.issued, "a new request", _recorder(ctx, plan, ids), "requests"))
        events += [Event(d.when, f"{d.agency}'s decision", _decider(ctx, d, ids), "requests") for d in plan.decisions]
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


def _recorder(ctx: DemoContext, plan: RequestPlan, ids: dict[str, str]) -> Callable[[], list[Change]]:
    def act() -> list[Change]:
        request = request_files.new_request(ctx.root, _request_fields(plan))
        ids["id"] = request.id
        ctx.requests[request.id] = plan.expected
        message = f"Record request {request.id} from {plan.organization}"
        return [Change([request.path], message, ctx.signer(ctx.isp().coordinators()[0]), f"requests/{request.id}")]

    return act


def _decider(ctx: DemoContext, decision: Decision, ids: dict[str, str]) -> Callable[[], list[Change]]:
    def act() -> list[Change]:
        approve = decision.decision == "approve"
        request_files.decide(
            ctx.root, ids["id"], decision.agency, approve, decision.reason or None, _day(decision.when)
        )
        verb = "approve" if approve else "deny"
        message = f"{decision.agency}: {verb} request {ids['id']}"
        if decision.reason:
            message += f"\n\n{decision.reason}"
        path = path_of(ids["id"])
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
    """Add ``source``'s events to the timeline; a source refused by a rule is reported as skipped."""
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
    report = consolidation.run(ctx.root, jobs=ctx.jobs, progress=_ConsolidationBar(ctx))
    ctx.git.commit(["aggregates"], "Consolidate the submissions (CI)", ctx.ci(), ctx.now(0))
    outputs = consolidation.list_outputs(ctx.root)
    return f"{len(outputs)} consolidated tables plus each agency's own; {report.summary()}"


def release(ctx: DemoContext) -> str:
    """The approved request's package, in the git-ignored releases/ folder; the release is recorded
    in the request file by a coordinator's signed commit."""
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
    parts, wrong = [], []
    for request_id, expected in ctx.requests.items():
        status = request_files.status(ctx.root, request_id, ctx.story.today)
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
    report = credentials.ensure(ctx.root)
    rel = report.path.relative_to(ctx.root).as_posix()
    coordinator = ctx.signer(ctx.isp().coordinators()[0])
    ctx.merge(Change([rel], "Create the site passphrases", coordinator, "site/credentials"), ctx.now(100))
    ctx.credentials = credentials.load(ctx.root, ctx.isp())
    return f"{len(ctx.credentials)} access levels in {rel} (encrypted for the coordinators and CI)"


def site(ctx: DemoContext) -> str:
    """The access-controlled site, English and Arabic, in the git-ignored build/site."""
    report = site_build.build_site(ctx.root)
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
    statuses = breaches.breach_statuses(ctx.root, ctx.story.today)
    still_open = [b.id for b in statuses if b.open]
    if still_open:
        raise IspError(f"breach {', '.join(still_open)} is still open: the story meant it resolved")
    return "; ".join(f"{b.id} resolved on {b.closed_on} with every signatory's signed agreement" for b in statuses)
