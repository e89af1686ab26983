"""The gate's path policy and trust rules, attacked for real: real git (hand-made trees too), real
SSH-signed commits, real sops envelopes and age keys. Each attack is refused with its rule code;
each has a legitimate twin that passes."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from isp.ci import paths
from isp.crypto import keys, sops
from isp.demo import synthetic
from isp.sheets import tidy
from tests.ci.helpers import TODAY, blob, ci_pr, commit_tree, index_commit, rules, start_pr, tree_plus
from tests.helpers import REPO_ROOT, IspRepo, Result, git, isp, new_ssh_key, write_submission

CANARY = 918273
COORDINATOR = "IMC:primary"  # IMC coordinates in the test protocol


@pytest.fixture(scope="module")
def base(module_repo: IspRepo) -> str:
    write_submission(module_repo, "IRC", "2025-01")
    return module_repo.commit("IRC: January", signer="IRC:primary")


def sheet_csv(repo: IspRepo) -> bytes:
    frame = synthetic.month_sheet(repo.load(), "IRC", "2025-03", seed=5)
    frame.loc[0, "count"] = CANARY
    return tidy.to_csv(frame)


# --- the policy itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("submissions/IRC/2025-01.csv", "submission"),
        ("aggregates/monthly/2025-01.csv", "aggregate"),
        ("requests/REQ-2026-001.yaml", "request"),
        ("protocol/breaches/BR-2026-001.yaml", "breach"),
        ("protocol/membership/M-2026-001.yaml", "membership record"),
        ("protocol/approvals/code-0123456789abcdef.yaml", "code approval"),
        ("protocol/agencies.yaml", "protocol data"),
        ("protocol/allowed_signers", "keys and signers"),
        (".sops.yaml", "keys and signers"),
        (".github/CODEOWNERS", "keys and signers"),
        ("protocol/site-credentials.yaml", "site credentials"),
        (".github/workflows/pr.yml", "workflow"),
        ("mkdocs.yml", "code"),
        ("site/overrides/partials/alternate.html", "code"),
        ("scripts/isp/ci/gate.py", "code"),
        ("Makefile", "code"),
        ("uv.lock", "code"),
        (".pre-commit-config.yaml", "code"),
        ("protocol/reports/sectoral.html.j2", "code"),
        ("README.md", "documentation"),
        ("submissions/README.md", "documentation"),
        ("docs/guide.md", "documentation"),
    ],
)
def test_every_known_path_is_in_exactly_one_class(path: str, name: str) -> None:
    assert [c.name for c in paths.classes_of(path)] == [name]


def test_every_file_of_this_repository_is_in_exactly_one_class() -> None:
    root = REPO_ROOT
    listed = git(root, "ls-files", "-z").split("\0")
    assert {p: [c.name for c in paths.classes_of(p)] for p in listed if p and len(paths.classes_of(p)) != 1} == {}


@pytest.mark.parametrize("path", ["notes/march.txt", "requests/REQ-1.csv", "protocol/membership/x.txt", "x.py"])
def test_unknown_paths_are_in_no_class(path: str) -> None:
    assert paths.classes_of(path) == []


def test_an_unclassified_path_is_refused_and_every_path_shows_its_class(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "unclassified")
    (module_repo.root / "notes").mkdir()
    (module_repo.root / "notes" / "todo.txt").write_text("call the focal points\n")
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("IRC: March and a note", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert rules(result) == {"path-unclassified"}
    classes = {f["path"]: f["class"] for f in json.loads(result.out)["files"]}
    assert classes == {"notes/todo.txt": "unclassified", "submissions/IRC/2025-03.csv": "submission"}
    text = isp("ci", "pr", "--repo", module_repo.root, "--base", base, env={"ISP_TODAY": TODAY, "COLUMNS": "200"})
    assert "notes/todo.txt: [path-unclassified]" in text.err and "submission" in text.out


def test_a_symlink_under_site_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "symlink")
    os.symlink("/proc/self/environ", module_repo.root / "site" / "environ.md")
    module_repo.commit("site: a page", signer=COORDINATOR)
    result = ci_pr(module_repo, base)
    assert "symlink" in rules(result), result.out


def test_a_submodule_at_a_submission_path_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "gitlink")
    index_commit(module_repo, base, [("160000", base, "submissions/IRC/2025-03.csv")], "IRC:primary")
    assert "gitlink" in rules(ci_pr(module_repo, base))


@pytest.mark.parametrize("name", [":(top)README.md", "docs/*.md", "docs/[a].md"])
def test_pathspec_looking_names_are_refused(module_repo: IspRepo, base: str, name: str) -> None:
    start_pr(module_repo, base, f"pathspec-{abs(hash(name))}")
    index_commit(module_repo, base, [("100644", blob(module_repo, b"hello"), name)], "IRC:primary")
    assert rules(ci_pr(module_repo, base)) == {"pathspec"}


def test_a_dot_dot_component_in_a_hand_made_tree_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "dotdot")
    from tests.ci.helpers import mktree

    inner = mktree(module_repo, [f"100644 blob {blob(module_repo, b'x')}\t.."])
    tree = tree_plus(module_repo, base, [f"040000 tree {inner}\tdocs"])
    commit_tree(module_repo, tree, base, "IRC:primary")
    assert "path-component" in rules(ci_pr(module_repo, base))


def test_an_object_the_repository_does_not_hold_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "missing")
    tree = tree_plus(module_repo, base, [f"100644 blob {'ab' * 20}\tCHANGELOG.md"], missing=True)
    commit_tree(module_repo, tree, base, "IRC:primary")
    assert rules(ci_pr(module_repo, base)) == {"unresolvable"}


# --- plaintext found by content ------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _xlsx(csv: bytes) -> bytes:
    import pandas as pd

    out = io.BytesIO()
    pd.read_csv(io.BytesIO(csv)).to_excel(out, index=False)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["text", "rows-only", "zip", "xlsx"])
def test_a_tracking_sheet_under_any_name_is_refused(module_repo: IspRepo, base: str, kind: str) -> None:
    start_pr(module_repo, base, f"content-{kind}")
    csv = sheet_csv(module_repo)
    data = {
        "text": csv,
        "rows-only": b"\n".join(csv.splitlines()[1:]),
        "zip": _zip({"inner/notes.dat": csv}),
        "xlsx": _xlsx(csv),
    }[kind]
    (module_repo.root / "docs").mkdir(exist_ok=True)
    (module_repo.root / "docs" / "diagram.png").write_bytes(data)
    module_repo.commit("docs: a diagram", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert rules(result) == {"plaintext-sheet"}, result.output
    assert str(CANARY) not in result.output


def test_documentation_without_figures_passes(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "docs-ok")
    (module_repo.root / "docs").mkdir(exist_ok=True)
    (module_repo.root / "docs" / "guide.md").write_text("# Guide\n\nThe sheet has a month column and counts.\n")
    module_repo.commit("docs: a guide", signer=None)
    assert ci_pr(module_repo, base).code == 0


# --- code is code ---------------------------------------------------------------------------------


def _edit_code(repo: IspRepo) -> None:
    with (repo.root / "site" / "overrides" / "partials" / "alternate.html").open("a") as handle:
        handle.write("\n<!-- a note -->\n")


def test_code_without_a_coordinators_approval_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "code-unapproved")
    _edit_code(module_repo)
    module_repo.commit("site: a note", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert rules(result) == {"code-not-approved"}
    assert "isp ci approve" in json.loads(result.out)["violations"][0]["fix"]


def test_code_signed_by_a_coordinator_passes(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "code-by-coordinator")
    _edit_code(module_repo)
    module_repo.commit("site: a note", signer=COORDINATOR)
    assert ci_pr(module_repo, base).code == 0


def _approve(repo: IspRepo, base: str) -> Result:
    return isp("ci", "approve", "--repo", repo.root, "--base", base)


def test_an_approval_record_binds_the_code_it_approved(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "code-approved")
    _edit_code(module_repo)
    module_repo.commit("site: a note", signer="IRC:primary")
    assert _approve(module_repo, base).code == 0
    module_repo.commit("Approve the site note", signer=COORDINATOR)
    assert ci_pr(module_repo, base).code == 0  # the legitimate twin
    with (module_repo.root / "mkdocs.yml").open("a") as handle:
        handle.write("# one more line after the approval\n")
    module_repo.commit("a later change", signer="IRC:primary")
    assert rules(ci_pr(module_repo, base)) == {"code-not-approved"}


def test_an_approval_by_a_non_coordinator_or_mixed_with_code_does_not_count(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "approval-by-member")
    _edit_code(module_repo)
    module_repo.commit("site: a note", signer="IRC:primary")
    _approve(module_repo, base)
    module_repo.commit("I approve myself", signer="IRC:primary")
    assert rules(ci_pr(module_repo, base)) == {"approval-signer", "code-not-approved"}
    start_pr(module_repo, base, "approval-mixed")
    _edit_code(module_repo)
    git(module_repo.root, "add", "-A")
    _approve(module_repo, base)
    module_repo.commit("code and its approval at once", signer="IRC:primary")
    assert "code-not-approved" in rules(ci_pr(module_repo, base))


def test_an_approval_record_on_main_is_frozen(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "approval-frozen-base")
    _edit_code(module_repo)
    module_repo.commit("site: a note", signer=COORDINATOR)
    _approve(module_repo, base)
    approved = module_repo.commit("Approve", signer=COORDINATOR)
    record = next((module_repo.root / "protocol" / "approvals").glob("code-*.yaml"))
    record.write_text(record.read_text().replace("kind: code", "kind: code\nnote: edited"))
    module_repo.commit("edit the approval", signer=COORDINATOR)
    assert "approval-frozen" in rules(ci_pr(module_repo, approved))


def test_mkdocs_hooks_are_refused_even_from_a_coordinator(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "hooks")
    config = module_repo.root / "mkdocs.yml"
    config.write_text(config.read_text() + "hooks:\n  - site/evil.py\n")
    (module_repo.root / "site" / "evil.py").write_text("import os\n")
    module_repo.commit("site: hooks", signer=COORDINATOR)
    assert rules(ci_pr(module_repo, base)) == {"mkdocs-hooks"}


def test_a_workflow_edit_needs_approval(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "workflow")
    workflow = module_repo.root / ".github" / "workflows" / "pr.yml"
    workflow.write_text(workflow.read_text() + "\n# run my code\n")
    module_repo.commit("ci: tweak", signer="IRC:primary")
    assert rules(ci_pr(module_repo, base)) == {"code-not-approved"}


def test_a_yaml_anchor_bomb_is_refused_in_one_line(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "bomb")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)
    )
    (module_repo.root / "protocol" / "membership" / "M-2026-009.yaml").write_text(bomb)
    module_repo.commit("membership", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert result.code == 1 and "yaml-alias" in rules(result)


def test_yaml_in_an_intermediate_commit_is_read_through_the_bounded_reader(module_repo: IspRepo, base: str) -> None:
    """A repeated key in a commit that a later commit repairs: governance would read that
    version's history, so it goes through the same reader (and is refused)."""
    start_pr(module_repo, base, "dup-key")
    rel = module_repo.root / "protocol" / "membership" / "M-2026-010.yaml"
    rel.parent.mkdir(exist_ok=True)
    rel.write_text("id: M-2026-010\nchange: role-change\nagency: IRC\nagency: JRF\n")
    module_repo.commit("membership", signer="IRC:primary")
    rel.unlink()
    module_repo.commit("gone again", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert rules(result) == {"yaml-duplicate-key"}, result.output


# --- trust files -----------------------------------------------------------------------------------


def test_a_hand_edited_signer_list_is_refused(module_repo: IspRepo, base: str, tmp_path: Path) -> None:
    start_pr(module_repo, base, "signers-by-hand")
    key = new_ssh_key(tmp_path, "intruder")
    line = f'focal.irc@example.org namespaces="git" {Path(f"{key}.pub").read_text().split(" ")[0]} '
    line += Path(f"{key}.pub").read_text().split(" ")[1] + " IRC:primary\n"
    with (module_repo.root / keys.ALLOWED_SIGNERS).open("a") as handle:
        handle.write(line)
    module_repo.commit("one more key", signer="UNHCR:primary")
    assert "trust-file-not-generated" in rules(ci_pr(module_repo, base))


def test_a_signing_key_rotation_by_the_agency_passes(module_repo: IspRepo, base: str, tmp_path: Path) -> None:
    start_pr(module_repo, base, "signer-rotation")
    key = new_ssh_key(tmp_path, "irc-new")
    keys.add_signer(module_repo.root, "IRC", module_repo.email("IRC"), Path(f"{key}.pub"))
    keys.sync(module_repo.root)
    module_repo.commit("IRC: a second signing key", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert result.code == 0, result.output


def _credentials(repo: IspRepo) -> None:
    rel = keys.SITE_CREDENTIALS
    (repo.root / rel).write_bytes(sops.encrypt(repo.root, rel, b"members: chosen-by-someone\n"))


def test_site_credentials_change_only_in_a_coordinators_commit(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "credentials-member")
    _credentials(module_repo)
    module_repo.commit("my passphrases", signer="IRC:primary")
    result = ci_pr(module_repo, base)
    assert rules(result) == {"site-credentials-signer"}
    assert "chosen-by-someone" not in result.output
    start_pr(module_repo, base, "credentials-coordinator")
    _credentials(module_repo)
    module_repo.commit("new passphrases", signer=COORDINATOR)
    assert ci_pr(module_repo, base).code == 0
    keyed = ci_pr(module_repo, base, key=True)
    assert keyed.code == 0 and json.loads(keyed.out)["files"][0]["checks"]["decrypts"], keyed.output


def test_a_forged_committer_beside_a_valid_signature_is_flagged(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "forged-name")
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("IRC: March", signer="IRC:primary", email=module_repo.email("UNHCR"))
    assert rules(ci_pr(module_repo, base)) == {"forged-identity"}


def _commit_as(repo: IspRepo, signer: str, committer: str, author: str | None = None) -> None:
    """A commit SSH-signed by ``signer``, with the signer's e-mail, under the names given."""
    email = repo.email(*signer.split(":"))
    opts = ["-c", f"user.email={email}", "-c", f"user.name={committer}", "-c", "gpg.format=ssh"]
    opts += ["-c", f"user.signingkey={repo.keyring.ssh[signer]}"]
    git(repo.root, "add", "--all")
    extra = ["--author", f"{author} <{email}>"] if author else []
    git(repo.root, *opts, "commit", "-q", "-S", "-m", "IRC: March", *extra)


def warned(result: Result) -> set[str]:
    return {w["rule"] for w in json.loads(result.out)["warnings"]}


@pytest.mark.parametrize(
    ("committer", "author"),
    [("Lina Example", None), ("Rana Example", "Director IRC Example"), ("Rana Example", "LINA  EXAMPLE")],
    ids=["committer-another-agency", "author-own-signatory", "author-case-and-spaces"],
)
def test_another_declared_persons_name_beside_a_valid_signature_is_refused(
    module_repo: IspRepo, base: str, committer: str, author: str | None
) -> None:
    """IRC's primary signs with her own key and e-mail, but the commit is named after someone
    else agencies.yaml declares (IMC's focal point, her own signatory): a forgery."""
    start_pr(module_repo, base, "forged-person")
    write_submission(module_repo, "IRC", "2025-03")
    _commit_as(module_repo, "IRC:primary", committer, author)
    result = ci_pr(module_repo, base)
    assert rules(result) == {"forged-name"}, result.output


def test_the_signers_declared_name_passes_and_an_unknown_one_is_flagged(module_repo: IspRepo, base: str) -> None:
    """The legitimate twin: the declared name, in any case and Unicode form (a no-break space is
    NFKC's space), passes clean; a name agencies.yaml does not declare passes with a warning."""
    for name, warnings in (
        ("Rana Example", set()),
        ("RANA\u00a0example", set()),
        ("R. Example", {"name-not-declared"}),
    ):
        start_pr(module_repo, base, "own-name")
        write_submission(module_repo, "IRC", "2025-03")
        _commit_as(module_repo, "IRC:primary", name)
        result = ci_pr(module_repo, base)
        assert result.code == 0 and warned(result) == warnings, (name, result.output)


# --- recipients checked for real ------------------------------------------------------------------


def _restanza(repo: IspRepo, envelope: bytes, recipients: list[str]) -> bytes:
    """The envelope with CI's stanza re-encrypted (same data key) for ``recipients`` instead."""
    import pyrage

    doc = json.loads(envelope)
    ci_public = repo.keyring.age_public["ci"]
    identity = pyrage.x25519.Identity.from_str(repo.keyring.age_secret["ci"])
    for stanza in doc["sops"]["age"]:
        if stanza["recipient"] == ci_public:
            from isp.ci.envelopes import _dearmor

            data_key = pyrage.decrypt(_dearmor(stanza["enc"]), [identity])
            wrapped = pyrage.encrypt(data_key, [pyrage.x25519.Recipient.from_str(r) for r in recipients])
            stanza["enc"] = _armor(wrapped)
    return json.dumps(doc, indent=1).encode()


def _armor(data: bytes) -> str:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 64))
    return f"-----BEGIN AGE ENCRYPTED FILE-----\n{body}\n-----END AGE ENCRYPTED FILE-----\n"


