"""Breaches and their clocks, suspensions, membership changes and the release gate, in real repos."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from isp import yamlfiles
from isp.crypto import keys
from isp.governance import breaches, membership, request_files
from isp.protocol import loading
from tests.governance.helpers import (
    REQUIRED,
    approve_all,
    email_of,
    new,
    open_and_resolve_breach,
    rules,
    shipped_isp,
)
from tests.helpers import IspRepo, git, isp, ssh_keygen

RID = "REQ-2026-001"


def test_breach_open_refuses_figures_and_lists_its_clocks(isp_repo: IspRepo) -> None:
    root = isp_repo.root
    figures = isp("breach", "open", "--description", "A table with 17 cases leaked", "--repo", root)
    assert figures.code == 1 and "must not contain figures" in figures.err
    assert not list((root / "protocol" / "breaches").glob("*.yaml"))
    opened = isp("breach", "open", "--description", "A table was e-mailed outside the group", "--agency", "IRC",
                 "--reported", "2026-03-01", "--repo", root)  # fmt: skip
    assert opened.code == 0, opened.err
    listed = isp("breach", "list", "--json", "--repo", root, env={"ISP_TODAY": "2026-03-10"})
    breach = json.loads(listed.out)["breaches"][0]
    assert breach["id"] == "BR-2026-001" and breach["open"] and breach["awaiting"] == list(REQUIRED)
    clocks = {c["name"]: (c["due"], c["state"]) for c in breach["clocks"]}
    assert clocks == {"meeting": ("2026-03-08", "overdue"), "senior-management": ("2026-03-15", "due"),
                      "resolution": ("2026-04-01", "due")}  # fmt: skip
    assert isp("breach", "update", "BR-2026-001", "--meeting", "2026-03-09", "--repo", root).code == 0
    assert isp("breach", "update", "BR-2026-001", "--meeting", "2026-02-01", "--repo", root).code == 1
    assert isp("breach", "update", "BR-2026-001", "--repo", root).code == 2
    st = breaches.breach_statuses(root, date(2026, 3, 10))[0]
    assert (st.clocks[0].name, st.clocks[0].state) == ("meeting", "late")


def test_the_resolution_clock_ends_on_the_last_day_of_a_short_month() -> None:
    breach = breaches.Breach(id="B", reported=date(2026, 1, 31), description="Words only.")
    clocks = breaches.breach_clocks(shipped_isp(), breach, None, date(2026, 2, 1))
    assert clocks[-1].due == date(2026, 2, 28)


def test_resolution_needs_every_signatorys_signed_agreement(isp_repo: IspRepo) -> None:
    breach_id = open_and_resolve_breach(isp_repo, date(2026, 3, 1), date(2026, 3, 20), but=("UNICEF",))
    root = isp_repo.root
    assert [b.id for b in breaches.open_breaches(root, date(2026, 3, 25))] == [breach_id]
    breaches.agree_resolution(root, breach_id, "UNICEF", date(2026, 3, 22))
    isp_repo.commit("UNICEF agrees, signed by IRC", signer="IRC:signatory")
    st = breaches.open_breaches(root, date(2026, 3, 25))[0]
    assert st.awaiting == ["UNICEF"] and "does not count" in st.notes["UNICEF"]
    breaches.agree_resolution(root, breach_id, "UNICEF", date(2026, 3, 23))
    isp_repo.commit("UNICEF agrees", signer="UNICEF:primary")
    assert breaches.open_breaches(root, date(2026, 3, 25)) == []
    st = breaches.breach_statuses(root, date(2026, 3, 25))[0]
    assert st.closed_on == date(2026, 3, 23) and [c.state for c in st.clocks] == ["overdue", "done", "done"]
    result = isp("breach", "resolve", breach_id, "--agency", "XYZ", "--repo", root)
    assert result.code == 1 and "unknown agency" in result.err


def test_an_open_breach_refuses_every_release_until_resolved(isp_repo: IspRepo) -> None:
    new(isp_repo)
    approve_all(isp_repo, RID)
    root = isp_repo.root
    assert membership.release_blockers(root, RID, date(2026, 3, 5)) == []
    breach_id = open_and_resolve_breach(isp_repo, date(2026, 3, 4), date(2026, 3, 10), but=("JRF",))
    blockers = membership.release_blockers(root, RID, date(2026, 3, 12))
    assert any(f"breach {breach_id} is open" in b for b in blockers)
    assert request_files.status(root, RID, date(2026, 3, 12)).state == "blocked"
    breaches.agree_resolution(root, breach_id, "JRF", date(2026, 3, 11))
    assert membership.release_blockers(root, RID, date(2026, 3, 12)) != []  # written, not yet committed
    isp_repo.commit("JRF agrees", signer="JRF:secondary")
    assert membership.release_blockers(root, RID, date(2026, 3, 12)) == []
    assert request_files.status(root, RID, date(2026, 3, 12)).state == "approved"


def test_an_uncommitted_breach_already_blocks(isp_repo: IspRepo) -> None:
    new(isp_repo)
    approve_all(isp_repo, RID)
    breaches.open_breach(isp_repo.root, date(2026, 3, 4), "Reported by telephone, being written up.")
    assert any("is open" in b for b in membership.release_blockers(isp_repo.root, RID, date(2026, 3, 5)))


def test_release_blockers_name_each_reason(isp_repo: IspRepo) -> None:
    root = isp_repo.root
    assert membership.release_blockers(root, "REQ-2026-404", date(2026, 3, 5))[0].endswith(
        "no such request (list them with `isp request status`)"
    )
    new(isp_repo)
    approve_all(isp_repo, RID, but=("IMC",))
    assert membership.release_blockers(root, RID, date(2026, 3, 5)) == [
        "REQ-2026-001: still waiting for IMC; silence is never consent"
    ]
    request_files.decide(root, RID, "IMC", True, None, date(2026, 3, 4))
    assert any("not committed" in b for b in membership.release_blockers(root, RID, date(2026, 3, 5)))
    isp_repo.commit("IMC approves", signer="IMC:signatory")
    assert membership.release_blockers(root, RID, date(2026, 3, 5)) == []
    lapsed = membership.release_blockers(root, RID, date(2027, 10, 20))
    assert lapsed[-1] == "the protocol is not in force on 2027-10-20"


def test_suspend_and_resume_edit_agencies_yaml_round_trip(isp_repo: IspRepo) -> None:
    root = isp_repo.root
    env = {"ISP_TODAY": "2026-03-15"}
    before = (root / "protocol" / "agencies.yaml").read_text()
    result = isp("suspend", "JRF", "--from", "2026-04", "--to", "2026-05", "--reason", "Database migration",
                 "--repo", root, env=env)  # fmt: skip
    assert result.code == 0, result.err
    text = (root / "protocol" / "agencies.yaml").read_text()
    assert "# UNICEF gathers MRM data" in text and len(text) > len(before)
    jrf = loading.load(root).agencies["JRF"]
    assert jrf.suspended_in("2026-04").reason == "Database migration" and jrf.suspended_in("2026-06") is None
    assert jrf.suspensions[0].recorded == date(2026, 3, 15)
    overlap = isp("suspend", "JRF", "--from", "2026-05", "--reason", "Again", "--repo", root)
    assert overlap.code == 1 and "already suspended" in overlap.err
    assert isp("suspend", "JRF", "--from", "2026-07", "--repo", root).code == 2  # the reason is required
    assert isp("suspend", "JRF", "--from", "2026-13", "--reason", "Bad month", "--repo", root).code == 2
    assert isp("suspend", "IRC", "--from", "2026-06", "--reason", "Staff leave", "--repo", root).code == 0
    assert loading.load(root).agencies["IRC"].suspended_in("2030-01") is not None
    resumed = isp("resume", "IRC", "--from", "2026-09", "--repo", root)
    assert resumed.code == 0, resumed.err
    irc = loading.load(root).agencies["IRC"]
    assert irc.suspended_in("2026-08") and not irc.suspended_in("2026-09")
    assert isp("resume", "IRC", "--from", "2026-10", "--repo", root).code == 1  # nothing running any more
    assert isp("suspend", "NHF", "--from", "2026-06", "--reason", "Staff leave", "--repo", root).code == 0
    assert isp("resume", "NHF", "--from", "2026-06", "--repo", root).code == 1


def test_only_the_agency_or_a_coordinator_may_change_its_suspensions(isp_repo: IspRepo) -> None:
    """Otherwise one agency could take another's figures out of the consolidated report."""
    root = isp_repo.root
    base = isp_repo.head()
    suspend = ("suspend", "JRF", "--from", "2026-04", "--reason", "Database migration", "--repo", root)
    assert isp(*suspend).code == 0
    isp_repo.commit("Suspend JRF", signer="IRC:primary")
    problems = membership.membership_check(root, base)
    assert [p.rule for p in problems] == ["suspension-signature"]
    assert "changes JRF's suspensions but is signed by focal.irc@example.org (IRC)" in problems[0].message
    for signer in ("JRF:signatory", "UNHCR:primary"):  # the agency itself, or a coordinator
        git(root, "reset", "-q", "--hard", base)
        assert isp(*suspend).code == 0
        isp_repo.commit("Suspend JRF", signer=signer)
        assert membership.membership_check(root, base) == [], signer


