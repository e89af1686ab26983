"""`isp submit` and `isp validate` against real sops, age keys and git (SSH-signed commits)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from isp.crypto import keys, sops
from isp.sheets import repository as repo_validate
from isp.sheets import tidy
from isp.sheets.repository import Context, Outcome
from tests.helpers import IspRepo, git, isp, patched_env
from tests.sheets import helpers as sf

MONTH = sf.MONTH
REL = f"submissions/IRC/{MONTH}.csv"
CANARY = 7919


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Where a data officer keeps plaintext sheets: outside the repository."""
    folder = tmp_path / "officer"
    folder.mkdir()
    return folder


def frame_with_canary(repo: IspRepo) -> pd.DataFrame:
    frame = sf.sheet(repo.load(), "IRC")
    cell = (frame["site"] == "JO21") & (frame["indicator"] == "active_cases") & (frame["sex"] == "F")
    cell &= (frame["age_group"] == "6-11") & (frame["nationality"] == "IRQ")
    assert cell.sum() == 1
    frame.loc[cell, "count"] = CANARY
    return frame


CANARY_ROW = f"{MONTH},JO21,active_cases,F,6-11,IRQ,{CANARY}".encode()


def fill(repo: IspRepo, outside: Path, frame: pd.DataFrame, name: str = "irc.xlsx") -> Path:
    template = outside / f"template-{name}"
    result = isp("template", "-o", template, "--agency", "IRC", "--month", MONTH, "--repo", repo.root)
    assert result.code == 0, result.err
    path = outside / name
    path.write_bytes(sf.fill_template(template.read_bytes(), frame))
    return path


def submit(repo: IspRepo, path: Path, *extra: str, env: dict[str, str | None] | None = None):
    return isp("submit", path, "--agency", "IRC", "--month", MONTH, "--repo", repo.root, *extra, env=env)


def sign_as(repo: IspRepo, who: str) -> None:
    """Repository-local git config that signs every commit, as a focal point would set it up."""
    agency, role = who.split(":")
    for name, value in (
        ("user.email", repo.email(agency, role)),
        ("user.name", who),
        ("gpg.format", "ssh"),
        ("user.signingkey", str(repo.keyring.ssh[who])),
        ("commit.gpgsign", "true"),
    ):
        git(repo.root, "config", name, value)


def signature(repo: IspRepo, rev: str = "HEAD") -> str:
    signers = repo.root / "protocol" / "allowed_signers"
    return git(repo.root, "-c", f"gpg.ssh.allowedSignersFile={signers}", "log", "-1", "--format=%G?", rev).strip()


def test_round_trip(isp_repo: IspRepo, outside: Path) -> None:
    frame = sf.sheet(isp_repo.load(), "IRC")
    result = submit(isp_repo, fill(isp_repo, outside, frame))
    assert result.code == 0, result.err
    assert f"wrote {REL}" in result.out
    envelope = (isp_repo.root / REL).read_bytes()
    assert sops.is_envelope(envelope)
    assert sops.recipients(envelope) == keys.required_recipients(isp_repo.load(), REL)
    for owner in ("IRC", "UNHCR", "IMC", "ci"):
        with patched_env(isp_repo.keyring.env(owner)):
            assert sops.decrypt(isp_repo.root / REL) == tidy.to_csv(frame)
    with patched_env(isp_repo.keyring.env("JRF")), pytest.raises(sops.CryptoError):
        sops.decrypt(isp_repo.root / REL)
    assert git(isp_repo.root, "status", "--porcelain").strip() == f"?? {REL.rsplit('/', 1)[0]}/"


def _canary_anywhere(root: Path, since: float, skip: Path) -> list[str]:
    found = []
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root, capture_output=True, check=True
    ).stdout
    if CANARY_ROW in objects or f",{CANARY}\n".encode() in objects:
        found.append("a git object")
    for folder in (root, Path(tempfile.gettempdir())):
        for dirpath, _, files in os.walk(folder):
            if Path(dirpath).is_relative_to(skip):
                continue
            for name in files:
                path = Path(dirpath) / name
                try:
                    if path.is_symlink() or (path.stat().st_mtime < since and folder != root):
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                if CANARY_ROW in data or (folder == root and f",{CANARY}\n".encode() in data):
                    found.append(str(path))
    return found


