"""Benchmark of `isp site build` (issue 6): a site with ten years of data builds in at most 60 s.

Setup (not timed): an ISP repository from the template with real age keys, and aggregates written
directly per contract C from plausible synthetic sheets (``isp.demo.synthetic.month_sheet``). By
default every one of the 6 agencies reports every one of the 13 sites for 120 months (the worst
case: 190 consolidated outputs and one year file per agency and year, 250 sops envelopes); with
``--matrix`` each agency reports only its sites in agencies.yaml (the template's real sites
matrix; UNICEF sends no sheet), 240 envelopes.

Timed: ``build_site(root, strict=True)``: decrypting every aggregate and the site credentials,
both languages, every page encrypted. Then the weight of the main pages (the HTML plus the scripts
and styles it loads, raw and gzipped) is measured.

    python benchmarks/bench_site.py [--months 120] [--matrix] [--repeat 1] [--keep DIR]

Writes (merges into) benchmarks/results/site.json, one entry per scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from isp.consolidate import codec
from isp.crypto import keys, sops
from isp.crypto.keys import AGENCY_OUTPUTS
from isp.demo import synthetic
from isp.fsutil import write_atomic
from isp.protocol import loading
from isp.protocol import models as protocol
from isp.protocol.periods import PERIOD_KINDS, add_months, month_range, period_of
from isp.protocol.skeleton import init_repository

RESULTS = Path(__file__).resolve().parent / "results" / "site.json"
PAGES = {
    "home": "index.html",
    "explore (trends and pivot, 10 years)": "explore/index.html",
    "reports/monthly": "reports/monthly/index.html",
    "reports/annual": "reports/annual/index.html",
    "agency UNHCR monthly": "agencies/unhcr/monthly/index.html",
    "ar/explore": "ar/explore/index.html",
    "calendar (public)": "calendar/index.html",
}


def save_result(path: Path, label: str, result: dict[str, Any]) -> None:
    """Keep ``result`` under ``label`` in the results file ``path`` (other labels stay), and print it."""
    merged = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    merged[label] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


def setup_repository(root: Path, months: list[str]) -> str:
    """Template repository with keys for every agency and CI; returns CI's secret key."""
    init_repository(root)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    ci_secret, ci_public = sops.new_identity()
    keys.add_recipient(root, "ci", ci_public)
    for code in loading.load(root).agencies:
        keys.add_recipient(root, code, sops.new_identity()[1])
    keys.sync(root)
    return ci_secret


def monthly_cube(isp: protocol.Isp, agency: str, months: list[str], sites: list[str]) -> np.ndarray:
    """counts[month, site, indicator, demographic cell] from synthetic sheets."""
    dims = isp.dimension_codes()
    shape = (len(sites), len(isp.indicators), len(dims["sex"]) * len(dims["age_group"]) * len(dims["nationality"]))
    cube = np.zeros((len(months), *shape), dtype=np.int64)
    site_pos = {code: i for i, code in enumerate(sites)}
    ind_pos = {code: i for i, code in enumerate(isp.indicators)}
    demo = {(s, a, n): k for k, (s, a, n) in enumerate(
        (s, a, n) for s in dims["sex"] for a in dims["age_group"] for n in dims["nationality"])}  # fmt: skip
    for m, month in enumerate(months):
        frame = synthetic.month_sheet(isp, agency, month, seed=2016, sites=sites)
        i = frame["site"].map(site_pos).to_numpy()
        j = frame["indicator"].map(ind_pos).to_numpy()
        k = np.array([demo[key] for key in zip(frame["sex"], frame["age_group"], frame["nationality"], strict=True)])
        cube[m, i, j, k] = frame["count"].to_numpy()
    return cube


def period_values(isp: protocol.Isp, cube: np.ndarray, months: list[str], kind: str) -> dict[str, np.ndarray]:
    """label -> values[site, indicator, cell]: flows summed, stocks from the period's last month."""
    stock = np.array([ind.aggregation == "stock" for ind in isp.indicators.values()])
    result: dict[str, np.ndarray] = {}
    labels = [period_of(m, kind).label for m in months]  # type: ignore[arg-type]
    for label in dict.fromkeys(labels):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        values = cube[idx].sum(axis=0)
        values[:, stock, :] = cube[idx[-1]][:, stock, :]
        result[label] = values
    return result


def renderer(isp: protocol.Isp, sites: list[str]):  # type: ignore[no-untyped-def]
    """A function (label, values) -> the CSV bytes of contract C, the national total included."""
    dims = isp.dimension_codes()
    rest = [f"{i},{s},{a},{n}," for i in isp.indicators for s in dims["sex"] for a in dims["age_group"]
            for n in dims["nationality"]]  # fmt: skip
    prefixes = np.array([f"{site},{r}" for site in [*sites, "ALL"] for r in rest], dtype=object)

    def render(label: str, values: np.ndarray) -> bytes:
        everything = np.concatenate([values.reshape(len(sites), -1), values.sum(axis=0).reshape(1, -1)]).ravel()
        lines = [f"{label},{p}{v}\n" for p, v in zip(prefixes.tolist(), everything.tolist(), strict=True)]
        return ("period,site,indicator,sex,age_group,nationality,count\n" + "".join(lines)).encode()

    return render


