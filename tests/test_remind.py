"""`isp remind`: everything due or overdue, and one GitHub issue per item.

Only the GitHub API is faked: a fake `gh` executable put first on PATH records its arguments and
standard input and answers `gh issue list` from a file. Everything else is real (git, signed
commits, sops-encrypted submissions).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from datetime import date
from pathlib import Path

import pytest

from isp.governance import breaches, github_issues, membership
from isp.governance import reminders as remind
from tests.helpers import IspRepo, Keyring, isp, write_submission
from tests.requests_fixtures import approve_all, commit, decide, new


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> IspRepo:
    """IRC sent February 2026 (signed); JRF suspended it; a request and a breach are running.
    Shared by the tests of this module, which only read it."""
    home = tmp_path_factory.mktemp("remind-home")
    (home / ".gitconfig").write_text("[user]\n\tname = ISP Test\n\temail = test@example.org\n")
    root = tmp_path_factory.mktemp("remind") / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    with pytest.MonkeyPatch.context() as env:  # the autouse clean git environment is per test
        for name in [n for n in os.environ if n.startswith(("GIT_", "SOPS_"))]:
            env.delenv(name)
        env.setenv("HOME", str(home))
        env.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        return _busy(IspRepo(root, keyring))


def _busy(isp_repo: IspRepo) -> IspRepo:
    write_submission(isp_repo, "IRC", "2026-02")
    commit(isp_repo, "IRC February", signer="IRC:primary")
    membership.suspend(isp_repo.root, "JRF", "2026-02", "2026-02", "Staff on leave", date(2026, 2, 1))
    commit(isp_repo, "JRF suspends February", signer="UNHCR:primary")
    new(isp_repo, received=date(2026, 2, 19), issued=date(2026, 2, 22))
    approve_all(isp_repo, "REQ-2026-001", date(2026, 2, 23), but=("NHF", "UNICEF"))
    decide(isp_repo, "REQ-2026-001", "NHF", day=date(2026, 3, 1))
    breach = breaches.open_breach(isp_repo.root, date(2026, 3, 1), "A table was forwarded outside the group.")
    commit(isp_repo, "Breach", [breach.path], "IMC:primary")
    return isp_repo


def test_remind_lists_what_is_due_with_who_is_concerned(busy_repo: IspRepo) -> None:
    items = {i.key: i for i in remind.reminders(busy_repo.root, date(2026, 3, 9), horizon_days=3)}
    assert "submission-2026-02-IRC" not in items and "submission-2026-02-JRF" not in items
    late = items["submission-2026-02-IMC"]
    assert late.overdue and late.due == date(2026, 3, 8) and late.concerned == ("IMC",)
    assert late.contacts == ("Lina Example <focal.imc@example.org> (IMC primary)",
                             "Omar Example <second.imc@example.org> (IMC secondary)")  # fmt: skip
    assert items["consolidation-2026-02"].due == date(2026, 3, 10) and not items["consolidation-2026-02"].overdue
    # Issued Sun 22 Feb: Mon 23 = 1 ... Thu 26 = 4, Sun 1 Mar = 5 (follow-up), Thu 5 Mar = 9, Sun 8 Mar = 10.
    escalation = items["request-REQ-2026-001-UNICEF-escalation"]
    assert escalation.due == date(2026, 3, 8) and "Representative UNICEF Example" in escalation.contacts[0]
    assert not any(k.startswith("request-REQ-2026-001-NHF") for k in items)
    assert items["breach-BR-2026-001-meeting"].overdue and items["breach-BR-2026-001-meeting"].due == date(2026, 3, 8)
    assert "breach-BR-2026-001-senior-management" not in items  # due 15 March, beyond the horizon
    assert "protocol-review-2027-09-15" not in items
    result = isp("remind", "--json", "--repo", busy_repo.root, env={"ISP_TODAY": "2026-03-09"})
    assert result.code == 0, result.err
    assert {i["key"] for i in json.loads(result.out)["items"]} == set(items)


def test_remind_protocol_review_and_lapse(isp_repo: IspRepo) -> None:
    keys = {i.key for i in remind.reminders(isp_repo.root, date(2027, 9, 13), horizon_days=3)}
    assert "protocol-review-2027-09-15" in keys
    lapsed = {i.key: i for i in remind.reminders(isp_repo.root, date(2027, 10, 20))}
    assert (
        lapsed["protocol-not-in-force"].overdue
        and "sign.irc@example.org" in lapsed["protocol-not-in-force"].contacts[0]
    )


FAKE_GH = """#!{python}
# A fake `gh`: records each call (arguments and standard input) and answers `issue list`.
import json, os, sys
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": sys.argv[1:], "stdin": sys.stdin.read()}}) + "\\n")
if sys.argv[1:3] == ["issue", "list"]:
    sys.stdout.write(open(os.environ["FAKE_GH_ISSUES"]).read())
