"""The demo's history: every sheet (synthetic figures, the canaries, the correction) and the
governance events, replayed in date order, each change a signed commit merged as a pull request.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from isp.crypto import sops
from isp.demo import synthetic
from isp.demo.context import Change, DemoContext, Event
from isp.demo.story import Canary, Story, Submission
from isp.errors import IspError
from isp.fsutil import write_atomic
from isp.protocol.models import Isp
from isp.sheets import tidy
from isp.sheets.validate import validate_bytes


def sheets(isp: Isp, story: Story, seed: int) -> Callable[[Submission], pd.DataFrame]:
    """The tidy frame each submission carries: synthetic figures, the canaries, the correction.

    A canary's cell holds the canary in its agency's sheet and zero in every other agency's, so the
    consolidated site-level cell shows the figure itself (inside the encrypted pages). A superseded
    canary is corrected to its last three digits (6007 was a slip for 7) in the revised version."""

    def value(canary: Canary, sub: Submission) -> int:
        if canary.agency != sub.agency:
            return 0
        return canary.value % 1000 if canary.superseded and sub.version > 1 else canary.value

    def frame(sub: Submission) -> pd.DataFrame:
        sheet = synthetic.month_sheet(isp, sub.agency, sub.month, seed=seed)
        for canary in story.canaries:
            if canary.month == sub.month:
                _set(sheet, canary, value(canary, sub))
        return sheet

    return frame


def _set(sheet: pd.DataFrame, canary: Canary, value: int) -> None:
    mask = pd.Series(True, index=sheet.index)
    for column, wanted in canary.cell().items():
        mask &= sheet[column] == wanted
    sheet.loc[mask, "count"] = value


def encrypted_sheet(ctx: DemoContext, frame_of: Callable[[Submission], pd.DataFrame], sub: Submission) -> bytes:
    """The envelope for one submission, made as `isp submit` makes it but without a plaintext file:
    validated in memory, normalised, encrypted on a pipe."""
    name = f"{sub.agency}-{sub.month}.csv"
    frame, problems = validate_bytes(tidy.to_csv(frame_of(sub)), name, ctx.isp(), sub.agency, sub.month)
    errors = [p for p in problems if p.severity == "error"]
    if frame is None or errors:
        raise IspError(f"the demo's own sheet {sub.path} fails validation: {errors[0] if errors else 'unreadable'}")
    return sops.encrypt(ctx.root, sub.path, tidy.to_csv(frame))


def _message(sub: Submission, story: Story) -> str:
    if sub.version > 1:
        return (
            f"{sub.agency}: corrected tracking sheet for {sub.month}\n\n"
            "One cell of family tracing and reunification was mistyped in the first version."
        )
    text = f"{sub.agency}: tracking sheet for {sub.month}"
    if sub.late:
        text += "\n\nSent after the deadline: our information management officer was on leave."
    return text


def submission_events(ctx: DemoContext, seed: int) -> tuple[list[Event], Callable[[], None]]:
    """One event per sheet; encryption runs ahead in a thread pool while commits go in order."""
    isp = ctx.isp()
    frame_of = sheets(isp, ctx.story, seed)
    pool = ThreadPoolExecutor(max_workers=ctx.jobs)
    futures = {sub: pool.submit(encrypted_sheet, ctx, frame_of, sub) for sub in ctx.story.submissions}

    def event(sub: Submission) -> Event:
        def act() -> list[Change]:
            write_atomic(ctx.root / sub.path, futures[sub].result())
            ctx.progress.advance()
            branch = f"{sub.agency.lower()}/{'correct' if sub.version > 1 else 'sheet'}-{sub.month}"
            return [Change([sub.path], _message(sub, ctx.story), ctx.signer(sub.agency), branch)]

        return Event(sub.when, f"{sub.agency} {sub.month}", act)

    return [event(sub) for sub in ctx.story.submissions], lambda: pool.shutdown(cancel_futures=True)


def replay(ctx: DemoContext, events: list[Event]) -> int:
    """Run the events in date order; each change becomes a signed commit merged as a pull request.
    Returns the number of pull requests. A governance event refused by a rule (an
    :class:`IspError`) stops its own story only: the tree goes back to the last commit and the
    source's later events are left out. A failing sheet, or any other exception, stops the demo."""
    before = ctx.pull_requests
    for event in sorted(events, key=lambda e: e.when):
        if event.source in ctx.failed:
            continue
        try:
            changes = event.act()
        except IspError as exc:
            if event.source == "sheets":
                raise
            ctx.failed[event.source] = f"{event.label} failed ({type(exc).__name__}: {_one_line(exc)})"
            ctx.git.discard_changes()
            continue
        for change in changes:
            ctx.merge(change, event.when)
    return ctx.pull_requests - before


def _one_line(exc: IspError) -> str:
    """The first line of an IspError's own message (written to carry no figure)."""
    return str(exc).splitlines()[0][:200]
