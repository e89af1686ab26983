"""The demo's stages beyond keys: each one uses another helper's library when it is there.

A stage that cannot run (its module is missing, or it fails) is reported as skipped with the
reason, and the demo goes on: ``isp demo`` always builds what the project can do today.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType

from isp.demo import DemoContext, Event, StageResult, StageSkipped, replay, submission_events
from isp.errors import IspError


def optional(module: str, *names: str) -> ModuleType:
    """Import ``isp.<module>`` and check it has ``names``; otherwise the stage is skipped."""
    if importlib.util.find_spec(f"isp.{module}") is None:
        raise StageSkipped(f"isp.{module} is not written yet")
    loaded = importlib.import_module(f"isp.{module}")
    missing = [name for name in names if not hasattr(loaded, name)]
    if missing:
        raise StageSkipped(f"isp.{module} has no {', '.join(missing)} yet")
    return loaded


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
    return []


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
    return results


def _collect(ctx: DemoContext, source: TimelineSource, events: list[Event]) -> str:
    found = source(ctx)
    events.extend(found)
    return f"{len(found)} events planned"