def write_aggregates(root: Path, months: list[str], matrix: bool, jobs: int = 4) -> int:
    isp = loading.load(root)
    all_sites = list(isp.sites)
    files: dict[str, bytes] = {}
    totals: dict[tuple[str, str], np.ndarray] = {}
    manifest: dict = {"rules_version": 1, "generated": datetime.now(UTC).isoformat(timespec="seconds"), "outputs": {}}
    agencies = isp.submitters() if matrix else list(isp.agencies)
    for agency in agencies:
        sites = [s for s in all_sites if s in isp.agencies[agency].sites] if matrix else all_sites
        render = renderer(isp, sites)
        cube = monthly_cube(isp, agency, months, sites)
        where = [all_sites.index(s) for s in sites]
        for kind in PERIOD_KINDS:  # one year file per agency: monthly first, each kind by label
            for label, values in period_values(isp, cube, months, kind).items():
                table, rel = render(label, values), f"{AGENCY_OUTPUTS}/{agency}/{label[:4]}.csv"
                files[rel] = files[rel] + table.partition(b"\n")[2] if rel in files else table
                full = np.zeros((len(all_sites), *values.shape[1:]), dtype=np.int64)
                full[where] = values
                totals[(kind, label)] = totals.get((kind, label), 0) + full
    render_all = renderer(isp, all_sites)
    for (kind, label), values in totals.items():
        files[f"aggregates/{kind}/{label}.csv"] = render_all(label, values)
        manifest["outputs"][f"{kind}/{label}"] = {
            "inputs": [],
            "months": [m for m in months if period_of(m, kind).label == label],  # type: ignore[arg-type]
            "coverage": {"reported": len(agencies), "expected": len(agencies)},
            "revised": False,
            "suspended": 0,
        }

    def one(item: tuple[str, bytes]) -> None:
        write_atomic(root / item[0], sops.encrypt(root, item[0], codec.pack(item[1])))  # as isp consolidate does

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, files.items()))
    write_atomic(root / "aggregates/manifest.json", json.dumps(manifest, indent=1).encode())
    return len(files)


def commit(root: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}  # fmt: skip
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--no-gpg-sign", "-m", "ten years"], cwd=root, check=True, env=env)


def weights(out: Path) -> dict[str, dict[str, int]]:
    from isp.site.build import page_weight

    return {name: page_weight(out, out / rel) for name, rel in PAGES.items() if (out / rel).exists()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--matrix", action="store_true", help="Each agency reports only its own sites.")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Keep the repository in this folder; when it is already there, "
                        "reuse it and time the build only (default: a temp folder, removed).")  # fmt: skip
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="isp-bench-site-"))
    root = base / "isp"
    months = month_range("2016-01", add_months("2016-01", args.months - 1))
    os.environ.setdefault("ISP_TODAY", f"{add_months(months[-1], 1)}-20")
    os.environ.pop("SOPS_AGE_KEY_FILE", None)
    start = time.monotonic()
    if args.keep and (base / "ci.agekey").exists():  # a kept repository: time the build again
        ci = (base / "ci.agekey").read_text().strip()
        count = len(list((root / "aggregates").rglob("*.csv")))
    else:
        ci = setup_repository(root, months)
        if args.keep:
            write_atomic(base / "ci.agekey", (ci + "\n").encode(), mode=0o600)  # outside the repository
        count = write_aggregates(root, months, args.matrix)
        from isp.site import credentials

        credentials.ensure(root)
        commit(root)
    print(f"setup: {count} encrypted aggregates in {time.monotonic() - start:.0f} s", file=sys.stderr)
    os.environ["SOPS_AGE_KEY"] = ci
    from isp.site.build import build_site

    runs = []
    for _ in range(args.repeat):
        load = os.getloadavg()[0]
        t0, cpu0 = time.monotonic(), _cpu()
        report = build_site(root, strict=True)
        runs.append({"wall_s": round(time.monotonic() - t0, 2), "cpu_s": round(_cpu() - cpu0, 2),
                     "load_before": round(load, 2), "pages_per_language": report.pages})  # fmt: skip
        print(f"build: {runs[-1]}", file=sys.stderr)
    scenario = f"{args.months} months, " + ("the template's sites matrix" if args.matrix else "6 agencies x 13 sites")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "data": {
            "months": args.months,
            "sites_matrix": args.matrix,
            "encrypted_aggregates": count,
            "aggregate_bytes": sum(p.stat().st_size for p in (root / "aggregates").rglob("*.csv")),
        },
        "budget_s": 60,
        "build": runs,
        "page_weights": weights(report.out),
        "site_bytes": sum(p.stat().st_size for p in report.out.rglob("*") if p.is_file()),
    }
    save_result(RESULTS, scenario, result)
    if not args.keep:
        shutil.rmtree(base)


def _cpu() -> float:
    self_t = os.times()
    return self_t.user + self_t.system + self_t.children_user + self_t.children_system


if __name__ == "__main__":
    main()
