"""Benchmark: `isp ci pr` on the demo (`isp demo`, 26 months, 312 commits), for a pull request that
adds one sheet (IRC's month after the demo's last), SSH-signed by IRC's primary focal point under
her declared name; with and without the CI key. Real sops, age, git and ssh-keygen.

    python benchmarks/bench_ci_pr_demo.py [--demo DIR] [--repeat 5]

Without --demo a demo is built first (about 1.5 min). Writes benchmarks/results/ci_pr_demo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    """CPU seconds of this process's finished children (the `isp` process and its git, sops)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def open_pr(demo: Path) -> tuple[str, str]:
    """A branch from main with IRC's next sheet, signed by IRC's primary; (base, head)."""
    from isp.crypto import sops
    from isp.demo import synthetic
    from isp.protocol import loading
    from isp.protocol.periods import add_months
    from isp.sheets import tidy

    base = git(demo, "rev-parse", "main").strip()
    git(demo, "checkout", "-q", "-f", "-B", "bench-one-sheet", base)
    last = sorted(p.stem for p in (demo / "submissions" / "IRC").glob("*.csv"))[-1]
    month = add_months(last, 1)
    isp = loading.load(demo)
    rel = f"submissions/IRC/{month}.csv"
    (demo / rel).write_bytes(sops.encrypt(demo, rel, tidy.to_csv(synthetic.month_sheet(isp, "IRC", month, seed=7))))
    person = isp.agencies["IRC"].focal_points.primary
    key = demo / ".demo-keys" / "IRC-primary"
    ident = ["-c", f"user.name={person.name}", "-c", f"user.email={person.email}", "-c", "gpg.format=ssh"]
    git(demo, "add", rel)
    git(demo, *ident, "-c", f"user.signingkey={key}", "commit", "-q", "-S", "-m", f"IRC: sheet for {month}")
    head = git(demo, "rev-parse", "HEAD").strip()
    git(demo, "checkout", "-q", "-f", "main")
    return base, head


def run(demo: Path, base: str, head: str, env: dict[str, str]) -> dict[str, object]:
    args = [sys.executable, "-m", "isp", "ci", "pr", "--repo", str(demo), "--base", base, "--head", head, "--json"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    if proc.returncode != 0:
        raise SystemExit(f"isp ci pr refused the one-sheet pull request: {report['violations']}")
    return report


def timed(demo: Path, base: str, head: str, env: dict[str, str], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        run(demo, base, head, env)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return {
        "cpu_median_s": round(statistics.median(cpus), 3),
        "wall_median_s": round(statistics.median(walls), 3),
        "runs": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, help="an existing demo folder (else one is built)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--label", default="", help="a word saved with the figures (before, after ...)")
    args = parser.parse_args()
    demo = args.demo or Path(tempfile.mkdtemp(prefix="isp-bench-demo-")) / "demo"
    if not args.demo:
        subprocess.run([sys.executable, "-m", "isp", "demo", str(demo), "--jobs", "2"], check=True)
    base, head = open_pr(demo)
    plain = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_AGE_KEY", "ISP_TODAY"))}
    keyed = {**plain, "SOPS_AGE_KEY": (demo / ".demo-keys" / "ci.agekey").read_text()}
    report = run(demo, base, head, keyed)
    out = {
        "benchmark": "isp ci pr on the demo: one new sheet",
        "label": args.label,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 1),
        },
        "demo_commits": len(git(demo, "rev-list", "main").split()),
        "judged": {"commits": len(report["commits"]), "files": [f["path"] for f in report["files"]]},
        "no_key": timed(demo, base, head, plain, args.repeat),
        "with_key": timed(demo, base, head, keyed, args.repeat),
    }
    target = ROOT / "benchmarks" / "results" / "ci_pr_demo.json"
    target.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
