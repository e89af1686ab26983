"""MkDocs hooks: isp.site.mkdocs_hooks re-exports these ``on_*`` functions; ``isp site build`` names that file.

``on_config`` decrypts the aggregates and the site passphrases in memory, hands the passphrases to
mkdocs-encryptcontent (never to a file), forces its leak-prone options off and sets the
navigation; ``on_files`` adds the generated pages as in-memory files; ``on_page_content`` puts each
data page's JSON payload into its HTML *before* encryptcontent encrypts it; ``on_post_build``
checks the output for leaks and fails the build if it finds one.

One ``isp site build`` runs two MkDocs builds (English, then Arabic) in one process: they share a
:class:`Session`, so the aggregates are decrypted once and both languages use the same page keys
(a passphrase entered on an English page also opens the Arabic one).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import get_toc

from isp.errors import IspError
from isp.site import checks, credentials, data, labels, pages

log = logging.getLogger("mkdocs.isp.site")

FORBIDDEN_PLUGINS = ("offline", "material/offline", "privacy", "material/privacy")
ARABIC_SUFFIX = ".ar.md"
PROTOCOL_PAGE = "protocol.md"
# Hand-written pages of site/ that anyone may read; every other one is for the members (deny by default).
PUBLIC_PAGES = frozenset({PROTOCOL_PAGE})
# PBKDF2-SHA256 is the only key derivation encryptcontent offers; it takes 10^kdf_pow iterations.
# 10^6 (above OWASP's 600,000) is the strongest that still unlocks a page in under a second in
# Chromium on a loaded 2-core machine: 0.2-0.3 s idle, 0.6-0.9 s under load, for the one
# derivation an unlock runs (the form names whose passphrase it is: credentials.inventory);
# 10^7 takes ten times as long. benchmarks/bench_unlock.py measures it.
KDF_POW = 6
# The unlock form: encryptcontent's own plus "whose passphrase is it?" (user/password mode).
UNLOCK_FORM = pages.TEMPLATES / "unlock-form.html"
FORCED = {
    "kdf_pow": KDF_POW,
    "html_template_path": str(UNLOCK_FORM),  # absolute: the plugin joins it to mkdocs.yml's folder
    "cache_file": "",  # its cache holds derived keys: never write it
    "search_index": "encrypted",  # protected pages leave the search index
    "webcrypto": True,
    # The tab keeps the page keys a passphrase opened (sessionStorage), so later pages of those
    # levels open without asking and isp.js trims the navigation; never the passphrase itself,
    # which would sit readable in the tab and be retried, one derivation each, on every page it
    # does not open. isp.js remembers only whose passphrase it was, to preselect it in the form.
    "remember_keys": True,
    "remember_password": False,
    "sharelinks": False,
    "sign_files": None,
    "insecure_test": False,
    "title_prefix": "",
}


class LevelKey(TypedDict):
    id: str  # where the browser remembers the level's key
    key: bytes


class EncryptSetup(TypedDict, total=False):
    """The part of mkdocs-encryptcontent's ``setup`` dict read here (the plugin keeps more in it)."""

    level_keys: dict[str, LevelKey]  # access level -> its page key
    keystore_userpass: dict[tuple[str, str], str]  # (level, passphrase) -> its encrypted keystore entry
    kdf_iterations: int


@dataclass
class Session:
    """State shared by the builds of one ``isp site build``."""

    lang: str | None = None
    data: data.SiteData | None = None
    generator: pages.Generator | None = None
    passphrases: dict[str, str] | None = None
    # encryptcontent's keys, shared by both languages
    encrypt_setup: EncryptSetup = field(default_factory=EncryptSetup)
    built: list[str] = field(default_factory=list)  # site_dir of each finished build


@dataclass
class BuildState:
    lang: str
    session: Session
    pages: dict[str, pages.SitePage]
    ics: bytes
    handwritten: dict[str, str] = field(default_factory=dict)  # protected hand-written page -> its level


_session: Session | None = None
_state: BuildState | None = None


def use_session(session: Session | None) -> None:
    """Share ``session`` with the next builds in this process (None: each build on its own)."""
    global _session
    _session = session


def _plugin_names(config: MkDocsConfig) -> list[str]:
    return list(config.plugins.keys())


def check_plugins(config: MkDocsConfig) -> None:
    """Refuse plugins that would copy protected text in clear, and a search after encryptcontent."""
    names = _plugin_names(config)
    bad = [name for name in names if name in FORBIDDEN_PLUGINS]
    if bad:
        raise PluginError(f"mkdocs.yml: remove the {', '.join(bad)} plugin: it would copy protected text in clear")
    search = [i for i, name in enumerate(names) if name.endswith("search")]
    if "encryptcontent" not in names or not search or search[0] > names.index("encryptcontent"):
        raise PluginError("mkdocs.yml: list `search` and then `encryptcontent` under plugins")


