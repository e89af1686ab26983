"""The internal site, built for real (sops, mkdocs, encryptcontent) from a small signed repository:
credentials, leaks (canary figures, search index, cache file, external assets), weights, Arabic.

The site is built once per session (``built_site``, strict); tests that need another build make
their own small one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isp.crypto import keys, sops
from isp.errors import IspError
from isp.protocol.periods import PERIOD_KINDS, kind_of_label
from isp.site import credentials
from isp.site.build import page_weight
from isp.site.checks import page_url
from tests.helpers import IspRepo, Keyring, isp, patched_env
from tests.site.helpers import (
    BREACH_ID,
    CANARY,
    KEYSTORE_JSON,
    LATE,
    MINUTES_DECISION,
    MINUTES_ID,
    REQUEST_ID,
    SUSPENDED,
    TODAY,
    BuiltSite,
    decrypt_page,
    hermetic_git,
    renderings,
    scan,
    user_hash,
)

MB = 1024 * 1024
PROTECTED = ["", "explore/", "reports/monthly/", "reports/annual/", "agencies/irc/", "agencies/irc/monthly/",
             "compliance/", "requests/", "governance/", "audit/", "about/signatories/", "about/sites/"]  # fmt: skip
PUBLIC = ["protocol/", "calendar/"]


def _html(built: BuiltSite, url: str, lang: str = "en") -> str:
    folder = built.out if lang == "en" else built.out / lang
    return (folder / url / "index.html").read_text(encoding="utf-8")


# --- credentials --------------------------------------------------------------------------------


def test_credentials_are_encrypted_for_coordinators_and_ci_and_strong(built_site: BuiltSite) -> None:
    path = built_site.root / credentials.SITE_CREDENTIALS
    envelope = path.read_bytes()
    assert sops.is_envelope(envelope)
    assert sops.recipients(envelope) == keys.required_recipients(
        built_site.site.repo.load(), credentials.SITE_CREDENTIALS
    )
    values = built_site.passphrases
    assert set(values) == {
        "members",
        "coordinators",
        *(f"agency-{a.lower()}" for a in built_site.site.repo.load().agencies),
    }
    assert len(set(values.values())) == len(values)
    from encryptcontent.plugin import encryptContentPlugin

    entropy = encryptContentPlugin().__get_entropy_from_password__
    for value in values.values():
        assert value.encode() not in envelope
        assert entropy(value)[0] > 100  # the plugin's own estimate: no --strict warning


def test_credentials_are_kept_printed_only_on_request_and_rotated(isp_repo: IspRepo, keyring: Keyring) -> None:
    first = isp("site", "credentials", "--repo", isp_repo.root)
    assert first.code == 0, first.err
    hint = "sops decrypt --input-type binary --output-type binary protocol/site-credentials.yaml"
    assert hint in " ".join(first.out.split())
    env = keyring.env("UNHCR")  # a coordinator
    shown = isp("site", "credentials", "--repo", isp_repo.root, "--show", env=env)
    assert shown.code == 0, shown.err
    with_env = {k: v for k, v in env.items() if v}
    before = _load(isp_repo, with_env)
    assert not any(value in first.output for value in before.values())
    assert all(value in shown.out for value in before.values())
    assert "choose on the site" in shown.out and "IRC: International Rescue" in shown.out  # the form's names
    again = isp("site", "credentials", "--repo", isp_repo.root, env=env)
    assert "already has a passphrase" in again.out and _load(isp_repo, with_env) == before
    rotated = isp("site", "credentials", "--repo", isp_repo.root, "--rotate", env=env)
    assert rotated.code == 0, rotated.err
    after = _load(isp_repo, with_env)
    assert set(after) == set(before) and not set(after.values()) & set(before.values())


def _load(repo: IspRepo, env: dict[str, str]) -> dict[str, str]:
    from tests.helpers import patched_env

    with patched_env({"SOPS_AGE_KEY_FILE": None, **env}):
        return credentials.load(repo.root, repo.load())


def test_an_agency_key_cannot_read_the_credentials(isp_repo: IspRepo, keyring: Keyring) -> None:
    assert isp("site", "credentials", "--repo", isp_repo.root).code == 0
    result = isp("site", "credentials", "--repo", isp_repo.root, "--show", env=keyring.env("IRC"))
    assert result.code == 1
    assert "protocol/site-credentials.yaml" in result.err and "Traceback" not in result.err


# --- the build ------------------------------------------------------------------------------------


def test_build_is_strict_clean_and_writes_nothing_in_the_repository(built_site: BuiltSite) -> None:
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=built_site.root, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    written = [line for line in status.splitlines() if not line.endswith(("build/", "__pycache__/"))]
    assert written == []
    assert not (built_site.root / "encryptcontent.cache").exists()
    assert (built_site.out / "index.html").exists() and (built_site.out / "ar" / "index.html").exists()


def test_no_canary_figure_outside_an_encrypted_block(built_site: BuiltSite) -> None:
    assert CANARY in built_site.canaries and len(built_site.canaries) >= 4
    assert scan(built_site.out, built_site.canaries) == []


def test_the_canary_is_inside_the_encrypted_pages(built_site: BuiltSite) -> None:
    """Positive control: the members' home page, once decrypted, shows the national total."""
    content = decrypt_page(_html(built_site, ""), built_site.passphrases["members"])
    assert content is not None
    national = max(built_site.canaries)
    assert f"{national:,}" in content
    assert decrypt_page(_html(built_site, ""), "not-the-passphrase-at-all-000") is None