def test_commit_is_signed_and_the_canary_never_leaks(isp_repo: IspRepo, outside: Path) -> None:
    start = time.time() - 1
    sign_as(isp_repo, "IRC:primary")
    frame = frame_with_canary(isp_repo)
    source = fill(isp_repo, outside, frame)
    result = submit(isp_repo, source, "--commit")
    assert result.code == 0, result.err
    assert git(isp_repo.root, "branch", "--show-current").strip() == f"submission/IRC/{MONTH}"
    assert git(isp_repo.root, "show", "--name-only", "--format=%s", "HEAD").split() == ["Submit", "IRC", MONTH, REL]
    assert signature(isp_repo) == "G"
    with patched_env(isp_repo.keyring.env("IRC")):
        assert CANARY_ROW in sops.decrypt(isp_repo.root / REL)  # the canary really is in the submission
    assert _canary_anywhere(isp_repo.root, start, skip=outside) == []
    assert str(CANARY) not in result.output


def test_commit_is_refused_unsigned_and_names_the_three_settings(isp_repo: IspRepo, outside: Path) -> None:
    """It used to commit unsigned without a word (CI then did not count it)."""
    frame = sf.sheet(isp_repo.load(), "IRC")
    source = fill(isp_repo, outside, frame)
    result = submit(isp_repo, source, "--commit")
    assert result.code == 1 and "Traceback" not in result.output
    assert "git would commit unsigned" in result.err and "nothing was written" in result.err
    for setting in ("gpg.format ssh", "user.signingkey", "commit.gpgsign true"):
        assert f"git config --global {setting}" in result.err, result.err
    assert not (isp_repo.root / REL).exists()
    assert git(isp_repo.root, "branch", "--show-current").strip() == "main"
    git(isp_repo.root, "config", "gpg.format", "openpgp")  # signing, but not with SSH: still refused
    assert "(gpg.format, user.signingkey" in submit(isp_repo, source, "--commit").err