def _configure_encryption(config: MkDocsConfig, session: Session, lang: str) -> None:
    plugin = config.plugins["encryptcontent"]
    plugin.setup = session.encrypt_setup  # type: ignore[attr-defined]  # shadows the plugin's class-level dict
    assert session.passphrases is not None
    plugin.config.update(FORCED)
    plugin.config["password_inventory"] = credentials.inventory(session.passphrases)
    plugin.config["password_file"] = None
    assert session.data is not None
    plugin.config["html_extra_vars"] = {"whose": labels.t("whose", lang), "identities": identities(session, lang)}
    plugin.config.update(
        summary=labels.t("protected_summary", lang),
        encryption_info_message=labels.t("protected_info", lang),
        placeholder=labels.t("passphrase", lang),
        password_button_text=labels.t("unlock", lang),
        decryption_failure_message=labels.t("wrong_passphrase", lang),
    )


def identities(session: Session, lang: str) -> list[dict[str, str]]:
    """The unlock form's choices: each level (the user name of its passphrase) and its holder's name."""
    assert session.data is not None
    return [{"user": level, "name": name} for level, name in credentials.holders(session.data.isp, lang).items()]


def _configure_search(config: MkDocsConfig, lang: str) -> None:
    """The search index in the build's language: Material's Arabic strings name no search language,
    so the Arabic index was built with English settings (lunr ships an Arabic one)."""
    for name, plugin in config.plugins.items():
        if name.endswith("search"):
            plugin.config["lang"] = [lang]


def prepare(root: Path, session: Session) -> pages.Generator:
    """Decrypt what the site needs into ``session`` (once); the one step that needs the key."""
    if session.data is None:
        session.data = data.load(root)
    if session.passphrases is None:
        session.passphrases = credentials.load(root, session.data.isp)
    if session.generator is None:
        for scope, outputs in session.data.agencies.items():
            for line in outputs.unreadable[:3]:
                log.warning("agency %s pages lack data: %s", scope, line)
        session.generator = pages.Generator(session.data, pages.gather(session.data))
    return session.generator


def _alternate(lang: str) -> list[dict[str, str]]:
    """Language switch links: the same page in the other build (see overrides/partials/alternate.html)."""
    if lang == "ar":
        return [{"name": "English", "link": "../", "lang": "en"}, {"name": "العربية", "link": "", "lang": "ar"}]
    return [{"name": "English", "link": "", "lang": "en"}, {"name": "العربية", "link": "ar/", "lang": "ar"}]


@event_priority(100)  # before encryptcontent reads its password inventory
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _state
    root = Path(config.config_file_path).resolve().parent
    session = _session or Session()
    lang = session.lang or str(config.theme.get("language") or "en")
    check_plugins(config)
    try:
        generator = prepare(root, session)
    except IspError as exc:
        raise PluginError(str(exc)) from None
    _configure_encryption(config, session, lang)
    _configure_search(config, lang)
    site_pages = generator.pages(lang)
    protocol = PROTOCOL_PAGE if (Path(config.docs_dir) / PROTOCOL_PAGE).exists() else None
    config.nav = generator.nav(lang, site_pages, protocol)
    config.theme["language"] = lang
    config.site_name = labels.t("site_name", lang)
    config.extra["alternate"] = _alternate(lang)
    config.extra["isp_lang"] = lang
    assert session.data is not None
    ics = pages.ics(session.data, generator.regs)
    _state = BuildState(lang, session, {page.src_uri: page for page in site_pages}, ics)
    return config


def _swap_translations(files: Files, config: MkDocsConfig, lang: str) -> None:
    """``X.ar.md`` replaces ``X.md`` in the Arabic build; it is never a page of its own."""
    for file in list(files):
        if not file.src_uri.endswith(ARABIC_SUFFIX):
            continue
        files.remove(file)
        if lang != "ar":
            continue
        target = file.src_uri.removesuffix(ARABIC_SUFFIX) + ".md"
        original = files.get_file_from_path(target)
        if original is not None:
            files.remove(original)
        files.append(File.generated(config, target, content=file.content_string))


def on_files(files: Files, config: MkDocsConfig) -> Files:
    state = _current()
    _swap_translations(files, config, state.lang)
    for uri, page in state.pages.items():
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"site/{uri} clashes with a generated page: rename or remove it")
        files.append(File.generated(config, uri, content=page.markdown))
    files.append(File.generated(config, pages.ICS_URI, content=state.ics))
    return files


def page_level(src_uri: str, meta: Mapping[str, object], generated: dict[str, pages.SitePage]) -> str | None:
    """A page's access level: a generated page's own; a hand-written page's front-matter ``level``,
    else the members' unless it is one of :data:`PUBLIC_PAGES` (a page added to site/ is not
    published in clear by mistake)."""
    if src_uri in generated:
        return generated[src_uri].level
    if src_uri in PUBLIC_PAGES:
        return None
    return str(meta.get("level") or credentials.MEMBERS)


