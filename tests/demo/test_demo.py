"""`isp demo`: one real demo build (a few months), then what it must hold.

The build is real: sops encrypts every sheet, ssh-keygen signs every commit, git keeps it all.
Every stage must have run: a stage the demo reports as skipped fails the tests of its output.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from isp.crypto import sops
from isp.demo import canaries as demo_canaries
from isp.demo.build import MARKER
from isp.demo.context import KEY_DIR
from isp.demo.story import CANARY_VALUES, MIN_MONTHS, last_due_month, plan
from isp.errors import IspError, UsageError
from isp.governance import breaches
from isp.history import provenance
from isp.protocol import loading, workdays
from isp.sheets import tidy
from tests.helpers import git, isp

MONTHS = 6


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's temp folder, shared by every xdist worker (so the demo is built once per run)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """One demo for the whole module (and for every xdist worker: the first builds it under a lock,
    the others read its summary), built in a scrubbed git environment like every test's. The
    tests only read it."""
    shared = _shared_folder(tmp_path_factory)
    home = tmp_path_factory.mktemp("demo-home")
    (home / ".gitconfig").write_text("[user]\n\tname = Nobody\n\temail = nobody@example.org\n")
    with pytest.MonkeyPatch.context() as mp, (shared / "isp-demo.lock").open("w") as lock:
        for name in list(os.environ):
            if name.startswith(("GIT_", "SOPS_")):
                mp.delenv(name)
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        fcntl.flock(lock, fcntl.LOCK_EX)
        root, summary_file = shared / "isp-demo", shared / "isp-demo.json"
        if not summary_file.exists():
            result = isp("demo", root, "--months", str(MONTHS), "--json")
            assert result.code == 0, result.output
            summary_file.write_text(result.out)
        fcntl.flock(lock, fcntl.LOCK_UN)
        yield root, json.loads(summary_file.read_text())


def stage(summary: dict, name: str) -> dict:
    found = next((s for s in summary["stages"] if s["name"] == name), None)
    assert found is not None, f"the demo has no {name} stage"
    assert found["status"] == "done", f"the {name} stage did not run: {found['detail']}"
    return found


def ci_env(root: Path) -> dict[str, str | None]:
    secret = next(
        line for line in (root / KEY_DIR / "ci.agekey").read_text().splitlines() if line.startswith("AGE-SECRET")
    )
    return {"SOPS_AGE_KEY": secret, "SOPS_AGE_KEY_FILE": None}


# --- fast: the storyline and the canary search -----------------------------------------------


def test_storyline_ends_at_the_last_month_already_due(isp_repo) -> None:
    isp_ = isp_repo.load()
    cal = workdays.WorkingCalendar(isp_)
    today = date(2026, 11, 25)
    story = plan(isp_, 26, today, seed=1)
    assert len(story.months) == 26
    assert story.months[-1] == last_due_month(cal, today) == "2026-10"
    assert cal.submission_due(story.months[-1]) < today <= cal.submission_due("2026-11")
    on_time = [s for s in story.submissions if not s.late and s.version == 1]
    assert all(s.when.date() <= cal.submission_due(s.month) for s in on_time)
    assert all(s.when.date() > cal.submission_due(s.month) for s in story.submissions if s.late)
    assert cal.working_days_between(cal.submission_due(story.late.month), story.late.when.date()) >= 3
    assert story.start < min(s.when for s in story.submissions)


def test_storyline_refuses_too_few_months(isp_repo) -> None:
    with pytest.raises(UsageError, match="at least"):
        plan(isp_repo.load(), MIN_MONTHS - 1, date(2026, 11, 25), seed=1)


def test_canary_search_finds_every_spelling_but_not_ciphertext() -> None:
    assert demo_canaries.find("count\n7919\n", [7919]) == ["7919"]
    assert demo_canaries.find("<td>7,919</td> ٧٬٩١٩ ٧٩١٩", [7919]) == ["7,919", "٧٬٩١٩", "٧٩١٩"]
    assert demo_canaries.find("ENC[AES256_GCM,data:q7919Zx+/a79190,iv:ab7919]", [7919]) == []
    assert demo_canaries.find("77919 79190", [7919]) == []


# --- slow: the built demo --------------------------------------------------------------------


@pytest.mark.slow
def test_demo_reports_what_it_built(built) -> None:
    root, summary = built
    assert (root / MARKER).exists()
    assert summary["submissions"] >= 4 * MONTHS
    assert summary["commits"] > summary["submissions"]
    assert summary["canaries"] == len(CANARY_VALUES)
    assert {s["name"] for s in summary["stages"]} >= {"history"}


@pytest.mark.slow
def test_every_submission_is_an_envelope_in_a_verified_commit(built) -> None:
    root, _ = built
    files = sorted((root / "submissions").glob("*/*.csv"))
    assert files
    assert all(sops.is_envelope(f.read_bytes()) for f in files)
    versions = provenance.submission_versions(root)
    assert {f"submissions/{a}/{m}.csv" for a, m in versions} == {f.relative_to(root).as_posix() for f in files}
    for (agency, _month), commits in versions.items():
        for info in commits:
            assert info.verified, info
            assert (info.agency, info.role) == (agency, "primary")


@pytest.mark.slow
def test_git_itself_verifies_every_agency_commit(built) -> None:
    """Merges stand for GitHub's merge button and CI commits the aggregates (both unsigned); every
    other commit is signed by a focal point."""
    root, _ = built

    def revs(*args: str) -> list[str]:
        proc = subprocess.run(["git", "rev-list", *args, "HEAD"], cwd=root, capture_output=True, text=True)
        return proc.stdout.split()

    own = revs("--no-merges")
    by_ci = revs("--no-merges", "--author=ci@example.org")
    own = [sha for sha in own if sha not in by_ci]
    assert len(revs("--merges")) == len(own) - 1  # every change but the first came through a pull request
    signers = f"gpg.ssh.allowedSignersFile={root / 'protocol/allowed_signers'}"
    for sha in own:
        proc = subprocess.run(["git", "-c", signers, "verify-commit", sha], cwd=root, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert 'Good "git" signature for' in proc.stderr


@pytest.mark.slow
def test_one_late_and_one_revised_submission(built) -> None:
    root, summary = built
    cal = workdays.WorkingCalendar(loading.load(root))
    versions = provenance.submission_versions(root)
    late = versions[(summary["late"]["agency"], summary["late"]["month"])]
    assert late[0].committed.date() > cal.submission_due(summary["late"]["month"])
    revised = versions[(summary["revised"]["agency"], summary["revised"]["month"])]
    assert len(revised) == 2
    assert sum(len(v) == 2 for v in versions.values()) == 1
    overdue = [k for k, v in versions.items() if v[0].committed.date() > cal.submission_due(k[1])]
    assert overdue == [(summary["late"]["agency"], summary["late"]["month"])]


@pytest.mark.slow
def test_canaries_are_in_the_data_and_nowhere_in_plaintext(built) -> None:
    root, _ = built
    canaries = demo_canaries.load(root / KEY_DIR)
    values = [c.value for c in canaries]
    # positive control: each live canary really is in its decrypted sheet
    live = next(c for c in canaries if not c.superseded)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in ci_env(root).items():
            mp.setenv(name, value) if value else mp.delenv(name, raising=False)
        sheet = tidy.read_csv(sops.decrypt(root / f"submissions/{live.agency}/{live.month}.csv"))
    cell = sheet
    for column, wanted in live.cell().items():
        cell = cell[cell[column] == wanted]
    assert cell["count"].tolist() == [live.value]
    assert demo_canaries.find(tidy.to_csv(sheet).decode(), values)
    # and none of them is readable anywhere in git or in the folder
    assert demo_canaries.scan_git_objects(root, values) == []
    assert demo_canaries.scan_files(root, values, exclude=[root / KEY_DIR]) == {}


@pytest.mark.slow
def test_keys_stay_out_of_git(built) -> None:
    root, _ = built
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout
    assert KEY_DIR not in tracked
    assert "AGE-SECRET-KEY" not in (root / "protocol" / "agencies.yaml").read_text()
    ignored = subprocess.run(["git", "check-ignore", KEY_DIR, MARKER], cwd=root, capture_output=True, text=True)
    assert ignored.stdout.split() == [KEY_DIR, MARKER]
    assert (root / KEY_DIR / "ci.agekey").stat().st_mode & 0o077 == 0


@pytest.mark.slow
def test_protocol_check_passes_on_the_demo(built) -> None:
    root, _ = built
    result = isp("protocol", "check", "--repo", root)
    assert result.code == 0, result.output


@pytest.mark.slow
def test_an_earlier_demo_is_kept_without_force(built) -> None:
    root, _ = built
    result = isp("demo", root, "--months", str(MONTHS))
    assert result.code == 1
    assert "--force" in result.err
    assert (root / ".git").exists()


def test_a_folder_that_is_not_a_demo_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = isp("demo", tmp_path, "--force")
    assert result.code == 1
    assert "not a demo folder" in result.err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_too_few_months_is_a_usage_error(tmp_path: Path) -> None:
    result = isp("demo", tmp_path / "new", "--months", "3")
    assert result.code == 2
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_isp_status_shows_the_late_revised_and_suspended_months(built) -> None:
    root, summary = built
    late, revised = summary["late"], summary["revised"]
    seen = json.loads(isp("status", "--repo", root, "--month", late["month"], "--json").out)
    row = next(a for a in seen["agencies"] if a["agency"] == late["agency"])
    assert row["state"] == "late" and row["late_working_days"] >= 3
    seen = json.loads(isp("status", "--repo", root, "--month", revised["month"], "--json").out)
    row = next(a for a in seen["agencies"] if a["agency"] == revised["agency"])
    assert row["revised"] and row["state"] == "on-time"
    suspension = summary["suspension"]
    if suspension:
        seen = json.loads(isp("status", "--repo", root, "--month", suspension["from"], "--json").out)
        row = next(a for a in seen["agencies"] if a["agency"] == suspension["agency"])
        assert row["state"] == "suspended" and row["suspension"]


@pytest.mark.slow
def test_requests_end_in_every_state(built) -> None:
    root, summary = built
    stage(summary, "requests")
    from isp.governance import request_files

    states = {s.state: s for s in request_files.all_statuses(root)}
    assert set(states) == {"approved", "denied", "pending"}
    denied = next(a for a in states["denied"].agencies if a.state == "denied")
    assert denied.counted and denied.reason
    pending = states["pending"]
    assert any(a.state == "follow-up-due" and a.contact and a.contact.role == "secondary" for a in pending.agencies)
    assert all(a.counted for a in pending.agencies if a.state == "approved")


@pytest.mark.slow
def test_the_breach_is_resolved_by_every_signatory(built) -> None:
    root, summary = built
    stage(summary, "breach")

    (breach,) = breaches.breach_statuses(root)
    assert not breach.open
    assert breach.agreed == list(loading.load(root).agencies)
    assert "closed_on" in breach.as_dict() and breach.closed_on


@pytest.mark.slow
def test_the_whole_history_passes_the_pull_request_rules(built) -> None:
    """What CI would say about every pull request at once: signatures, paths, recipients, replays.
    (Without the CI key: the demo already ran every sheet through validation before encrypting it.)"""
    root, _ = built

    def rev_list(*args: str) -> list[str]:
        out = subprocess.run(["git", "rev-list", *args], cwd=root, capture_output=True, text=True, check=True)
        return out.stdout.split()

    # Every pull request at once, leaving out CI's own commits of aggregates/ on main (main.yml
    # writes them after a merge; a pull request that touches aggregates/ is refused).
    ci_commits = list(reversed(rev_list("--author=ci@example.org", "HEAD")))
    assert ci_commits, "the demo consolidates as CI"
    starts = [*rev_list("--max-parents=0", "HEAD"), *ci_commits]
    ends = [*(f"{sha}^" for sha in ci_commits), "HEAD"]
    for start, end in zip(starts, ends, strict=True):
        if rev_list(f"{start}..{end}"):
            result = isp("ci", "pr", "--repo", root, "--base", start, "--head", end)
            assert result.code == 0, result.output
    as_a_pull_request = isp("ci", "pr", "--repo", root, "--base", f"{ci_commits[0]}^", "--head", ci_commits[0])
    assert as_a_pull_request.code == 1 and "aggregates-not-by-ci" in as_a_pull_request.output


@pytest.mark.slow
def test_the_aggregates_hold_the_live_canaries_inside_their_envelopes(built) -> None:
    root, summary = built
    stage(summary, "consolidate")
    from isp import consolidate

    assert all(sops.is_envelope((root / rel).read_bytes()) for rel in consolidate.list_outputs(root))
    manifest = json.dumps(consolidate.read_manifest(root))
    assert not any(code in manifest for code in loading.load(root).agencies)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOPS_AGE_KEY", str(ci_env(root)["SOPS_AGE_KEY"]))
        for canary in demo_canaries.load(root / KEY_DIR):
            table = consolidate.read_output(root, f"aggregates/monthly/{canary.month}.csv")
            for column, wanted in canary.cell().items():
                table = table[table[column] == wanted] if column != "month" else table
            expected = canary.value % 1000 if canary.superseded else canary.value
            assert table["count"].tolist() == [expected]


@pytest.mark.slow
def test_the_approved_request_is_released_and_recorded(built) -> None:
    root, summary = built
    stage(summary, "release")
    from isp.governance import request_files

    (approved,) = [s for s in request_files.all_statuses(root) if s.state == "approved"]
    assert approved.releases
    package = root / "releases" / approved.id
    assert sorted(f.name for f in package.iterdir()) == sorted(approved.releases[0].files)
    ignored = subprocess.run(["git", "check-ignore", "-q", package], cwd=root)
    assert ignored.returncode == 0
    clean = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True)
    assert clean.stdout == ""


@pytest.mark.slow
def test_the_site_is_built_with_every_access_level(built) -> None:
    root, summary = built
    stage(summary, "site")
    site = Path(summary["site"])
    assert (site / "index.html").exists()
    assert (site / "ar" / "index.html").exists()
    assert not list(site.rglob("encryptcontent.cache")) and not list(root.rglob("encryptcontent.cache"))
    values = [c.value for c in demo_canaries.load(root / KEY_DIR)]
    assert demo_canaries.scan_files(site, values) == {}


@pytest.mark.slow
def test_the_site_is_served_on_localhost_only(built) -> None:
    import threading
    import urllib.request

    _, summary = built
    stage(summary, "site")
    assert set(summary["credentials"]) >= {"members", "coordinators"}
    from isp.site.serve import server as site_server

    server = site_server(Path(summary["site"]), 0)
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_canary_scan_opens_gzip_files(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "sitemap.xml.gz").write_bytes(gzip.compress(b"<loc>7919</loc>"))
    (tmp_path / "page.html").write_text('<div id="x">ENC7919abc</div>')
    assert demo_canaries.scan_files(tmp_path, [7919]) == {"sitemap.xml.gz": ["7919"]}


def test_a_failing_governance_step_stops_its_story_only(isp_repo) -> None:
    """A governance step refused by a rule mid-history: its later events are skipped, the tree is
    restored to the last commit, everything else goes on. A failing sheet, or a bug, stops the demo."""
    from datetime import UTC, datetime

    from isp.demo.commits import DemoGit
    from isp.demo.context import Change, DemoContext, Event, QuietProgress
    from isp.demo.timeline import replay

    ctx = DemoContext(isp_repo.root, isp_repo.root, None, DemoGit(isp_repo.root), {}, {}, QuietProgress(), 1)  # type: ignore[arg-type]
    ran: list[str] = []

    def fail() -> list:
        (isp_repo.root / "requests" / "half-written.yaml").write_text("id: x\n")
        (isp_repo.root / "protocol" / "agencies.yaml").write_text("broken")
        raise IspError("requests/half-written.yaml: a rule failed")

    def note(label: str) -> Callable[[], list[Change]]:
        def step() -> list[Change]:
            ran.append(label)
            return []

        return step

    moment = datetime(2026, 1, 5, tzinfo=UTC)
    events = [
        Event(moment, "a new request", fail, "requests"),
        Event(moment.replace(day=6), "IRC's decision", note("decision"), "requests"),
        Event(moment.replace(day=7), "breach report", note("breach"), "breach"),
    ]
    assert replay(ctx, events) == 0
    assert ran == ["breach"]
    assert ctx.failed == {"requests": "a new request failed (IspError: requests/half-written.yaml: a rule failed)"}
    assert not (isp_repo.root / "requests" / "half-written.yaml").exists()
    assert git(isp_repo.root, "status", "--porcelain") == ""
    with pytest.raises(RuntimeError):
        replay(ctx, [Event(moment, "IRC 2026-01", lambda: (_ for _ in ()).throw(RuntimeError("sheet")))])
    with pytest.raises(RuntimeError):  # a bug in a governance step is not a refused step
        replay(ctx, [Event(moment, "breach report", lambda: (_ for _ in ()).throw(RuntimeError("bug")), "breach")])


def test_a_taken_port_is_refused_before_any_work(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = isp("demo", tmp_path / "new", "--serve", "--port", str(port))
    assert result.code == 1
    assert f"127.0.0.1:{port}" in result.err
    assert not (tmp_path / "new").exists()
