"""`isp request check`: forged decisions refused, in the pull request under review and in history.

Each test builds a real repository, a base commit, then the pull request's own SSH-signed (or
unsigned, or wrongly signed) commits, and runs the check as CI does: `--base BASE --head HEAD`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import yaml

from isp.crypto import keys
from isp.governance import breaches, request_files, request_models, request_rules
from isp.history.attribution import entry_changes, revisions
from tests.governance.helpers import approve_all, decide, fields, new, rules
from tests.helpers import IspRepo, git, isp, patched_env, ssh_keygen

RID = "REQ-2026-001"


def _check(repo: IspRepo, base: str | None) -> list:
    return request_files.check(repo.root, base)


def _edit(repo: IspRepo, change) -> None:
    path = repo.root / request_models.path_of(RID)
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_decision_signed_with_another_agencys_key_is_refused(isp_repo: IspRepo) -> None:
    new(isp_repo)
    base = isp_repo.head()
    decide(isp_repo, RID, "IRC", signer="JRF:primary")
    problems = _check(isp_repo, base)
    assert rules(problems) == {"decision-by-other-agency"}
    assert "signed by focal.jrf@example.org (JRF)" in problems[0].message
    assert rules(_check(isp_repo, None)) == {"decision-by-other-agency"}  # and on main, after a merge
    st = request_files.status(isp_repo.root, RID, date(2026, 3, 4))
    assert not st.agency("IRC").counted and st.agency("IRC").state == "awaiting"


def test_an_unsigned_decision_is_refused(isp_repo: IspRepo) -> None:
    new(isp_repo)
    base = isp_repo.head()
    decide(isp_repo, RID, "IRC", signer=None)
    problems = _check(isp_repo, base)
    assert rules(problems) == {"decision-unsigned"} and "is not signed" in problems[0].message


def test_a_stranger_key_is_refused(isp_repo: IspRepo) -> None:
    new(isp_repo)
    base = isp_repo.head()
    decide(isp_repo, RID, "IRC", signer="stranger")
    problems = _check(isp_repo, base)
    assert rules(problems) == {"decision-unsigned"} and "not in protocol/allowed_signers" in problems[0].message


def test_a_decision_edited_by_another_agency_is_refused_and_no_longer_counts(isp_repo: IspRepo) -> None:
    new(isp_repo)
    decide(isp_repo, RID, "IRC")
    base = isp_repo.head()
    _edit(isp_repo, lambda d: d["decisions"]["IRC"].update(decision="deny", reason="Changed by someone else"))
    isp_repo.commit("Edit IRC's answer", signer="UNHCR:primary")
    problems = _check(isp_repo, base)
    assert rules(problems) == {"decision-by-other-agency"}
    assert "changed IRC's decision" in problems[0].message
    st = request_files.status(isp_repo.root, RID, date(2026, 3, 4))
    assert st.state == "pending" and not st.agency("IRC").counted


def test_a_removed_decision_is_refused(isp_repo: IspRepo) -> None:
    new(isp_repo)
    decide(isp_repo, RID, "IRC")
    base = isp_repo.head()
    _edit(isp_repo, lambda d: d["decisions"].pop("IRC"))
    isp_repo.commit("Drop IRC's answer", signer="IRC:primary")  # even by the agency itself
    problems = _check(isp_repo, base)
    assert rules(problems) == {"decision-removed"}
    assert [p.severity for p in _check(isp_repo, None)] == ["warning"]  # merged: history cannot be undone


def test_a_key_added_in_the_pull_request_does_not_sign_for_it(isp_repo: IspRepo, tmp_path: Path) -> None:
    new(isp_repo)
    base = isp_repo.head()
    key = ssh_keygen(tmp_path / "irc-new", "irc-new")
    keys.add_signer(isp_repo.root, "IRC", "focal.irc@example.org", Path(f"{key}.pub"))
    keys.sync(isp_repo.root)
    isp_repo.commit("Add a key", signer="IRC:primary")
    isp_repo.keyring.ssh["irc-new-in-pr"] = key
    decide(isp_repo, RID, "IRC", signer="irc-new-in-pr")
    assert rules(_check(isp_repo, base)) == {"decision-unsigned"}
    # Once merged, the key was in force when the decision was made: it counts.
    assert rules(_check(isp_repo, None)) == set()


def test_one_bad_commit_among_good_ones_is_named(isp_repo: IspRepo) -> None:
    new(isp_repo)
    base = isp_repo.head()
    approve_all(isp_repo, RID, but=("NHF",))
    bad = decide(isp_repo, RID, "NHF", signer="IMC:secondary")
    problems = [p for p in _check(isp_repo, base) if p.severity == "error"]
    assert len(problems) == 1 and bad[:10] in problems[0].message
    result = isp("request", "check", "--base", base, "--json", "--repo", isp_repo.root)
    assert result.code == 1 and json.loads(result.out)["ok"] is False
    text = isp("request", "check", "--base", base, "--repo", isp_repo.root)
    assert text.code == 1 and "[decision-by-other-agency]" in text.err and "Traceback" not in text.output


def test_the_request_may_not_change_once_agencies_decided(isp_repo: IspRepo) -> None:
    new(isp_repo)
    decide(isp_repo, RID, "IRC")
    base = isp_repo.head()
    _edit(isp_repo, lambda d: d["data"].update(geography=["sites"]))
    isp_repo.commit("Widen the request", signer="UNHCR:primary")
    assert rules(_check(isp_repo, base)) == {"changed-after-decisions"}


def test_a_deleted_request_is_refused(isp_repo: IspRepo) -> None:
    new(isp_repo)
    base = isp_repo.head()
    (isp_repo.root / request_models.path_of(RID)).unlink()
    isp_repo.commit("Drop the request", signer="UNHCR:primary")
    assert rules(_check(isp_repo, base)) == {"request-deleted"}


def test_a_merge_commit_keeps_the_agency_signatures(isp_repo: IspRepo) -> None:
    new(isp_repo)
    git(isp_repo.root, "checkout", "-q", "-b", "irc-decides")
    decide(isp_repo, RID, "IRC")
    git(isp_repo.root, "checkout", "-q", "main")
    new(isp_repo, id="REQ-2026-002")  # main moves on in the same folder meanwhile
    git(isp_repo.root, "-c", "user.email=web-flow@example.org", "merge", "-q", "--no-ff", "--no-gpg-sign",
        "-m", "Merge pull request", "irc-decides")  # fmt: skip
    assert rules(_check(isp_repo, None)) == set()
    assert request_files.status(isp_repo.root, RID, date(2026, 3, 4)).agency("IRC").counted
    merge = revisions(isp_repo.root, request_models.path_of(RID))[-1]
    assert merge.sha == isp_repo.head() and not merge.signer.verified
    assert entry_changes(merge, "decisions") == []  # it brought IRC's decision; it did not make it


def test_denial_without_reason_and_decisions_before_issue(isp_repo: IspRepo) -> None:
    new(isp_repo)
    _edit(isp_repo, lambda d: d["decisions"].update(IRC={"decision": "deny", "date": date(2026, 3, 3)}))
    isp_repo.commit("IRC denies", signer="IRC:primary")
    _edit(isp_repo, lambda d: d["decisions"].update(JRF={"decision": "approve", "date": date(2026, 2, 27)}))
    isp_repo.commit("JRF approves early", signer="JRF:primary")
    assert rules(_check(isp_repo, None)) == {"denial-without-reason", "decision-before-issued"}


def test_media_requests_are_never_pre_approved_nor_blanket(isp_repo: IspRepo) -> None:
    data = {"report": "annual", "periods": ["2025"], "indicators": "all", "geography": "national"}
    problems = request_rules.content_problems(isp_repo.load(), request_models.Request.model_validate(
        {**fields(type="media", data=data), "decisions": {"IRC": {"decision": "approve", "date": "2026-03-01"}}}
    ), {})  # fmt: skip
    assert rules(problems) == {"media-blanket", "media-pre-approved"}


def test_government_requests_go_to_the_named_bodies_and_carry_the_annual_analysis(isp_repo: IspRepo) -> None:
    isp_ = isp_repo.load()
    bad = request_models.Request.model_validate(fields(type="government", recipient="POLICE"))
    assert rules(request_rules.content_problems(isp_, bad, {})) == {"government-recipient", "government-annual"}
    annual = {"report": "annual", "periods": ["2025"], "indicators": ["caseload"], "geography": "national"}
    good = request_models.Request.model_validate(fields(type="government", recipient="MOSD", data=annual))
    assert rules(request_rules.content_problems(isp_, good, {})) == set()
    stray = request_models.Request.model_validate(fields(recipient="MOSD"))
    assert rules(request_rules.content_problems(isp_, stray, {})) == {"recipient"}


def test_onward_requests_reference_the_original_and_the_recipient_never_forwards(isp_repo: IspRepo) -> None:
    original = new(isp_repo)
    isp_ = isp_repo.load()
    others = {original.id: original}
    ask = fields(id="REQ-2026-002", type="onward", original_request=original.id)
    forwarder = request_models.Request.model_validate(ask)  # same organisation as the original recipient
    problems = request_rules.content_problems(isp_, forwarder, others)
    assert rules(problems) == {"onward-forwarding"} and "may never pass it on" in problems[0].message
    third = {"organization": "A newspaper", "name": "N. Example", "position": "Editor", "contact": "n@example.org"}
    assert rules(request_rules.content_problems(isp_, request_models.Request.model_validate(ask | {"requester": third}),
                                           others)) == set()  # fmt: skip
    missing = request_models.Request.model_validate(ask | {"requester": third, "original_request": "REQ-1999-001"})
    assert rules(request_rules.content_problems(isp_, missing, others)) == {"onward-original"}
    result = isp("request", "new", "--type", "onward", "--original", original.id, *_flags(original), "--repo",
                 isp_repo.root, env={"ISP_TODAY": "2026-03-04"})  # fmt: skip
    assert result.code == 1 and "[onward-forwarding]" in result.err


def test_a_release_recorded_before_approval_is_refused(isp_repo: IspRepo) -> None:
    new(isp_repo)
    approve_all(isp_repo, RID, but=("UNICEF",))
    request_files.record_release(isp_repo.root, RID, "REL-1", day=date(2026, 3, 4), recipient="Someone")
    isp_repo.commit("Release too early", signer="UNHCR:primary")
    assert rules(_check(isp_repo, None)) == {"release-without-approval"}


def test_a_release_dated_back_is_refused_in_the_pull_request_that_records_it(isp_repo: IspRepo) -> None:
    """`ISP_TODAY` pinned to an earlier day would let a package escape a breach or an expiry."""
    new(isp_repo)
    approve_all(isp_repo, RID)
    base = isp_repo.head()
    request_files.record_release(isp_repo.root, RID, "REL-1", day=date(2026, 3, 4), recipient="Someone")
    isp_repo.commit("Record the release", signer="UNHCR:primary")
    with patched_env({"ISP_TODAY": "2026-03-10"}):
        assert _check(isp_repo, base) == []  # six days: time for the pull request's review
    with patched_env({"ISP_TODAY": "2026-04-20"}):
        problems = _check(isp_repo, base)
        assert rules(problems) == {"release-date"} and "dated 2026-03-04" in problems[0].message
        assert _check(isp_repo, isp_repo.head()) == []  # once merged, history is not judged again


def _flags(request: request_models.Request) -> list[str]:
    who, data = request.requester, request.data
    return [
        "--organization", who.organization, "--name", who.name, "--position", who.position, "--contact", who.contact,
        "--purpose", "p", "--use", "u", "--feedback", "f", "--guarantee", "g", "--report", data.report,
        "--periods", ",".join(data.periods), "--indicators", "caseload", "--geography", "national",
    ]  # fmt: skip


def test_only_a_coordinator_writes_the_request_itself(isp_repo: IspRepo) -> None:
    base = isp_repo.head()
    new(isp_repo, signer="IRC:primary")
    problems = _check(isp_repo, base)
    assert rules(problems) == {"record-not-by-coordinator"} and "(IMC, UNHCR)" in problems[0].message
    base = isp_repo.head()
    request_files.decide(isp_repo.root, RID, "JRF", True, None, date(2026, 3, 3))
    _edit(isp_repo, lambda d: d.update(purpose="Something broader"))
    isp_repo.commit("JRF approves and edits the purpose", signer="JRF:primary")
    assert rules(_check(isp_repo, base)) == {"record-not-by-coordinator"}


def test_breach_records_are_checked_with_the_requests(isp_repo: IspRepo) -> None:

    breach = breaches.open_breach(isp_repo.root, date(2026, 3, 1), "A table left the group.")
    isp_repo.commit("Breach", signer="IMC:primary")
    base = isp_repo.head()
    breaches.agree_resolution(isp_repo.root, breach.id, "IRC", date(2026, 3, 5))
    isp_repo.commit("IRC agrees, signed by JRF", signer="JRF:signatory")
    path = isp_repo.root / breach.path
    path.write_text(path.read_text().replace("A table left the group.", "Seven tables left the group, 12 rows."))
    isp_repo.commit("Edit the description", signer="IRC:primary")
    found = rules(breaches.breach_check(isp_repo.root, base))
    assert found == {"agreement-by-other-agency", "breach-figures", "record-not-by-coordinator"}
    result = isp("request", "check", "--base", base, "--repo", isp_repo.root)
    assert result.code == 1 and "[agreement-by-other-agency]" in result.err


def test_a_decision_may_only_name_an_external_profile_as_an_approvals_condition(isp_repo: IspRepo) -> None:
    new(isp_repo)
    cases = {"IRC": {"decision": "approve", "date": date(2026, 3, 3), "profile": "strict"}}
    _edit(isp_repo, lambda d: d["decisions"].update(cases))
    isp_repo.commit("IRC approves on condition of the strict profile", signer="IRC:primary")
    assert rules(_check(isp_repo, None)) == set()
    wrong = {"decision": "approve", "date": date(2026, 3, 3), "profile": "internal"}
    _edit(isp_repo, lambda d: d["decisions"].update(JRF=wrong))
    isp_repo.commit("JRF approves with the internal profile", signer="JRF:primary")
    assert rules(_check(isp_repo, None)) == {"unknown-profile"}