def test_an_agencys_keys_are_its_own_to_register(isp_repo: IspRepo, tmp_path: Path) -> None:
    """A key registered for IRC by anyone else could sign IRC's decisions; a recipient, read its sheets."""
    root = isp_repo.root
    base = isp_repo.head()
    key = ssh_keygen(tmp_path / "planted", "planted")
    keys.add_signer(root, "IRC", "focal.irc@example.org", Path(f"{key}.pub"))
    isp_repo.commit("Register a key for IRC", signer="UNHCR:primary")
    problems = membership.membership_check(root, base)
    assert [p.rule for p in problems] == ["keys-signature"]
    assert "changes IRC's focal points but is signed by focal.unhcr@example.org (UNHCR)" in problems[0].message
    git(root, "reset", "-q", "--hard", base)
    keys.add_signer(root, "IRC", "focal.irc@example.org", Path(f"{key}.pub"))
    isp_repo.commit("IRC registers a second key", signer="IRC:secondary")
    assert membership.membership_check(root, base) == []
    start = isp_repo.head()
    new_ci = ["age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"]
    _edit_yaml(root / "protocol" / "agencies.yaml", lambda doc: doc["ci"].update(age_recipients=new_ci))
    isp_repo.commit("A new CI key", signer="IRC:primary")
    assert [p.rule for p in membership.membership_check(root, start)] == ["ci-key-signature"]


