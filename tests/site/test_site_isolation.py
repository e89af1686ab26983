"""The built site seen by an outsider (no passphrase) and by one agency reading another's pages.

The keystore entries are decrypted here as decrypt-contents.js does (PBKDF2-SHA256, then AES), with
the real passphrases: what a passphrase unlocks is what the tab keeps (sessionStorage) after it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from isp.site import credentials
from isp.site.checks import clear_mentions, output_problems, unknown_files
from isp.site.hooks import KDF_POW
from tests.helpers import IspRepo, Keyring, isp, patched_env
from tests.site.helpers import (
    BREACH_ID,
    CONTENT_ID,
    ENCRYPTED_DIV,
    KEYSTORE_JSON,
    REQUEST_ID,
    TODAY,
    BuiltSite,
    _aes,
    clear_text,
    decrypt_page,
    scan,
    unlock,
    user_hash,
)

PLANTED = 424242  # a figure written into a hand-written page of site/


def _kdf(passphrase: str, salt: str, cache: dict[tuple[str, str], bytes]) -> bytes:
    if (passphrase, salt) not in cache:  # encryptcontent reuses one salt per level: derive once
        raw = quote(passphrase, safe="~()*!'").encode()
        cache[(passphrase, salt)] = hashlib.pbkdf2_hmac("sha256", raw, base64.b64decode(salt), 10**KDF_POW, 32)
    return cache[(passphrase, salt)]


def _unlocked(html: str, level: str, passphrase: str, cache: dict[tuple[str, str], bytes]) -> dict[str, str]:
    """The keys ``level``'s entry in this page's keystore gives (what the browser then remembers)."""
    for entry in json.loads(KEYSTORE_JSON.search(html).group(1)):  # type: ignore[union-attr]
        iv, data, salt, label = entry.split(";")
        if label != user_hash(level):
            continue
        plain = _aes(_kdf(passphrase, salt, cache), iv, data)
        return dict(json.loads(plain.decode())) if plain is not None else {}
    return {}


def _opens(html: str, keys: dict[str, str]) -> bool:
    """Whether any of ``keys`` decrypts this page's content (to text, not a lucky padding)."""
    iv, data = ENCRYPTED_DIV.search(html).group(1).split(";")  # type: ignore[union-attr]
    for key in keys.values():
        plain = _aes(bytes.fromhex(key), iv, data)
        try:
            if plain is not None and "<" in plain.decode("utf-8"):
                return True
        except UnicodeDecodeError:
            continue
    return False


def test_a_passphrase_unlocks_only_the_keys_of_its_own_level_and_the_members(built_site: BuiltSite) -> None:
    """On every page of both languages, each level's keystore entry holds the members' key and its
    own only: after unlocking with IRC's passphrase, the tab holds no key of JRF's pages."""
    pages = {p: p.read_text(encoding="utf-8") for p in sorted(built_site.out.rglob("*.html"))}
    protected = {p: html for p, html in pages.items() if KEYSTORE_JSON.search(html)}
    cache: dict[tuple[str, str], bytes] = {}
    unlocked: dict[str, dict[str, str]] = {level: {} for level in built_site.passphrases}
    for html in protected.values():
        for level, passphrase in built_site.passphrases.items():
            unlocked[level].update(_unlocked(html, level, passphrase, cache))
    members = unlocked[credentials.MEMBERS]
    assert len(members) == 1
    own = {level: set(keys) - set(members) for level, keys in unlocked.items() if level != credentials.MEMBERS}
    assert all(len(ids) == 1 and set(members) <= set(unlocked[level]) for level, ids in own.items()), own
    assert len({next(iter(ids)) for ids in own.values()}) == len(own)  # no two levels share a key
    irc, jrf = unlocked["agency-irc"], own["agency-jrf"]
    jrf_pages = [html for path, html in protected.items() if "/agencies/jrf/" in path.as_posix()]
    assert jrf_pages and all(CONTENT_ID.search(html).group(1) in jrf for html in jrf_pages)  # type: ignore[union-attr]
    assert not any(_opens(html, irc) for html in jrf_pages)
    irc_pages = [html for path, html in protected.items() if "/agencies/irc/" in path.as_posix()]
    assert irc_pages and all(_opens(html, irc) for html in irc_pages)  # positive control