def test_each_level_opens_its_own_pages_only(built_site: BuiltSite) -> None:
    pw = built_site.passphrases
    irc_own = _html(built_site, "agencies/irc/monthly/")
    assert decrypt_page(irc_own, pw["agency-irc"]) is not None
    assert decrypt_page(irc_own, pw["agency-imc"]) is None
    assert decrypt_page(irc_own, pw["members"]) is None
    assert decrypt_page(irc_own, pw["coordinators"]) is None
    compliance = _html(built_site, "compliance/")
    assert decrypt_page(compliance, pw["coordinators"]) is not None
    assert decrypt_page(compliance, pw["members"]) is None
    home = _html(built_site, "")
    assert all(decrypt_page(home, value) is not None for value in pw.values())


def test_every_page_derives_only_the_entry_of_whose_passphrase_it_is(built_site: BuiltSite) -> None:
    """Password-only keystores were unlabelled, so the browser ran PBKDF2 on each in turn: eight
    derivations for the last agency's passphrase. Each entry now carries the hash of its level
    (the user name the form sends), and the form lists every level."""
    pw = built_site.passphrases
    levels = credentials.levels(built_site.site.repo.load())
    for url in ("", "explore/", "agencies/irc/monthly/", "compliance/"):
        html = _html(built_site, url)
        entries = json.loads(KEYSTORE_JSON.search(html).group(1))  # type: ignore[union-attr]
        assert sorted(entry.split(";")[3] for entry in entries) == sorted(user_hash(level) for level in levels), url
        assert re.findall(r'<option value="([a-z-]+)"', html) == levels, url
    home = _html(built_site, "")
    assert all(decrypt_page(home, value, user=level) is not None for level, value in pw.items())
    assert decrypt_page(home, pw["agency-irc"], user="members") is None  # the level chosen is the one tried
    irc_own = _html(built_site, "agencies/irc/monthly/")
    assert '<option value="agency-irc" selected>' in irc_own
    assert decrypt_page(irc_own, pw["agency-irc"], user="agency-irc") is not None
    assert decrypt_page(irc_own, pw["members"], user="members") is None
    check = re.search(r'<script id="isp-passphrase-check" type="application/json">(.*?)</script>', irc_own)
    doc = json.loads(check.group(1))  # type: ignore[union-attr]
    assert doc["opens"] == ["agency-irc"] and set(doc["entries"]) == set(levels) and doc["iterations"] == 10**6


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_protected_pages_are_encrypted_and_absent_from_the_search_index(built_site: BuiltSite, lang: str) -> None:
    for url in PROTECTED:
        html = _html(built_site, url, lang)
        assert 'id="mkdocs-encrypted-content"' in html, url
        assert "isp-data" not in html and "isp-widget" not in html, url
        assert not re.search(r'href="#[^"]+" class="md-(nav__link|skip)"', html), url  # no headings in clear
    folder = built_site.out if lang == "en" else built_site.out / lang
    index = json.loads((folder / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert not locations & set(PROTECTED)
    assert set(PUBLIC) <= locations
    assert not (folder / "search" / "search_index.js").exists()


def test_no_external_resources_and_licences_shipped(built_site: BuiltSite) -> None:
    external = re.compile(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//', re.I)
    for page in built_site.out.rglob("*.html"):
        assert not external.search(page.read_text(encoding="utf-8")), page
    vendor = built_site.out / "assets" / "vendor"
    assert (vendor / "uplot" / "LICENSE").exists() and (vendor / "write-excel-file" / "LICENSE").exists()


def test_page_weights_stay_under_one_megabyte_compressed(built_site: BuiltSite) -> None:
    for url in ("", "explore/", "reports/monthly/", "agencies/unhcr/monthly/"):
        weight = page_weight(built_site.out, built_site.out / url / "index.html")
        assert weight["gzip_bytes"] < MB, (url, weight)


def test_arabic_site_is_right_to_left_with_arabic_navigation(built_site: BuiltSite) -> None:
    html = _html(built_site, "", "ar")
    assert 'lang="ar"' in html and 'dir="rtl"' in html
    assert "التقارير" in html and "الجدول المحوري" in html
    protocol = _html(built_site, "protocol/", "ar")
    assert "البروتوكول بكلمات بسيطة" in protocol
    assert "The protocol in plain words" in _html(built_site, "protocol/")
    sites = decrypt_page(_html(built_site, "about/sites/", "ar"), built_site.passphrases["members"])
    assert sites is not None and "المفرق" in sites and "Mafraq" in sites


def test_calendar_is_public_with_an_ics_download(built_site: BuiltSite) -> None:
    html = _html(built_site, "calendar/")
    assert "mkdocs-encrypted-content" not in html and "isp-deadlines.ics" in html
    ics = (built_site.out / "assets" / "isp-deadlines.ics").read_text(encoding="utf-8")
    assert ics.startswith("BEGIN:VCALENDAR") and "Submission due: 2026-02" in ics


def test_timeliness_and_audit_timeline(built_site: BuiltSite) -> None:
    irc = decrypt_page(_html(built_site, "agencies/irc/"), built_site.passphrases["agency-irc"])
    assert irc is not None
    row = re.search(rf"<td>{LATE[1]}</td>(.*?)</tr>", irc, re.S)
    assert row and "late" in row.group(1)
    assert re.search(r"<td>2026-01</td>.*?on time", irc, re.S)
    compliance = decrypt_page(_html(built_site, "compliance/"), built_site.passphrases["coordinators"])
    assert compliance is not None and compliance.count("on time") == 14 and "late (" in compliance
    audit = decrypt_page(_html(built_site, "audit/"), built_site.passphrases["members"])
    assert audit is not None and "submission IRC 2026-01 added" in audit and "IRC:primary" in audit
    assert str(CANARY) not in audit


def test_requests_board_breaches_and_suspensions(built_site: BuiltSite) -> None:
    board = decrypt_page(_html(built_site, "requests/"), built_site.passphrases["members"])
    assert board is not None and REQUEST_ID in board and "Example University" in board
    assert "blocked" in board, board  # the open breach blocks every release
    assert "IRC, IMC, JRF, NHF, UNHCR, UNICEF" in board and "2026-02-22" in board  # who is awaited, by when
    governance = decrypt_page(_html(built_site, "governance/"), built_site.passphrases["members"])
    assert governance is not None and BREACH_ID in governance and "open" in governance
    assert SUSPENDED in governance and "Reporting team changes" in governance and "suspended" in governance
    # The minutes of the Task Force meeting: when, who attended, what was decided.
    assert MINUTES_ID in governance and MINUTES_DECISION in governance and "2026-02-16" in governance
    assert "IRC, UNHCR" in governance


def test_plain_mkdocs_build_strict(built_site: BuiltSite, tmp_path: Path) -> None:
    """`mkdocs build --strict` itself (one language, no shared session) passes too."""
    from tests.helpers import patched_env

    env = hermetic_git(tmp_path / "home") | {"ISP_TODAY": TODAY, "SOPS_AGE_KEY": built_site.ci_key}
    with patched_env(env):
        import os

        proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "out")],
                              cwd=built_site.root, capture_output=True, text=True, env=dict(os.environ))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert scan(tmp_path / "out", built_site.canaries) == []
    assert not (built_site.root / "encryptcontent.cache").exists()


