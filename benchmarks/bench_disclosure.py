"""Benchmark (d): suppression plus audit of one month's external release.

The month: every submitting agency's synthetic sheet (``isp.demo.synthetic.month_sheet``, 13 sites x
24 disaggregations = 2 sexes x 3 age groups x 4 nationalities), summed; the agencies' own sheets
are the contributions (p% rule, insider attacks). The release: 15 indicators (caseload, the risk
breakdown of new cases, services, unaccompanied children), each as

- ``site x sex`` with margins (the national row is the sites' total), and
- national ``sex x age group x nationality`` with every margin,

linked through their shared margins and through the indicator groups of the protocol (risk levels
sum to new cases; unaccompanied children are part of new cases). ``--layout wide`` adds
``site x age group`` and ``site x nationality`` per indicator.

Measured: ``protect`` (primary rules, then suppress / audit / repeat with the public attacker and
every agency as an insider, until the audit passes), then an independent ``audit`` of the
published tables (``--exact``: also with every interval solved to optimality, which takes
minutes). Run from the repository root:

    python benchmarks/bench_disclosure.py [--repeat 3] [--layout standard|wide] [--exact] [--profile strict]

With a rounding profile (the default ``external`` since issue 11) ``protect`` is small-count
rounding and its audit of every small cell's range (:mod:`isp.disclosure.rounding`); the
suppression figures of before issue 11 are those of ``--profile strict`` (the former external).

Writes benchmarks/results/disclosure.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pandas as pd
import scipy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from isp.demo.synthetic import month_sheet
from isp.disclosure import Table, audit, protect, relations_from_protocol
from isp.protocol.loading import load
from isp.protocol.models import Isp

T = TypeVar("T")
MONTH = "2026-01"
INDICATORS = (
    "new_cases",
    "active_cases",
    "closed_cases",
    "bia_completed",
    "bid_completed",
    "risk_high",
    "risk_medium",
    "risk_low",
    "service_psychosocial",
    "service_health",
    "service_legal",
    "service_education",
    "service_cash",
    "service_ftr",
    "concern_unaccompanied",
)


def machine(load_before: float) -> dict[str, object]:
    """Where a run was measured: Python, scipy, cores and the load around it."""
    return {
        "python": platform.python_version(),
        "scipy": scipy.__version__,
        "cpus": os.cpu_count(),
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def month(isp: Isp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts, contributions) for every submitting agency's sheet of ``MONTH``."""
    sheets = [month_sheet(isp, agency, MONTH).assign(agency=agency) for agency in isp.submitters()]
    contributions = pd.concat(sheets, ignore_index=True)
    keys = [c for c in contributions.columns if c not in ("agency", "count")]
    counts = contributions.groupby(keys, as_index=False, sort=False)["count"].sum()
    return counts, contributions


