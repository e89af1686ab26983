"""Attacks on `isp ci pr` found by a hostile review (real git, real SSH signatures, real sops and
age): each was accepted before its rule existed; each has a legitimate twin that still passes."""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager
from datetime import date

import pytest

from tests.ci.helpers import ci_pr, rules, start_pr
from tests.helpers import IspRepo, git, patched_env, write_submission

JANUARY = "submissions/IRC/2025-01.csv"


@pytest.fixture(scope="module")
def base(module_repo: IspRepo) -> str:
    """main: IRC's January, then IRC's corrected January (two versions in main's history)."""
    write_submission(module_repo, "IRC", "2025-01")
    module_repo.commit("IRC: January", signer="IRC:primary")
    write_submission(module_repo, "IRC", "2025-01", seed=77)
    return module_repo.commit("IRC: corrected January", signer="IRC:primary")


def merge_of(repo: IspRepo, tree: str, parents: list[str], signer: str) -> str:
    """A signed merge commit of ``tree`` with ``parents`` (first parent first)."""
    args = [a for p in parents for a in ("-p", p)]
    email = repo.email(*signer.split(":"))
    key = repo.keyring.ssh[signer]
    sha = git(repo.root, "-c", "gpg.format=ssh", "-c", f"user.email={email}", "commit-tree", f"-S{key}", tree,
              *args, "-m", "merge").strip()  # fmt: skip
    git(repo.root, "reset", "-q", "--soft", sha)
    return sha


# --- history hides edits: a merge that takes an old version from main's own history ---------------


def _old_january_tree(repo: IspRepo, base: str) -> tuple[str, str]:
    """(the commit of IRC's first January on main, the base's tree with that January in it)."""
    old = git(repo.root, "rev-parse", f"{base}~1").strip()
    git(repo.root, "checkout", "-q", old, "--", JANUARY)
    git(repo.root, "add", JANUARY)
    return old, git(repo.root, "write-tree").strip()


@pytest.mark.parametrize("octopus", [False, True])
def test_a_merge_rolling_back_another_agencys_sheet_is_refused(module_repo: IspRepo, base: str, octopus: bool) -> None:
    """JRF signs a merge of main's tip and an old commit of main whose tree keeps IRC's first
    January: the merge differs from neither parent there, and the old parent is no commit of the
    pull request, so no rule judged the rollback and the gate passed it."""
    start_pr(module_repo, base, f"merge-rollback-{octopus}")
    old, tree = _old_january_tree(module_repo, base)
    parents = [base, old, git(module_repo.root, "rev-parse", f"{base}~2").strip()] if octopus else [base, old]
    merge_of(module_repo, tree, parents, "JRF:primary")
    for key in (False, True):
        assert rules(ci_pr(module_repo, base, key)) == {"unattributed-change"}


def test_an_agencys_own_revision_merged_with_main_passes(module_repo: IspRepo, base: str) -> None:
    """The legitimate twin: IRC corrects January on a branch and merges main's tip into it."""
    start_pr(module_repo, base, "merge-legit")
    git(module_repo.root, "reset", "-q", "--hard", f"{base}~1")
    write_submission(module_repo, "IRC", "2025-02")
    module_repo.commit("IRC: February", signer="IRC:primary")
    git(module_repo.root, "-c", f"user.email={module_repo.email('IRC')}", "-c", "user.name=x", "merge", "-q",
        "--no-edit", "--no-gpg-sign", base)  # fmt: skip
    tree = git(module_repo.root, "rev-parse", "HEAD^{tree}").strip()
    parents = git(module_repo.root, "rev-list", "--parents", "-n1", "HEAD").split()[1:]
    merge_of(module_repo, tree, parents, "IRC:primary")
    result = ci_pr(module_repo, base)
    assert result.code == 0, result.out


# --- sops metadata: only what sops writes ------------------------------------------------------------