# --- refusals -------------------------------------------------------------------------------------


def test_build_without_credentials_says_what_to_do(isp_repo: IspRepo, keyring: Keyring) -> None:
    result = isp("site", "build", "--repo", isp_repo.root, env={**keyring.env("ci"), "ISP_TODAY": TODAY})
    assert result.code == 1
    assert "protocol/site-credentials.yaml does not exist: run `isp site credentials`" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("plugin", ["offline", "privacy"])
def test_a_leaking_plugin_is_refused(isp_repo: IspRepo, keyring: Keyring, plugin: str) -> None:
    config = isp_repo.root / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - search\n", f"  - search\n  - {plugin}\n"))
    result = isp("site", "build", "--repo", isp_repo.root, env=keyring.env("ci"))
    assert result.code == 1
    assert f"{plugin} plugin: it would copy protected text in clear" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_search_after_encryptcontent_is_refused(isp_repo: IspRepo, keyring: Keyring) -> None:
    config = isp_repo.root / "mkdocs.yml"
    text = config.read_text().replace("  - search\n", "")
    config.write_text(text.replace("markdown_extensions:\n", "  - search\nmarkdown_extensions:\n"))
    result = isp("site", "build", "--repo", isp_repo.root, env=keyring.env("ci"))
    assert result.code == 1 and "list `search` and then `encryptcontent`" in result.err


