"""`isp ci pr` on real pull requests: real git branches, real SSH signatures, real sops envelopes.

One repository per module; each test starts its own branch from the same base (a "pull request")
and runs the real CLI with and without the CI's age key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from isp.ci.gate import fingerprints
from isp.crypto import keys, sops
from isp.demo import synthetic
from isp.sheets import tidy
from tests.helpers import IspRepo, Result, git, isp, new_ssh_key, write_submission

TODAY = "2025-06-20"
CANARY = 918273


@pytest.fixture(scope="module")
def base(module_repo: IspRepo) -> str:
    """main: the initial commit plus IRC's signed sheets for 2025-01 and 2025-02."""
    write_submission(module_repo, "IRC", "2025-01")
    write_submission(module_repo, "IRC", "2025-02")
    return module_repo.commit("IRC: sheets for January and February", signer="IRC:primary")


def start_pr(repo: IspRepo, base: str, name: str) -> None:
    """A clean branch at ``base``: the pull request's head is built on it."""
    git(repo.root, "checkout", "-q", "-f", "-B", name.replace(":", "-"), base)
    git(repo.root, "clean", "-q", "-f", "-d")


def ci_pr(repo: IspRepo, base: str, key: bool = False, *extra: str) -> Result:
    env: dict[str, str | None] = {"ISP_TODAY": TODAY}
    if key:
        env.update(repo.keyring.env("ci"))
    return isp("ci", "pr", "--repo", repo.root, "--base", base, "--head", "HEAD", *extra, env=env)


def violations(result: Result) -> list[dict]:
    return json.loads(result.out)["violations"]


def rules(result: Result) -> set[str]:
    return {v["rule"] for v in violations(result)}


def canary_frame(repo: IspRepo, agency: str, month: str) -> pd.DataFrame:
    frame = synthetic.month_sheet(repo.load(), agency, month, seed=5)
    frame.loc[0, "count"] = CANARY
    return frame


def test_a_good_pull_request_passes(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "good")
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("IRC: March", signer="IRC:secondary")
    plain = ci_pr(module_repo, base)
    assert plain.code == 0, plain.output
    assert "every pull-request rule holds" in plain.out and "IRC:secondary" in plain.out
    keyed = ci_pr(module_repo, base, True, "--json")
    assert keyed.code == 0, keyed.output
    report = json.loads(keyed.out)
    assert report["ok"] and report["decrypted"]
    checks = report["files"][0]["checks"]
    assert checks["decrypts"] and checks["month-matches"] and checks["recipients"] and checks["not-replayed"]


def test_a_revision_by_the_agency_itself_passes(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "revision")
    write_submission(module_repo, "IRC", "2025-01", seed=99)
    module_repo.commit("IRC: corrected January", signer="IRC:primary")
    assert ci_pr(module_repo, base, True).code == 0


@pytest.mark.parametrize(
    ("signer", "rule", "words"),
    [
        ("JRF:primary", "wrong-agency", "signed by focal.jrf@example.org of JRF; only a focal point of IRC"),
        (None, "signature", "is not signed: only a focal point of IRC may change it"),
        ("stranger", "signature", "carries a signature the base's protocol/allowed_signers does not accept"),
    ],
)
def test_a_commit_not_signed_by_the_agency_is_refused(
    module_repo: IspRepo, base: str, signer: str | None, rule: str, words: str
) -> None:
    start_pr(module_repo, base, f"signer-{rule}-{signer}")
    write_submission(module_repo, "IRC", "2025-03")
    sha = module_repo.commit("IRC: March", signer=signer)
    result = ci_pr(module_repo, base)
    assert result.code == 1
    line = next(ln for ln in result.err.splitlines() if f"[{rule}]" in ln)
    assert line.startswith("submissions/IRC/2025-03.csv: ") and words in line and sha[:10] in line
    assert rules(ci_pr(module_repo, base, False, "--json")) == {rule}


def test_every_commit_counts_not_only_the_last(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "sneaky")
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("unsigned first", signer=None)
    write_submission(module_repo, "IRC", "2025-03", seed=4)
    module_repo.commit("signed afterwards", signer="IRC:primary")
    assert rules(ci_pr(module_repo, base, False, "--json")) == {"signature"}