@pytest.mark.parametrize("extra", ["hc_vault", "key_groups", "unencrypted_regex", "unencrypted_suffix"])
def test_sops_metadata_sops_never_writes_is_refused(module_repo: IspRepo, base: str, extra: str) -> None:
    """sops reads `key_groups` instead of the top-level stanzas (checked by label and shape) and
    tries an `hc_vault` key beside them: either opened IRC's sheet to a key no rule saw, and the
    gate passed it even with CI's key (the file still decrypts)."""
    start_pr(module_repo, base, f"meta-{extra}")
    path = write_submission(module_repo, "IRC", "2025-03")
    doc = json.loads(path.read_bytes())
    assert set(doc["sops"]) == {"age", "lastmodified", "mac", "version"}
    doc["sops"][extra] = {
        "hc_vault": [{"vault_address": "https://vault.example.org", "engine_path": "transit", "key_name": "k",
                      "created_at": "2025-06-01T00:00:00Z", "enc": "vault:v1:AAAA"}],
        "key_groups": [{"age": [doc["sops"]["age"][0]]}],
        "unencrypted_regex": "^data$",
        "unencrypted_suffix": "a",
    }[extra]  # fmt: skip
    path.write_bytes(json.dumps(doc, indent=1).encode())
    module_repo.commit("IRC: March", signer="IRC:primary")
    assert "sops-metadata" in rules(ci_pr(module_repo, base))
    assert "sops-metadata" in rules(ci_pr(module_repo, base, key=True))


# --- a decision's date the date rule could not read ---------------------------------------------------


def _at(day: str) -> AbstractContextManager[None]:
    stamp = f"{day}T10:00:00+00:00"
    return patched_env({"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp})


@pytest.mark.parametrize("stated", ["2026-03-04", "1772582400", "'2026-03-04T00:00:00Z'", "1772582400000"])
def test_a_decision_dated_back_as_a_timestamp_is_refused(module_repo: IspRepo, base: str, stated: str) -> None:
    """IRC decides on 20 March and dates it 4 March as a Unix timestamp (or an ISO date-time): the
    request's model reads it as 4 March, but the date rule could not read it and let it pass."""
    from tests.governance.helpers import decide, new

    start_pr(module_repo, base, f"date-{abs(hash(stated))}")
    with _at("2026-03-03"):
        request = new(module_repo)
    opened = module_repo.head()
    with _at("2026-03-20"):
        decide(module_repo, request.id, "IRC", day=date(2026, 3, 20))
        record = module_repo.root / f"requests/{request.id}.yaml"
        record.write_text(record.read_text().replace("2026-03-20", stated))
        git(module_repo.root, "reset", "-q", "--soft", "HEAD~1")
        module_repo.commit("IRC decides", signer="IRC:primary")
    found = rules(ci_pr(module_repo, opened))
    assert found == ({"decision-date"} if stated == "2026-03-04" else {"decision-date-format"}), found


# --- the notification log -------------------------------------------------------------------------------

SENT = "protocol/notifications/sent.jsonl"
RECORD = '{"id": "reminder-IRC-2025-06", "kind": "reminder", "to": "focal.irc@example.org", "sent": "2025-06-20"}\n'


@pytest.mark.parametrize(
    ("signer", "text", "ok"),
    [
        ("JRF:primary", RECORD, False),  # a member silences IRC's reminder
        ("IMC:primary", "not json\n", False),  # a malformed line stops every `isp notify`
        ("IMC:primary", RECORD, True),  # the twin: a coordinator's record, appended
    ],
)
def test_the_notification_log_takes_only_a_coordinators_records(
    module_repo: IspRepo, base: str, signer: str, text: str, ok: bool
) -> None:
    start_pr(module_repo, base, f"sent-{signer}-{ok}-{len(text)}")
    path = module_repo.root / SENT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((path.read_text() if path.exists() else "") + text)
    module_repo.commit("notify: record", signer=signer)
    result = ci_pr(module_repo, base)
    assert (result.code == 0) if ok else rules(result) == {"notification-log"}, result.out


# --- YAML a reviewer reads one way and the tool another ------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        ("purpose: !!binary SGlkZGVuIGZyb20gdGhlIHJldmlld2Vy\n", "yaml-tag"),  # base64 to the reviewer
        ("purpose: Stated plainly.\n<<: {purpose: What the tool reads.}\n", "yaml-duplicate-key"),
        ("purpose: Stated plainly.\n", None),  # the twin: a plain edit by the requester
    ],
)
def test_a_request_edited_with_yaml_tricks_is_refused(
    module_repo: IspRepo, base: str, edit: str, rule: str | None
) -> None:
    from tests.governance.helpers import new

    start_pr(module_repo, base, f"yaml-{rule}")
    with _at("2026-03-03"):
        request = new(module_repo)
    opened = module_repo.head()
    record = module_repo.root / f"requests/{request.id}.yaml"
    lines = [edit if ln.startswith("purpose:") else ln + "\n" for ln in record.read_text().splitlines()]
    record.write_text("".join(lines))
    with _at("2026-03-03"):
        module_repo.commit("requester: purpose", signer="UNHCR:primary")
    result = ci_pr(module_repo, opened)
    assert rules(result) == ({rule} if rule else set()), result.out


