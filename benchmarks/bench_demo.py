"""Benchmark for `isp demo`: the whole synthetic ISP (26 months by default), stage by stage.

Real sops, real age and SSH keys, real git, the real site build. Wall-clock seconds per stage come
from the demo's own report; CPU seconds (this process and its children: sops, git, ssh-keygen)
are given too because the machine is shared, with the load average before and after.

    python benchmarks/bench_demo.py --months 26 --repeat 1

Writes (merges into) benchmarks/results/demo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from isp.demo import build as demo

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks/results/demo.json"


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one_run(months: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="isp-bench-demo-") as tmp:
        target = Path(tmp) / "demo"
        load_before = os.getloadavg()[0]
        cpu, wall = cpu_seconds(), time.perf_counter()
        summary = demo.build(demo.DemoOptions(target, months=months, seed=seed))
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        git_size = subprocess.run(["du", "-sb", str(target / ".git")], capture_output=True, text=True)
        return {
            "months": months,
            "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "submissions": summary.submissions,
            "commits": summary.commits,
            "stages": {s.name: {"status": s.status, "seconds": s.seconds} for s in summary.stages},
            "git_bytes": int(git_size.stdout.split()[0]) if git_size.returncode == 0 else None,
            "site_bytes": folder_bytes(summary.site) if summary.site else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=26)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2015)
    args = parser.parse_args()
    if not shutil.which("ssh-keygen"):
        raise SystemExit("ssh-keygen is needed")
    runs = [one_run(args.months, args.seed) for _ in range(args.repeat)]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"months-{args.months}"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for run in runs:
        stages = ", ".join(f"{name} {s['seconds']:.0f}s" for name, s in run["stages"].items())
        print(f"{run['months']} months: {run['wall_seconds']} s wall, {run['cpu_seconds']} s CPU "
              f"(load {run['load_before']} -> {run['load_after']}); {stages}")  # fmt: skip
    print(f"written: {RESULTS.relative_to(ROOT)} ({time.strftime('%H:%M')})")


if __name__ == "__main__":
    main()