def test_a_coordinator_registers_the_first_keys_of_an_agency_setting_up(isp_repo: IspRepo, tmp_path: Path) -> None:
    root = isp_repo.root
    _edit_yaml(
        root / "protocol" / "agencies.yaml",
        lambda doc: [point.update(ssh_keys=[]) for point in doc["agencies"]["NHF"]["focal_points"].values()],
    )
    base = isp_repo.commit("NHF starts over", signer="NHF:signatory")
    key = ssh_keygen(tmp_path / "nhf-new", "nhf-new")
    keys.add_signer(root, "NHF", "focal.nhf@example.org", Path(f"{key}.pub"))
    isp_repo.commit("Register NHF's first key", signer="IMC:primary")
    assert membership.membership_check(root, base) == []


def _edit_yaml(path: Path, change: Callable[[Any], object]) -> None:
    """Change a protocol file in place, as a person editing it would (comments kept)."""
    handler = YAML()
    doc = handler.load(path)
    change(doc)
    handler.dump(doc, path)


def _add_agency(repo: IspRepo, code: str) -> None:
    handler = YAML()
    path = repo.root / "protocol" / "agencies.yaml"
    doc = handler.load(path)
    doc["agencies"][code] = {
        "name": "A new partner", "label": code, "roles": ["data_gathering"], "system": "other", "sites": ["JO11"],
        "focal_points": {role: {"name": f"{role} Example", "email": f"{role}.{code.lower()}@example.org"}
                         for role in ("primary", "secondary", "signatory")},
    }  # fmt: skip
    handler.dump(doc, path)


