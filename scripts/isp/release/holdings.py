"""What the recipient of a release already holds: the earlier releases of the same request and
every release to the same recipient under another request (:func:`isp.governance.request_models.same_recipient`).

Each earlier release recorded the commit its figures came from; its rounding is rebuilt from the
aggregates at that commit, in memory, oldest first (each with the rounding of those before it,
as it was made), only for the periods the new release shares with it. Two uses:

- *consistent rounding* (:attr:`Holdings.prior`): a small count that an earlier release rounded is
  rounded the same way again wherever the new release has the same cell, i.e. the same sites
  (the rest of the country counts as the same cell only for the same sites shown apart) and the
  same protocol indicators (a residual category with the same members folded in), so the
  recipient never holds two roundings of one small count to average;
- *the audit across releases* (:func:`check`): cells that do not coincide (the rest of the
  country in one release, each governorate in the other) meet in the ground cells
  (:mod:`isp.disclosure.combined`); every small count of every release must keep its whole
  range (0..b-1 or 1..b) against everything the recipient holds, or the release is refused
  with the cells named by their labels.

A period of an earlier release that overlaps one of the new release without being the same
period (a month and its quarter) would let the recipient difference them: the release is
refused, as it is within one release. A ground cell whose figure was revised since an earlier
release is that release's own cell in the audit (the recipient holds two different truths).
Earlier releases under a suppression profile, or made before releases recorded their source
commit, are not rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from isp.disclosure import combined, rounding
from isp.disclosure.tables import relations_from_protocol
from isp.errors import IspError
from isp.protocol.models import Isp
from isp.release.cube import LEAF
from isp.release.sources import PeriodFigures
from isp.release.spec import NATIONAL, REST, ReleaseSpec

if TYPE_CHECKING:
    from isp.governance.request_models import Release, Request

Signature = tuple[str, ...]
"""A leaf as the ground cells it sums: site (or the rest of the country beside named sites),
protocol indicators, sex, age group, nationality."""
Ground = tuple[str, ...]  # site, indicator, sex, age_group, nationality, version ("" = as now)


@dataclass(frozen=True)
class Held:
    """One period of an earlier release, as its recipient holds it (rebuilt in memory)."""

    release_id: str
    spec: ReleaseSpec
    rounded: rounding.Rounded
    ground: pd.DataFrame


@dataclass
class Holdings:
    """Per period label: the earlier releases' rounded periods and their small cells' rounding."""

    held: dict[str, list[Held]] = field(default_factory=dict)
    # per period: leaf signature -> (the value the recipient holds for it, its true value then)
    prior: dict[str, dict[Signature, tuple[int, int]]] = field(default_factory=dict)

    def leaf_prior(
        self, spec: ReleaseSpec, period: str, leaves: Mapping[tuple[str, ...], int]
    ) -> dict[tuple[str, ...], int]:
        """The values the recipient holds for the leaves (``LEAF`` order -> true value now) of
        ``spec`` in ``period``, where the figure has not been revised since."""
        mine = self.prior.get(period, {})
        out = {}
        for key, now in leaves.items():
            held = mine.get(signature(spec, key))
            if held is not None and held[1] == now:
                out[key] = held[0]
        return out


def signature(spec: ReleaseSpec, key: Sequence[str]) -> Signature:
    """What a leaf (``LEAF`` order) is made of, comparable across requests."""
    site, indicator, *rest = key
    if site == REST:
        site = "REST-" + ",".join(sorted(spec.geography.sites))
    return (site, "+".join(sorted(spec.indicators.sources(indicator))), *rest)


def _sites(isp: Isp, spec: ReleaseSpec, site: str) -> list[str]:
    if site == NATIONAL:
        return list(isp.sites)
    if site == REST:
        return [s for s in isp.sites if s not in spec.geography.sites]
    return [site]


def earlier_releases(root: Path, request: Request) -> list[tuple[Request, Release]]:
    """Every release of ``request`` and of the requests to the same recipient, oldest first."""
    from isp.governance import request_files
    from isp.governance.request_models import same_recipient

    found = [
        (other, release)
        for other in request_files.all_requests(root)
        if other.id == request.id or same_recipient(other, request)
        for release in other.releases
    ]
    return sorted(found, key=lambda pair: (pair[1].date, pair[1].id))


def shared_periods(spec: ReleaseSpec, earlier: ReleaseSpec, release_id: str) -> set[str]:
    """The period labels ``earlier`` shares with ``spec``; refused if one only overlaps."""
    shared = set()
    for mine in spec.periods:
        for theirs in earlier.periods:
            if mine.label == theirs.label:
                shared.add(mine.label)
            elif set(mine.months) & set(theirs.months):
                raise IspError(
                    f"release refused: {release_id}, already released to the same recipient, covers "
                    f"{theirs.label}, which overlaps {mine.label}; together they could be differenced "
                    "(ask for the same periods, or periods that do not overlap) (nothing was written)"
                )
    return shared


def remember(out: Holdings, spec: ReleaseSpec, period: str, result: rounding.Rounded) -> None:
    """Keep every leaf's value as ``result`` publishes it, by signature, for the releases after it
    (the latest release to give a cell a value decides it)."""
    mine = out.prior.setdefault(period, {})
    for key, value, truth in rounding.leaf_values(result):
        mine[signature(spec, key)] = (value, truth)


# --- the audit across releases ----------------------------------------------------------------


class _Index:
    """Ground cells numbered as they are met."""

    def __init__(self) -> None:
        self.of: dict[Ground, int] = {}

    def __call__(self, key: Ground) -> int:
        return self.of.setdefault(key, len(self.of))


def _values(ground: pd.DataFrame) -> dict[tuple[str, ...], int]:
    return {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in ground[[*LEAF, "count"]].itertuples(index=False)}


class _Release:
    """One release's period as sums of ground cells, versioned where its figures were revised."""

    def __init__(
        self, isp: Isp, spec: ReleaseSpec, result: rounding.Rounded, version: str, changed: set[tuple[str, ...]]
    ) -> None:
        self.isp, self.spec, self.result, self.version, self.changed = isp, spec, result, version, changed

    def ground(self, key: tuple[str, ...]) -> Ground:
        return (*key, self.version if key in self.changed else "")

    def leaf(self, key: Sequence[str], index: _Index) -> dict[int, float]:
        site, indicator, *rest = key
        return {
            index(self.ground((s, source, *rest))): 1.0
            for s in _sites(self.isp, self.spec, site)
            for source in self.spec.indicators.sources(indicator)
        }

    def variables(self, index: _Index) -> list[dict[int, float]]:
        model = self.result.model
        universe = rounding.universe_keys(model)
        out = [self.leaf(key, index) for key in rounding.variable_keys(model) if key is not None]
        for total, parts in model.rest_of:
            terms = dict(self.leaf(universe[total], index))
            for part in parts:
                for k, v in self.leaf(universe[part], index).items():
                    terms[k] = terms.get(k, 0.0) - v
            out.append({k: v for k, v in terms.items() if v != 0})
        return out

    def facts_and_targets(
        self, index: _Index, earlier: bool, suffix: str
    ) -> tuple[list[combined.Fact], list[combined.Target]]:
        result = self.result
        small = rounding.small_of(result)
        lo, hi = rounding.attacker_box(result, small)
        names = rounding.inner_names(result.model)
        facts, targets = [], []
        for j, terms in enumerate(self.variables(index)):
            if not terms or (lo[j] <= 0 and hi[j] == np.inf and all(v > 0 for v in terms.values())):
                continue  # says no more than that counts are at least 0
            facts.append(combined.Fact(terms, float(lo[j]), float(hi[j]), earlier))
            if small[j]:
                want = (0, result.base - 1) if result.inner[j] == 0 else (1, result.base)
                targets.append(combined.Target(names[j] + suffix, terms, *want))
        return facts, targets