def test_reruns_stay_on_the_branch_and_revisions_get_their_own(isp_repo: IspRepo, outside: Path) -> None:
    sign_as(isp_repo, "IRC:primary")
    frame = sf.sheet(isp_repo.load(), "IRC")
    assert submit(isp_repo, fill(isp_repo, outside, frame), "--commit").code == 0
    assert signature(isp_repo) == "G"
    again = submit(isp_repo, fill(isp_repo, outside, frame, "same.xlsx"), "--commit", env=isp_repo.keyring.env("IRC"))
    assert again.code == 0 and "already holds exactly these figures" in again.out
    revised = frame.assign(count=frame["count"].where(frame["indicator"] != "active_cases", frame["count"] + 1))
    rerun = submit(isp_repo, fill(isp_repo, outside, revised, "v2.xlsx"), "--commit", "--json")
    assert rerun.code == 0, rerun.err
    assert json.loads(rerun.out)["branch"] == f"submission/IRC/{MONTH}"  # no -2 stacked on the first
    assert git(isp_repo.root, "rev-list", "--count", "main..HEAD").strip() == "2"
    git(isp_repo.root, "switch", "-q", "main")
    later = frame.assign(count=frame["count"].where(frame["indicator"] != "active_cases", frame["count"] + 2))
    result = submit(isp_repo, fill(isp_repo, outside, later, "v3.xlsx"), "--commit", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["branch"] == f"submission/IRC/{MONTH}-2"
    assert git(isp_repo.root, "rev-list", "--count", "main..HEAD").strip() == "1"


def _bad_sheets(repo: IspRepo) -> dict[str, tuple[bytes, str, str]]:
    """name -> (file bytes, file name, the rule the refusal names)."""
    frame = sf.sheet(repo.load(), "IRC")
    lines = sf.csv_lines(frame)
    good_xlsx = sf.filled_template(repo.load(), frame)
    totals = frame.copy()
    totals.loc[(totals["indicator"] == "risk_low") & (totals["site"] == "JO22"), "count"] += 1
    undeclared = frame.assign(site=frame["site"].replace({"JO21": "JO11"}))
    return {
        "formula": (sf.join([lines[0], lines[1].rsplit(",", 1)[0] + ",=1+1", *lines[2:]]), "s.csv", "[formula]"),
        "personal-column": (
            sf.join([lines[0] + ",Child Name", *(f"{x}," for x in lines[1:])]),
            "s.csv",
            "[identifiable-name]",
        ),
        "wrong-month": (
            sf.join([lines[0], *(x.replace(MONTH, "2025-12") for x in lines[1:])]),
            "s.csv",
            "[wrong-month]",
        ),
        "totals": (sf.csv_bytes(totals), "s.csv", "[totals]"),
        "macro": (sf.with_member(good_xlsx, "xl/vbaProject.bin", b"vba"), "s.xlsx", "[macro-file]"),
        "empty": (b"", "s.csv", "[empty-file]"),
        "not-utf8": ("month,site\n2026-01,Zarqa é\n".encode("latin-1"), "s.csv", "[not-utf8]"),
        "undeclared": (sf.csv_bytes(undeclared), "s.csv", "[undeclared-site]"),
        "deleted-row": (sf.join(lines[:5] + lines[6:]), "s.csv", "[missing-cell]"),
    }


BAD = ["formula", "personal-column", "wrong-month", "totals", "macro", "empty", "not-utf8", "undeclared", "deleted-row"]


def test_bad_input_is_refused_and_nothing_is_written(isp_repo: IspRepo, outside: Path) -> None:
    sign_as(isp_repo, "IRC:primary")
    for name, (data, filename, rule) in _bad_sheets(isp_repo).items():
        path = outside / f"{name}-{filename}"
        path.write_bytes(data)
        result = submit(isp_repo, path, "--commit", "--strict")
        assert result.code == 1, name
        assert rule in result.err and "not submitted, nothing was written" in result.err, (name, result.err)
        assert "Traceback" not in result.output
        assert git(isp_repo.root, "status", "--porcelain", "--untracked-files=all") == "", name
        assert git(isp_repo.root, "branch", "--show-current").strip() == "main"
    assert sorted(_bad_sheets(isp_repo)) == sorted(BAD)


def test_undeclared_site_is_refused_without_strict(isp_repo: IspRepo, outside: Path) -> None:
    """It used to be a warning, and the sheet was written with the site padded with zeros."""
    frame = sf.sheet(isp_repo.load(), "IRC")
    path = outside / "s.csv"
    path.write_bytes(sf.csv_bytes(frame.assign(site=frame["site"].replace({"JO21": "JO11"}))))
    result = submit(isp_repo, path)
    assert result.code == 1 and "[undeclared-site] JO11 is not one of IRC's annex sites" in result.err
    assert not (isp_repo.root / REL).exists()


def test_plaintext_inside_the_repository_is_refused(isp_repo: IspRepo) -> None:
    frame = sf.sheet(isp_repo.load(), "IRC")
    for folder in ("submissions/IRC", "aggregates"):
        inside = isp_repo.root / folder / "draft.csv"
        inside.parent.mkdir(parents=True, exist_ok=True)
        inside.write_bytes(sf.csv_bytes(frame))
        result = submit(isp_repo, inside)
        assert result.code == 1 and "must never be inside" in result.err
        assert not (isp_repo.root / REL).exists()
        inside.unlink()
    loose = isp_repo.root / "draft.csv"
    loose.write_bytes(sf.csv_bytes(frame))
    result = submit(isp_repo, loose)
    assert result.code == 0 and "[plaintext-in-repo]" in result.err


def test_a_month_not_over_is_a_warning(isp_repo: IspRepo, outside: Path) -> None:
    path = outside / "s.csv"
    path.write_bytes(sf.csv_bytes(sf.sheet(isp_repo.load(), "IRC")))
    result = submit(isp_repo, path, env={"ISP_TODAY": f"{MONTH}-20"})
    assert result.code == 0 and "[month-not-over]" in result.err
    assert "[month-not-over]" not in submit(isp_repo, path, env={"ISP_TODAY": "2026-02-03"}).err


def test_stale_sops_config_is_refused(isp_repo: IspRepo, outside: Path) -> None:
    """agencies.yaml changed but `isp keys sync` was not run: CI would reject the recipients."""
    keys.add_recipient(isp_repo.root, "IRC", sops.new_identity()[1])
    path = outside / "s.csv"
    path.write_bytes(sf.csv_bytes(sf.sheet(isp_repo.load(), "IRC")))
    result = submit(isp_repo, path)
    assert result.code == 1 and "isp keys sync" in result.err and not (isp_repo.root / REL).exists()


def test_missing_file_and_bad_options(isp_repo: IspRepo, outside: Path) -> None:
    assert "no such file" in submit(isp_repo, outside / "nope.xlsx").err
    result = isp("submit", outside / "nope.csv", "--agency", "IRC", "--repo", isp_repo.root)
    assert result.code == 2


# --- isp validate ----------------------------------------------------------------------------


def _submitted(repo: IspRepo, outside: Path, agency: str = "IRC", month: str = MONTH) -> Path:
    path = outside / f"{agency}-{month}.csv"
    path.write_bytes(sf.csv_bytes(sf.sheet(repo.load(), agency, month)))
    result = isp("submit", path, "--agency", agency, "--month", month, "--repo", repo.root)
    assert result.code == 0, result.err
    return repo.root / f"submissions/{agency}/{month}.csv"


def validate(repo: IspRepo, *args: str | Path, owner: str | None = "ci"):
    env = repo.keyring.env(owner) if owner else {"SOPS_AGE_KEY": None, "SOPS_AGE_KEY_FILE": None}
    return isp("validate", *args, "--repo", repo.root, env=env)


def test_validate_the_repository(isp_repo: IspRepo, outside: Path) -> None:
    _submitted(isp_repo, outside)
    _submitted(isp_repo, outside, "JRF")
    result = validate(isp_repo)
    assert result.code == 0, result.err
    assert "✓ valid: protocol (1 checked), submissions (2 checked, contents decrypted and checked)" in result.out
    no_key = validate(isp_repo, owner=None)
    assert no_key.code == 0 and "[not-decrypted]" in no_key.err
    assert "valid" not in no_key.out and "✓" not in no_key.out  # it used to say "✓ valid" over nothing
    assert "2 envelopes checked" in no_key.err and "contents of 0 decrypted and checked, 2 not" in no_key.err
    own_key = validate(isp_repo, owner="IRC")
    assert own_key.code == 0 and "submissions/JRF" in own_key.err and "your key cannot open it" in own_key.err
    report = json.loads(validate(isp_repo, "--json").out)
    assert report["ok"] and [o["name"] for o in report["outcomes"]] == ["protocol", "submissions"]


def test_validate_finds_what_is_wrong_in_the_repository(isp_repo: IspRepo, outside: Path) -> None:
    good = _submitted(isp_repo, outside)
    root = isp_repo.root
    envelope = json.loads(good.read_bytes())
    envelope["data"] = envelope["data"][:40] + ("A" if envelope["data"][40] != "A" else "B") + envelope["data"][41:]
    (root / "submissions/IRC/2025-11.csv").write_text(json.dumps(envelope))
    (root / "submissions/IRC/2025-12.csv").write_bytes(good.read_bytes())  # replayed from another month
    (root / "submissions/IRC/2025-10.csv").write_bytes(sf.csv_bytes(sf.sheet(isp_repo.load(), "IRC", "2025-10")))
    (root / "submissions/IRC/2025-09.csv").write_bytes(sops.encrypt(root, "submissions/JRF/2025-09.csv", b"x"))
    (root / "submissions/IRC/notes.txt").write_text("a note")
    result = validate(isp_repo)
    assert result.code == 1
    lines = result.err.splitlines()
    expected = {
        "submissions/IRC/2025-09.csv": "[recipients]",
        "submissions/IRC/2025-10.csv": "[plaintext]",
        "submissions/IRC/2025-11.csv": "altered",
        "submissions/IRC/2025-12.csv": "[wrong-month]",
        "submissions/IRC/notes.txt": "[misplaced]",
    }
    for path, rule in expected.items():
        assert any(line.startswith(path) and rule in line for line in lines), (path, result.err)
    assert not any(line.startswith(REL) for line in lines)
    assert str(CANARY) not in result.err


def test_validate_named_sheets(isp_repo: IspRepo, outside: Path) -> None:
    frame = sf.sheet(isp_repo.load(), "IRC")
    plain = outside / "irc.xlsx"
    plain.write_bytes(sf.filled_template(isp_repo.load(), frame))
    assert validate(isp_repo, plain, "--agency", "IRC", "--month", MONTH).code == 0
    assert validate(isp_repo, plain).code == 2  # which agency and month? it cannot tell
    named = outside / "IRC" / f"{MONTH}.csv"
    named.parent.mkdir()
    named.write_bytes(sf.csv_bytes(frame))
    assert validate(isp_repo, named).code == 0
    wrong = validate(isp_repo, named, "--month", "2026-02")
    assert wrong.code == 1 and "[wrong-month]" in wrong.err
    stored = _submitted(isp_repo, outside)
    assert validate(isp_repo, stored).code == 0
    assert validate(isp_repo, outside / "IRC").code == 0  # a folder: every sheet in it


def test_validators_are_a_list_others_can_extend(isp_repo: IspRepo) -> None:
    def requests_stub(ctx: Context) -> Outcome:
        return Outcome("requests", checked=3)

    repo_validate.register(requests_stub)
    try:
        result = validate(isp_repo)
        assert result.code == 0 and "requests (3 checked)" in result.out
    finally:
        repo_validate.VALIDATORS.remove(requests_stub)