def _membership(repo: IspRepo, change: str, agency: str, system: str | None = None) -> str:
    rel = f"protocol/membership/MEM-{agency}.yaml"
    data = {"id": f"MEM-{agency}", "change": change, "agency": agency, "proposed": date(2026, 3, 1), "approvals": {}}
    if system:
        data["system"] = system
    (repo.root / "protocol" / "membership").mkdir(exist_ok=True)
    (repo.root / rel).write_text(yamlfiles.dump_data(data))
    return rel


def _approve_membership(repo: IspRepo, rel: str, agency: str, signer: str) -> None:
    path = repo.root / rel
    data = yaml.safe_load(path.read_text())
    data["approvals"][agency] = date(2026, 3, 2)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    repo.commit(f"{agency} approves", paths=[rel], signer=signer)


def test_a_new_agency_needs_every_signatorys_signed_approval(isp_repo: IspRepo) -> None:
    base = isp_repo.head()
    _add_agency(isp_repo, "NEWORG")
    isp_repo.commit("Add NEWORG", signer="UNHCR:primary")
    assert rules(membership.membership_check(isp_repo.root, base)) == {"membership-approval"}
    rel = _membership(isp_repo, "add-agency", "NEWORG")
    isp_repo.commit("Propose NEWORG", signer="UNHCR:primary")
    for agency in REQUIRED[:-1]:
        _approve_membership(isp_repo, rel, agency, f"{agency}:signatory")
    problems = membership.membership_check(isp_repo.root, base)
    assert [p.message for p in problems] == ["adding NEWORG still needs the signed approval of UNICEF"]
    _approve_membership(isp_repo, rel, "UNICEF", "IRC:signatory")
    assert rules(membership.membership_check(isp_repo.root, base)) == {"approval-by-other-agency",
                                                                       "membership-approval"}  # fmt: skip
    path = isp_repo.root / rel
    data = yaml.safe_load(path.read_text())
    data["approvals"]["UNICEF"] = date(2026, 3, 3)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    isp_repo.commit("UNICEF approves", paths=[rel], signer="UNICEF:signatory")
    # The forged commit stays in the pull request: it must be dropped from the branch.
    assert rules(membership.membership_check(isp_repo.root, base)) == {"approval-by-other-agency"}


def test_dropping_an_agency_or_its_role_needs_every_signatorys_signed_approval(isp_repo: IspRepo) -> None:
    """Otherwise one pull request could take an agency's say over every release away."""
    base = isp_repo.head()
    path = isp_repo.root / "protocol" / "agencies.yaml"
    _edit_yaml(path, lambda doc: doc["agencies"]["UNICEF"]["roles"].remove("data_gathering"))
    isp_repo.commit("UNICEF no longer gathers data", signer="UNHCR:primary")
    problems = membership.membership_check(isp_repo.root, base)
    assert [p.rule for p in problems] == ["membership-approval"] and "changing UNICEF's roles" in problems[0].message
    rel = _membership(isp_repo, "role-change", "UNICEF")
    isp_repo.commit("Propose the role change", signer="UNHCR:primary")
    for agency in REQUIRED:
        _approve_membership(isp_repo, rel, agency, f"{agency}:signatory")
    assert membership.membership_check(isp_repo.root, base) == []

    start = isp_repo.head()
    _edit_yaml(path, lambda doc: doc["agencies"].pop("JRF"))
    isp_repo.commit("JRF leaves", signer="UNHCR:primary")
    problems = membership.membership_check(isp_repo.root, start)
    assert [p.message for p in problems] == ["removing JRF has no approval record"]