def test_a_key_added_by_the_pull_request_itself_does_not_count(module_repo: IspRepo, base: str, tmp_path: Path) -> None:
    start_pr(module_repo, base, "own-key")
    key = new_ssh_key(tmp_path, "newcomer")
    keys.add_signer(module_repo.root, "IRC", module_repo.email("IRC"), Path(f"{key}.pub"))
    keys.sync(module_repo.root)
    module_repo.keyring.ssh["newcomer"] = key
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("my key, and my sheet signed with it", signer="newcomer", email=module_repo.email("IRC"))
    result = ci_pr(module_repo, base)
    assert result.code == 1
    assert "[signature]" in result.err and "does not accept" in result.err
    assert "REVIEW CAREFULLY: protocol/allowed_signers" in result.out
    notices = json.loads(ci_pr(module_repo, base, False, "--json").out)["notices"]
    assert ("protocol/allowed_signers", True) in [(n["path"], n["loud"]) for n in notices]


def _tamper(envelope: bytes) -> bytes:
    doc = json.loads(envelope)
    data = doc["data"]
    start = data.index("data:") + 5 + 40
    doc["data"] = data[:start] + ("A" if data[start] != "A" else "B") + data[start + 1 :]
    return json.dumps(doc, indent=1).encode()


def test_a_tampered_ciphertext_is_one_clear_line(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "tampered")
    path = write_submission(module_repo, "IRC", "2025-03")
    path.write_bytes(_tamper(path.read_bytes()))
    module_repo.commit("IRC: March", signer="IRC:primary")
    assert ci_pr(module_repo, base).code == 0  # without the key, a well-formed envelope is all we can see
    result = ci_pr(module_repo, base, True)
    assert result.code == 1
    lines = [ln for ln in result.err.splitlines() if "[decrypt]" in ln]
    assert lines == [
        "submissions/IRC/2025-03.csv: [decrypt] the ciphertext was altered: a value does not decrypt "
        "(tampered or damaged file) Fix: submit the file again with `isp submit`"
    ]


def test_wrong_recipients_are_refused_and_named(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "recipients")
    frame = synthetic.month_sheet(module_repo.load(), "IRC", "2025-03")
    envelope = sops.encrypt(module_repo.root, "submissions/JRF/2025-03.csv", tidy.to_csv(frame))
    (module_repo.root / "submissions/IRC/2025-03.csv").write_bytes(envelope)
    module_repo.commit("IRC: March, encrypted for the wrong agency", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert result.code == 1
    line = next(ln for ln in result.err.splitlines() if "[recipients]" in ln)
    assert "missing IRC" in line and "not allowed JRF" in line


def test_a_plaintext_csv_is_refused_and_never_echoed(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "plaintext")
    frame = canary_frame(module_repo, "IRC", "2025-03")
    (module_repo.root / "submissions/IRC/2025-03.csv").write_bytes(tidy.to_csv(frame))
    module_repo.commit("IRC: March in the clear", signer="IRC:primary")
    for key in (False, True):
        result = ci_pr(module_repo, base, key)
        assert result.code == 1
        assert "submissions/IRC/2025-03.csv: [not-encrypted] not a sops envelope" in result.err
        assert str(CANARY) not in result.output


def test_a_submission_replayed_from_another_month_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "replay")
    shutil.copy(module_repo.root / "submissions/IRC/2025-01.csv", module_repo.root / "submissions/IRC/2025-03.csv")
    module_repo.commit("IRC: March (really January)", signer="IRC:primary")
    plain = ci_pr(module_repo, base)
    assert plain.code == 1
    assert "submissions/IRC/2025-03.csv: [replay] the ciphertext is a copy of submissions/IRC/2025-01.csv" in plain.err
    assert {"replay", "month-mismatch"} <= rules(ci_pr(module_repo, base, True, "--json"))


