"""Benchmark: `isp ci pr` on a pull request with one new submission, in a repository that already
holds 720 submissions (6 agencies x 10 years), against the same pull request on a 120-submission
history: the checks cost the same apart from the git walk over past envelopes (replay detection).

Everything is real: age keys, sops envelopes of synthetic sheets, SSH-signed commits (one commit
per agency-year, signed by that agency). UNICEF sends MRM data, not sheets; its files here are
synthetic sheets standing in for them, so that 6 agencies x 120 months = 720 envelopes.

Run from the repository root:  python benchmarks/bench_ci_pr.py [--repeat 5] [--keep DIR]
Writes benchmarks/results/ci_pr.json.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import AGENCIES, IspRepo, Keyring, git, make_isp_repo, make_keyring, patched_env

from isp.ci import gate as ci
from isp.crypto import sops
from isp.demo import synthetic
from isp.fsutil import write_atomic
from isp.history import provenance
from isp.protocol.periods import add_months, month_range
from isp.sheets import tidy

FIRST = "2016-01"
YEARS = 10
PR_MONTH = add_months(FIRST, YEARS * 12)  # the month after the history: 2026-01
TODAY = "2026-02-20"


def clean_env(home: Path) -> dict[str, str | None]:
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.org\n")
    drop: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("GIT_", "SOPS_"))}
    return {
        **drop,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "SOPS_DISABLE_VERSION_CHECK": "1",
        "ISP_TODAY": TODAY,
    }


def sheet_sites(repo: IspRepo, agency: str) -> list[str] | None:
    isp = repo.load()
    return None if isp.agencies[agency].sites else sorted(isp.sites)[:3]


def encrypt_month(repo: IspRepo, agency: str, month: str, sites: list[str] | None) -> int:
    isp = repo.load()
    frame = synthetic.month_sheet(isp, agency, month, seed=2015, sites=sites)
    rel = f"submissions/{agency}/{month}.csv"
    envelope = sops.encrypt(repo.root, rel, tidy.to_csv(frame))
    write_atomic(repo.root / rel, envelope)
    return len(envelope)


def build(folder: Path) -> tuple[IspRepo, dict[int, str], dict[str, float]]:
    """The repository with 10 years of history; returns it and the commit at each size."""
    ring = make_keyring(folder / "keys")
    started = time.perf_counter()
    repo = make_isp_repo(folder / "isp", ring)
    sites = {a: sheet_sites(repo, a) for a in AGENCIES}
    months = month_range(FIRST, add_months(PR_MONTH, -1))
    tips: dict[int, str] = {}
    sizes: list[int] = []
    encrypt_seconds = 0.0
    done = 0
    for year_start in range(0, len(months), 12):
        year = months[year_start : year_start + 12]
        for agency in AGENCIES:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                sizes += list(pool.map(lambda m, a=agency: encrypt_month(repo, a, m, sites[a]), year))
            encrypt_seconds += time.perf_counter() - t0
            repo.commit(f"{agency}: sheets for {year[0][:4]}", signer=f"{agency}:primary")
            done += len(year)
        tips[done] = repo.head()
    # the 120-submission base: every agency's first 20 months
    git(repo.root, "checkout", "-q", "-b", "small", tips[12 * 6])
    for agency in AGENCIES:
        for month in month_range(add_months(FIRST, 12), add_months(FIRST, 19)):
            encrypt_month(repo, agency, month, sites[agency])
        repo.commit(f"{agency}: sheets for early {add_months(FIRST, 12)[:4]}", signer=f"{agency}:primary")
    tips[120] = repo.head()
    git(repo.root, "checkout", "-q", "main")
    stats = {
        "build_seconds": round(time.perf_counter() - started, 1),
        "encrypt_seconds": round(encrypt_seconds, 1),
        "mean_envelope_bytes": round(statistics.mean(sizes)),
    }
    return repo, tips, stats


def open_pr(repo: IspRepo, base: str, name: str) -> str:
    """A branch from ``base`` with IRC's sheet for the month after the history, signed by IRC."""
    git(repo.root, "checkout", "-q", "-f", "-B", name, base)
    encrypt_month(repo, "IRC", PR_MONTH, None)
    head = repo.commit(f"IRC: sheet for {PR_MONTH}", signer="IRC:primary")
    git(repo.root, "checkout", "-q", "-f", "main")
    return head


def _cpu() -> float:
    """CPU seconds of this process and of every finished child (git, sops, ssh-keygen, isp)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, repeat: int) -> dict[str, float]:
    """Median wall time and median CPU time: the machine is shared, CPU seconds are the steadier figure."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return {
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_min_s": round(min(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "runs": len(walls),
    }


def cli(repo: IspRepo, base: str, head: str, env: dict[str, str]) -> None:
    isp_bin = str(Path(sys.executable).parent / "isp")
    args = [isp_bin, "ci", "pr", "--repo", str(repo.root), "--base", base, "--head", head, "--json"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"isp ci pr failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def measure(repo: IspRepo, base: str, head: str, key: str, repeat: int) -> dict[str, object]:
    report = ci.check_pr(repo.root, base, head)
    assert report.ok, [str(p) for p in report.violations]
    env_plain = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_AGE_KEY")}
    env_key = {**env_plain, "SOPS_AGE_KEY": key}
    history = provenance.history_blobs(repo.root, base)
    return {
        "history_submissions": len({path for _, path in history if path.endswith(".csv")}),
        "history_blob_versions": len(history),
        "history_commits": len(git(repo.root, "rev-list", base).split()),
        "history_part_replay_index": timed(lambda: ci.replay_index(repo.root, base, {}), repeat),
        "library_no_key": timed(lambda: ci.check_pr(repo.root, base, head), repeat),
        "cli_no_key": timed(lambda: cli(repo, base, head, env_plain), repeat),
        "cli_with_key": timed(lambda: cli(repo, base, head, env_key), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the built repository in this (new) folder")
    parser.add_argument("--reuse", type=Path, help="measure a repository kept earlier with --keep")
    args = parser.parse_args()
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="isp-bench-ci-"))
    try:
        with patched_env(clean_env(folder / "home")):
            if args.reuse:
                saved = json.loads((folder / "bench.json").read_text())
                tips, stats = {int(k): v for k, v in saved["tips"].items()}, saved["stats"]
                repo = IspRepo(folder / "isp", Keyring(folder / "keys"))
                repo.keyring.age_secret["ci"] = saved["ci_key"]
                repo.keyring.ssh["IRC:primary"] = folder / "keys" / "IRC-primary"
            else:
                repo, tips, stats = build(folder)
                (folder / "bench.json").write_text(
                    json.dumps({"tips": tips, "stats": stats, "ci_key": repo.keyring.age_secret["ci"]})
                )
            key = repo.keyring.age_secret["ci"]
            results = {}
            for size in (120, 720):
                head = open_pr(repo, tips[size], f"pr-{size}")
                results[str(size)] = measure(repo, tips[size], head, key, args.repeat)
        out = {
            "benchmark": "isp ci pr: one new submission",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 1),
                "platform": platform.platform(),
            },
            "history": {"agencies": len(AGENCIES), "first_month": FIRST, "pr_month": PR_MONTH, **stats},
            "results": results,
        }
        target = ROOT / "benchmarks" / "results" / "ci_pr.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(out, indent=2) + "\n")
        print(json.dumps(out, indent=2))
        if args.keep and not args.reuse:
            shutil.copytree(folder, args.keep, symlinks=True)
    finally:
        if not args.reuse:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