def test_a_stanza_labelled_ci_but_open_to_another_key_is_refused(module_repo: IspRepo, base: str) -> None:
    start_pr(module_repo, base, "stanza-two")
    path = write_submission(module_repo, "IRC", "2025-03")
    ring = module_repo.keyring
    path.write_bytes(_restanza(module_repo, path.read_bytes(), [ring.age_public["ci"], ring.age_public["JRF"]]))
    module_repo.commit("IRC: March", signer="IRC:primary")
    assert rules(ci_pr(module_repo, base)) == {"recipient-shape"}


def test_a_stanza_labelled_ci_but_for_someone_else_fails_with_the_key(module_repo: IspRepo, base: str) -> None:
    """sops' own stanza for JRF, relabelled as CI's: one recipient, the right shape, the wrong key."""
    start_pr(module_repo, base, "stanza-other")
    path = write_submission(module_repo, "IRC", "2025-03")
    other = json.loads(sops.encrypt(module_repo.root, "submissions/JRF/2025-03.csv", b"x"))
    jrf = next(s for s in other["sops"]["age"] if s["recipient"] == module_repo.keyring.age_public["JRF"])
    doc = json.loads(path.read_bytes())
    for stanza in doc["sops"]["age"]:
        if stanza["recipient"] == module_repo.keyring.age_public["ci"]:
            stanza["enc"] = jrf["enc"]
    path.write_bytes(json.dumps(doc, indent=1).encode())
    module_repo.commit("IRC: March", signer="IRC:primary")
    assert ci_pr(module_repo, base).code == 0  # one recipient per stanza: the shape is right
    assert "recipient-not-ci" in rules(ci_pr(module_repo, base, key=True))


