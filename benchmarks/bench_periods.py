"""Benchmark: the year released to a recipient who holds its four quarters (the audit across
overlapping periods, :mod:`isp.release.holdings`), on the demo's synthetic sheets.

Twelve months of the five sheet-submitting agencies (``isp.demo.synthetic``), consolidated in
memory as ``isp consolidate`` does (``consolidate_range``: each month, each quarter, the year);
the release tests' request (five indicators, national and Amman apart). The four quarters are
released first (rounded and audited one after the other, as a release is), then the year:
measured are the year's rounding with the audit in the loop, and the final audit alone. No sops,
no git: decryption is measured by bench_consolidate.py.

Run from the repository root:  python benchmarks/bench_periods.py
Writes benchmarks/results/periods.json.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INDICATORS = ["new_cases", "active_cases", "concern_child_labour", "concern_early_marriage", "concern_sexual_violence"]
QUARTERS = {"periods": ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"], "indicators": INDICATORS,
            "geography": ["national", "JO11"]}  # fmt: skip
YEAR = {**QUARTERS, "periods": ["2026"]}


def main() -> dict[str, Any]:
    import pandas as pd

    from isp.consolidate import consolidate_range
    from isp.demo import synthetic
    from isp.protocol import loading
    from isp.protocol.periods import Period, period_of
    from isp.release import holdings
    from isp.release.cube import leaves
    from isp.release.protect import round_period
    from isp.release.sources import PeriodFigures, ground_of
    from isp.release.spec import read_spec

    isp = loading.load(ROOT)
    profile = isp.protocol.disclosure.profiles["external"]
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    frames = {a: pd.concat([synthetic.month_sheet(isp, a, m) for m in months]) for a in isp.submitters()}
    monthly = {m: ground_of(consolidate_range(frames, isp, period_of(m, "monthly"))) for m in months}

    def figures(spec: Any, period: Period) -> PeriodFigures:
        total = consolidate_range(frames, isp, period)
        total = total[total["indicator"].notna()]
        plan, geo = spec.indicators, spec.geography
        nums = tuple(n for n, _ in plan.percents)
        none = pd.DataFrame(columns=["site", "indicator", "sex", "age_group", "nationality", "count", "agency"])
        return PeriodFigures(period, leaves(total, plan, geo, plan.counts), leaves(total, plan, geo, nums), none,
                             ground=ground_of(total), monthly={m: monthly[m] for m in period.months})  # fmt: skip

    quarters, year_spec = read_spec(isp, QUARTERS, "bench:quarters"), read_spec(isp, YEAR, "bench:year")
    held = holdings.Holdings(monthly=True)
    started = time.perf_counter()
    for period in quarters.periods:
        made = figures(quarters, period)
        result = round_period(isp, quarters, made, profile, held)
        held.add(holdings.Held(holdings.THIS, quarters, result, made.ground, period, made.monthly))
    held.settle("REL-BENCH-1")
    quarters_done = time.perf_counter()
    (year,) = year_spec.periods
    made = figures(year_spec, year)
    prepared = time.perf_counter()
    result = round_period(isp, year_spec, made, profile, held)
    rounded = time.perf_counter()
    narrowed = holdings.check(isp, year_spec, made, result, held.related(year))
    audited = time.perf_counter()
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cells_per_period": int(result.model.n_vars),
        "quarters_released_s": round(quarters_done - started, 2),
        "year_rounded_with_audit_s": round(rounded - prepared, 2),
        "year_final_audit_s": round(audited - rounded, 2),
        "year_refused_cells": len(narrowed),
    }


if __name__ == "__main__":
    out = main()
    print(json.dumps(out, indent=2))
    (ROOT / "benchmarks" / "results" / "periods.json").write_text(json.dumps(out, indent=2) + "\n")
