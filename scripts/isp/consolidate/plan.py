"""What a run must make: every output, its inputs, its manifest entry, and which are stale.

Two kinds of output:

- a consolidated :class:`Spec`: one period (month, quarter, half, year) over every agency,
  ``aggregates/<kind>/<label>.csv``, for every period that contains a submitted month;
- an agency's :class:`Bundle`: one file per agency and calendar year,
  ``aggregates/agency/<AGENCY>/<YYYY>.csv``, holding every period of that year it submitted in
  (one sops process per agency-year instead of one per agency-period).

An output is stale when its inputs' hashes differ from the manifest's, when its file is missing
or is not the file the manifest recorded (a run killed between writing outputs and writing the
manifest), when the recipe changed, or under ``--full``. Only stale outputs are computed
(:mod:`.sources` decides from what for consolidated outputs; a year file is always made from
that agency's submissions of the year, see :mod:`.execute`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from isp.consolidate import manifest
from isp.consolidate.inputs import Submission
from isp.protocol.models import Isp
from isp.protocol.periods import PERIOD_KINDS, Period, month_range, periods_covering

Hasher = Callable[[list[str]], dict[str, str | None]]


@dataclass(frozen=True)
class Spec:
    """One consolidated output: its period and the submissions it is made from."""

    period: Period
    inputs: tuple[Submission, ...]

    owner = None  # the consolidated manifest

    @property
    def key(self) -> str:
        return f"{self.period.kind}/{self.period.label}"

    @property
    def rel(self) -> str:
        return manifest.output_rel(self.key)

    @property
    def year(self) -> str:
        return self.period.first[:4]

    @property
    def months(self) -> list[str]:
        return self.period.months

    @cached_property
    def hashes(self) -> list[str]:
        return sorted(sub.sha256 for sub in self.inputs)


@dataclass(frozen=True)
class Bundle:
    """One agency's year file: every period of ``year`` holding a month the agency submitted."""

    agency: str
    year: str
    inputs: tuple[Submission, ...]

    @property
    def owner(self) -> str:
        return self.agency

    @property
    def key(self) -> str:
        return self.year

    @property
    def rel(self) -> str:
        return manifest.output_rel(self.key, self.agency)

    @property
    def months(self) -> list[str]:
        return month_range(f"{self.year}-01", f"{self.year}-12")

    @cached_property
    def periods(self) -> list[Period]:
        """In file order: monthly, quarterly, half-yearly, annual, each by label."""
        found = periods_covering(sorted({s.month for s in self.inputs}))
        return sorted(found, key=lambda p: (PERIOD_KINDS.index(p.kind), p.label))

    @cached_property
    def hashes(self) -> list[str]:
        return sorted(sub.sha256 for sub in self.inputs)


Output = Spec | Bundle


@dataclass
class Plan:
    """Every output of this run's inputs, the stale ones, the ones no longer made (rel paths), and
    every manifest entry (by owner: None for the consolidated manifest, else the agency)."""

    specs: list[Output]
    stale: list[Output]
    removed: list[str]
    entries: dict[str | None, dict[str, manifest.Planned]] = field(default_factory=dict)

    @property
    def stale_specs(self) -> list[Spec]:
        return [s for s in self.stale if isinstance(s, Spec)]

    @property
    def stale_bundles(self) -> list[Bundle]:
        return [s for s in self.stale if isinstance(s, Bundle)]


def _by_month(subs: list[Submission]) -> dict[str, list[Submission]]:
    months: dict[str, list[Submission]] = defaultdict(list)
    for sub in subs:
        months[sub.month].append(sub)
    return months


def consolidated_specs(subs: list[Submission]) -> list[Spec]:
    """Every consolidated period; a suspended agency's months are not among its inputs."""
    months = _by_month(subs)
    specs = []
    for period in periods_covering(sorted(months)):
        inputs = [s for m in period.months for s in months.get(m, []) if not s.suspended]
        specs.append(Spec(period, tuple(inputs)))
    return specs


def agency_bundles(subs: list[Submission]) -> list[Bundle]:
    """One bundle per agency and year it submitted in (suspended months included: they are its own)."""
    found: dict[tuple[str, str], list[Submission]] = defaultdict(list)
    for sub in subs:
        found[(sub.agency, sub.year)].append(sub)
    return [Bundle(agency, year, tuple(inputs)) for (agency, year), inputs in sorted(found.items())]


def all_specs(subs: list[Submission]) -> list[Output]:
    """Consolidated outputs first, then each agency's year files."""
    return [*consolidated_specs(subs), *agency_bundles(subs)]


def entry(spec: Output, isp: Isp, revisions: set[tuple[str, str]]) -> manifest.Planned:
    """The manifest entry of ``spec``, apart from its file hash and time (known once written)."""
    revised = sorted({s.month for s in spec.inputs if (s.agency, s.month) in revisions})
    agencies = [spec.owner] if spec.owner else isp.submitters()
    suspended = sum(isp.agencies[a].suspended_in(m) is not None for a in agencies for m in spec.months)
    doc: manifest.Planned = {
        "inputs": spec.hashes,
        "months": sorted({s.month for s in spec.inputs}),
        "revised": bool(revised),
        "revised_months": revised,
        "suspended": suspended,
    }
    if isinstance(spec, Bundle):
        doc["periods"] = [f"{p.kind}/{p.label}" for p in spec.periods]
    else:
        expected = len(agencies)
        doc["coverage"] = {
            "reported": len({s.agency for s in spec.inputs}),
            "expected": expected,
            "agency_months": {"reported": len(spec.inputs), "expected": expected * len(spec.months)},
        }
    return doc


def _recorded(fresh: dict[str | None, manifest.Manifest], spec: Output) -> manifest.Entry | None:
    """The manifest entry ``spec`` had, if the manifest can still be trusted (None otherwise)."""
    doc = fresh.get(spec.owner)
    entry = doc["outputs"].get(spec.key) if doc else None
    return entry if entry and entry.get("inputs") == spec.hashes else None


def _unchanged(spec: Output, recorded: manifest.Entry | None, hashes: dict[str, str | None]) -> bool:
    """Recorded with the same inputs, and its file is the one the manifest recorded."""
    return recorded is not None and recorded.get("sha256") == hashes.get(spec.rel)


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
    recorded = {s.rel: _recorded(fresh, s) for s in specs}
    hashes = hasher([s.rel for s in specs if recorded[s.rel]])
    stale = [s for s in specs if not _unchanged(s, recorded[s.rel], hashes)]
    made = {s.rel for s in specs}
    removed = sorted(
        manifest.output_rel(key, owner) for owner, doc in old.items() for key in doc["outputs"]
        if manifest.output_rel(key, owner) not in made
    )  # fmt: skip
    entries: dict[str | None, dict[str, manifest.Planned]] = defaultdict(dict)
    for spec in specs:
        entries[spec.owner][spec.key] = entry(spec, isp, revisions)
    return Plan(specs, stale, removed, dict(entries))
