"""Synthetic ISP repositories for the consolidation benchmarks: N agencies x S sites x M months of
real sops envelopes of plausible sheets (``isp.demo.synthetic.month_sheet``), written in parallel.

The protocol is the template's (indicators, disaggregations, deadlines), with a generated
agencies.yaml: agencies AG01..AGnn, each submitting a sheet for every site (or, with
``--sites-per-agency K``, for K sites spread so that each site has about as many agencies), each
with its own age identity (all written to the keys folder, outside the repository). With ``--sites 13`` the
template's 13 real sites are kept; any other number gives generated sites S001..Snnn.

    python benchmarks/generate.py /tmp/bench/a --agencies 6 --sites 13 --months 120
    python benchmarks/generate.py /tmp/bench/c --agencies 50 --sites 40 --months 120 --sites-per-agency 10

Prints the folder of keys; ``SOPS_AGE_KEY_FILE=<keys>/ci.agekey`` opens everything.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ruamel.yaml import YAML

from isp.crypto import keys, sops
from isp.demo import synthetic
from isp.fsutil import write_atomic
from isp.protocol import loading
from isp.protocol import models as protocol
from isp.protocol.periods import add_months, month_range
from isp.protocol.skeleton import init_repository
from isp.sheets import tidy

REAL_SITE_COUNT = 13


def agency_codes(n: int) -> list[str]:
    return [f"AG{i:02d}" for i in range(1, n + 1)]


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 4096
    return yaml


def write_sites(root: Path, n: int) -> list[str]:
    """Keep the template's sites when ``n`` is their number; otherwise generate ``n`` sites."""
    path = root / "protocol/sites.yaml"
    if n == REAL_SITE_COUNT:
        return sorted(site["code"] for site in _yaml().load(path)["sites"])
    sites = [
        {"code": f"S{i:03d}", "kind": "governorate", "name_en": f"Site {i}", "name_ar": f"موقع {i}"}
        for i in range(1, n + 1)
    ]
    _yaml().dump({"sites": sites}, path)
    return [site["code"] for site in sites]


def coverage(index: int, sites: list[str], per_agency: int | None) -> list[str]:
    """The sites agency number ``index`` works in: all, or ``per_agency`` of them, spread so that
    every site has about the same number of agencies."""
    if not per_agency or per_agency >= len(sites):
        return list(sites)
    return sorted(sites[(index * per_agency + j) % len(sites)] for j in range(per_agency))


def write_agencies(
    root: Path, codes: list[str], sites: list[str], keys_dir: Path, per_agency: int | None = None
) -> None:
    """agencies.yaml: each agency submitting for its sites, with an age identity each."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    agencies = {}
    for i, code in enumerate(codes):
        secret, recipient = sops.new_identity()
        (keys_dir / f"{code}.agekey").write_text(secret + "\n")
        low = code.lower()
        agencies[code] = {
            "name": f"Synthetic agency {code}",
            "label": code,
            "roles": ["coordinator", "data_gathering"] if i < 2 else ["data_gathering"],
            "system": "other",
            "sites": coverage(i, sites, per_agency),
            "focal_points": {
                role: {"name": f"{role.title()} {code} Example", "email": f"{role}.{low}@example.org"}
                for role in ("primary", "secondary", "signatory")
            },
            "age_recipients": [recipient],
        }
    secret, recipient = sops.new_identity()
    (keys_dir / "ci.agekey").write_text(secret + "\n")
    for path in keys_dir.glob("*.agekey"):
        path.chmod(0o600)
    _yaml().dump({"agencies": agencies, "ci": {"age_recipients": [recipient]}}, root / "protocol/agencies.yaml")


def write_sheet(root: Path, isp: protocol.Isp, agency: str, month: str, seed: int) -> None:
    """One synthetic sheet, encrypted in memory, written atomically (no plaintext on disk)."""
    rel = f"submissions/{agency}/{month}.csv"
    frame = synthetic.month_sheet(isp, agency, month, seed=seed)
    write_atomic(root / rel, sops.encrypt(root, rel, tidy.to_csv(frame)))


def write_sheets(root: Path, items: list[tuple[str, str]], seed: int, jobs: int) -> None:
    isp = loading.load(root)
    started, done = time.monotonic(), 0
    with ThreadPoolExecutor(jobs) as pool:
        for _ in pool.map(lambda item: write_sheet(root, isp, *item, seed), items):
            done += 1
            if done % 500 == 0:
                print(f"  {done}/{len(items)} sheets, {time.monotonic() - started:.0f} s", file=sys.stderr)


def commit_all(root: Path, message: str) -> None:
    """One unsigned commit (the benchmarks read revision history, they do not verify signers)."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=Bench", "-c", "user.email=bench@example.org", "-c", "commit.gpgsign=false"]
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, env=env)
    subprocess.run(["git", "add", "--all"], cwd=root, check=True, env=env)
    subprocess.run(["git", *ident, "commit", "-q", "-m", message], cwd=root, check=True, env=env)


def generate(
    root: Path, agencies: int, sites: int, months: int, first: str = "2016-01", seed: int = 2015,
    jobs: int = 2, git: bool = True, keys_dir: Path | None = None, sites_per_agency: int | None = None,
) -> Path:  # fmt: skip
    """Make the repository; returns the keys folder."""
    keys_dir = keys_dir or root.parent / f"{root.name}-keys"
    init_repository(root)
    codes = agency_codes(agencies)
    write_agencies(root, codes, write_sites(root, sites), keys_dir, sites_per_agency)
    keys.sync(root)
    os.environ["SOPS_AGE_KEY_FILE"] = str(keys_dir / "ci.agekey")
    items = [(a, m) for m in month_range(first, add_months(first, months - 1)) for a in codes]
    write_sheets(root, items, seed, jobs)
    if git:
        commit_all(root, f"{len(items)} synthetic submissions")
    return keys_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--agencies", type=int, default=6)
    parser.add_argument("--sites", type=int, default=REAL_SITE_COUNT)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--first", default="2016-01")
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sites-per-agency", type=int, help="sites each agency works in (default: all)")
    parser.add_argument("--no-git", action="store_true", help="do not make a git repository of it")
    args = parser.parse_args()
    started = time.monotonic()
    keys_dir = generate(
        args.out, args.agencies, args.sites, args.months, args.first, args.seed, args.jobs, not args.no_git,
        sites_per_agency=args.sites_per_agency,
    )  # fmt: skip
    count, seconds = args.agencies * args.months, time.monotonic() - started
    print(f"{args.out}: {count} submissions in {seconds:.0f} s; keys in {keys_dir}")


if __name__ == "__main__":
    main()