def test_a_re_indented_replay_is_still_caught(module_repo: IspRepo, base: str) -> None:
    """Re-indenting the envelope or escaping its characters keeps its IVs: still recognised."""
    start_pr(module_repo, base, "replay-indent")
    doc = json.loads((module_repo.root / "submissions/IRC/2025-02.csv").read_bytes())
    copy = json.dumps(doc, indent=4).encode()
    assert fingerprints(copy) == fingerprints((module_repo.root / "submissions/IRC/2025-02.csv").read_bytes())
    escaped = copy.replace(b'"ENC[AES256_GCM,data:', b'"\\u0045NC[AES256_GCM,data:').replace(b",iv:", b",\\u0069v:")
    assert json.loads(escaped) == doc and fingerprints(escaped) == fingerprints(copy)
    (module_repo.root / "submissions/IRC/2025-04.csv").write_bytes(escaped)
    module_repo.commit("IRC: April (really February)", signer="IRC:primary")
    assert rules(ci_pr(module_repo, base, False, "--json")) == {"replay"}


def test_a_sheet_whose_month_column_lies_is_refused_with_the_key(module_repo: IspRepo, base: str) -> None:
    """A fresh envelope of January's figures filed as March: only the key can tell."""
    start_pr(module_repo, base, "month-lie")
    frame = canary_frame(module_repo, "IRC", "2025-01")
    write_submission(module_repo, "IRC", "2025-03", frame=frame)
    module_repo.commit("IRC: March", signer="IRC:primary")
    assert ci_pr(module_repo, base).code == 0
    result = ci_pr(module_repo, base, True)
    assert result.code == 1 and "[month-mismatch]" in result.err
    assert str(CANARY) not in result.output


@pytest.mark.parametrize(
    ("rel", "rule"),
    [
        ("submissions/IRC/2025-12.csv", "month"),
        ("submissions/IRC/notes.csv", "path"),
        ("submissions/UNICEF/2025-03.csv", "agency"),
    ],
)
def test_paths_months_and_agencies(module_repo: IspRepo, base: str, rel: str, rule: str) -> None:
    start_pr(module_repo, base, f"path-{rule}")
    agency = rel.split("/")[1]
    frame = synthetic.month_sheet(module_repo.load(), "IRC", "2025-03")
    target = module_repo.root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(sops.encrypt(module_repo.root, rel, tidy.to_csv(frame)))
    module_repo.commit("a sheet", signer=f"{agency}:primary")
    assert rule in rules(ci_pr(module_repo, base, False, "--json"))


