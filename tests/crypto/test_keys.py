"""`isp keys new|signer|sync` against real age keys, ssh-keygen, sops and git signatures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ruamel.yaml import YAML

from isp.crypto import keys, sops
from tests.helpers import IspRepo, git, isp, patched_env, ssh_keygen, write_submission

REL = "submissions/IRC/2026-01.csv"


def agencies_text(repo: IspRepo) -> str:
    return (repo.root / "protocol" / "agencies.yaml").read_text()


def sync(repo: IspRepo, *args: str, owner: str | None = "ci"):
    env = repo.keyring.env(owner) if owner else {"SOPS_AGE_KEY": None, "SOPS_AGE_KEY_FILE": None}
    return isp("keys", "sync", "--repo", repo.root, *args, env=env)


def can_open(path: Path, secret: str) -> bool:
    with patched_env({"SOPS_AGE_KEY": secret, "SOPS_AGE_KEY_FILE": None}):
        try:
            sops.decrypt(path)
        except sops.CryptoError:
            return False
    return True


# --- keys new --------------------------------------------------------------------------------


def test_new_key_for_ci_and_refusals(isp_repo: IspRepo, tmp_path: Path) -> None:
    out = tmp_path / "secrets" / "ci.agekey"
    result = isp("keys", "new", "CI", "--out", out, "--repo", isp_repo.root)
    assert result.code == 0, result.err
    assert out.stat().st_mode & 0o777 == 0o600
    recipient = isp_repo.load().ci.age_recipients[-1]
    assert recipient in result.out and recipient.startswith("age1")
    assert "AGE-SECRET-KEY-1" in out.read_text() and "AGE-SECRET-KEY" not in agencies_text(isp_repo)
    before = agencies_text(isp_repo)
    unknown = isp("keys", "new", "ACME", "--out", tmp_path / "acme.agekey", "--repo", isp_repo.root)
    assert unknown.code == 1 and "unknown agency" in unknown.err
    assert not (tmp_path / "acme.agekey").exists() and agencies_text(isp_repo) == before


def test_new_key_then_sync_lets_it_open_existing_files(isp_repo: IspRepo, tmp_path: Path) -> None:
    """The issue's scenario: a new recipient, `keys sync`, and sops updatekeys really re-wraps."""
    path = write_submission(isp_repo, "IRC", "2026-01")
    out = tmp_path / "irc2.agekey"
    assert isp("keys", "new", "IRC", "--out", out, "--repo", isp_repo.root).code == 0
    secret = out.read_text().splitlines()[1]
    assert not can_open(path, secret)
    without_key = sync(isp_repo, owner=None)
    assert without_key.code == 0 and "could not be re-wrapped" in without_key.err
    assert not can_open(path, secret)
    data_before = json.loads(path.read_bytes())["data"]
    result = sync(isp_repo, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["rewrapped"] == [REL]
    assert can_open(path, secret) and can_open(path, isp_repo.keyring.age_secret["IRC"])
    assert json.loads(path.read_bytes())["data"] == data_before  # re-wrapped, not re-encrypted
    assert sops.recipients(path.read_bytes()) == keys.required_recipients(isp_repo.load(), REL)
    assert json.loads(sync(isp_repo, "--json").out)["rewrapped"] == []  # nothing left to do


# --- keys signer -----------------------------------------------------------------------------


@pytest.fixture
def new_ssh(tmp_path: Path) -> Path:
    return ssh_keygen(tmp_path / "id_new", "new focal point")


def signer(repo: IspRepo, agency: str, email: str, key: Path):
    return isp("keys", "signer", agency, "--email", email, "--ssh-key", key, "--repo", repo.root)


def test_signer_registered_and_its_commits_verify(isp_repo: IspRepo, new_ssh: Path) -> None:
    email = isp_repo.email("IRC", "secondary")
    result = signer(isp_repo, "IRC", email, Path(f"{new_ssh}.pub"))
    assert result.code == 0, result.err
    assert signer(isp_repo, "IRC", email.upper(), Path(f"{new_ssh}.pub")).code == 0  # idempotent
    key = " ".join(Path(f"{new_ssh}.pub").read_text().split()[:2])
    focal = isp_repo.load().agencies["IRC"].focal_points.secondary
    assert focal.ssh_keys.count(key) == 1
    assert sync(isp_repo).code == 0
    signers = (isp_repo.root / "protocol" / "allowed_signers").read_text()
    assert f'{email} namespaces="git" {key} IRC:secondary\n' in signers
    isp_repo.keyring.ssh["IRC:new"] = new_ssh
    sha = isp_repo.commit("signed with the new key", signer="IRC:new", email=email)
    allowed = isp_repo.root / "protocol" / "allowed_signers"
    status = git(isp_repo.root, "-c", f"gpg.ssh.allowedSignersFile={allowed}", "log", "-1", "--format=%G?|%GS", sha)
    assert status.strip() == f"G|{email}"


def test_signer_refusals(isp_repo: IspRepo, new_ssh: Path, tmp_path: Path) -> None:
    before = agencies_text(isp_repo)
    pub = Path(f"{new_ssh}.pub")
    damaged = tmp_path / "damaged.pub"
    _, blob, *_ = pub.read_text().split()
    damaged.write_text(f"ssh-rsa {blob} x\n")
    binary = tmp_path / "binary.pub"
    binary.write_bytes(bytes(range(256)))
    cases = [
        ("IRC", "someone@example.org", pub, "not a focal point of IRC"),
        ("IRC", isp_repo.email("JRF"), pub, "not a focal point of IRC"),
        ("ACME", "someone@example.org", pub, "unknown agency"),
        ("IRC", isp_repo.email("IRC"), new_ssh, "PRIVATE key"),
        ("IRC", isp_repo.email("IRC"), tmp_path / "missing.pub", "no such public key file"),
        ("IRC", isp_repo.email("IRC"), binary, "not an SSH public key"),
        ("IRC", isp_repo.email("IRC"), damaged, "damaged"),
        ("IRC", isp_repo.email("IRC"), Path(f"{isp_repo.keyring.ssh['JRF:primary']}.pub"), "already registered"),
    ]
    for agency, email, key, message in cases:
        result = signer(isp_repo, agency, email, key)
        assert result.code == 1 and message in result.err, (message, result.err)
        assert "BEGIN OPENSSH" not in result.output
    assert agencies_text(isp_repo) == before


# --- keys sync: the generated files ------------------------------------------------------------


def test_generated_sops_rules(isp_repo: IspRepo) -> None:
    ring, isp_ = isp_repo.keyring, isp_repo.load()
    config = yaml.safe_load((isp_repo.root / ".sops.yaml").read_text())
    regexes = [rule["path_regex"] for rule in config["creation_rules"]]
    assert regexes.index(r"^aggregates/agency/IRC/.*$") < regexes.index(r"^aggregates/.*$")
    coordinators = {ring.age_public["UNHCR"], ring.age_public["IMC"]}
    ci = ring.age_public["ci"]
    members = {ring.age_public[a] for a in ("IRC", "IMC", "JRF", "NHF", "UNHCR", "UNICEF")}
    expected = {
        "submissions/IRC/2026-01.csv": {ring.age_public["IRC"], ci, *coordinators},
        "submissions/UNHCR/2026-01.csv": {ci, *coordinators},
        "aggregates/monthly/2026-01.csv": {ci, *members},
        "aggregates/agency/JRF/2026.csv": {ring.age_public["JRF"], ci},  # a year file
        "aggregates/agency/JRF/monthly/2026-01.csv": {ring.age_public["JRF"], ci},  # the earlier layout
        "protocol/site-credentials.yaml": {ci, *coordinators},
        "requests/REQ-2026-001.yaml": None,
    }
    for rel, want in expected.items():
        assert keys.required_recipients(isp_, rel) == want, rel


def test_generated_codeowners_and_signers(isp_repo: IspRepo) -> None:
    owners = (isp_repo.root / ".github" / "CODEOWNERS").read_text().splitlines()
    rules = {line.split()[0]: line.split()[1:] for line in owners if line and not line.startswith("#")}
    irc = [isp_repo.email("IRC", role) for role in ("primary", "secondary", "signatory")]
    assert rules["/submissions/IRC/"] == irc
    for path in ("/protocol/", "/scripts/", "/.github/", "*"):
        assert set(rules[path]) <= {
            isp_repo.email(a, r) for a in ("UNHCR", "IMC") for r in ("primary", "secondary", "signatory")
        }
        assert isp_repo.email("UNHCR") in rules[path] and isp_repo.email("IMC") in rules[path]
    signers = (isp_repo.root / "protocol" / "allowed_signers").read_text().splitlines()[1:]
    assert len(signers) == 6 * 3
    assert all(line.split()[1] == 'namespaces="git"' and line.split()[2] == "ssh-ed25519" for line in signers)
    before = {p: (isp_repo.root / p).read_text() for p in (keys.SOPS_CONFIG, keys.CODEOWNERS, keys.ALLOWED_SIGNERS)}
    assert sync(isp_repo).code == 0
    assert before == {p: (isp_repo.root / p).read_text() for p in before}  # regenerating is stable


# --- keys sync: a departed recipient -------------------------------------------------------------


def _remove_recipient(repo: IspRepo, owner: str, recipient: str) -> None:
    rt = YAML()
    path = repo.root / "protocol" / "agencies.yaml"
    doc = rt.load(path)
    doc["agencies"][owner]["age_recipients"].remove(recipient)
    rt.dump(doc, path)


def test_removed_recipient_is_flagged_until_rotated(isp_repo: IspRepo, tmp_path: Path) -> None:
    ring = isp_repo.keyring
    path = write_submission(isp_repo, "IRC", "2026-01")
    out = tmp_path / "irc-new.agekey"
    assert isp("keys", "new", "IRC", "--out", out, "--repo", isp_repo.root).code == 0
    new_secret = out.read_text().splitlines()[1]
    _remove_recipient(isp_repo, "IRC", ring.age_public["IRC"])  # the old key leaves (a laptop was lost)
    for _ in range(2):  # reported on every run until done, not forgotten after one
        result = sync(isp_repo, "--json")
        assert result.code == 0 and json.loads(result.out)["rotate"] == [REL]
    assert can_open(path, ring.age_secret["IRC"]) and not can_open(path, new_secret)
    human = sync(isp_repo)
    assert "isp keys sync --rotate" in human.err
    data_before = json.loads(path.read_bytes())["data"]
    rotated = sync(isp_repo, "--rotate", "--json")
    assert rotated.code == 0, rotated.err
    report = json.loads(rotated.out)
    assert report["rotated"] == [REL] and report["rotate"] == []
    assert not can_open(path, ring.age_secret["IRC"]) and can_open(path, new_secret)
    assert json.loads(path.read_bytes())["data"] != data_before  # a new data key, so new ciphertext
    assert sops.recipients(path.read_bytes()) == keys.required_recipients(isp_repo.load(), REL)
    assert json.loads(sync(isp_repo, "--json").out)["rotate"] == []


def test_rotation_needs_a_key_that_opens_the_file(isp_repo: IspRepo) -> None:
    write_submission(isp_repo, "IRC", "2026-01")
    _remove_recipient(isp_repo, "IRC", isp_repo.keyring.age_public["IRC"])
    result = sync(isp_repo, "--rotate", "--json", owner="JRF")
    report = json.loads(result.out)
    assert result.code == 0 and report["not_rewrapped"] == [REL] and report["rotate"] == [REL]


def test_sync_leaves_plaintext_alone_and_says_so(isp_repo: IspRepo) -> None:
    plain = isp_repo.root / "submissions" / "IRC" / "2026-02.csv"
    plain.parent.mkdir(parents=True)
    plain.write_bytes(b"month,site\n")
    result = sync(isp_repo)
    assert result.code == 0 and "not sops envelopes" in result.err
    assert plain.read_bytes() == b"month,site\n"