elif sys.argv[1:3] == ["issue", "create"]:
    sys.stdout.write("https://github.com/example/isp/issues/99\\n")
"""


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The GitHub API is the one thing faked: a `gh` first on PATH that logs what it is asked."""
    folder = tmp_path / "fakebin"
    folder.mkdir()
    program = folder / "gh"
    program.write_text(FAKE_GH.format(python=sys.executable))
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    log, issues = tmp_path / "gh.log", tmp_path / "issues.json"
    issues.write_text("[]")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_LOG", str(log))
    monkeypatch.setenv("FAKE_GH_ISSUES", str(issues))
    return log, issues


def _calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_github_sync_opens_updates_and_closes_one_issue_per_item(busy_repo: IspRepo, fake_gh) -> None:
    log, issues = fake_gh
    result = isp("remind", "--github", "--json", "--repo", busy_repo.root, env={"ISP_TODAY": "2026-03-09"})
    assert result.code == 0, result.err
    items = json.loads(result.out)["items"]
    calls = _calls(log)
    assert calls[0]["args"][:3] == ["label", "create", "isp-reminder"]
    creates = [c for c in calls if c["args"][:2] == ["issue", "create"]]
    assert len(creates) == len(items) and json.loads(result.out)["github"]["created"] == [i["key"] for i in items]
    first = creates[0]
    assert first["args"][first["args"].index("--title") + 1] == items[0]["title"]
    assert f"<!-- isp-reminder: {items[0]['key']} -->" in first["stdin"]

    # A day later: one issue is as it should be, one has an outdated text, one is no longer due.
    current = remind.reminders(busy_repo.root, date(2026, 3, 9))
    same, changed = current[0], current[1]
    issues.write_text(json.dumps([
        {"number": 1, "title": same.title, "body": github_issues.render(same)},
        {"number": 2, "title": "old title", "body": github_issues.render(changed)},
        {"number": 3, "title": "done", "body": "Fixed.\n<!-- isp-reminder: submission-2025-11-IRC -->"},
        {"number": 4, "title": "someone else's", "body": "no marker"},
    ]))  # fmt: skip
    log.unlink()
    report = github_issues.sync(current)
    assert (
        report.unchanged == [same.key]
        and report.updated == [changed.key]
        and report.closed == ["submission-2025-11-IRC"]
    )
    calls = _calls(log)
    assert ["issue", "edit", "2", "--title", changed.title, "--body-file", "-"] in [c["args"] for c in calls]
    assert any(c["args"][:3] == ["issue", "close", "3"] for c in calls)
    assert not any(c["args"][2:3] in (["1"], ["4"]) for c in calls if c["args"][1] in ("edit", "close"))


def test_github_sync_failure_is_one_clear_line(busy_repo: IspRepo, fake_gh, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GH_ISSUES", str(busy_repo.root / "missing.json"))
    result = isp("remind", "--github", "--repo", busy_repo.root, env={"ISP_TODAY": "2026-03-09"})
    assert result.code == 1 and result.err.startswith("gh issue list failed") and "Traceback" not in result.err
