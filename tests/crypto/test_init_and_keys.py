"""`isp init`, keys, and the sops boundary, against real sops and age."""

from __future__ import annotations

import json
from pathlib import Path

from isp.crypto import keys, sops
from isp.protocol import loading
from tests.helpers import IspRepo, isp


def test_init_then_protocol_check(tmp_path: Path) -> None:
    target = tmp_path / "new-isp"
    assert isp("init", target).code == 0
    assert (target / ".git").is_dir() and (target / "submissions" / "README.md").exists()
    result = isp("protocol", "check", "--repo", target, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["agencies"][0] == "IRC"
    assert loading.load(target).agencies["IRC"].age_recipients == []


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    result = isp("init", tmp_path / "x")
    assert result.code == 1 and "not empty" in result.err
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_keys_new_writes_secret_0600_and_records_recipient(tmp_path: Path) -> None:
    root = tmp_path / "isp"
    isp("init", root)
    out = tmp_path / "irc.agekey"
    result = isp("keys", "new", "IRC", "--out", out, "--repo", root)
    assert result.code == 0, result.err
    assert out.stat().st_mode & 0o777 == 0o600
    secret = out.read_text()
    recorded = loading.load(root).agencies["IRC"].age_recipients
    assert len(recorded) == 1 and recorded[0] in result.out
    assert "AGE-SECRET-KEY" not in (root / "protocol" / "agencies.yaml").read_text()
    assert isp("keys", "new", "IRC", "--out", out, "--repo", root).code == 1
    assert out.read_text() == secret


def test_sops_round_trip_with_generated_rules(isp_repo: IspRepo) -> None:
    ring = isp_repo.keyring
    envelope = sops.encrypt(isp_repo.root, "submissions/IRC/2026-01.csv", b"month,count\n")
    assert sops.is_envelope(envelope)
    want = keys.required_recipients(isp_repo.load(), "submissions/IRC/2026-01.csv")
    assert sops.recipients(envelope) == want
    assert want == {ring.age_public[o] for o in ("IRC", "UNHCR", "IMC", "ci")}
    path = isp_repo.root / "submissions" / "IRC" / "2026-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(envelope)
    from tests.helpers import patched_env

    with patched_env(ring.env("IRC")):
        assert sops.decrypt(path) == b"month,count\n"
    with patched_env(ring.env("JRF")):
        try:
            sops.decrypt(path)
        except sops.CryptoError as exc:
            assert "none of your age keys" in str(exc)
        else:
            raise AssertionError("JRF must not decrypt IRC's submission")


def test_tampered_envelope_is_one_clear_line(isp_repo: IspRepo) -> None:
    envelope = json.loads(sops.encrypt(isp_repo.root, "submissions/IRC/2026-01.csv", b"a,b\n1,2\n"))
    data = envelope["data"]
    envelope["data"] = data[:20] + ("A" if data[20] != "A" else "B") + data[21:]
    from tests.helpers import patched_env

    with patched_env(isp_repo.keyring.env("ci")):
        try:
            sops.decrypt_bytes(json.dumps(envelope).encode(), "submissions/IRC/2026-01.csv")
        except sops.CryptoError as exc:
            assert "altered" in str(exc) and "1,2" not in str(exc)
        else:
            raise AssertionError("a tampered file must not decrypt")


def test_generated_files(isp_repo: IspRepo) -> None:
    root = isp_repo.root
    signers = (root / "protocol" / "allowed_signers").read_text()
    assert 'focal.irc@example.org namespaces="git" ssh-ed25519' in signers
    owners = (root / ".github" / "CODEOWNERS").read_text()
    assert "/submissions/IRC/" in owners
    assert "creation_rules" in (root / ".sops.yaml").read_text()
