"""Benchmark: the request rules on a repository with many requests and their signed decisions.

N requests (default 60, about ten years of external requests), each recorded by a coordinator and
answered by the six agencies: 7 SSH-signed commits per request (420 in all), plus one pull request
that records one more decision. Measured (wall and CPU seconds, the machine being shared):

- `request_files.check(root)`: every request's whole signed history, as the push to main runs it;
- `request_files.check(root, base)`: the same with the pull request's commits judged strictly;
- `request_files.all_statuses` (the site's requests board, `isp request status`), and one `status`;
- `membership.release_blockers` for one request (what `isp release` asks first);
- the floor: verifying every one of those commits' signatures once (`provenance.verify`).

Run from the repository root:  python benchmarks/bench_requests.py [--requests 60] [--repeat 3]
Writes benchmarks/results/requests.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.governance.helpers import commit, fields
from tests.helpers import AGENCIES, make_isp_repo, make_keyring

from isp.governance import (
    membership,
    request_files,
)
from isp.history import attribution, provenance


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(action, repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        attribution.clear_cache()  # measure cold: the history cache is per process
        wall, cpu = time.perf_counter(), _cpu()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return {"wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}


def build(folder: Path, count: int):
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    repo = make_isp_repo(folder / "isp", make_keyring(folder / "keys"))
    issued = date(2016, 1, 10)
    for n in range(1, count + 1):
        rid = f"REQ-{issued.year}-{n:03d}"
        request = request_files.new_request(repo.root, fields(id=rid, received=issued, issued=issued))
        commit(repo, f"Request {rid}", [request.path], "UNHCR:primary")
        for agency in AGENCIES:
            request_files.decide(repo.root, rid, agency, True, None, issued + timedelta(days=1))
            commit(repo, f"{rid}: {agency}", [request.path], f"{agency}:primary")
        issued += timedelta(days=60)
    base = repo.head()
    last = request_files.new_request(repo.root, fields(id="REQ-2030-001", received=issued, issued=issued))
    commit(repo, "Request REQ-2030-001", [last.path], "UNHCR:primary")
    request_files.decide(repo.root, "REQ-2030-001", "IRC", True, None, issued + timedelta(days=1))
    commit(repo, "REQ-2030-001: IRC", [last.path], "IRC:primary")
    return repo, base, issued


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="isp-bench-requests-") as tmp:
        started = time.perf_counter()
        repo, base, issued = build(Path(tmp), args.requests)
        built = time.perf_counter() - started
        root = repo.root
        ids = request_files.request_ids(root)
        assert [p for p in request_files.check(root) if p.severity == "error"] == []
        shas = provenance.path_commits(root, "requests", "HEAD")
        signers = provenance.allowed_signers_at(root, "HEAD")
        results = {
            # The floor: checking every signature once (git runs ssh-keygen for each commit).
            "floor_verify_every_commit": _timed(lambda: provenance.verify(root, shas, signers), args.repeat),
            "check_history": _timed(lambda: request_files.check(root), args.repeat),
            "check_pull_request": _timed(lambda: request_files.check(root, base), args.repeat),
            "status_all": _timed(lambda: request_files.all_statuses(root, issued), args.repeat),
            "status_one": _timed(lambda: request_files.status(root, ids[0], issued), args.repeat),
            "release_blockers_one": _timed(lambda: membership.release_blockers(root, ids[0], issued), args.repeat),
        }
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "requests": args.requests + 1,
        "signed_commits": args.requests * 7 + 2,
        "build_s": round(built, 1),
        "results": results,
    }
    out = ROOT / "benchmarks" / "results" / "requests.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