def test_serve_needs_a_built_site(tmp_path: Path) -> None:
    result = isp("site", "serve", "--dir", tmp_path, "--port", "0")
    assert result.code == 1 and "run `isp site build` first" in result.err


def test_empty_repository_builds_with_none_yet(isp_repo: IspRepo, keyring: Keyring, tmp_path: Path) -> None:
    """No aggregates, no requests: the site still builds, strict, and says so."""
    assert isp("site", "credentials", "--repo", isp_repo.root).code == 0
    out = tmp_path / "out"
    result = isp("site", "build", "--repo", isp_repo.root, "--strict", "--out", out,
                 env={**keyring.env("ci"), "ISP_TODAY": TODAY})  # fmt: skip
    assert result.code == 0, result.err
    home = (out / "index.html").read_text(encoding="utf-8")
    pw = _load(isp_repo, {"SOPS_AGE_KEY": keyring.age_secret["ci"]})["members"]
    content = decrypt_page(home, pw)
    assert content is not None and "No consolidated data yet." in content
    shutil.rmtree(out)


def test_each_agency_year_file_is_split_by_period_kind(built_site: BuiltSite) -> None:
    """aggregates/agency/<A>/<YYYY>.csv holds every period of the year; the site shows each kind
    apart, with that agency's figures only."""
    from isp.site import data

    with patched_env({"SOPS_AGE_KEY": built_site.ci_key, "SOPS_AGE_KEY_FILE": None}):
        loaded = data.load(built_site.root, jobs=2)
    sheets = built_site.site.sheets
    for agency in ("IRC", "IMC"):
        frames = loaded.agencies[agency].frames
        assert list(frames) == list(PERIOD_KINDS) and not loaded.agencies[agency].unreadable
        for kind, frame in frames.items():
            assert loaded.agencies[agency].periods(kind) == loaded.consolidated.periods(kind), (agency, kind)
            assert {kind_of_label(str(label)) for label in frame["period"].unique()} == {kind}
        monthly = frames["monthly"]
        for (owner, month), sheet in sheets.items():
            if owner == agency:
                rows = monthly[(monthly["period"] == month) & (monthly["site"] != "ALL")]
                assert rows["count"].sum() == sheet["count"].sum(), (agency, month)


def test_period_labels_give_their_kind() -> None:
    labels = {"2026-01": "monthly", "2026-Q1": "quarterly", "2026-H2": "half-yearly", "2026": "annual"}
    assert {label: kind_of_label(label) for label in labels} == labels
    with pytest.raises(IspError):
        kind_of_label("2026-13")


def test_renderings_cover_separators() -> None:
    assert renderings(79482) == sorted({"79482", "79,482", "79 482", "79\u202f482", "٧٩٤٨٢"})
    assert page_url("agencies/irc/index.md") == "agencies/irc/" and page_url("index.md") == ""


def test_leak_checks_catch_each_leak(tmp_path: Path) -> None:
    """Each guard of isp.site.checks, broken once on a hand-made output folder."""
    from isp.site.checks import output_problems

    site, config = tmp_path / "out", tmp_path / "repo"
    (site / "reports" / "monthly").mkdir(parents=True)
    (site / "search").mkdir()
    config.mkdir()
    page = site / "reports" / "monthly" / "index.html"
    index = site / "search" / "search_index.json"
    protected = ["reports/monthly.md"]
    page.write_text('<div id="mkdocs-encrypted-content">abc;def</div>')
    index.write_text(json.dumps({"docs": [{"location": "protocol/"}]}))
    assert output_problems(site, config, protected) == []
    page.write_text("<table><td>7919</td></table>")
    assert output_problems(site, config, protected) == ["reports/monthly.md was not encrypted"]
    page.write_text('<div id="mkdocs-encrypted-content">x</div><div class="isp-widget"></div>')
    assert "outside its encrypted block" in output_problems(site, config, protected)[0]
    page.write_text('<div id="mkdocs-encrypted-content">x</div><a href="#key-figures" class="md-nav__link">')
    assert "headings in clear" in output_problems(site, config, protected)[0]
    page.write_text('<div id="mkdocs-encrypted-content">x</div>')
    index.write_text(json.dumps({"docs": [{"location": "reports/monthly/#by-site"}]}))
    assert output_problems(site, config, protected) == ["search index lists protected page reports/monthly/#by-site"]
    index.write_text(json.dumps({"docs": []}))
    (site / "search" / "search_index.js").write_text("var index = {}")
    assert "offline search bundle" in output_problems(site, config, protected)[0]
    (site / "search" / "search_index.js").unlink()
    (config / "encryptcontent.cache").write_text("kdf")
    assert output_problems(site, config, protected) == ["encryptcontent.cache was left beside mkdocs.yml: delete it"]