def test_deleting_a_submission_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "delete")
    (module_repo.root / "submissions/IRC/2025-01.csv").unlink()
    module_repo.commit("IRC: withdraw January", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert result.code == 1
    assert "submissions/IRC/2025-01.csv: [deleted] a submission may not be deleted" in result.err


def test_aggregates_need_the_members_recipients(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "aggregates")
    target = module_repo.root / "aggregates/monthly/2025-01.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(sops.encrypt(module_repo.root, "submissions/IRC/2025-01.csv", b"period,count\n"))
    module_repo.commit("an aggregate for the wrong audience", signer="UNHCR:primary")
    result = ci_pr(module_repo, base, False, "--json")
    assert rules(result) == {"aggregates-not-by-ci"}
    assert {v["file"] for v in violations(result)} == {"aggregates/monthly/2025-01.csv"}


def test_code_changes_need_a_coordinators_signature(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "code")
    with (module_repo.root / "mkdocs.yml").open("a") as handle:
        handle.write("\n# a note\n")
    module_repo.commit("docs: a note", signer=None)
    result = ci_pr(module_repo, base)
    assert result.code == 1 and "mkdocs.yml: [code-not-approved]" in result.err
    git(module_repo.root, "reset", "-q", "--soft", base)
    module_repo.commit("docs: a note", signer="UNHCR:primary")  # UNHCR coordinates
    signed = ci_pr(module_repo, base)
    assert signed.code == 0, signed.output
    assert "review: mkdocs.yml: code change (1 path(s)) signed by a coordinator" in signed.out


def test_merging_main_into_the_branch_blames_no_one(module_repo: IspRepo, base: str) -> None:
    """A merge commit only answers for what it changes itself; JRF's commit on main is not the PR's."""
    start_pr(module_repo, base, "main-moves")
    write_submission(module_repo, "JRF", "2025-01")
    main_tip = module_repo.commit("JRF: January", signer="JRF:primary")
    start_pr(module_repo, base, "merging")
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("IRC: March", signer="IRC:primary")
    git(
        module_repo.root,
        "-c",
        "user.email=focal.irc@example.org",
        "merge",
        "-q",
        "--no-edit",
        "--no-gpg-sign",
        main_tip,
    )
    result = isp("ci", "pr", "--repo", module_repo.root, "--base", main_tip, "--head", "HEAD", env={"ISP_TODAY": TODAY})
    assert result.code == 0, result.output


def test_usage_errors(module_repo: IspRepo, base: str) -> None:
    result = isp("ci", "pr", "--repo", module_repo.root, "--base", "no-such-ref")
    assert result.code == 1 and result.err.strip() == f"no-such-ref: no such commit in {module_repo.root}"
    assert isp("ci", "pr", "--repo", module_repo.root).code == 2


def test_with_the_key_the_sheet_is_validated_without_echoing_figures(module_repo: IspRepo, base: str) -> None:
    pytest.importorskip("isp.sheets.validate")
    start_pr(module_repo, base, "invalid")
    frame = canary_frame(module_repo, "IRC", "2025-03")
    frame.loc[1, "indicator"] = "no_such_indicator"
    write_submission(module_repo, "IRC", "2025-03", frame=frame)
    module_repo.commit("IRC: March", signer="IRC:primary")
    assert ci_pr(module_repo, base).code == 0
    result = ci_pr(module_repo, base, True, "--json")
    assert result.code == 1
    found = violations(result)
    assert found and all(v["file"] == "submissions/IRC/2025-03.csv" for v in found)
    assert not rules(result) & {"replay", "month-mismatch", "decrypt", "signature"}
    assert str(CANARY) not in result.output
    assert str(CANARY) not in ci_pr(module_repo, base, True).output


def test_site_credentials_must_be_encrypted_and_are_reviewed(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "credentials")
    (module_repo.root / keys.SITE_CREDENTIALS).write_text("members: not-a-real-password\n")
    module_repo.commit("site passwords", signer="UNHCR:primary")
    result = ci_pr(module_repo, base, False, "--json")
    assert rules(result) == {"not-encrypted"}
    assert "not-a-real-password" not in result.output


def test_ci_pr_also_enforces_request_breach_and_membership_rules(isp_repo: IspRepo) -> None:
    """`isp ci pr` is the one command CI runs: a forged decision in the PR fails it too."""
    from tests.governance.helpers import decide, new

    new(isp_repo)
    base = isp_repo.head()
    decide(isp_repo, "REQ-2026-001", "IRC", signer="JRF:primary")
    result = isp("ci", "pr", "--repo", isp_repo.root, "--base", base, "--json")
    assert result.code == 1
    rules = {p["rule"] for p in json.loads(result.out)["violations"]}
    assert "decision-by-other-agency" in rules


AGGREGATE = "aggregates/monthly/2025-01.csv"


def _aggregate(repo: IspRepo, count: int) -> bytes:
    """A consolidated table as an outsider could forge it: the recipients are public keys."""
    plain = f"period,site,indicator,sex,age_group,nationality,count\n2025-01,ALL,new_cases,F,0-5,SYR,{count}\n"
    return sops.encrypt(repo.root, AGGREGATE, plain.encode())


def test_a_pull_request_may_not_add_change_or_delete_aggregates(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "forged-aggregate")
    target = module_repo.root / AGGREGATE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_aggregate(module_repo, 5))
    module_repo.commit("Add the January aggregate by hand", signer="UNHCR:primary")
    added = ci_pr(module_repo, base, False, "--json")
    assert added.code == 1 and rules(added) == {"aggregates-not-by-ci"}, added.output
    assert "added by the pull request" in violations(added)[0]["message"]
    with_aggregate = module_repo.head()  # as if main's consolidation had written it
    target.write_bytes(_aggregate(module_repo, 500))
    module_repo.commit("Inflate January", signer="UNHCR:primary")
    changed = ci_pr(module_repo, with_aggregate, False, "--json")
    assert changed.code == 1 and rules(changed) == {"aggregates-not-by-ci"}, changed.output
    start_pr(module_repo, with_aggregate, "deleted-aggregate")
    target.unlink()
    module_repo.commit("Drop January", signer="UNHCR:primary")
    deleted = ci_pr(module_repo, with_aggregate, False, "--json")
    assert deleted.code == 1 and rules(deleted) == {"aggregates-not-by-ci"}, deleted.output