def test_letting_sgbv_figures_out_is_an_amendment_every_signatory_signs(isp_repo: IspRepo) -> None:
    base = isp_repo.head()
    path = isp_repo.root / "protocol" / "protocol.yaml"

    def shorter_disclaimer(doc: Any) -> None:
        doc["sharing"]["disclaimers"][0] = "Consolidated from the agencies' case-management data."

    _edit_yaml(path, shorter_disclaimer)
    isp_repo.commit("Shorter disclaimer", signer="UNHCR:primary")
    assert membership.membership_check(isp_repo.root, base) == []  # the wording is the coordinators' to keep
    _edit_yaml(path, lambda doc: doc["sharing"].update(never_external_tags=[]))
    isp_repo.commit("Share everything", signer="UNHCR:primary")
    problems = membership.membership_check(isp_repo.root, base)
    assert [(p.file, p.message) for p in problems] == [
        ("protocol/protocol.yaml", "amending the protocol (sharing) has no approval record")
    ]
    rel = "protocol/membership/AMEND-1.yaml"
    (isp_repo.root / rel).parent.mkdir(exist_ok=True)
    record = {"id": "AMEND-1", "change": "protocol-amendment", "sections": ["sharing"], "proposed": date(2026, 3, 1)}
    (isp_repo.root / rel).write_text(yaml.safe_dump(record | {"approvals": {}}, sort_keys=False))
    isp_repo.commit("Propose the amendment", signer="UNHCR:primary")
    for agency in REQUIRED[:-1]:
        _approve_membership(isp_repo, rel, agency, f"{agency}:signatory")
    problems = membership.membership_check(isp_repo.root, base)
    assert [p.message for p in problems] == [
        "amending the protocol (sharing) still needs the signed approval of UNICEF"
    ]

    start = isp_repo.head()
    indicators = isp_repo.root / "protocol" / "indicators.yaml"
    text = indicators.read_text(encoding="utf-8")
    indicators.write_text(
        text.replace("name_en: Sexual violence", "name_en: Sexual violence (all forms)"), encoding="utf-8"
    )
    isp_repo.commit("Clearer name", signer="UNHCR:primary")
    assert membership.membership_check(isp_repo.root, start) == []  # names are free to edit
    indicators.write_text(text.replace("tags: [sgbv], name_en", "tags: [], name_en"), encoding="utf-8")
    isp_repo.commit("Untag sexual violence", signer="UNHCR:primary")
    problems = membership.membership_check(isp_repo.root, start)
    assert [p.message for p in problems] == ["amending the protocol (indicators) has no approval record"]


def test_a_system_switch_needs_a_coordinators_signed_approval(isp_repo: IspRepo) -> None:
    base = isp_repo.head()
    handler = YAML()
    path = isp_repo.root / "protocol" / "agencies.yaml"
    doc = handler.load(path)
    doc["agencies"]["IRC"]["system"] = "rais_cpims"
    handler.dump(doc, path)
    rel = _membership(isp_repo, "system-switch", "IRC", "rais_cpims")
    isp_repo.commit("IRC moves to RAIS-CPIMS", signer="IRC:primary")
    _approve_membership(isp_repo, rel, "JRF", "JRF:primary")
    problems = membership.membership_check(isp_repo.root, base)
    assert problems[0].rule == "membership-approval" and "a coordinator (IMC, UNHCR)" in problems[0].message
    _approve_membership(isp_repo, rel, "IMC", "IMC:signatory")
    # Ground rule 8: the record says when the coordinators arranged training and told the signatories.
    problems = membership.membership_check(isp_repo.root, base)
    assert [(p.rule, p.column) for p in problems] == [
        ("system-switch-record", "training"),
        ("system-switch-record", "signatories_notified"),
    ]
    data = yaml.safe_load((isp_repo.root / rel).read_text())
    data |= {"training": date(2026, 3, 3), "signatories_notified": date(2026, 3, 4)}
    (isp_repo.root / rel).write_text(yaml.safe_dump(data, sort_keys=False))
    isp_repo.commit("Training and notice recorded", paths=[rel], signer="UNHCR:primary")
    assert membership.membership_check(isp_repo.root, base) == []


# --- rights the protocol gives each agency --------------------------------------------------------


