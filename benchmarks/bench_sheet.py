"""Benchmark: the tracking sheet's way in, on the largest agency's sheet (UNHCR: 13 sites, 8,424 cells).

- ``validate_bytes`` for each accepted layout (tidy CSV, filled template, RAIS-CPIMS CSV and
  workbook exports, CPIMS stand-alone workbook export);
- ``isp template`` (the workbook) and ``isp submit`` (validate, normalise, encrypt, atomic write);
- ``isp validate`` over a repository of 6 agencies x 12 months of real envelopes (decrypt in
  memory, validate each).

Everything is real (sops, age). Run from the repository root:
    python benchmarks/bench_sheet.py [--repeat 5] [--months 12]
Writes benchmarks/results/sheet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import AGENCIES, make_isp_repo, make_keyring, patched_env, write_submission
from tests.sheets import helpers as sf

from isp.protocol.periods import add_months
from isp.sheets import repository as repo_validate
from isp.sheets import submit
from isp.sheets import template as sheet_template
from isp.sheets import validate as validation


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return {"median_s": round(statistics.median(runs), 4), "min_s": round(min(runs), 4)}


def layouts(repeat: int) -> dict[str, dict[str, float]]:
    isp = sf.load_isp()
    frame = sf.sheet(isp, "UNHCR")
    inputs = {
        "tidy.csv": sf.csv_bytes(frame),
        "template.xlsx": sf.filled_template(isp, frame, "UNHCR"),
        "rais.csv": sf.rais_export(frame, "UNHCR"),
        "rais.xlsx": sf.rais_export(frame, "UNHCR", "xlsx"),
        "cpims.xlsx": sf.cpims_export(frame),
    }
    out = {}
    for name, data in inputs.items():
        _, problems = validation.validate_bytes(data, name, isp, "UNHCR", sf.MONTH)
        assert problems == [], problems
        out[name] = {
            "bytes": len(data),
            **timed(lambda d=data, n=name: validation.validate_bytes(d, n, isp, "UNHCR", sf.MONTH), repeat),
        }
    out["template (write)"] = timed(lambda: sheet_template.workbook_bytes(isp, "UNHCR", sf.MONTH), repeat)
    return out


def end_to_end(work: Path, repeat: int, months: int) -> dict[str, object]:
    ring = make_keyring(work / "keys")
    repo = make_isp_repo(work / "isp", ring)
    source = work / "unhcr.xlsx"
    isp = repo.load()
    source.write_bytes(sf.filled_template(isp, sf.sheet(isp, "UNHCR"), "UNHCR"))
    results: dict[str, object] = {
        "submit UNHCR workbook": timed(lambda: submit.submit(repo.root, source, "UNHCR", sf.MONTH), repeat)
    }
    for agency in AGENCIES:
        if isp.agencies[agency].submits_sheets:
            for i in range(months):
                write_submission(repo, agency, add_months("2025-01", i))
    files = len(list((repo.root / "submissions").rglob("*.csv")))
    with patched_env(ring.env("ci")):
        run = timed(lambda: repo_validate.validate_repo(repo.root), max(1, repeat // 2))
        problems = [p for o in repo_validate.validate_repo(repo.root) for p in o.problems]
    assert not problems, problems[:3]
    results["isp validate (repository)"] = {
        **run,
        "submissions": files,
        "per_submission_ms": round(run["median_s"] / files * 1000, 1),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("SOPS_DISABLE_VERSION_CHECK", "1")
    with tempfile.TemporaryDirectory(prefix="isp-bench-sheet-") as tmp:
        report = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()[0]},
            "validate_bytes (UNHCR, 8,424 cells)": layouts(args.repeat),
            "end to end": end_to_end(Path(tmp), args.repeat, args.months),
        }
    out = ROOT / "benchmarks" / "results" / "sheet.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
