"""Provenance against real repositories with real SSH-signed commits (no git mock)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from isp.crypto import keys, sops
from isp.errors import IspError
from isp.history import provenance
from tests.helpers import IspRepo, commit_at, new_ssh_key, write_submission


@pytest.fixture(scope="module")
def history(module_repo: IspRepo) -> dict[str, str]:
    """base, then: IRC's own commit, a stranger's, an unsigned one, and JRF's key on IRC's file."""
    repo = module_repo
    shas = {"base": repo.head()}
    write_submission(repo, "IRC", "2025-01")
    shas["irc"] = commit_at(repo, "IRC 2025-01", "2025-02-05T10:00:00+03:00", signer="IRC:primary")
    write_submission(repo, "IRC", "2025-02")
    shas["stranger"] = repo.commit("IRC 2025-02 by a stranger", signer="stranger")
    write_submission(repo, "IRC", "2025-03")
    shas["unsigned"] = repo.commit("IRC 2025-03 unsigned", signer=None)
    write_submission(repo, "IRC", "2025-01", seed=7)
    shas["jrf"] = repo.commit("IRC 2025-01 revised by JRF", signer="JRF:secondary")
    return shas


def test_commits_between_is_the_pull_request_oldest_first(module_repo: IspRepo, history: dict[str, str]) -> None:
    got = provenance.commits_between(module_repo.root, history["base"], "HEAD")
    assert got == [history[k] for k in ("irc", "stranger", "unsigned", "jrf")]
    assert provenance.commits_between(module_repo.root, "HEAD", "HEAD") == []


def test_verify_names_agency_role_and_status(module_repo: IspRepo, history: dict[str, str]) -> None:
    signers = provenance.allowed_signers_at(module_repo.root, history["base"])
    infos = provenance.verify(module_repo.root, [history[k] for k in ("irc", "stranger", "unsigned", "jrf")], signers)
    irc, stranger, unsigned, jrf = (infos[history[k]] for k in ("irc", "stranger", "unsigned", "jrf"))
    assert (irc.status, irc.agency, irc.role, irc.verified) == ("G", "IRC", "primary", True)
    assert irc.principal == module_repo.email("IRC")
    assert irc.committed == datetime(2025, 2, 5, 7, 0, tzinfo=UTC)
    assert irc.committed.utcoffset() == timedelta(hours=3)
    assert (jrf.agency, jrf.role, jrf.verified) == ("JRF", "secondary", True)
    assert not stranger.verified and stranger.agency is None and stranger.status != "G"
    assert (unsigned.status, unsigned.principal, unsigned.verified) == ("N", None, False)
    assert provenance.verify(module_repo.root, [], signers) == {}


def test_verify_leaves_no_signers_file_behind(
    module_repo: IspRepo, history: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    provenance.verify(module_repo.root, [history["irc"]], "")
    assert list(tmp_path.iterdir()) == []


def test_empty_signers_file_verifies_nobody(module_repo: IspRepo, history: dict[str, str]) -> None:
    info = provenance.verify(module_repo.root, [history["irc"]], "")[history["irc"]]
    assert not info.verified and info.agency is None


def test_changed_paths_and_file_at(module_repo: IspRepo, history: dict[str, str]) -> None:
    root = module_repo.root
    assert provenance.changed_paths(root, history["irc"]) == [("A", "submissions/IRC/2025-01.csv")]
    assert provenance.changed_paths(root, history["jrf"]) == [("M", "submissions/IRC/2025-01.csv")]
    first = provenance.changed_paths(root, history["base"])
    assert ("A", "protocol/allowed_signers") in first
    assert provenance.file_at(root, history["base"], "submissions/IRC/2025-01.csv") is None
    assert provenance.file_at(root, history["base"], "protocol") is None
    blob = provenance.file_at(root, history["irc"], "submissions/IRC/2025-01.csv")
    assert blob is not None and sops.is_envelope(blob)
    assert blob != provenance.file_at(root, history["jrf"], "submissions/IRC/2025-01.csv")
    assert provenance.allowed_signers_at(root, history["base"]).count('namespaces="git"') == 18


def test_path_commits_and_submission_versions(module_repo: IspRepo, history: dict[str, str]) -> None:
    root = module_repo.root
    assert provenance.path_commits(root, "submissions/IRC/2025-01.csv") == [history["irc"], history["jrf"]]
    versions = provenance.submission_versions(root)
    assert set(versions) == {("IRC", "2025-01"), ("IRC", "2025-02"), ("IRC", "2025-03")}
    jan = versions[("IRC", "2025-01")]
    assert [v.sha for v in jan] == [history["irc"], history["jrf"]]
    assert [v.agency for v in jan] == ["IRC", "JRF"]
    assert not versions[("IRC", "2025-02")][0].verified
    assert provenance.submission_versions(root, history["base"]) == {}


def test_a_key_added_later_does_not_count_against_the_base(isp_repo: IspRepo, tmp_path: Path) -> None:
    """A pull request that registers a new key and signs with it is judged by the base's file."""
    base = isp_repo.head()
    key = new_ssh_key(tmp_path / "newkeys", "intruder")
    keys.add_signer(isp_repo.root, "IRC", isp_repo.email("IRC"), Path(f"{key}.pub"))
    keys.sync(isp_repo.root)
    isp_repo.keyring.ssh["intruder"] = key
    sha = isp_repo.commit("Add my key and use it", signer="intruder", email=isp_repo.email("IRC"))
    at_base = provenance.verify(isp_repo.root, [sha], provenance.allowed_signers_at(isp_repo.root, base))[sha]
    at_head = provenance.verify(isp_repo.root, [sha], provenance.allowed_signers_at(isp_repo.root, sha))[sha]
    assert not at_base.verified
    assert at_head.verified and at_head.agency == "IRC"


def test_signer_roles_reads_the_line_comment() -> None:
    text = (
        "# comment\n"
        'a@example.org namespaces="git" ssh-ed25519 AAAA IRC:primary\n'
        'b@example.org,c@example.org namespaces="git" ssh-ed25519 BBBB UNHCR:signatory\n'
        'd@example.org namespaces="git" ssh-ed25519 CCCC not-a-role\n'
    )
    assert provenance.signer_roles(text) == {
        "a@example.org": ("IRC", "primary"),
        "b@example.org": ("UNHCR", "signatory"),
        "c@example.org": ("UNHCR", "signatory"),
    }


def test_not_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IspError, match="not a git repository"):
        provenance.commits_between(tmp_path, "HEAD~1", "HEAD")


def test_unknown_revision_is_one_clear_error(module_repo: IspRepo) -> None:
    with pytest.raises(IspError, match="no-such-branch: no such commit"):
        provenance.commits_between(module_repo.root, "no-such-branch", "HEAD")