def test_every_output_file_is_encrypted_or_known_to_be_public(built_site: BuiltSite) -> None:
    """The fixture's site passes the deny-by-default check in both languages (as its build did)."""
    public = ["protocol.md", "calendar.md"]
    for folder in (built_site.out, built_site.out / "ar"):
        assert [p for p in unknown_files(folder, [], public) if not p.startswith("ar/")] == []


def test_unknown_output_files_are_caught(tmp_path: Path) -> None:
    """Deny by default, on a hand-made output folder: a clear page not known to be public, a data
    file, a data file among the site's own scripts; the theme's assets and public pages pass."""
    site, config = tmp_path / "out", tmp_path / "repo"
    config.mkdir()
    files = {
        "protocol/index.html": "<p>public</p>",
        "404.html": "<p>not found</p>",
        "reports/monthly/index.html": '<div id="mkdocs-encrypted-content">a;b</div>',
        "assets/isp/isp.js": "",
        "assets/javascripts/bundle.min.js": "",
        "assets/images/favicon.png": "",
        "assets/isp-deadlines.ics": "",
        "search/search_index.json": '{"docs": []}',
        "sitemap.xml.gz": "",
    }
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    assert output_problems(site, config, ["reports/monthly.md"], public=["protocol.md"]) == []
    leaks = {"notes/index.html": "<p>IRC was late</p>", "data/irc.csv": "IRC,7919", "assets/isp/irc.json": "{}"}
    for rel, text in leaks.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    assert output_problems(site, config, ["reports/monthly.md"], public=["protocol.md"]) == [
        "assets/isp/irc.json is published but is no file known to be public",
        "data/irc.csv is published but is no file known to be public",
        "notes/index.html is published in clear but is no page known to be public",
    ]


def _build(repo: IspRepo, keyring: Keyring, out: Path) -> tuple[int, str]:
    result = isp("site", "build", "--repo", repo.root, "--out", out, env={**keyring.env("ci"), "ISP_TODAY": TODAY})
    return result.code, result.err