def _relations(isp: Isp, index: _Index, truth: Mapping[Ground, int]) -> list[dict[int, float]]:
    """Every indicator group's sum at every ground coordinate met (figures as now), where it holds
    in the figures (an attacker knows the protocol's sums)."""
    coords = sorted({(key[0], *key[2:-1]) for key in index.of if not key[-1]})
    rows = []
    for relation in relations_from_protocol(isp):
        for site, *rest in coords:
            members = [(site, relation.total, *rest, "")] + [(site, part, *rest, "") for part in relation.parts]
            signs = [1.0] + [-1.0] * len(relation.parts)
            if sum(truth.get(g, 0) * c for g, c in zip(members, signs, strict=True)) != 0:
                continue
            row: dict[int, float] = {}
            for g, c in zip(members, signs, strict=True):
                k = index(g)
                row[k] = row.get(k, 0.0) + c
            rows.append({k: v for k, v in row.items() if v != 0})
    return rows


def check(
    isp: Isp,
    spec: ReleaseSpec,
    figures: PeriodFigures,
    result: rounding.Rounded,
    held: Sequence[Held],
) -> list[str]:
    """The small counts (of this release or an earlier one) that everything the recipient holds
    narrows below their range, named by their labels."""
    return audit(isp, spec, figures, result, held)[0]


def audit(
    isp: Isp,
    spec: ReleaseSpec,
    figures: PeriodFigures,
    result: rounding.Rounded,
    held: Sequence[Held],
) -> tuple[list[str], np.ndarray]:
    """:func:`check`, and per variable of ``result``: in a part of the problem where a small count
    is narrowed (its exact cells are the ones to round next, :func:`isp.disclosure.rounding.small_count_round`)."""
    near = np.zeros(result.model.n_vars, bool)
    if not held:
        return [], near
    assert figures.ground is not None
    now = _values(figures.ground)
    index = _Index()
    current = _Release(isp, spec, result, "", set())
    facts, targets = current.facts_and_targets(index, False, "")
    truth: dict[Ground, int] = {(*k, ""): v for k, v in now.items()}
    for item in held:
        then = _values(item.ground)
        changed = {k for k in set(now) | set(then) if now.get(k, 0) != then.get(k, 0)}
        truth.update({(*k, item.release_id): then.get(k, 0) for k in changed})
        more, also = _Release(isp, item.spec, item.rounded, item.release_id, changed).facts_and_targets(
            index, True, f" (as released in {item.release_id})"
        )
        facts += more
        targets += also
    equal = _relations(isp, index, truth)
    found = combined.narrowed(facts, equal, targets, len(index.of))
    for j, terms in enumerate(current.variables(index)):
        near[j] = bool(found.ground.intersection(terms))
    return found.names, near