# --- a pull request too large to read ---------------------------------------------------------------------


@pytest.mark.parametrize("files", [1, 2])
def test_a_pull_request_over_the_total_budget_is_refused(
    module_repo: IspRepo, base: str, files: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file under the per-file limit, and no bound on the sum: forty files of 60 MB would all
    be read into memory at once (two took 15 s). The budget is lowered here to keep the test small."""
    from isp.ci import gate

    monkeypatch.setattr(gate, "MAX_PR_BYTES", 1_000_000)
    start_pr(module_repo, base, f"budget-{files}")
    (module_repo.root / "docs").mkdir(exist_ok=True)
    for i in range(files):
        (module_repo.root / "docs" / f"diagram-{i}.png").write_bytes(os.urandom(600_000))
    module_repo.commit("docs: diagrams", signer="JRF:primary")
    result = ci_pr(module_repo, base)
    assert rules(result) == ({"pr-too-large"} if files > 1 else set()), result.out


# --- meeting minutes have owners ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signer", "ok"),
    [(None, False), ("JRF:primary", False), ("IRC:primary", True), ("IMC:primary", True)],
)
def test_minutes_are_written_by_a_coordinator_or_an_attendee(
    module_repo: IspRepo, base: str, signer: str | None, ok: bool
) -> None:
    """Minutes make a meeting held. Unsigned, or by JRF who is not listed as attending, they
    passed; IRC (listed) and IMC (a coordinator) are the twins."""
    start_pr(module_repo, base, f"minutes-{signer}")
    folder = module_repo.root / "protocol" / "meetings"
    folder.mkdir(exist_ok=True)
    (folder / "TF-2025-05.yaml").write_text(
        "id: TF-2025-05\nkind: task-force\nsubject: 2025-05\ndate: 2025-06-16\n"
        "attended: [focal.irc@example.org]\ndecisions: [Trends discussed.]\n"
    )
    (folder / "README.md").write_text("# Minutes\n\nOne file per meeting.\n")  # documentation: anyone
    module_repo.commit("minutes of the Task Force", signer=signer)
    result = ci_pr(module_repo, base)
    assert (result.code == 0) if ok else rules(result) == {"minutes-signer"}, result.out
    assert all(v["file"].endswith(".yaml") for v in json.loads(result.out)["violations"])


def test_a_decision_in_a_commit_dated_in_the_future_is_refused(module_repo: IspRepo, base: str) -> None:
    """IRC's approval dated 2031 in a commit dated 2031: within the tolerance of its commit, it
    passed. The twins (decisions in commits dated in the past) pass in test_ci_policy."""
    from tests.governance.helpers import decide, new

    start_pr(module_repo, base, "future")
    with _at("2026-03-03"):
        request = new(module_repo)
    opened = module_repo.head()
    with _at("2031-03-04"):
        decide(module_repo, request.id, "IRC", day=date(2031, 3, 4))
    assert rules(ci_pr(module_repo, opened)) == {"commit-date"}


# --- the protocol's shared settings ---------------------------------------------------------------------

SERVER = ("server: https://www.activityinfo.org", "server: https://ai.attacker.example.org")
DEADLINE = ("submission_day: 7", "submission_day: 9")


@pytest.mark.parametrize(
    ("path", "edit", "signer", "ok"),
    [
        ("protocol/activityinfo.yaml", SERVER, "JRF:primary", False),  # exports and token go elsewhere
        ("protocol/protocol.yaml", DEADLINE, "JRF:primary", False),  # a late sheet made on time
        ("protocol/activityinfo.yaml", ("# ActivityInfo:", "# ActivityInfo (a note):"), "JRF:primary", True),
        ("protocol/activityinfo.yaml", SERVER, "IMC:primary", True),  # the coordinator's own change
    ],
)
def test_shared_protocol_settings_change_only_by_a_coordinator(
    module_repo: IspRepo, base: str, path: str, edit: tuple[str, str], signer: str, ok: bool
) -> None:
    """JRF alone pointed `isp activityinfo export --push` at its own server, or moved the
    submission deadline: the gate passed both (protocol data had no signer rule outside the
    amendment sections and agencies.yaml)."""
    start_pr(module_repo, base, f"settings-{path.rsplit('/', 1)[-1]}-{signer}-{ok}")
    target = module_repo.root / path
    text = target.read_text()
    assert edit[0] in text
    target.write_text(text.replace(*edit))
    module_repo.commit("settings", signer=signer)
    result = ci_pr(module_repo, base)
    assert (result.code == 0) if ok else rules(result) == {"protocol-settings"}, result.out


# --- attacks the gate already refused, kept so they stay refused ---------------------------------------


def test_a_mode_change_of_another_agencys_sheet_is_refused(module_repo: IspRepo, base: str) -> None:
    """The same ciphertext, executable: still a change of IRC's file, by JRF."""
    start_pr(module_repo, base, "mode-change")
    (module_repo.root / JANUARY).chmod(0o755)
    module_repo.commit("chmod", signer="JRF:primary")
    assert rules(ci_pr(module_repo, base)) == {"wrong-agency"}


# --- an agency's entry is its own, field by field ---------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "signer", "ok"),
    [
        ("sites: [JO22, JO21]", "sites: [JO22]", "JRF:primary", False),  # IRC's Irbid rows refused
        ("label: IRC", "label: IRC (late)", "JRF:primary", False),
        ("label: IRC", "label: IRC", "JRF:primary", True),  # unchanged data
        ("sites: [JO22, JO21]", "sites: [JO22]", "IRC:secondary", True),  # IRC's own change
    ],
)
def test_another_agencys_entry_changes_only_with_its_signature(
    module_repo: IspRepo, base: str, old: str, new: str, signer: str, ok: bool
) -> None:
    """Only keys, focal points, recipients and suspensions were the agency's own: JRF could
    change IRC's sites, data scope, name or label and the gate passed it."""
    start_pr(module_repo, base, f"agency-field-{abs(hash((old, new, signer)))}")
    target = module_repo.root / "protocol/agencies.yaml"
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1) + ("# a note\n" if old == new else ""))
    module_repo.commit("agencies", signer=signer)
    result = ci_pr(module_repo, base)
    assert (result.code == 0) if ok else rules(result) == {"agency-field-signature"}, result.out


@pytest.mark.parametrize("count", [5, 6])
def test_a_pull_request_with_too_many_commits_is_refused_before_judging_them(
    module_repo: IspRepo, base: str, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thousand empty commits held the gate 19 s, each judged on its own; a hundred thousand
    cost nothing to push. The limit is lowered here to keep the test small."""
    from isp.ci import gate

    monkeypatch.setattr(gate, "MAX_PR_COMMITS", 5)
    start_pr(module_repo, base, f"commits-{count}")
    for i in range(count):
        module_repo.commit(f"step {i}", signer=None)
    result = ci_pr(module_repo, base)
    assert rules(result) == ({"pr-too-many-commits"} if count > 5 else set()), result.out
