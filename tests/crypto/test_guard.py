"""The plaintext guard: `isp guard` directly, and as the real pre-commit hook in a real repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from isp.crypto import sops
from tests.helpers import IspRepo, git, isp
from tests.sheets import helpers as sf

OTHER_HOOKS = "ruff,ruff-format,mypy,check-yaml,isp-protocol-check"


def guard(repo: IspRepo, *files: str):
    return isp("guard", *files, "--repo", repo.root, cwd=repo.root)


def put(repo: IspRepo, rel: str, data: bytes) -> str:
    path = repo.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return rel


@pytest.fixture
def plaintext(isp_repo: IspRepo) -> bytes:
    frame = sf.sheet(isp_repo.load(), "IRC")
    frame.loc[0, "count"] = 7919
    return sf.csv_bytes(frame)


def test_envelopes_and_allowed_files_pass(isp_repo: IspRepo) -> None:
    rel = "submissions/IRC/2026-01.csv"
    put(isp_repo, rel, sops.encrypt(isp_repo.root, rel, b"month,count\n"))
    allowed = [
        rel,
        put(isp_repo, "submissions/README.md", b"# submissions\n"),
        put(isp_repo, "submissions/IRC/.gitkeep", b""),
        put(isp_repo, "aggregates/manifest.json", b'{"outputs": {}}'),
        put(isp_repo, "aggregates/agency/IRC/manifest.json", b'{"outputs": {}}'),
        put(isp_repo, "docs/keys.md", b"An age key starts with AGE-SECRET-KEY-1 and is never committed.\n"),
        "submissions/IRC/deleted.csv",  # a deletion: nothing to check
    ]
    result = guard(isp_repo, *allowed)
    assert result.code == 0, result.err
    assert "7 file(s) checked" in result.out


def test_plaintext_under_submissions_and_aggregates_is_refused(isp_repo: IspRepo, plaintext: bytes) -> None:
    refused = [
        put(isp_repo, "submissions/IRC/2026-01.csv", plaintext),
        put(isp_repo, "submissions/IRC/2026-01.xlsx", sf.filled_template(isp_repo.load(), sf.sheet(isp_repo.load()))),
        put(isp_repo, "aggregates/monthly/2026-01.csv", plaintext),
        put(isp_repo, "aggregates/monthly/manifest.json", b"{}"),
        put(isp_repo, "submissions/IRC/empty.csv", b""),
        put(isp_repo, "submissions/IRC/fake.csv", b'{"data": "1,2", "sops": {"mac": "x", "version": "3"}}'),
    ]
    result = guard(isp_repo, *refused)
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if "[plaintext]" in line]
    assert [line.split(":")[0] for line in lines] == refused
    assert "7919" not in result.output


def test_a_sheet_saved_anywhere_else_in_the_checkout_is_refused(isp_repo: IspRepo, plaintext: bytes) -> None:
    """The data officer's usual slip: the sheet saved next to the repository's files."""
    template = sf.filled_template(isp_repo.load(), sf.sheet(isp_repo.load()))
    refused = [
        put(isp_repo, "irc-2026-01.csv", plaintext),
        put(isp_repo, "docs/January.XLSX", template),
        put(isp_repo, "protocol/figures.ods", b"PK\x03\x04 not really a workbook"),
    ]
    rel = "protocol/encrypted.csv"
    allowed = put(isp_repo, rel, sops.encrypt(isp_repo.root, "submissions/IRC/2026-01.csv", b"month,count\n"))
    result = guard(isp_repo, *refused, allowed)
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if "[plaintext-sheet]" in line]
    assert [line.split(":")[0] for line in lines] == refused
    assert "isp submit" in result.err and "7919" not in result.output


def test_keys_and_caches_are_refused_anywhere(isp_repo: IspRepo) -> None:
    ring = isp_repo.keyring
    secret = ring.ssh["IRC:primary"].read_bytes()
    cases = {
        put(isp_repo, "irc.agekey", f"# created: today\n{ring.age_secret['IRC']}\n".encode()): "[age-identity]",
        put(isp_repo, "site/notes.md", f"oops {ring.age_secret['ci']} pasted".encode()): "[age-identity]",
        put(isp_repo, "keys/id_ed25519", secret): "[private-key]",
        put(isp_repo, "encryptcontent.cache", b"{}"): "[encryptcontent-cache]",
        put(isp_repo, "site/encryptcontent.cache", b"{}"): "[encryptcontent-cache]",
    }
    result = guard(isp_repo, *cases)
    assert result.code == 1
    for rel, rule in cases.items():
        assert any(line.startswith(rel + ":") and rule in line for line in result.err.splitlines()), (rel, result.err)
    assert ring.age_secret["IRC"] not in result.output and "OPENSSH" not in result.output
    public = put(isp_repo, "keys/id_ed25519.pub", Path(f"{ring.ssh['IRC:primary']}.pub").read_bytes())
    assert guard(isp_repo, public).code == 0


def test_symlink_under_submissions_is_refused(isp_repo: IspRepo, tmp_path: Path, plaintext: bytes) -> None:
    target = tmp_path / "sheet.csv"
    target.write_bytes(plaintext)
    link = isp_repo.root / "submissions" / "IRC" / "2026-01.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    result = guard(isp_repo, "submissions/IRC/2026-01.csv")
    assert result.code == 1 and "[symlink]" in result.err


def test_without_arguments_every_tracked_file_is_checked(isp_repo: IspRepo, plaintext: bytes) -> None:
    assert guard(isp_repo).code == 0
    put(isp_repo, "submissions/IRC/2026-01.csv", plaintext)
    git(isp_repo.root, "add", "submissions/IRC/2026-01.csv")
    result = guard(isp_repo)
    assert result.code == 1 and "submissions/IRC/2026-01.csv" in result.err


# --- the real pre-commit hook ----------------------------------------------------------------


def _hook_env(tmp_path: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "SKIP": OTHER_HOOKS,
    }


def _run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=root, env=env, capture_output=True, text=True, check=False)


def test_pre_commit_hook_blocks_plaintext_and_keys(isp_repo: IspRepo, tmp_path: Path, plaintext: bytes) -> None:
    root, env = isp_repo.root, _hook_env(tmp_path)
    assert "isp-plaintext-guard" in (root / ".pre-commit-config.yaml").read_text()
    installed = _run(root, env, sys.executable, "-m", "pre_commit", "install")
    assert installed.returncode == 0, installed.stderr
    put(isp_repo, "submissions/IRC/2026-01.csv", plaintext)
    put(isp_repo, "irc.agekey.txt", f"{isp_repo.keyring.age_secret['IRC']}\n".encode())
    git(root, "add", "submissions/IRC/2026-01.csv", "irc.agekey.txt")
    run = _run(root, env, sys.executable, "-m", "pre_commit", "run", "isp-plaintext-guard")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "[plaintext]" in run.stdout and "[age-identity]" in run.stdout and "7919" not in run.stdout
    before = git(root, "rev-parse", "HEAD")
    commit = _run(root, env, "git", "commit", "-m", "leak")
    assert commit.returncode != 0 and git(root, "rev-parse", "HEAD") == before
    git(root, "rm", "-q", "--cached", "irc.agekey.txt")
    rel = "submissions/IRC/2026-01.csv"
    put(isp_repo, rel, sops.encrypt(root, rel, plaintext))
    git(root, "add", rel)
    commit = _run(root, env, "git", "commit", "-m", "Submit IRC 2026-01")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert git(root, "rev-parse", "HEAD") != before
