"""Where each stale consolidated output's figures come from, chosen to decrypt as little as
possible (an agency's year file is always made from its submissions: :mod:`.execute`).

- **Direct**: from the submissions of the period (always right; needs them all decrypted).
- **Derived**: from the outputs one level down (a quarter from its months, a half from its
  quarters, a year from its halves): flows are their sum, stocks are the last child's. A child is
  either computed in this run or, when it is up to date, read back from its encrypted output.
  This is exact when every agency that reported within the period also reported within its last
  child (otherwise an agency's latest stock would sit in an earlier child, mixed with the
  others': the period is then Direct).

A resubmitted December thus costs December's submissions plus a few earlier outputs, instead of
the whole year's submissions; a full run derives every period in memory from its months.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from isp.consolidate.inputs import Submission
from isp.consolidate.plan import Spec
from isp.protocol.periods import PeriodKind, period_of

CHILD_KIND: dict[PeriodKind, PeriodKind] = {"quarterly": "monthly", "half-yearly": "quarterly", "annual": "half-yearly"}


@dataclass(frozen=True)
class Direct:
    spec: Spec


@dataclass(frozen=True)
class Stored:
    spec: Spec


@dataclass(frozen=True)
class Derived:
    spec: Spec
    children: tuple[Source, ...]


Source = Direct | Stored | Derived


class Chooser:
    """Chooses, once per output, how to obtain it."""

    def __init__(self, specs: list[Spec], stale: list[Spec]) -> None:
        self._specs = {s.key: s for s in specs}
        self._stale = {s.rel for s in stale}
        self._chosen: dict[str, Source] = {}

    def __call__(self, spec: Spec) -> Source:
        if spec.rel not in self._chosen:
            self._chosen[spec.rel] = self._choose(spec)
        return self._chosen[spec.rel]

    def _children(self, spec: Spec) -> list[Spec]:
        kind = CHILD_KIND[spec.period.kind]
        labels = dict.fromkeys(period_of(m, kind).label for m in spec.period.months)
        found = (self._specs.get(f"{kind}/{label}") for label in labels)
        return [child for child in found if child is not None and child.inputs]

    def _choose(self, spec: Spec) -> Source:
        if spec.period.kind not in CHILD_KIND or not spec.inputs:
            return Direct(spec)
        children = self._children(spec)
        if _agencies(spec.inputs) != _agencies(children[-1].inputs):
            return Direct(spec)
        return Derived(spec, tuple(self(c) if c.rel in self._stale else Stored(c) for c in children))


def _agencies(subs: tuple[Submission, ...]) -> set[str]:
    return {s.agency for s in subs}


def walk(sources: list[Source]) -> Iterator[Source]:
    """Every source reachable from ``sources``, each once."""
    seen: set[str] = set()
    stack = list(sources)
    while stack:
        source = stack.pop()
        if source.spec.rel in seen:
            continue
        seen.add(source.spec.rel)
        yield source
        if isinstance(source, Derived):
            stack.extend(source.children)


def needs(sources: list[Source]) -> tuple[set[Submission], set[Spec]]:
    """The submissions and the earlier outputs to decrypt for ``sources``."""
    subs: set[Submission] = set()
    stored: set[Spec] = set()
    for source in walk(sources):
        if isinstance(source, Direct):
            subs.update(source.spec.inputs)
        elif isinstance(source, Stored):
            stored.add(source.spec)
    return subs, stored
