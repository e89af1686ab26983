"""Carrying out a plan, year by year: decrypt what the stale outputs' sources need (in the pool,
ahead of use), evaluate the sources, and stage the new outputs.

Every period lies within one calendar year, and so does every agency year file, so memory holds
one year's data at a time however long the history, and the pool keeps decrypting the next year
while a year is computed.

A stale agency year file is made whole from that agency's submissions of the year, never from
the previous year file read back: sops' cost grows with the size of the file (measured: 0.7 s
of CPU or more to decrypt a ten-megabyte year file of 19 tables, 0.05 s for a month's
submission), so the eleven unchanged submissions of a year (about 0.55 s) are cheaper than the
year file that holds them, and often decrypted anyway for the consolidated outputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from isp.consolidate import inputs, staging
from isp.consolidate.compute import Block, Vector, combine
from isp.consolidate.inputs import Cells, Submission
from isp.consolidate.layout import Layout
from isp.consolidate.plan import Bundle, Plan, Spec
from isp.consolidate.pool import Pool
from isp.consolidate.sources import Chooser, Derived, Direct, Source, needs
from isp.protocol.periods import month_range


class Progress(Protocol):
    """Told how far a run is: phases ``decrypt`` and ``encrypt``, each with a total."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, phase: str) -> None: ...


@dataclass
class Year:
    """One year's stale outputs, their sources, and what must be decrypted for them."""

    year: str
    stale: list[Spec]
    sources: list[Source]
    bundles: list[Bundle]
    subs: list[Submission]
    stored: list[Spec]


@dataclass
class Outcome:
    written: dict[str, str]  # rel path -> sha256 of the new ciphertext
    decrypted: int  # submissions
    outputs_read: int  # earlier outputs decrypted to derive periods from


def years(work: Plan) -> list[Year]:
    choose = Chooser([s for s in work.specs if isinstance(s, Spec)], work.stale_specs)
    specs: dict[str, list[Spec]] = defaultdict(list)
    year_files: dict[str, list[Bundle]] = defaultdict(list)
    for spec in work.stale_specs:
        specs[spec.year].append(spec)
    for bundle in work.stale_bundles:
        year_files[bundle.year].append(bundle)
    found = []
    for year in sorted(set(specs) | set(year_files)):
        sources = [choose(spec) for spec in specs[year]]
        subs, stored = needs(sources)
        subs |= {sub for bundle in year_files[year] for sub in bundle.inputs}
        ordered_subs = sorted(subs, key=lambda s: (s.month, s.agency))
        ordered_stored = sorted(stored, key=lambda s: s.rel)
        found.append(Year(year, specs[year], sources, year_files[year], ordered_subs, ordered_stored))
    return found


class Evaluator:
    """Figures of each consolidated source, computed once."""

    def __init__(self, layout: Layout, block: Block, stored: dict[str, Cells]) -> None:
        self.layout, self.block, self.stored = layout, block, stored
        self._memo: dict[str, Vector] = {}

    def __call__(self, source: Source) -> Vector:
        rel = source.spec.rel
        if rel not in self._memo:
            self._memo[rel] = self._evaluate(source)
        return self._memo[rel]

    def _evaluate(self, source: Source) -> Vector:
        if isinstance(source, Direct):
            return self.block.consolidated(source.spec.period)
        if isinstance(source, Derived):
            return combine([self(child) for child in source.children], self.layout.flow_mask)
        return _dense(self.layout, self.stored[source.spec.rel])


def _dense(layout: Layout, cells: Cells) -> Vector:
    values = np.zeros(layout.n_cells, dtype=np.int64)
    present = np.zeros(layout.n_cells, dtype=bool)
    values[cells.ids], present[cells.ids] = cells.counts, True
    return values, present


def year_file(layout: Layout, block: Block, bundle: Bundle) -> bytes:
    """An agency's year file: each of its periods from its own months, in file order."""
    return layout.render_many((p.label, *block.agency(bundle.agency, p)) for p in bundle.periods)


def execute(root: Path, work: Plan, layout: Layout, pool: Pool, staged: staging.Staging, progress: Progress) -> Outcome:
    """Compute and stage every stale output."""
    plan_years = years(work)
    progress.start("decrypt", sum(len(y.subs) + len(y.stored) for y in plan_years))
    progress.start("encrypt", len(work.stale))
    futures = {}

    def stage(rel: str, plaintext: bytes) -> None:
        future = pool.submit(staged.stage, rel, plaintext)
        future.add_done_callback(lambda _: progress.advance("encrypt"))
        futures[rel] = future

    for year, (parts, stored) in zip(plan_years, _loaded(root, plan_years, layout, pool, progress), strict=True):
        block = Block.build(layout, month_range(f"{year.year}-01", f"{year.year}-12"), parts)
        evaluate = Evaluator(layout, block, stored)
        for spec, source in zip(year.stale, year.sources, strict=True):
            stage(spec.rel, layout.render(spec.period.label, *evaluate(source)))
        del evaluate  # one owner's figures at a time in memory
        for bundle in year.bundles:
            stage(bundle.rel, year_file(layout, block, bundle))
        del block, parts, stored
    written = {rel: future.result() for rel, future in futures.items()}
    return Outcome(written, sum(len(y.subs) for y in plan_years), sum(len(y.stored) for y in plan_years))


Parts = dict[tuple[str, str], tuple[Cells, bool]]


def _loaded(
    root: Path, plan_years: list[Year], layout: Layout, pool: Pool, progress: Progress
) -> Iterator[tuple[Parts, dict[str, Cells]]]:
    """Each year's decrypted submissions and earlier outputs, in order, decrypting ahead."""

    def load(item: Submission | Spec) -> Cells:
        if isinstance(item, Submission):
            return inputs.load(root, item, layout)
        return inputs.load_output(root, item.rel, item.period.label, layout)

    items: list[Submission | Spec] = []
    for year in plan_years:
        items += [*year.subs, *year.stored]
    results = pool.ordered(load, items, window=3 * pool.jobs)
    for year in plan_years:
        parts: Parts = {}
        for sub in year.subs:
            parts[(sub.agency, sub.month)] = (next(results), sub.suspended)
            progress.advance("decrypt")
        stored = {}
        for spec in year.stored:
            stored[spec.rel] = next(results)
            progress.advance("decrypt")
        yield parts, stored