def test_hand_written_pages_are_for_the_members_unless_public(
    isp_repo: IspRepo, keyring: Keyring, tmp_path: Path
) -> None:
    """A page added to site/ is encrypted for the members (or the level its front matter names),
    out of the search index; the protocol page stays public; a data file in site/ fails the build."""
    assert isp("site", "credentials", "--repo", isp_repo.root).code == 0
    with patched_env({"SOPS_AGE_KEY_FILE": None, "SOPS_AGE_KEY": keyring.age_secret["ci"]}):
        pw = credentials.load(isp_repo.root, isp_repo.load())
    docs = isp_repo.root / "site"
    (docs / "notes.md").write_text(f"# IRC was late\n\nIRC was late: {PLANTED} children.\n")
    (docs / "irc-notes.md").write_text(f"---\nlevel: agency-irc\n---\n# IRC notes\n\n{PLANTED + 1}\n")
    out = tmp_path / "out"
    code, err = _build(isp_repo, keyring, out)
    assert code == 0, err
    assert scan(out, {PLANTED, PLANTED + 1}) == []
    notes = (out / "notes" / "index.html").read_text(encoding="utf-8")
    assert str(PLANTED) in (decrypt_page(notes, pw["members"], user="members") or "")
    assert "<title>Notes - " in notes and not re.search("IRC was late", clear_text(notes.encode()))
    irc_notes = (out / "irc-notes" / "index.html").read_text(encoding="utf-8")
    assert str(PLANTED + 1) in (decrypt_page(irc_notes, pw["agency-irc"], user="agency-irc") or "")
    assert decrypt_page(irc_notes, pw["agency-jrf"], user="agency-jrf") is None
    assert 'id="mkdocs-encrypted-content"' not in (out / "protocol" / "index.html").read_text(encoding="utf-8")
    index = json.loads((out / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert not [d for d in index["docs"] if re.match(r"(irc-)?notes/", d["location"])]

    (docs / "irc-notes.md").write_text("---\nlevel: agency-xyz\n---\n# IRC notes\n")
    code, err = _build(isp_repo, keyring, out)
    assert code == 1 and "site/irc-notes.md: no access level 'agency-xyz'" in err and "Traceback" not in err
    (docs / "irc-notes.md").unlink()
    (docs / "notes.md").unlink()
    (docs / "data").mkdir()
    (docs / "data" / "irc.csv").write_text(f"agency,count\nIRC,{PLANTED}\n")
    code, err = _build(isp_repo, keyring, out)
    assert code == 1 and "data/irc.csv is published but is no file known to be public" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_public_calendar_does_not_announce_an_open_breach(built_site: BuiltSite) -> None:
    """The fixture has an open breach whose meeting is not held: its meeting is a deadline for the
    members (governance page), never on the public calendar page or its .ics (nor in Arabic)."""
    for folder in (built_site.out, built_site.out / "ar"):
        calendar = (folder / "calendar" / "index.html").read_text(encoding="utf-8")
        ics = (folder / "assets" / "isp-deadlines.ics").read_text(encoding="utf-8")
        assert 'id="mkdocs-encrypted-content"' not in calendar and "Submission due" in ics  # still public
        assert BREACH_ID not in calendar and BREACH_ID not in ics and "breach" not in ics.lower()
        assert clear_mentions(folder, [BREACH_ID, REQUEST_ID]) == []
    governance = (built_site.out / "governance" / "index.html").read_text(encoding="utf-8")
    assert BREACH_ID in (decrypt_page(governance, built_site.passphrases["members"], user="members") or "")


def test_internal_identifiers_in_clear_are_caught(tmp_path: Path) -> None:
    site = tmp_path / "out"
    (site / "calendar").mkdir(parents=True)
    (site / "assets").mkdir()
    page = site / "calendar" / "index.html"
    page.write_text('<div id="mkdocs-encrypted-content">BR-2026-001</div><p>Submission due</p>')
    (site / "assets" / "isp-deadlines.ics").write_text("SUMMARY:Submission due: 2026-01\n")
    assert clear_mentions(site, [BREACH_ID, REQUEST_ID]) == []
    page.write_text("<td>Breach meeting</td><td>BR-2026-001</td>")
    (site / "assets" / "isp-deadlines.ics").write_text("SUMMARY:Breach meeting due: BR-2026-001\n")
    assert clear_mentions(site, [BREACH_ID, REQUEST_ID]) == [
        "assets/isp-deadlines.ics names BR-2026-001 in clear",
        "calendar/index.html names BR-2026-001 in clear",
    ]


@pytest.mark.browser
def test_an_unlock_leaves_no_other_agencys_key(browser, base_url: str, built_site: BuiltSite) -> None:
    """Real Chromium: unlock IRC's page with IRC's passphrase, then read what the tab keeps
    (sessionStorage, localStorage): the members' key and IRC's, no passphrase, and no stored value
    decrypts a JRF page."""
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    tab = context.new_page()
    try:
        tab.goto(base_url + "agencies/irc/monthly/")
        unlock(tab, built_site.passphrases["agency-irc"], "agency-irc")
        tab.locator('.isp-widget[data-widget="report"][data-isp-ready="yes"]').wait_for()
        session = tab.evaluate("() => Object.fromEntries(Object.entries(sessionStorage))")
        local = tab.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
    finally:
        context.close()
    stored = json.dumps([session, local])
    assert not any(value in stored for value in built_site.passphrases.values())
    keys = {name: value for name, value in session.items() if re.fullmatch(r"[0-9a-f]{64}", str(value))}
    assert len(keys) == 2, session  # the members' key and IRC's
    jrf = (built_site.out / "agencies" / "jrf" / "monthly" / "index.html").read_text(encoding="utf-8")
    irc = (built_site.out / "agencies" / "irc" / "monthly" / "index.html").read_text(encoding="utf-8")
    assert not _opens(jrf, keys) and _opens(irc, keys)
