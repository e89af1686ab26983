"""Benchmarks for `isp consolidate` (issue 4, benchmarks a, b, c). Real sops, real age keys.

(a) 6 agencies x 13 sites x 120 months (720 submissions), full run, against the floor: decrypting
    every input once with sops at the same parallelism. Also measured: the cost of encrypting
    every output once (the other unavoidable sops work), to show where the time goes.
(b) incremental runs after one new submission: a resubmission of the last month of the last year
    (the worst case: every output of that year is stale and the whole year is decrypted), and
    the first submission of a new year (the usual case at the start of a year).
(c) 50 agencies x 40 sites x 120 months (6000 submissions), each agency working in 10 of the 40
    sites: completes; time and peak memory. (The in-memory year block is dense over all 40 sites
    whatever the coverage, so memory is as for full coverage; the sops work is a quarter of it.)

The repositories come from benchmarks/generate.py (agencies AG01.., each submitting for every
site). Times are wall-clock seconds; CPU seconds (this process and its sops children) are given
too because the machine is shared and wall time depends on what else runs; the load average
before and after each measurement is recorded.

    python benchmarks/bench_consolidate.py --scenarios a,b --repeat 3
    python benchmarks/bench_consolidate.py --scenarios c --repeat 1

Writes (merges into) benchmarks/results/consolidate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate

from isp import consolidate
from isp.consolidate import inputs
from isp.crypto import sops as crypto
from isp.protocol import loading
from isp.protocol.periods import add_months

RESULTS = ROOT / "benchmarks/results/consolidate.json"
SIZES = {"a": (6, 13, 120, None), "c": (50, 40, 120, 10)}  # agencies, sites, months, sites per agency


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(label: str, fn: Callable[[], Any]) -> dict[str, Any]:
    """Wall and CPU seconds of ``fn()``, with the load average around it."""
    load = os.getloadavg()[0]
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = fn()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    row = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_before": round(load, 2)}
    row["load_after"] = round(os.getloadavg()[0], 2)
    print(f"  {label}: {row}", file=sys.stderr)
    return {**row, "result": result}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    walls, cpus = [r["wall_s"] for r in rows], [r["cpu_s"] for r in rows]
    return {
        "wall_s_min": min(walls), "wall_s_median": round(statistics.median(walls), 2),
        "cpu_s_min": min(cpus), "cpu_s_median": round(statistics.median(cpus), 2),
        "runs": [{k: v for k, v in r.items() if k != "result"} for r in rows],
    }  # fmt: skip


def repository(work: Path, name: str, jobs: int, git: bool) -> tuple[Path, Path]:
    """The generated repository for scenario ``name`` (made once, reused afterwards)."""
    root, keys_dir = work / name, work / f"{name}-keys"
    if not (keys_dir / "ci.agekey").exists() or not (root / "submissions").exists():
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(keys_dir, ignore_errors=True)
        agencies, sites, months, per_agency = SIZES[name]
        print(f"generating {name}: {agencies} x {sites} x {months}", file=sys.stderr)

        def make() -> Path:
            return generate.generate(root, agencies, sites, months, jobs=jobs, git=git, sites_per_agency=per_agency)

        row = measure(f"generate {name}", make)
        (work / f"{name}-generated.json").write_text(json.dumps({k: v for k, v in row.items() if k != "result"}))
    os.environ["SOPS_AGE_KEY_FILE"] = str(keys_dir / "ci.agekey")
    os.environ.pop("SOPS_AGE_KEY", None)
    return root, keys_dir


def floor(root: Path, jobs: int) -> int:
    """Decrypt every submission once with sops, ``jobs`` at a time; the plaintext is dropped."""
    paths = sorted(root.glob("submissions/*/*.csv"))
    for _path, result in crypto.decrypt_many(paths, jobs):
        if isinstance(result, crypto.CryptoError):
            raise result
    return len(paths)


def encrypt_floor(root: Path, jobs: int) -> dict[str, Any]:
    """Encrypt every output's plaintext once, ``jobs`` at a time (timed); decrypting them to get
    the plaintexts is not timed."""
    rels = consolidate.list_outputs(root)
    for agency in loading.load(root).submitters():
        rels += consolidate.list_agency_outputs(root, agency)
    plain = dict(zip(rels, (r for _, r in crypto.decrypt_many([root / rel for rel in rels], jobs)), strict=True))

    def encrypt_all() -> int:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(lambda rel: crypto.encrypt(root, rel, plain[rel]), rels))  # type: ignore[arg-type]
        return len(rels)

    row = measure("encrypt every output once", encrypt_all)
    return {"outputs": row.pop("result"), **row}


def run_library(root: Path, jobs: int, full: bool) -> dict[str, Any]:
    report = consolidate.run(root, jobs=jobs, full=full)
    return {"updated": len(report.updated), "unchanged": report.unchanged, "decrypted": report.decrypted,
            "outputs_read": report.outputs_read, "inputs": report.inputs,
            "revisions_known": report.revisions_known}  # fmt: skip


def consolidated_only(root: Path, jobs: int) -> dict[str, Any]:
    """The same pipeline as a full run with the per-agency tables left out (staged, then
    discarded: nothing is written), to see what the consolidated tables alone cost."""
    from isp.consolidate import plan, staging
    from isp.consolidate.execute import execute
    from isp.consolidate.hashes import Hashes
    from isp.consolidate.layout import Layout
    from isp.consolidate.pool import Pool
    from isp.consolidate.run import _Silent

    isp = loading.load(root)
    layout, staged, cache = Layout.of(isp), staging.Staging(root), Hashes(root)
    try:
        with Pool(jobs, limit=4 * jobs) as pool:
            files = inputs.submission_files(root, isp)
            subs = inputs.describe(isp, files, [str(d) for d in pool.map(cache.of, [f[2] for f in files])])
            work = plan.build(isp, subs, set(), {None: {"outputs": {}}}, layout.recipe, True, lambda rels: {})
            work.specs = [s for s in work.specs if s.owner is None]
            work.stale = [s for s in work.stale if s.owner is None]
            outcome = execute(root, work, layout, pool, staged, _Silent())
    finally:
        staged.discard()
    return {"outputs": len(outcome.written), "decrypted": outcome.decrypted}


def run_cli(root: Path, jobs: int, *extra: str) -> dict[str, Any]:
    """`isp consolidate` in its own process under /usr/bin/time: wall and CPU time (start-up
    included) and peak memory of its process tree. (Not getrusage in this process: a child
    spawned by a large parent reports the parent's size as its own peak.)"""
    cmd = [sys.executable, "-m", "isp", "consolidate", "--repo", str(root), "--jobs", str(jobs), "--json", *extra]
    with tempfile.NamedTemporaryFile("r", suffix=".time") as times:
        load = os.getloadavg()[0]
        timed = ["/usr/bin/time", "-o", times.name, "-f", "%e %U %S %M", *cmd]
        proc = subprocess.run(timed, capture_output=True, text=True, check=False)
        wall, user, system, peak_kb = times.read().split()[-4:]
    if proc.returncode:
        raise SystemExit(f"isp consolidate failed: {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    return {"wall_s": float(wall), "cpu_s": round(float(user) + float(system), 2), "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2), "peak_rss_mb": round(int(peak_kb) / 1024, 1),
            "updated": len(report["updated"]), "unchanged": report["unchanged"], "decrypted": report["decrypted"],
            "outputs_read": report["outputs_read"], "inputs": report["inputs"]}  # fmt: skip


