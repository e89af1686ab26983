"""Benchmark: building a release package from synthetic figures, for request shapes of growing size.

Everything after decryption is measured, in memory (no sops, no git): the leaves from the
consolidated period and each agency's contributions (``consolidate_range``), disclosure control
(secondary suppression with the attacker's audit in the loop), the percentages, the final audit
of everything published, and rendering the six files. Decryption and the governance gate are
measured by bench_consolidate.py and bench_requests.py.

Shapes (all with the five sheet-submitting agencies' synthetic months):

- ``small``: national, 5 indicators (the tests' request), one quarter;
- ``national``: national, every indicator, one quarter;
- ``sectoral``: the sectoral report's standing request, national, every indicator, one half-year;
- ``governorates-small``: the five indicators of ``small``, one quarter, by governorate (and the
  rest): 10 s, but 560 of 640 cells suppressed (most places have two contributing agencies, and
  each would learn the other's figures from a published cell);
- ``governorates`` and ``sites`` (not run by default): every indicator, one quarter, by governorate
  or by site. ``governorates`` stops after about 13 minutes with "the breakdown is too fine for
  this profile" (measured 2026-11-26); ask for national figures, or a few indicators by place.

Run from the repository root:  python benchmarks/bench_release.py [--shapes small,national] [--timeout 1800]
Writes benchmarks/results/release.json. A shape that exceeds --timeout seconds is recorded as such.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SMALL = ["new_cases", "active_cases", "concern_child_labour", "concern_early_marriage", "concern_sexual_violence"]
SHAPES: dict[str, dict[str, Any]] = {
    "small": {"periods": ["2026-Q1"], "indicators": SMALL, "geography": "national"},
    "national": {"periods": ["2026-Q1"], "indicators": "all", "geography": "national"},
    "sectoral": {"periods": ["2026-H1"], "indicators": "all", "geography": "national"},
    "governorates-small": {"periods": ["2026-Q1"], "indicators": SMALL, "geography": "governorates"},
    "governorates": {"periods": ["2026-Q1"], "indicators": "all", "geography": "governorates"},
    "sites": {"periods": ["2026-Q1"], "indicators": "all", "geography": "sites"},
}
DEFAULT_SHAPES = ("small", "national", "sectoral")


def run(shape: str, queue: multiprocessing.Queue) -> None:
    from datetime import date

    import pandas as pd

    from isp.consolidate import consolidate_range
    from isp.demo import synthetic
    from isp.protocol import loading
    from isp.release import build as release
    from isp.release import protect as release_protect
    from isp.release.cube import contributions, leaves
    from isp.release.package import Package, ReleaseMeta, labels_for, with_period_bounds
    from isp.release.sources import PeriodFigures
    from isp.release.spec import read_spec

    isp = loading.load(ROOT)
    spec = read_spec(isp, SHAPES[shape], f"bench:{shape}")
    plan, geo = spec.indicators, spec.geography
    nums = tuple(n for n, _ in plan.percents)
    start = time.perf_counter()
    figures = []
    for period in spec.periods:
        frames = {a: pd.concat([synthetic.month_sheet(isp, a, m) for m in period.months]) for a in isp.submitters()}
        total = consolidate_range(frames, isp, period)
        per_agency = {a: consolidate_range({a: f}, isp, period) for a, f in frames.items()}
        figures.append(
            PeriodFigures(
                period,
                leaves(total, plan, geo, plan.counts),
                leaves(total, plan, geo, nums),
                contributions(per_agency, plan, geo, plan.counts + nums),
            )
        )
    prepared = time.perf_counter()
    protected = release_protect.protect(isp, spec, figures, "external")
    protected_at = time.perf_counter()
    meta = ReleaseMeta("REL-BENCH-1", "BENCH", "Benchmark", "Benchmark", date(2026, 7, 20), "external",
                       tuple(isp.protocol.sharing.disclaimers), spec.periods)  # fmt: skip
    package = Package(
        meta, with_period_bounds(protected.table, spec.periods), labels_for(isp, plan), protected.suppressed
    )
    files = release.render_files(package, ROOT)
    done = time.perf_counter()
    counts = protected.table[protected.table["measure"] == "count"]
    queue.put(
        {
            "cells": len(counts),
            "suppressed": protected.suppressed,
            "percentages_shown": int(
                ((protected.table["measure"] == "percent") & (protected.table["note"] == "")).sum()
            ),
            "prepare_s": round(prepared - start, 2),
            "protect_and_audit_s": round(protected_at - prepared, 2),
            "render_s": round(done - protected_at, 2),
            "total_s": round(done - start, 2),
            "bytes": sum(len(b) for b in files.values()),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(DEFAULT_SHAPES), help=f"among {', '.join(SHAPES)}")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version(), "shapes": {}}
    for shape in args.shapes.split(","):
        queue: multiprocessing.Queue = multiprocessing.Queue()
        proc = multiprocessing.Process(target=run, args=(shape, queue))
        began = time.perf_counter()
        proc.start()
        proc.join(args.timeout)
        if proc.is_alive():
            proc.terminate()
            proc.join()
            outcome: dict[str, Any] = {"timeout_s": args.timeout}
        else:
            outcome = queue.get() if not queue.empty() else {"error": f"exit code {proc.exitcode}"}
        outcome["wall_s"] = round(time.perf_counter() - began, 2)
        results["shapes"][shape] = {"request": SHAPES[shape], **outcome}
        print(shape, json.dumps(outcome), flush=True)
    out = ROOT / "benchmarks" / "results" / "release.json"
    previous = json.loads(out.read_text()) if out.exists() else {"shapes": {}}
    results["shapes"] = {**previous.get("shapes", {}), **results["shapes"]}
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