AGGREGATE = "aggregates/monthly/2025-01.csv"


def _with_aggregate(repo: IspRepo, base: str, name: str) -> str:
    start_pr(repo, base, name)
    target = repo.root / AGGREGATE
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = b"period,site,indicator,sex,age_group,nationality,count\n2025-01,ALL,new_cases,F,0-5,SYR,7\n"
    target.write_bytes(sops.encrypt(repo.root, AGGREGATE, plain))
    return repo.commit("Consolidate (as main's CI would)", signer=COORDINATOR)


def test_a_rewrap_that_no_longer_decrypts_is_refused(module_repo: IspRepo, base: str) -> None:
    with_aggregate = _with_aggregate(module_repo, base, "rewrap-broken-base")
    target = module_repo.root / AGGREGATE
    doc = json.loads(target.read_bytes())
    other = json.loads(sops.encrypt(module_repo.root, AGGREGATE, b"period\n"))
    doc["sops"]["age"] = other["sops"]["age"]  # the right recipients, well-formed, another file's data key
    target.write_bytes(json.dumps(doc, indent=1).encode())
    module_repo.commit("re-wrap", signer="IRC:primary")
    assert ci_pr(module_repo, with_aggregate).code == 0  # well-formed stanzas, same data and MAC
    assert rules(ci_pr(module_repo, with_aggregate, key=True)) == {"decrypt"}