def scenario_a(work: Path, jobs: int, repeat: int) -> dict[str, Any]:
    root, _ = repository(work, "a", jobs, git=True)
    floors, fulls = [], []
    for i in range(repeat):  # alternate, so that a change in machine load hits both alike
        floors.append(measure(f"floor {i + 1}", lambda: floor(root, jobs)))
        fulls.append(measure(f"full run {i + 1}", lambda: run_library(root, jobs, full=True)))
    out = {"size": "6 agencies x 13 sites x 120 months", "submissions": floors[0]["result"]}
    out |= {"floor": summary(floors), "full_run": summary(fulls), "counts": fulls[0]["result"]}
    out["ratio_wall_median"] = round(out["full_run"]["wall_s_median"] / out["floor"]["wall_s_median"], 2)
    out["ratio_cpu_median"] = round(out["full_run"]["cpu_s_median"] / out["floor"]["cpu_s_median"], 2)
    only = [measure(f"consolidated tables only {i + 1}", lambda: consolidated_only(root, jobs)) for i in range(repeat)]
    out["consolidated_only"] = summary(only) | {"counts": only[0]["result"]}
    out["ratio_consolidated_only_wall_median"] = round(
        out["consolidated_only"]["wall_s_median"] / out["floor"]["wall_s_median"], 2
    )
    out["ratio_consolidated_only_cpu_median"] = round(
        out["consolidated_only"]["cpu_s_median"] / out["floor"]["cpu_s_median"], 2
    )
    out["encrypt_every_output_once"] = encrypt_floor(root, jobs)
    sops_floor = out["floor"]["wall_s_median"] + out["encrypt_every_output_once"]["wall_s"]
    out["ratio_wall_to_all_sops_work"] = round(out["full_run"]["wall_s_median"] / sops_floor, 2)
    out["cli_full_run"] = run_cli(root, jobs, "--full")
    return out


