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
period (a month and its quarter, the quarters and their year) is audited with it: every period
linked to the new one by overlaps (:func:`linked`) is rebuilt, and the audit then meets them all
in the months, the finest figures (a flow's period figure is the sum of its months, a stock's is
its last month's, as :mod:`isp.consolidate.compute` makes them). Where the months cannot model
a period (a monthly aggregate missing, a stock that is not its last month's because an agency
did not report in it), the overlap is refused, as it is within one release. A ground cell whose
figure was revised since an earlier release is that release's own cell in the audit (the
recipient holds two different truths). Earlier releases under a suppression profile, or made
before releases recorded their source commit, are not rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from isp.disclosure import combined, rounding
from isp.disclosure.tables import relations_from_protocol
from isp.errors import IspError
from isp.protocol.models import Isp
from isp.protocol.periods import Period
from isp.release.cube import LEAF
from isp.release.sources import PeriodFigures
from isp.release.spec import NATIONAL, REST, ReleaseSpec

if TYPE_CHECKING:
    from isp.governance.request_models import Release, Request

Signature = tuple[str, ...]
"""A leaf as the ground cells it sums: site (or the rest of the country beside named sites),
protocol indicators, sex, age group, nationality."""
Ground = tuple[str, ...]  # part, site, indicator, sex, age_group, nationality, version ("" = as now)
"""A ground cell of the audit: ``part`` is the period itself when every period audited together
is the same, else a month."""
THIS = "this release"


@dataclass(frozen=True)
class Held:
    """One period of an earlier release, as its recipient holds it (rebuilt in memory)."""

    release_id: str
    spec: ReleaseSpec
    rounded: rounding.Rounded
    ground: pd.DataFrame
    period: Period | None = None  # None: the period it is held under (:attr:`Holdings.held`)
    monthly: Mapping[str, pd.DataFrame] | None = None  # its ground per month, where needed


@dataclass
class Holdings:
    """Per period label: the earlier releases' rounded periods and their small cells' rounding."""

    held: dict[str, list[Held]] = field(default_factory=dict)
    monthly: bool = False  # some held period overlaps a new one without being it
    # per period: leaf signature -> (the value the recipient holds for it, its true value then)
    prior: dict[str, dict[Signature, tuple[int, int]]] = field(default_factory=dict)

    def related(self, period: Period) -> list[Held]:
        """The held periods linked to ``period`` by overlaps (the same period included)."""
        months, found = set(period.months), True
        out: list[Held] = list(self.held.get(period.label, []))
        chosen = {id(item) for item in out}
        while found:
            found = False
            for items in self.held.values():
                for item in items:
                    if id(item) not in chosen and item.period is not None and months & set(item.period.months):
                        out.append(item)
                        chosen.add(id(item))
                        months |= set(item.period.months)
                        found = True
        order = {id(item): n for n, item in enumerate(x for items in self.held.values() for x in items)}
        return sorted(out, key=lambda item: order[id(item)])

    def add(self, item: Held) -> None:
        assert item.period is not None
        self.held.setdefault(item.period.label, []).append(item)

    def settle(self, release_id: str) -> None:
        """The periods added as :data:`THIS` release (audited as made with the same figures) are
        ``release_id``'s from now on."""
        for items in self.held.values():
            items[:] = [replace(item, release_id=release_id) if item.release_id == THIS else item for item in items]

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


def linked(new: Sequence[Period], earlier: Sequence[Period]) -> tuple[set[int], bool]:
    """The positions in ``earlier`` of the periods linked to ``new`` by overlaps (directly or
    through others), and whether two linked periods overlap without being the same."""
    months = {m for p in new for m in p.months}
    chosen: set[int] = set()
    found = True
    while found:
        found = False
        for i, period in enumerate(earlier):
            if i not in chosen and months & set(period.months):
                chosen.add(i)
                months |= set(period.months)
                found = True
    every = list(new) + [earlier[i] for i in sorted(chosen)]
    mixed = any(
        a.label != b.label and set(a.months) & set(b.months) for i, a in enumerate(every) for b in every[i + 1 :]
    )
    return chosen, mixed


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


Values = dict[tuple[str, ...], int]  # LEAF order -> count


def _values(ground: pd.DataFrame) -> Values:
    return {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in ground[[*LEAF, "count"]].itertuples(index=False)}


@dataclass(frozen=True)
class _Item:
    """One release's period to audit: its parts (the period itself, or its months, oldest first)."""

    release_id: str
    spec: ReleaseSpec
    result: rounding.Rounded
    label: str
    parts: dict[str, Values]