def _right(repo: IspRepo, right_id: str, signer: str | None, **fields: Any) -> str:
    rel = f"protocol/rights/{right_id}.yaml"
    (repo.root / "protocol" / "rights").mkdir(exist_ok=True)
    data = {"id": right_id, "reason": "Said in words, without figures."} | fields
    (repo.root / rel).write_text(yamlfiles.dump_data(data))
    repo.commit(f"{right_id}", paths=[rel], signer=signer)
    return rel


def _withdraw(isp_repo: IspRepo, day: date, signer: str = "JRF:primary") -> str:
    from isp.governance import rights

    rel = _right(
        isp_repo, "RIGHT-2026-001", signer, kind="withdrawal", agency="JRF", date=day, breach="BR-2026-001",
        signed={"JRF": day},
    )  # fmt: skip
    assert rights.all_rights(isp_repo.root)[0].kind == "withdrawal"
    _edit_yaml(isp_repo.root / "protocol" / "agencies.yaml", lambda doc: doc["agencies"].pop("JRF"))
    isp_repo.commit("JRF leaves the protocol", signer=signer, email=email_of(signer))
    return rel


def test_leaving_after_an_unresolved_breach_needs_only_the_agencys_own_signed_record(isp_repo: IspRepo) -> None:
    from isp.governance import reminders, rights

    breach = breaches.open_breach(isp_repo.root, date(2026, 3, 1), "A table was forwarded outside the group.")
    isp_repo.commit("Breach", [breach.path], "IMC:primary")
    base = isp_repo.head()
    _withdraw(isp_repo, date(2026, 4, 2))
    assert membership.membership_check(isp_repo.root, base) == []  # no other agency's consent
    (due,) = rights.revisions_due(isp_repo.root, rights.amendment_dates(isp_repo.root))
    assert due.agency == "JRF" and due.since == date(2026, 4, 2)
    items = {i.key: i for i in reminders.reminders(isp_repo.root, date(2026, 4, 5))}
    assert "revis" in items["protocol-revision-RIGHT-2026-001"].title
    _membership_amendment(isp_repo, date(2026, 5, 1))
    assert rights.revisions_due(isp_repo.root, rights.amendment_dates(isp_repo.root)) == []


def _membership_amendment(repo: IspRepo, day: date) -> None:
    rel = "protocol/membership/MEM-REVISION.yaml"
    data = {"id": "MEM-REVISION", "change": "protocol-amendment", "sections": ["sharing"], "proposed": day}
    (repo.root / "protocol" / "membership").mkdir(exist_ok=True)
    (repo.root / rel).write_text(yaml.safe_dump(data | {"approvals": {}}, sort_keys=False))