def scenario_b(work: Path, jobs: int, full_run_s: float) -> dict[str, Any]:
    root, _ = repository(work, "a", jobs, git=True)
    consolidate.run(root, jobs=jobs)  # up to date first
    isp = loading.load(root)
    months = sorted({p.stem for p in root.glob("submissions/*/*.csv")})
    last, following = months[-1], add_months(months[-1], 1)
    if not last.endswith("-12"):
        raise SystemExit(f"{root}: the history should end in a December (regenerate it): {last}")
    out: dict[str, Any] = {"full_run_s": full_run_s}
    cases = {
        "resubmission_of_the_last_month": [("AG03", last, 99), ("AG04", last, 99)],
        "first_submission_of_a_new_year": [("AG01", following, 7), ("AG01", add_months(following, 1), 7)],
    }  # fmt: skip
    for name, ((agency, month, seed), (cli_agency, cli_month, cli_seed)) in cases.items():
        generate.write_sheet(root, isp, agency, month, seed)
        generate.commit_all(root, f"{agency} {month}")
        row = measure(f"incremental: {name}", lambda: run_library(root, jobs, full=False))
        row |= {"share_of_full_run": round(row["wall_s"] / full_run_s, 3), "counts": row.pop("result")}
        generate.write_sheet(root, isp, cli_agency, cli_month, cli_seed)
        generate.commit_all(root, f"{cli_agency} {cli_month}")
        row["cli"] = run_cli(root, jobs)
        out[name] = row
    return out


def scenario_c(work: Path, jobs: int) -> dict[str, Any]:
    root, _ = repository(work, "c", jobs, git=False)
    generated = json.loads((work / "c-generated.json").read_text())
    cli = run_cli(root, jobs, "--full")
    size = subprocess.run(["du", "-sm", str(root)], capture_output=True, text=True, check=False).stdout.split()[0]
    size_text = "50 agencies x 40 sites x 120 months, each agency in 10 of the 40 sites (12-13 agencies per site)"
    return {"size": size_text, "submissions": cli["inputs"], "generation": generated,
            "full_run_cli": cli, "repository_mb": int(size)}  # fmt: skip


def machine() -> dict[str, Any]:
    sops = subprocess.run([crypto.sops_binary(), "--version"], capture_output=True, text=True, check=False)
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "sops": sops.stdout.split("\n")[0].strip(), "sops_binary": Path(crypto.sops_binary()).name}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/isp-bench"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenarios", default="a,b")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results |= {"machine": machine(), "jobs": args.jobs}
    chosen = args.scenarios.split(",")
    if "a" in chosen:
        results["a"] = scenario_a(args.work, args.jobs, args.repeat) | {"measured": now()}
    if "b" in chosen:
        results["b"] = scenario_b(args.work, args.jobs, results["a"]["full_run"]["wall_s_median"]) | {"measured": now()}
    if "c" in chosen:
        results["c"] = scenario_c(args.work, args.jobs) | {"measured": now()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    main()