def _parts(isp: Isp, label: str, ground: pd.DataFrame, monthly: Mapping[str, pd.DataFrame] | None,
           months: bool, others: str) -> dict[str, Values]:  # fmt: skip
    """The period's ground as one part, or as its months once they are checked to make it: flows
    summed, stocks the last month's (else the overlap is refused, naming why)."""
    whole = _values(ground)
    if not months:
        return {label: whole}
    refuse = f"release refused: {label} overlaps {others}, which the recipient holds or is given"
    if monthly is None:
        raise IspError(
            f"{refuse}, and the monthly figures {label} is made of are not all consolidated, so the two "
            "cannot be audited together (ask for the same periods, or periods that do not overlap) "
            "(nothing was written)"
        )
    parts = {month: _values(frame) for month, frame in sorted(monthly.items())}
    last = parts[max(parts)]
    for key in sorted(set(whole) | {k for part in parts.values() for k in part}):
        flow = isp.indicators[key[1]].aggregation == "flow"
        made = sum(part.get(key, 0) for part in parts.values()) if flow else last.get(key, 0)
        if made != whole.get(key, 0):
            why = (
                f"its stock '{isp.indicators[key[1]].name_en}' is not the figure of its last month (an agency "
                "did not report in it)"
                if not flow
                else "its figures are not the sum of its months (run `isp consolidate`)"
            )
            raise IspError(
                f"{refuse}, and {why}, so the monthly figures cannot model it (ask for the same periods, or "
                "periods that do not overlap) (nothing was written)"
            )
    return parts


class _Release:
    """One release's period as sums of ground cells, versioned where its figures were revised."""

    def __init__(self, isp: Isp, item: _Item, changed: set[tuple[str, ...]]) -> None:
        self.isp, self.spec, self.result, self.changed = isp, item.spec, item.result, changed
        self.version = "" if item.release_id == THIS else item.release_id
        self.all = sorted(item.parts)
        self.last = [self.all[-1]]

    def ground(self, key: tuple[str, ...]) -> Ground:
        return (*key, self.version if key in self.changed else "")

    def leaf(self, key: Sequence[str], index: _Index) -> dict[int, float]:
        site, indicator, *rest = key
        return {
            index(self.ground((part, s, source, *rest))): 1.0
            for s in _sites(self.isp, self.spec, site)
            for source in self.spec.indicators.sources(indicator)
            for part in (self.all if self.isp.indicators[source].aggregation == "flow" else self.last)
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
    coords = sorted({(key[0], key[1], *key[3:-1]) for key in index.of if not key[-1]})
    rows = []
    for relation in relations_from_protocol(isp):
        for part, site, *rest in coords:
            members = [(part, site, relation.total, *rest, "")]
            members += [(part, site, member, *rest, "") for member in relation.parts]
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


def _items(isp: Isp, spec: ReleaseSpec, figures: PeriodFigures, result: rounding.Rounded,
           held: Sequence[Held]) -> list[_Item]:  # fmt: skip
    """The new period first, then every held one, each as its parts."""
    label = figures.period.label
    labels = [label] + [item.period.label if item.period else label for item in held]
    months = len(set(labels)) > 1
    others = ", ".join(sorted(set(labels) - {label})) or label
    assert figures.ground is not None
    out = [_Item(THIS, spec, result, label, _parts(isp, label, figures.ground, figures.monthly, months, others))]
    for item, theirs in zip(held, labels[1:], strict=True):
        parts = _parts(isp, theirs, item.ground, item.monthly, months, label)
        out.append(_Item(item.release_id, item.spec, item.rounded, theirs, parts))
    return out


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
    items = _items(isp, spec, figures, result, held)
    months = len({item.label for item in items}) > 1
    reference: dict[str, Values] = {}  # per part: the figures as now (this release's), else as first met
    for item in sorted(items, key=lambda item: item.release_id != THIS):
        for part, values in item.parts.items():
            reference.setdefault(part, values)
    index = _Index()
    truth: dict[Ground, int] = {(part, *k, ""): v for part, values in reference.items() for k, v in values.items()}
    current = _Release(isp, items[0], set())
    facts, targets = current.facts_and_targets(index, False, f" ({items[0].label})" if months else "")
    for item in items[1:]:
        changed = set()
        for part, then in item.parts.items():
            now = reference[part]
            moved = {k for k in set(now) | set(then) if now.get(k, 0) != then.get(k, 0)}
            truth.update({(part, *k, item.release_id): then.get(k, 0) for k in moved})
            changed |= {(part, *k) for k in moved}
        where = [item.label] if months else []
        where += [] if item.release_id == THIS else [f"as released in {item.release_id}"]
        more, also = _Release(isp, item, changed).facts_and_targets(index, True, f" ({', '.join(where)})")
        facts += more
        targets += also
    equal = _relations(isp, index, truth)
    found = combined.narrowed(facts, equal, targets, len(index.of))
    for j, terms in enumerate(current.variables(index)):
        near[j] = bool(found.ground.intersection(terms))
    return found.names, near
