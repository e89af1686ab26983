"""One consolidation run: hash the inputs, plan, execute (see :mod:`.execute`), rename the new
outputs into place, then write the manifests and remove what is no longer made."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from isp.consolidate import inputs, manifest, plan, staging
from isp.consolidate.execute import Progress, execute
from isp.consolidate.hashes import Hashes
from isp.consolidate.layout import Layout
from isp.consolidate.pool import Pool
from isp.consolidate.revisions import revised
from isp.crypto.keys import AGENCY_OUTPUTS
from isp.errors import IspError
from isp.protocol import loading
from isp.protocol import models as protocol


class _Silent:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, phase: str) -> None:
        pass


@dataclass
class Report:
    """What a run did (paths and counts only)."""

    inputs: int
    decrypted: int
    outputs_read: int
    updated: list[str]
    unchanged: int
    removed: list[str]
    revisions_known: bool
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        removed = f", {len(self.removed)} removed" if self.removed else ""
        read = f" and {self.outputs_read} earlier outputs" if self.outputs_read else ""
        return (
            f"{len(self.updated)} outputs updated, {self.unchanged} unchanged{removed} "
            f"(decrypted {self.decrypted} of {self.inputs} submissions{read} in {self.seconds:.1f} s)"
        )


def default_jobs() -> int:
    return max(2, os.cpu_count() or 2)


def run(root: Path, jobs: int | None = None, full: bool = False, progress: Progress | None = None) -> Report:
    """Bring aggregates/ up to date with submissions/ (everything again with ``full``)."""
    started = time.perf_counter()
    root = root.resolve()
    isp = loading.load(root)
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise IspError("--jobs must be at least 1")
    with staging.exclusive(root):
        staging.remove_leftovers(root)
        report = _run(root, isp, Layout.of(isp), jobs, full, progress or _Silent())
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _run(root: Path, isp: protocol.Isp, layout: Layout, jobs: int, full: bool, progress: Progress) -> Report:
    old = _old_manifests(root)
    revisions, known = revised(root)
    staged, cache = staging.Staging(root), Hashes(root)
    try:
        with Pool(jobs, limit=4 * jobs) as pool:
            files = inputs.submission_files(root, isp)
            digests = pool.map(cache.of, [rel for *_, rel in files])
            subs = inputs.describe(isp, files, [str(d) for d in digests])
            hasher: plan.Hasher = lambda rels: dict(zip(rels, pool.map(cache.of, rels), strict=True))  # noqa: E731
            work = plan.build(isp, subs, revisions, old, layout.recipe, full, hasher)
            outcome = execute(root, work, layout, pool, staged, progress)
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    cache.save()
    removed = _record(root, work, old, layout, outcome.written)
    notes = [] if known else ["revisions unknown: no git history to read"]
    updated = sorted(spec.rel for spec in work.stale)
    unchanged = len(work.specs) - len(updated)
    return Report(len(subs), outcome.decrypted, outcome.outputs_read, updated, unchanged, removed, known, notes=notes)


def _old_manifests(root: Path) -> dict[str | None, manifest.Manifest]:
    old: dict[str | None, manifest.Manifest] = {None: manifest.read(root)}
    for path in sorted((root / AGENCY_OUTPUTS).glob("*/manifest.json")):
        old[path.parent.name] = manifest.read(root, path.parent.name)
    return old


def _record(
    root: Path, work: plan.Plan, old: dict[str | None, manifest.Manifest], layout: Layout, written: dict[str, str]
) -> list[str]:
    """Write the manifests (each agency's, then the consolidated one) and remove what is no
    longer made; returns the removed rel paths."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    owners = sorted(set(work.entries) | set(old), key=lambda o: (o is None, o or ""))
    for owner in owners:
        previous = old.get(owner, manifest.empty())
        outputs = {}
        for key, entry in sorted(work.entries.get(owner, {}).items(), key=lambda kv: manifest.sort_key(kv[0])):
            rel = manifest.output_rel(key, owner)
            kept = previous["outputs"].get(key, {})
            stamp = {"sha256": written[rel], "updated": now} if rel in written else _stamp(kept)
            outputs[key] = {**entry, **stamp}
        _write_manifest(root, owner, previous, outputs, layout, now)
    made = {spec.rel for spec in work.specs}
    removed = sorted(set(work.removed) | set(staging.orphans(root, made)))
    staging.remove(root, removed)
    return removed


def _stamp(entry: dict[str, Any]) -> dict[str, Any]:
    return {"sha256": entry["sha256"], "updated": entry["updated"]}


def _write_manifest(
    root: Path, owner: str | None, previous: manifest.Manifest, outputs: dict[str, Any], layout: Layout, now: str
) -> None:
    if owner is not None and not outputs:
        (root / manifest.manifest_rel(owner)).unlink(missing_ok=True)
        return
    doc = {"rules_version": layout.rules_version, "recipe": layout.recipe, "generated": now, "outputs": outputs}
    if not manifest.same_content(previous, doc):
        manifest.write(root, doc, owner)