def test_a_rewrap_for_new_recipients_is_not_a_change_of_figures(module_repo: IspRepo) -> None:
    """What `sops updatekeys` does to an envelope: new key stanzas, the same data and MAC."""
    from isp.ci.gate import is_rewrap

    before = _aggregate(module_repo, 7)
    doc = json.loads(before)
    doc["sops"]["age"] = doc["sops"]["age"][:-1]  # one recipient fewer, nothing else touched
    assert is_rewrap(before, json.dumps(doc).encode())
    assert not is_rewrap(before, _aggregate(module_repo, 7))  # encrypted again: new data key, new data
    assert not is_rewrap(before, b"period,site\n")


def test_a_plaintext_sheet_anywhere_in_the_pull_request_is_refused(module_repo: IspRepo, base: str) -> None:
    """Committed with --no-verify, so the pre-commit guard never saw it."""
    start_pr(module_repo, base, "stray-sheet")
    (module_repo.root / "notes").mkdir(exist_ok=True)
    (module_repo.root / "notes" / "march.csv").write_bytes(tidy.to_csv(canary_frame(module_repo, "IRC", "2025-03")))
    module_repo.commit("IRC: notes", signer="IRC:primary")
    result = ci_pr(module_repo, base, False, "--json")
    assert result.code == 1 and rules(result) == {"plaintext-sheet", "path-unclassified"}, result.output
    assert str(CANARY) not in result.output


def _commit_bad_minutes_and_right(isp_repo: IspRepo) -> tuple[str, str]:
    """Minutes with a figure and a right signed by another agency, committed: (base, head)."""
    import yaml

    base = isp_repo.head()
    folder = isp_repo.root / "protocol" / "meetings"
    folder.mkdir(exist_ok=True)
    (folder / "TF-2026-02.yaml").write_text(
        "id: TF-2026-02\nkind: task-force\nsubject: 2026-02\ndate: 2026-03-16\n"
        "attended: [focal.irc@example.org]\ndecisions: [Seventeen or 17 new cases in Irbid.]\n"
    )
    (isp_repo.root / "protocol" / "rights").mkdir(exist_ok=True)
    right = {"id": "RIGHT-2026-001", "kind": "own-data-authorisation", "agency": "JRF", "member": "IRC",
             "recipient": "A donor", "data": ["new_cases"], "date": "2026-03-01", "reason": "For a donor report.",
             "signed": {"JRF": "2026-03-01"}}  # fmt: skip
    (isp_repo.root / "protocol" / "rights" / "RIGHT-2026-001.yaml").write_text(yaml.safe_dump(right))
    return base, isp_repo.commit("Minutes and a right", signer="IRC:primary")


def _violations(result: Result) -> set[str]:
    return {p["rule"] for p in json.loads(result.out)["violations"]}


def test_ci_pr_refuses_minutes_with_figures_and_a_right_signed_by_another_agency(isp_repo: IspRepo) -> None:
    """Minutes hold no figures; an agency's right counts only on its own signature."""
    base, _ = _commit_bad_minutes_and_right(isp_repo)
    result = isp("ci", "pr", "--repo", isp_repo.root, "--base", base, "--json")
    assert result.code == 1
    assert {"minutes-figures", "rights-signed"} <= _violations(result)


def test_minutes_and_rights_are_judged_as_the_head_commit_holds_them(isp_repo: IspRepo) -> None:
    """pr-key.yml checks out the default branch and fetches the head as objects only: records that
    exist only in the head commit are still read and judged (never the checked-out files)."""
    base, head = _commit_bad_minutes_and_right(isp_repo)
    git(isp_repo.root, "checkout", "-q", "--detach", base)
    assert not (isp_repo.root / "protocol" / "rights" / "RIGHT-2026-001.yaml").exists()
    result = isp("ci", "pr", "--repo", isp_repo.root, "--base", base, "--head", head, "--json")
    assert result.code == 1
    assert {"minutes-figures", "rights-signed"} <= _violations(result)
