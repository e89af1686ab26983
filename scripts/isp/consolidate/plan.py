"""What a run must make: every output, its inputs, its manifest entry, and which are stale.

Outputs are the periods (month, quarter, half, year) that contain a submitted month: consolidated
over every agency, and each agency's own. An output is stale when its inputs' hashes differ from
the manifest's, when its file is missing or is not the file the manifest recorded (a run killed
between writing outputs and writing the manifest), when the recipe changed, or under ``--full``.
Only stale outputs are computed (:mod:`.sources` decides from what).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from isp.consolidate import manifest
from isp.consolidate.inputs import Submission
from isp.periods import Period, periods_covering
from isp.protocol import Isp

Hasher = Callable[[list[str]], dict[str, str | None]]


@dataclass(frozen=True)
class Spec:
    """One output: its period, whose (None: consolidated), and the submissions it is made from."""

    period: Period
    agency: str | None
    inputs: tuple[Submission, ...]

    @property
    def key(self) -> str:
        return f"{self.period.kind}/{self.period.label}"

    @property
    def rel(self) -> str:
        return manifest.output_rel(self.key, self.agency)

    @property
    def year(self) -> str:
        return self.period.first[:4]

    @cached_property
    def hashes(self) -> list[str]:
        return sorted(sub.sha256 for sub in self.inputs)


@dataclass
class Plan:
    """Every output of this run's inputs, the stale ones, the ones no longer made (rel paths), and
    every manifest entry (by owner: None for the consolidated manifest, else the agency)."""

    specs: list[Spec]
    stale: list[Spec]
    removed: list[str]
    entries: dict[str | None, dict[str, dict[str, Any]]] = field(default_factory=dict)


def _by_month(subs: list[Submission]) -> dict[str, list[Submission]]:
    months: dict[str, list[Submission]] = defaultdict(list)
    for sub in subs:
        months[sub.month].append(sub)
    return months


def _specs_for(subs: list[Submission], agency: str | None) -> list[Spec]:
    months = _by_month(subs)
    specs = []
    for period in periods_covering(sorted(months)):
        inputs = [s for m in period.months for s in months.get(m, []) if agency is not None or not s.suspended]
        specs.append(Spec(period, agency, tuple(inputs)))
    return specs


def all_specs(subs: list[Submission]) -> list[Spec]:
    """Consolidated outputs first, then each agency's."""
    specs = _specs_for(subs, None)
    for agency in sorted({s.agency for s in subs}):
        specs += _specs_for([s for s in subs if s.agency == agency], agency)
    return specs


def entry(spec: Spec, isp: Isp, revisions: set[tuple[str, str]]) -> dict[str, Any]:
    """The manifest entry of ``spec``, apart from its file hash and time (known once written)."""
    revised = sorted({s.month for s in spec.inputs if (s.agency, s.month) in revisions})
    agencies = [spec.agency] if spec.agency else isp.submitters()
    suspended = sum(isp.agencies[a].suspended_in(m) is not None for a in agencies for m in spec.period.months)
    doc: dict[str, Any] = {
        "inputs": spec.hashes,
        "months": sorted({s.month for s in spec.inputs}),
        "revised": bool(revised),
        "revised_months": revised,
        "suspended": suspended,
    }
    if spec.agency is None:
        expected = len(agencies)
        doc["coverage"] = {
            "reported": len({s.agency for s in spec.inputs}),
            "expected": expected,
            "agency_months": {"reported": len(spec.inputs), "expected": expected * len(spec.period.months)},
        }
    return doc


def _recorded(fresh: dict[str | None, manifest.Manifest], spec: Spec) -> dict[str, Any]:
    """The manifest entry ``spec`` had, if the manifest can still be trusted ({} otherwise)."""
    entry: dict[str, Any] = fresh.get(spec.agency, {}).get("outputs", {}).get(spec.key, {})
    return entry if entry.get("inputs") == spec.hashes else {}


def build(
    isp: Isp,
    subs: list[Submission],
    revisions: set[tuple[str, str]],
    old: dict[str | None, manifest.Manifest],
    recipe: str,
    full: bool,
    hasher: Hasher,
) -> Plan:
    """Every output, the stale ones, and the outputs that are no longer made."""
    specs = all_specs(subs)
    fresh = {owner: doc for owner, doc in old.items() if doc.get("recipe") == recipe and not full}
    candidates = [s for s in specs if _recorded(fresh, s)]
    hashes = hasher([s.rel for s in candidates])
    stale = [s for s in specs if not _recorded(fresh, s) or _recorded(fresh, s).get("sha256") != hashes.get(s.rel)]
    made = {s.rel for s in specs}
    removed = sorted(
        manifest.output_rel(key, owner) for owner, doc in old.items() for key in doc["outputs"]
        if manifest.output_rel(key, owner) not in made
    )  # fmt: skip
    entries: dict[str | None, dict[str, dict[str, Any]]] = defaultdict(dict)
    for spec in specs:
        entries[spec.agency][spec.key] = entry(spec, isp, revisions)
    return Plan(specs, stale, removed, dict(entries))