def test_a_recipient_rotation_rewrap_passes(module_repo: IspRepo, base: str) -> None:
    """IRC gets a new age key: `isp keys sync` re-wraps IRC's files and the aggregates, signed by IRC."""
    from isp.crypto.sops import new_identity

    with_aggregate = _with_aggregate(module_repo, base, "rotation-base")
    secret, public = new_identity()
    keys.add_recipient(module_repo.root, "IRC", public)
    with _env(module_repo.keyring.env("ci")):
        report = keys.sync(module_repo.root)
    assert AGGREGATE in report.rewrapped
    module_repo.commit("IRC: a new age key", signer="IRC:primary")
    result = ci_pr(module_repo, with_aggregate, key=True)
    assert result.code == 0, result.output
    del secret


def test_a_ci_key_rotation_rewrapped_by_a_coordinator_passes(module_repo: IspRepo, base: str) -> None:
    """CI gets a second age key: `isp keys sync` re-wraps every sheet; a coordinator commits it."""
    from isp.crypto.sops import new_identity

    start_pr(module_repo, base, "ci-rotation")
    _secret, public = new_identity()
    keys.add_recipient(module_repo.root, "ci", public)
    with _env(module_repo.keyring.env("ci")):
        report = keys.sync(module_repo.root)
    assert "submissions/IRC/2025-01.csv" in report.rewrapped
    module_repo.commit("CI: a second age key", signer=COORDINATOR)
    result = ci_pr(module_repo, base, key=True)
    assert result.code == 0, result.output
    start_pr(module_repo, base, "ci-rotation-by-member")
    keys.add_recipient(module_repo.root, "ci", public)
    with _env(module_repo.keyring.env("ci")):
        keys.sync(module_repo.root)
    module_repo.commit("CI: a second age key", signer="JRF:primary")
    assert {"ci-key-signature", "wrong-agency"} <= rules(ci_pr(module_repo, base))