def release(isp: Isp, counts: pd.DataFrame, layout: str) -> list[Table]:
    order = {**isp.dimension_codes(), "site": list(isp.sites)}
    tables = []
    for code in INDICATORS:
        where = {"indicator": code}
        tables.append(
            Table.from_frame(counts, ["site"], ["sex"], where=where, categories=order, name=f"{code}: site x sex")
        )
        tables.append(
            Table.from_frame(
                counts, ["sex", "age_group"], ["nationality"], where=where, categories=order, name=f"{code}: national"
            )
        )
        if layout == "wide":
            for dim in ("age_group", "nationality"):
                tables.append(
                    Table.from_frame(
                        counts, ["site"], [dim], where=where, categories=order, name=f"{code}: site x {dim}"
                    )
                )
    return tables


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layout", choices=("standard", "wide"), default="standard")
    parser.add_argument(
        "--exact", action="store_true", help="also solve every interval of the audit to optimality (minutes)"
    )
    parser.add_argument("--profile", default="external", help="disclosure profile of protocol.yaml")
    args = parser.parse_args()
    isp = load(ROOT)
    profile = isp.protocol.disclosure.profiles[args.profile]
    if profile.method == "rounding":
        rounding_run(isp, profile, args)
        return
    counts, contributions = month(isp)
    tables = release(isp, counts, args.layout)
    relations = relations_from_protocol(isp)
    load_before = os.getloadavg()[0]
    runs = []
    for _ in range(args.repeat):
        result, wall, cpu = timed(lambda: protect(tables, profile, contributions, relations=relations))
        runs.append((wall, cpu))
    check, audit_wall, audit_cpu = timed(
        lambda: audit(list(result.tables), profile, contributions=contributions, relations=relations)
    )
    exact = None
    if args.exact:
        solved, exact_wall, exact_cpu = timed(
            lambda: audit(list(result.tables), profile, contributions=contributions, relations=relations, exact=True)
        )
        exact = {"wall_s": round(exact_wall, 1), "cpu_s": round(exact_cpu, 1), "passed": solved.ok}
    cells = sum(len(t.shown) for t in result.tables)
    distinct = int(result.pattern["cell"].nunique()) if len(result.pattern) else 0
    reasons = result.pattern.drop_duplicates("cell")["reason"].value_counts().to_dict()
    report = {
        "benchmark": "disclosure (d): suppression plus audit of one month's external release",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "release": {
            "month": MONTH,
            "layout": args.layout,
            "sites": int(counts["site"].nunique()),
            "indicators": len(INDICATORS),
            "disaggregations": int(counts[["sex", "age_group", "nationality"]].drop_duplicates().shape[0]),
            "agencies": len(isp.submitters()),
            "tables": len(tables),
            "cells_in_tables": cells,
            "suppressed_distinct_cells": distinct,
            "suppressed_by_reason": {str(k): int(v) for k, v in reasons.items()},
            "profile": profile.model_dump(),
        },
        "protect": {
            "wall_median_s": round(statistics.median(w for w, _ in runs), 3),
            "wall_min_s": round(min(w for w, _ in runs), 3),
            "cpu_median_s": round(statistics.median(c for _, c in runs), 3),
            "runs": len(runs),
            "rounds": result.rounds,
            "audit_passed": result.report.ok,
            "attackers": sorted(set(result.report.intervals["attacker"])),
            "target_s": 10,
        },
        "independent_audit": {
            "wall_s": round(audit_wall, 3),
            "cpu_s": round(audit_cpu, 3),
            "passed": check.ok,
            "intervals": len(check.intervals),
        },
        "exact_audit": exact,
    }
    out = ROOT / "benchmarks" / "results" / "disclosure.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous[args.layout if args.profile == "external" else f"{args.layout}@{args.profile}"] = report
    out.write_text(json.dumps(previous, indent=2) + "\n")
    print(json.dumps(report, indent=2))


def rounding_run(isp: Isp, profile: object, args: argparse.Namespace) -> None:
    """Small-count rounding of the same release, then its audit (every small cell's range)."""
    from isp.disclosure.rounding import small_count_round, witness_ranges

    counts, _ = month(isp)
    tables = release(isp, counts, args.layout)
    relations = relations_from_protocol(isp)
    load_before = os.getloadavg()[0]
    runs = []
    for _ in range(args.repeat):
        result, wall, cpu = timed(lambda: small_count_round(tables, profile, relations=relations))  # type: ignore[arg-type]
        runs.append((wall, cpu))
    failures, audit_wall, audit_cpu = timed(lambda: witness_ranges(result))
    truth = result.model.value
    published = result.published
    assert truth is not None
    report = {
        "benchmark": "disclosure (d): small-count rounding plus audit of one month's external release",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(load_before),
        "release": {
            "month": MONTH,
            "layout": args.layout,
            "tables": len(tables),
            "distinct_cells": len(truth),
            "cells_exact": int((published == truth).sum()),
            "cells_changed": int((published != truth).sum()),
            "cells_hidden": 0,
            "mean_abs_change": round(float(abs(published - truth).mean()), 3),
            "greedy_blocks": result.greedy_blocks,
            "profile": profile.model_dump(),  # type: ignore[attr-defined]
        },
        "protect": {
            "wall_median_s": round(statistics.median(w for w, _ in runs), 3),
            "cpu_median_s": round(statistics.median(c for _, c in runs), 3),
            "runs": len(runs),
        },
        "audit": {"wall_s": round(audit_wall, 3), "cpu_s": round(audit_cpu, 3), "passed": not failures},
    }
    out = ROOT / "benchmarks" / "results" / "disclosure.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous[f"{args.layout}@{args.profile}"] = report
    out.write_text(json.dumps(previous, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