def test_inventory_gives_every_passphrase_the_members_pages_and_only_its_own_level() -> None:
    """User/password mode, the user being the level: a page derives the chosen level's entry only."""
    values = {"members": "m" * 24, "coordinators": "c" * 24, "agency-irc": "i" * 24, "agency-imc": "j" * 24}
    inventory = credentials.inventory(values)
    assert inventory["members"] == values
    assert inventory["coordinators"] == {"coordinators": "c" * 24} and inventory["agency-irc"] == {
        "agency-irc": "i" * 24
    }
    assert credentials.opens("agency-irc", "members") and credentials.opens("agency-irc", "agency-irc")
    assert not credentials.opens("agency-irc", "agency-imc") and not credentials.opens("members", "coordinators")
    phrase = credentials.passphrase()
    assert re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){5}", phrase) and phrase != credentials.passphrase()


def test_passphrases_are_judged_by_zxcvbn_not_by_length() -> None:
    """Any 20 characters used to pass; a long sequence or a repeated word is now refused."""
    assert all(credentials.strong(credentials.passphrase()) for _ in range(20))
    for weak in ("abcd-efgh-ijkl-mnop-qrst-uvwx", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Summer2026!Summer2026!Summer", ""):
        assert not credentials.strong(weak), weak


def test_keys_are_derived_with_a_million_pbkdf2_iterations(built_site: BuiltSite) -> None:
    """It was 100,000 (encryptcontent's default); OWASP advises 600,000 for PBKDF2-SHA256."""
    from isp.site.hooks import KDF_POW

    script = (built_site.out / "assets" / "javascripts" / "decrypt-contents.js").read_text(encoding="utf-8")
    assert KDF_POW == 6 and "iterations: encryptcontent_obfuscate ? 1 : 1000000" in script


def test_the_arabic_search_index_uses_arabic_settings(built_site: BuiltSite) -> None:
    """It was built with lang ['en'] (Material's Arabic strings name no search language)."""
    for lang, folder in (("en", built_site.out), ("ar", built_site.out / "ar")):
        index = json.loads((folder / "search" / "search_index.json").read_text(encoding="utf-8"))
        assert index["config"]["lang"] == [lang]


def test_a_merge_in_the_audit_timeline_shows_what_it_merged_and_whose_commits(isp_repo: IspRepo) -> None:
    """A merge showed as "unverified signature" with an empty change (half of the timeline)."""
    from isp.site import activity
    from tests.helpers import git, write_submission

    root = isp_repo.root
    git(root, "switch", "-q", "-c", "submission/IRC/2026-01")
    write_submission(isp_repo, "IRC", "2026-01")
    isp_repo.commit("Submit IRC 2026-01", signer="IRC:primary")
    (root / "requests").mkdir(exist_ok=True)
    (root / "requests" / "note.txt").write_text("x")
    isp_repo.commit("An unsigned commit on the branch")
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "--no-gpg-sign", "-m", "Merge pull request #7", "submission/IRC/2026-01")
    merge = activity.timeline(root)[0]
    assert merge.signer is None and merge.merged == 2
    assert merge.changes == ["submission IRC 2026-01 added", "requests (1 file)"]
    assert merge.merged_signers == ["IRC:primary"] and merge.merged_unsigned == 1


def test_the_hooks_shim_exports_every_hook() -> None:
    """MkDocs runs only what the shim names: a hook added to isp.site.hooks but not to the shim
    would silently never run (the 'passphrase for another page' message once went missing so)."""
    from isp.site import hooks, mkdocs_hooks

    defined = {name for name in vars(hooks) if name.startswith("on_") and callable(getattr(hooks, name))}
    assert defined == set(mkdocs_hooks.__all__)