def _rotate_ci_and_add_imc_key(repo: IspRepo) -> None:
    """`isp keys new ci` and a second IMC age key in one change, then `isp keys sync`."""
    from isp.crypto.sops import new_identity

    keys.add_recipient(repo.root, "ci", new_identity()[1])
    keys.add_recipient(repo.root, "IMC", new_identity()[1])
    with _env(repo.keyring.env("ci")):
        report = keys.sync(repo.root)
    assert "submissions/IRC/2025-01.csv" in report.rewrapped


def test_a_ci_rotation_with_other_recipients_needs_a_coordinator(module_repo: IspRepo, base: str) -> None:
    """The legitimate twin: IMC (a coordinator) rotates CI's key and adds its own second key in
    one `isp keys sync`: generated, signed by a coordinator, accepted. The same change signed by
    JRF is refused."""
    start_pr(module_repo, base, "ci-rotation-mixed")
    _rotate_ci_and_add_imc_key(module_repo)
    module_repo.commit("CI and IMC: new age keys", signer=COORDINATOR)
    result = ci_pr(module_repo, base, key=True)
    assert result.code == 0, result.output
    start_pr(module_repo, base, "ci-rotation-mixed-by-member")
    _rotate_ci_and_add_imc_key(module_repo)
    module_repo.commit("CI and IMC: new age keys", signer="JRF:primary")
    found = rules(ci_pr(module_repo, base))
    assert {"ci-rotation-recipients", "ci-key-signature", "keys-signature"} <= found, found