def test_leaving_is_refused_when_signed_by_another_agency_or_with_no_open_breach(isp_repo: IspRepo) -> None:
    breach = breaches.open_breach(isp_repo.root, date(2026, 3, 1), "A table was forwarded outside the group.")
    isp_repo.commit("Breach", [breach.path], "IMC:primary")
    base = isp_repo.head()
    _withdraw(isp_repo, date(2026, 4, 2), signer="UNHCR:primary")
    assert "rights-signed" in rules(membership.membership_check(isp_repo.root, base))
    early = isp_repo.head()
    path = isp_repo.root / "protocol" / "rights" / "RIGHT-2026-001.yaml"
    data = yaml.safe_load(path.read_text()) | {"date": date(2026, 2, 1), "signed": {"JRF": date(2026, 2, 1)}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rel = str(path.relative_to(isp_repo.root))
    isp_repo.commit("Dated before the breach", paths=[rel], signer="JRF:primary", email=email_of("JRF:primary"))
    from isp.governance import rights

    left = rights.withdrawal_problems(isp_repo.root, shipped_isp(), "JRF", "HEAD", early)
    assert left is not None and "withdrawal-breach" in rules(left)


def test_an_agency_authorises_another_member_to_share_its_own_data(isp_repo: IspRepo) -> None:
    from isp.governance import rights

    scope = {"kind": "own-data-authorisation", "agency": "JRF", "member": "IRC", "date": date(2026, 4, 1)}
    scope |= {"recipient": "A donor", "data": ["new_cases"], "signed": {"JRF": date(2026, 4, 1)}}
    _right(isp_repo, "RIGHT-2026-002", "JRF:primary", **scope)
    root = isp_repo.root
    assert rights.authorised(root, "JRF", "IRC", "a donor", ["new_cases"])
    assert not rights.authorised(root, "JRF", "IRC", "a newspaper", ["new_cases"])  # scoped by recipient
    assert not rights.authorised(root, "JRF", "IRC", "A donor", ["caseload"])  # and by data
    assert not rights.authorised(root, "JRF", "NHF", "A donor", ["new_cases"])  # and by member
    assert rights.check(root, loading.load(root)) == []
    forged = scope | {"agency": "NHF", "signed": {"NHF": date(2026, 4, 1)}}
    _right(isp_repo, "RIGHT-2026-003", "IRC:primary", **forged)  # NHF's right, signed by IRC
    assert not rights.authorised(root, "NHF", "IRC", "A donor", ["new_cases"])
    assert "rights-signed" in rules(rights.check(root, loading.load(root)))
    _right(isp_repo, "RIGHT-2026-004", "JRF:primary", **(scope | {"member": "JRF"}))
    assert "rights-scope" in rules(rights.check(root, loading.load(root)))


def test_an_approved_reports_statistics_serve_internal_and_donor_reporting_but_not_sgbv() -> None:
    from isp.governance import rights

    isp_ = shipped_isp()
    assert rights.may_use(isp_, True, ["new_cases"], "donor").allowed
    assert rights.may_use(isp_, True, ["new_cases"], "internal").allowed
    assert not rights.may_use(isp_, False, ["new_cases"], "donor").allowed
    sgbv = rights.may_use(isp_, True, ["new_cases", "concern_sexual_violence"], "donor")
    assert not sgbv.allowed and "SGBV" in sgbv.why
    other = rights.may_use(isp_, True, ["new_cases"], "fundraising brochure", report_id="REQ-1", agency="IRC")
    assert not other.allowed and "discussion" in other.why
    talk = rights.Right.model_validate(
        {"id": "RIGHT-2026-005", "kind": "other-use-discussion", "agency": "IRC", "date": date(2026, 5, 1),
         "report": "REQ-1", "use": "fundraising brochure", "minutes": "TF-2026-04", "reason": "Discussed."}
    )  # fmt: skip
    assert rights.may_use(isp_, True, ["new_cases"], "fundraising brochure", [talk], "REQ-1", "IRC").allowed


def test_stopping_after_a_breach_is_its_own_written_kind_with_the_recommendation(isp_repo: IspRepo) -> None:
    root = isp_repo.root
    breach = breaches.open_breach(root, date(2026, 3, 1), "A table was forwarded outside the group.")
    result = isp("suspend", "JRF", "--from", "2026-04", "--breach", breach.id, "--reason", "Our table leaked",
                 "--repo", root)  # fmt: skip
    assert result.code == 0, result.err
    assert "because of breach BR-2026-001" in result.out and "keep sharing its data with the coordinators" in result.out
    stop = loading.load(root).agencies["JRF"].suspended_in("2026-04")
    assert stop.kind == "breach-stop" and stop.breach == breach.id and stop.reason == "Our table leaked"
    plain = isp("suspend", "IRC", "--from", "2026-04", "--reason", "Staff leave", "--repo", root)
    assert "keep sharing" not in plain.out and loading.load(root).agencies["IRC"].suspended_in("2026-04").kind == (
        "suspension"
    )
    unknown = isp("suspend", "NHF", "--from", "2026-04", "--breach", "BR-2099-001", "--reason", "X y z", "--repo", root)
    assert unknown.code == 1 and "no such breach" in unknown.err


def test_the_site_says_members_share_with_each_other_without_approval() -> None:
    from tests.helpers import REPO_ROOT

    page = " ".join((REPO_ROOT / "site" / "protocol.md").read_text(encoding="utf-8").split())
    assert "share with each other without the group's approval" in page
    assert "internal and donor reporting" in page and "10th working day of June and of December" in page
