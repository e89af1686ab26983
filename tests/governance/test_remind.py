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
from tests.governance.helpers import approve_all, commit, decide, new
from tests.helpers import IspRepo, Keyring, isp, write_submission


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


def _write_yaml(path: Path, doc: dict) -> None:
    from isp import yamlfiles

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yamlfiles.dump_data(doc), encoding="utf-8")


def test_a_sectoral_report_not_released_by_its_day_is_flagged_late(isp_repo: IspRepo) -> None:
    from tests.governance.helpers import fields

    root = isp_repo.root
    ahead = {i.key: i for i in remind.reminders(root, date(2027, 6, 13), horizon_days=3)}
    assert ahead["sectoral-2027-06"].due == date(2027, 6, 15) and not ahead["sectoral-2027-06"].overdue
    assert "2026-12..2027-05" in ahead["sectoral-2027-06"].body
    late = {i.key: i for i in remind.reminders(root, date(2027, 6, 20))}["sectoral-2027-06"]
    assert late.overdue and "late" in late.title
    data = {"report": "sectoral", "periods": ["2027-H1"], "indicators": "all", "geography": "national"}
    release = {"id": "REL-SECTORAL-1", "date": date(2027, 6, 14), "recipient": "Members"}
    request = fields(id="SECTORAL-2027-H1", data=data, issued=date(2027, 6, 1), received=date(2027, 6, 1))
    _write_yaml(root / "requests" / "SECTORAL-2027-H1.yaml", request | {"releases": [release]})
    assert "sectoral-2027-06" not in {i.key for i in remind.reminders(root, date(2027, 6, 20))}


def test_a_meeting_is_reminded_until_its_minutes_are_recorded(isp_repo: IspRepo) -> None:
    root = isp_repo.root
    items = {i.key: i for i in remind.reminders(root, date(2027, 6, 20))}
    task_force = items["meeting-task-force-2027-05"]
    assert task_force.overdue and task_force.due == date(2027, 6, 17) and "TF-2027-05.yaml" in task_force.body
    minutes = {
        "id": "TF-2027-05",
        "kind": "task-force",
        "subject": "2027-05",
        "date": date(2027, 6, 16),
        "attended": ["focal.irc@example.org", "focal.unhcr@example.org"],
        "decisions": ["Trends discussed on 2027-06-16; the coordinators update the analysis."],
    }
    _write_yaml(root / "protocol" / "meetings" / "TF-2027-05.yaml", minutes)
    assert "meeting-task-force-2027-05" not in {i.key for i in remind.reminders(root, date(2027, 6, 20))}
    signatories = {i.key: i for i in remind.reminders(root, date(2027, 6, 30))}["meeting-signatories-2027-06"]
    assert len(signatories.concerned) == 6 and "CPSWG" in signatories.body


def test_the_breach_meeting_brings_every_agencys_focal_points(busy_repo: IspRepo) -> None:
    meeting = {i.key: i for i in remind.reminders(busy_repo.root, date(2026, 3, 9))}["breach-BR-2026-001-meeting"]
    assert meeting.concerned == ("IRC", "IMC", "JRF", "NHF", "UNHCR", "UNICEF")
    assert len(meeting.contacts) == 6 and "every agency" in meeting.body
    assert "agency concerned" not in meeting.body


def test_the_breach_meeting_is_in_isp_deadlines_and_the_ics_until_it_is_held(isp_repo: IspRepo, tmp_path: Path) -> None:
    from icalendar import Calendar

    root = isp_repo.root
    breach = breaches.open_breach(root, date(2026, 3, 1), "A table was forwarded outside the group.")
    env = {"ISP_TODAY": "2026-03-03"}
    ics = tmp_path / "isp.ics"
    result = isp("deadlines", "--month", "2026-02", "--ics", ics, "--json", "--repo", root, env=env)
    assert result.code == 0, result.err
    (meeting,) = [d for d in json.loads(result.out)["deadlines"] if d["kind"] == "breach-meeting"]
    assert meeting["subject"] == breach.id and meeting["due"] == "2026-03-08" and "every agency" in meeting["note"]
    events = {str(e.get("summary")) for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")}
    assert f"Breach meeting due: {breach.id}" in events
    breaches.update_breach(root, breach.id, meeting=date(2026, 3, 4))
    again = isp("deadlines", "--month", "2026-02", "--json", "--repo", root, env=env)
    assert not [d for d in json.loads(again.out)["deadlines"] if d["kind"] == "breach-meeting"]


def test_a_suspensions_written_justification_goes_to_the_other_signatories(busy_repo: IspRepo) -> None:
    items = {i.key: i for i in remind.reminders(busy_repo.root, date(2026, 2, 3))}
    notice = items["suspension-JRF-2026-02"]
    assert notice.kind == "suspension-notice" and "JRF" not in notice.concerned and len(notice.concerned) == 5
    assert "Reason: Staff on leave" in notice.body and "keep sharing" not in notice.body
    assert "suspension-JRF-2026-02" not in {i.key for i in remind.reminders(busy_repo.root, date(2026, 2, 20))}


def test_remind_table_shows_whom_to_contact_uncut_at_80_columns(busy_repo: IspRepo) -> None:
    """The contacts were only in --json; at 80 columns e-mails were cut with an ellipsis."""
    result = isp("remind", "--repo", busy_repo.root, env={"ISP_TODAY": "2026-03-09", "COLUMNS": "80"})
    assert result.code == 0, result.err
    assert "contact" in result.out and "focal.imc@example.org" in result.out and "…" not in result.out
    lines = result.out.splitlines()[1:]
    assert all(len(line) <= 80 and line[-1] in "┓┃┩│┘" for line in lines), result.out  # nothing cropped


HOSTILE_ORG = (
    "Org @isp-jordan/coordinators <!-- isp-reminder: other-key --> [x](https://evil.example) "
    "![t](https://evil.example/t.png) #1"
)


def test_a_hostile_organisation_neither_pings_links_nor_forges_the_marker(isp_repo: IspRepo) -> None:
    """The organisation of a real request, as the GitHub issue body shows it: no @team mention, no
    link or image, no second marker (which the sync would take for another item's issue)."""
    requester = {"organization": HOSTILE_ORG, "name": "Rami Example", "position": "Researcher",
                 "contact": "rami@example.org"}  # fmt: skip
    new(isp_repo, received=date(2026, 2, 19), issued=date(2026, 2, 22), requester=requester)
    items = [i for i in remind.reminders(isp_repo.root, date(2026, 3, 9)) if "REQ-2026-001" in i.key]
    bodies = [github_issues.render(i) for i in items if "Org " in i.body]
    assert bodies
    for body in bodies:
        assert "@isp-jordan/coordinators" not in body and "@\u2060isp-jordan/coordinators" in body
        assert "](" not in body and body.count("<!--") == 1
        assert github_issues.MARKER_RE.findall(body) == [next(i.key for i in items if github_issues.render(i) == body)]
        assert "#1" not in body