def _stanza_for(repo: IspRepo, envelope: bytes, recipient: str | None) -> bytes:
    """The envelope with one more stanza, for ``recipient`` (its data key opened with CI's
    identity), or with the last stanza dropped (None): the data and MAC are untouched."""
    import pyrage

    from isp.ci.envelopes import _dearmor

    doc = json.loads(envelope)
    if recipient is None:
        doc["sops"]["age"].pop()
        return json.dumps(doc, indent=1).encode()
    identity = pyrage.x25519.Identity.from_str(repo.keyring.age_secret["ci"])
    ci = next(s for s in doc["sops"]["age"] if s["recipient"] == repo.keyring.age_public["ci"])
    data_key = pyrage.decrypt(_dearmor(ci["enc"]), [identity])
    wrapped = pyrage.encrypt(data_key, [pyrage.x25519.Recipient.from_str(recipient)])
    doc["sops"]["age"].append({"recipient": recipient, "enc": _armor(wrapped)})
    return json.dumps(doc, indent=1).encode()


def test_a_stranger_stanza_riding_on_a_ci_rotation_is_refused_even_from_a_coordinator(
    module_repo: IspRepo, base: str
) -> None:
    """IMC's rotation commit also wraps IRC's sheet for a key nobody registered, and the next
    commit drops that stanza so the head looks clean: the sheet stays readable by that key in the
    history. Refused: the rotation's envelopes are not what `isp keys sync` writes."""
    from isp.crypto.sops import new_identity

    start_pr(module_repo, base, "ci-rotation-stranger")
    _rotate_ci_and_add_imc_key(module_repo)
    sheet = module_repo.root / "submissions/IRC/2025-01.csv"
    sheet.write_bytes(_stanza_for(module_repo, sheet.read_bytes(), new_identity()[1]))
    module_repo.commit("CI and IMC: new age keys", signer=COORDINATOR)
    sheet.write_bytes(_stanza_for(module_repo, sheet.read_bytes(), None))
    module_repo.commit("tidy", signer=COORDINATOR)
    found = rules(ci_pr(module_repo, base, key=True))
    assert "ci-rotation-recipients" in found and "wrong-agency" in found, found