@event_priority(100)  # before encryptcontent reads the page's level
def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    state = _current()
    uri = page.file.src_uri
    level = page_level(uri, page.meta, state.pages)
    if uri not in state.pages and level:
        if level not in (state.session.passphrases or {}):
            raise PluginError(
                f"site/{uri}: no access level {level!r} (front matter `level:`): use one of the site's levels"
            )
        page.meta.update(level=level, search={"exclude": True})
        # its first heading would be the title, printed in clear in <title> and the navigation:
        # the file's name is, unless the front matter gives a title (written to be seen)
        page.meta.setdefault("title", Path(uri).stem.replace("-", " ").replace("_", " ").capitalize())
        state.handwritten[uri] = level
    return markdown


@event_priority(50)  # before encryptcontent keeps the HTML it encrypts
def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    state = _current()
    generated = state.pages.get(page.file.src_uri)
    if generated.level if generated else page.file.src_uri in state.handwritten:
        page.toc = get_toc([])  # the theme prints a page's headings in clear in its navigation
    if generated is None or generated.payload is None:
        return html
    if not generated.level:
        raise PluginError(f"{page.file.src_uri}: a data page must have an access level")
    if pages.PAYLOAD_SLOT not in html:
        raise PluginError(f"{page.file.src_uri}: no place for its data in the rendered page")
    script = f'<script type="application/json" class="isp-data">{generated.payload}</script>'
    return html.replace(pages.PAYLOAD_SLOT, script, 1)


@event_priority(-50)  # after encryptcontent has put the page's form and keystore in
def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """On a page for one audience (an agency, the coordinators), the form starts at that audience,
    and a passphrase of another audience is told apart from a wrong one: isp.js derives the
    chosen level's entry (already in the page's keystore) when the page has refused it."""
    state = _current()
    scripts = f'<script id="isp-levels" type="application/json">{page_levels(state)}</script>'
    generated = state.pages.get(page.file.src_uri)
    if generated is not None and generated.level not in (None, credentials.MEMBERS):
        check = passphrase_check(state.session, state.lang, generated.level)
        scripts += f'<script id="isp-passphrase-check" type="application/json">{check}</script>'
        own = f'<option value="{html.escape(generated.level)}">'
        output = output.replace(own, own.removesuffix(">") + " selected>", 1)
    return output.replace("</body>", scripts + "</body>", 1)


def page_levels(state: BuildState) -> str:
    """JSON for isp.js: each protected page's URL (from the site root) and the id under which
    encryptcontent remembers its level's key, so the navigation can leave out, once someone has
    unlocked a page, the pages their passphrase does not open. Ids and URLs are no secret."""
    ids = {level: entry["id"] for level, entry in state.session.encrypt_setup.get("level_keys", {}).items()}
    pages_by_url = {_url(uri): ids[page.level] for uri, page in state.pages.items() if page.level and page.level in ids}
    return json.dumps({"ids": sorted(set(ids.values())), "pages": pages_by_url}).replace("<", "\\u003c")


def _url(src_uri: str) -> str:
    """The page's URL with use_directory_urls: ``a/b.md`` -> ``a/b/``, ``a/index.md`` -> ``a/``."""
    stem = src_uri.removesuffix(".md")
    stem = stem.removesuffix("index") if stem == "index" or stem.endswith("/index") else stem + "/"
    return stem


def passphrase_check(session: Session, lang: str, page_level: str) -> str:
    """JSON for isp.js on a page of ``page_level``: each level's keystore entry (the page carries
    them all already, labelled by a hash of the level), which levels open the page, the KDF
    iterations and the message for a right passphrase of another level."""
    assert session.passphrases is not None and session.data is not None
    stored = session.encrypt_setup.get("keystore_userpass", {})
    entries = {user: bundle for (user, _), bundle in stored.items()}
    names = {who["user"]: who["name"] for who in identities(session, lang)}
    doc = {
        "entries": entries,
        "opens": [level for level in session.passphrases if credentials.opens(level, page_level)],
        "iterations": session.encrypt_setup.get("kdf_iterations"),
        "message": labels.t("other_page", lang).format(audience=names.get(page_level, page_level)),
    }
    return json.dumps(doc, ensure_ascii=False).replace("<", "\\u003c")


@event_priority(-300)  # after encryptcontent has rewritten the search index
def on_post_build(config: MkDocsConfig) -> None:
    state = _current()
    root = Path(config.config_file_path).resolve().parent
    protected = [uri for uri, page in state.pages.items() if page.level] + list(state.handwritten)
    public = [uri for uri, page in state.pages.items() if not page.level] + sorted(PUBLIC_PAGES)
    assert state.session.generator is not None
    internal = pages.internal_ids(state.session.generator.regs)
    problems = checks.output_problems(
        Path(config.site_dir), root, protected, config.use_directory_urls, public, internal
    )
    if problems:
        raise PluginError("the built site would leak: " + "; ".join(problems))
    state.session.built.append(str(config.site_dir))


def _current() -> BuildState:
    if _state is None:
        raise PluginError("the ISP hooks were not configured (on_config did not run)")
    return _state