def test_a_coordinators_stranger_stanza_is_no_rewrap(module_repo: IspRepo, base: str) -> None:
    """No rotation at all: a coordinator wraps IRC's sheet for an extra key and drops it again.
    A coordinator's re-wrap stands in for the agency's signature only when it is exactly what
    `isp keys sync` writes, so IRC's signature is missing."""
    from isp.crypto.sops import new_identity

    start_pr(module_repo, base, "stranger-stanza")
    sheet = module_repo.root / "submissions/IRC/2025-01.csv"
    original = sheet.read_bytes()
    sheet.write_bytes(_stanza_for(module_repo, original, new_identity()[1]))
    module_repo.commit("re-wrap", signer=COORDINATOR)
    sheet.write_bytes(original)
    module_repo.commit("re-wrap back", signer=COORDINATOR)
    assert rules(ci_pr(module_repo, base)) == {"wrong-agency"}


def _env(values: dict[str, str | None]):
    from tests.helpers import patched_env

    return patched_env(values)


# --- approvals bind their content -------------------------------------------------------------------

DAY = "2026-03-03"


def _at(day: str):
    """Commits made inside this block carry ``day`` as their (signed) committer and author date."""
    from tests.helpers import patched_env

    stamp = f"{day}T10:00:00+00:00"
    return patched_env({"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp})


def test_a_decision_dated_back_is_refused_and_a_correct_late_decision_passes(module_repo: IspRepo, base: str) -> None:
    from datetime import date

    from tests.governance.helpers import decide, new

    start_pr(module_repo, base, "decision-dates")
    with _at(DAY):
        request = new(module_repo)
    opened = module_repo.head()
    with _at("2026-03-20"):
        decide(module_repo, request.id, "IRC", day=date(2026, 3, 4))  # recorded 16 days later, dated back
    assert "decision-date" in rules(ci_pr(module_repo, opened))
    git(module_repo.root, "reset", "-q", "--hard", opened)
    with _at("2026-03-20"):
        decide(module_repo, request.id, "IRC", day=date(2026, 3, 20))  # late, and says so
    assert "decision-date" not in rules(ci_pr(module_repo, opened))


def _edit_yaml(path: Path, change) -> None:
    from ruamel.yaml import YAML

    handler = YAML()
    doc = handler.load(path)
    change(doc)
    handler.dump(doc, path)


def _record(repo: IspRepo, rel: str, data: dict) -> None:
    import yaml

    (repo.root / rel).parent.mkdir(exist_ok=True)
    (repo.root / rel).write_text(yaml.safe_dump(data, sort_keys=False))


def _approve_record(repo: IspRepo, rel: str, agencies: tuple[str, ...]) -> None:
    from datetime import date

    for agency in agencies:
        _edit_yaml(repo.root / rel, lambda doc, a=agency: doc["approvals"].__setitem__(a, date(2026, 3, 3)))
        with _at(DAY):
            repo.commit(f"{agency} approves", paths=[rel], signer=f"{agency}:signatory")


def _role_change_pr(repo: IspRepo, base: str, name: str) -> str:
    """UNICEF stops gathering data, approved by every signatory in the same pull request."""
    from datetime import date

    from tests.governance.helpers import REQUIRED

    start_pr(repo, base, name)
    _edit_yaml(
        repo.root / "protocol/agencies.yaml", lambda d: d["agencies"]["UNICEF"]["roles"].remove("data_gathering")
    )
    rel = "protocol/membership/MEM-UNICEF.yaml"
    _record(repo, rel, {"id": "MEM-UNICEF", "change": "role-change", "agency": "UNICEF",
                        "proposed": date(2026, 3, 3), "approvals": {}})  # fmt: skip
    with _at(DAY):
        repo.commit("UNICEF no longer gathers data: the proposal", signer="UNHCR:primary")
    _approve_record(repo, rel, REQUIRED)
    return rel


def test_an_approval_counts_only_in_the_pull_request_that_adds_it(module_repo: IspRepo, base: str) -> None:
    _role_change_pr(module_repo, base, "role-change")
    result = ci_pr(module_repo, base)
    assert result.code == 0, result.output  # the legitimate twin
    merged = module_repo.head()
    _edit_yaml(
        module_repo.root / "protocol/agencies.yaml", lambda d: d["agencies"]["UNICEF"]["roles"].append("data_gathering")
    )
    with _at(DAY):
        module_repo.commit("UNICEF gathers data again", signer="UNHCR:primary")
    assert "membership-approval" in rules(ci_pr(module_repo, merged))


def test_a_record_is_frozen_once_approved(module_repo: IspRepo, base: str) -> None:
    rel = _role_change_pr(module_repo, base, "frozen")
    _edit_yaml(module_repo.root / rel, lambda doc: doc.__setitem__("agency", "JRF"))
    with _at(DAY):
        module_repo.commit("the record now says JRF", signer="UNHCR:primary")
    assert "record-frozen" in rules(ci_pr(module_repo, base))


def test_an_amendment_changed_after_its_approval_is_not_covered(module_repo: IspRepo, base: str) -> None:
    from datetime import date

    from tests.governance.helpers import REQUIRED

    start_pr(module_repo, base, "amendment")
    protocol_file = module_repo.root / "protocol/protocol.yaml"
    external = ("disclosure", "profiles", "external")
    _edit_yaml(protocol_file, lambda d: d[external[0]][external[1]][external[2]].__setitem__("threshold", 6))
    rel = "protocol/membership/AMEND-1.yaml"
    _record(module_repo, rel, {"id": "AMEND-1", "change": "protocol-amendment", "sections": ["disclosure"],
                               "proposed": date(2026, 3, 3), "approvals": {}})  # fmt: skip
    with _at(DAY):
        module_repo.commit("A higher threshold", signer="UNHCR:primary")
    _approve_record(module_repo, rel, REQUIRED)
    assert ci_pr(module_repo, base).code == 0
    _edit_yaml(protocol_file, lambda d: d[external[0]][external[1]][external[2]].__setitem__("threshold", 2))
    with _at(DAY):
        module_repo.commit("and one more tweak", signer="UNHCR:primary")
    assert "approval-stale" in rules(ci_pr(module_repo, base))


def test_what_main_changed_after_the_branch_point_is_not_the_pull_requests(module_repo: IspRepo, base: str) -> None:
    """main amends the protocol and changes UNICEF's roles after the branch point (approved
    elsewhere); a pull request from before, adding one sheet, is judged on its own change only:
    the gate diffs from the merge base and asks for no amendment or membership approval."""
    start_pr(module_repo, base, "main-moves-on")
    external = ("disclosure", "profiles", "external")
    _edit_yaml(
        module_repo.root / "protocol/protocol.yaml",
        lambda d: d[external[0]][external[1]][external[2]].__setitem__("threshold", 6),
    )
    _edit_yaml(
        module_repo.root / "protocol/agencies.yaml", lambda d: d["agencies"]["UNICEF"]["roles"].remove("data_gathering")
    )
    tip = module_repo.commit("main: an amendment and a role change", signer="UNHCR:primary")
    start_pr(module_repo, base, "one-sheet-from-before")
    write_submission(module_repo, "IRC", "2025-03")
    module_repo.commit("IRC: March", signer="IRC:primary")
    result = ci_pr(module_repo, tip)
    assert result.code == 0, result.output
    assert [f["path"] for f in json.loads(result.out)["files"]] == ["submissions/IRC/2025-03.csv"]


def test_a_request_edited_on_a_branch_from_before_the_decisions_is_refused(module_repo: IspRepo, base: str) -> None:
    from datetime import date

    from isp.governance import request_models
    from tests.governance.helpers import decide, new

    start_pr(module_repo, base, "request-before")
    with _at(DAY):
        request = new(module_repo)
    before = module_repo.head()
    with _at(DAY):
        decide(module_repo, request.id, "IRC", day=date(2026, 3, 3))
    decided = module_repo.head()  # main, with a decision
    start_pr(module_repo, before, "request-edit")
    path = module_repo.root / request_models.path_of(request.id)
    path.write_text(path.read_text().replace("not published", "published in full"))
    with _at(DAY):
        module_repo.commit("A wider use", signer="UNHCR:primary")
    with _at(DAY):
        git(module_repo.root, "-c", f"user.email={module_repo.email('UNHCR')}", "merge", "-q", "--no-edit", decided)
    assert "changed-after-decisions" in rules(ci_pr(module_repo, decided))
