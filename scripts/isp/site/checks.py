"""Leak checks on a built site, run at the end of every build (a failure aborts the build).

They catch the known ways mkdocs-encryptcontent can leave protected text readable: its key cache
beside mkdocs.yml, a protected page rendered without encryption, search-index entries of protected
pages, and an offline search bundle. Then, deny by default, every other file of the output: a page
must be encrypted or known to be public (:data:`PUBLIC_PAGES` and the pages the hooks name), any
other file must be one the site is known to publish (:data:`PUBLIC_FILES`: the theme's and the
site's own code, the search index, the sitemap, the deadlines calendar), so a page or a data file
dropped into ``site/`` is not published in clear.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SECRET_FILES = ("encryptcontent.cache", "encryptcontent.key", "sharelinks.txt")
ENCRYPTED_MARK = 'id="mkdocs-encrypted-content"'
CLEAR_MARKS = ("isp-data", "isp-widget", "isp-payload-slot")
TOC_LINK = re.compile(r'<a href="#[^"]+" class="md-(?:nav__link|skip)"')
PUBLIC_PAGES = ("404.html",)  # pages every build publishes in clear besides those the hooks name
# Files (not pages) a build may publish, by path from the site root: the theme's and the site's
# code and styles, the search index (of public pages only: checked above), the sitemap, the calendar.
PUBLIC_FILES = re.compile(
    r"assets/(?:javascripts|stylesheets|isp|vendor)/[\w./-]+\.(?:js|css|map)|assets/images/[\w.-]+\.(?:png|svg|ico)"
    r"|assets/vendor/[\w-]+/LICENSE(?:\.\w+)?|assets/isp-deadlines\.ics|search/search_index\.json|sitemap\.xml(?:\.gz)?"
)


def page_url(src_uri: str, directory_urls: bool = True) -> str:
    """The URL MkDocs gives ``src_uri`` (relative to the site root)."""
    stem = src_uri.removesuffix(".md")
    if not directory_urls:
        return stem + ".html"
    if stem == "index":
        return ""
    return stem.removesuffix("/index") + "/"


def page_file(site_dir: Path, src_uri: str, directory_urls: bool = True) -> Path:
    url = page_url(src_uri, directory_urls)
    return site_dir / url / "index.html" if directory_urls else site_dir / url


def _page_problems(site_dir: Path, protected: list[str], directory_urls: bool) -> list[str]:
    problems = []
    for uri in protected:
        path = page_file(site_dir, uri, directory_urls)
        if not path.exists():
            continue
        html = path.read_text(encoding="utf-8")
        if ENCRYPTED_MARK not in html:
            problems.append(f"{uri} was not encrypted")
        elif any(mark in html for mark in CLEAR_MARKS):
            problems.append(f"{uri} carries data outside its encrypted block")
        elif TOC_LINK.search(html):
            problems.append(f"{uri} lists its headings in clear (table of contents)")
    return problems


def _search_problems(site_dir: Path, protected: list[str], directory_urls: bool) -> list[str]:
    if (site_dir / "search" / "search_index.js").exists():
        return ["search/search_index.js exists (offline search bundle): remove the offline plugin"]
    index = site_dir / "search" / "search_index.json"
    if not index.exists():
        return []
    urls = {page_url(uri, directory_urls) for uri in protected}
    docs = json.loads(index.read_text(encoding="utf-8")).get("docs", [])
    leaked = sorted({d["location"] for d in docs if d.get("location", "").split("#")[0] in urls})
    return [f"search index lists protected page {loc or '(home)'}" for loc in leaked[:5]]


def unknown_files(site_dir: Path, protected: list[str], public: list[str], directory_urls: bool = True) -> list[str]:
    """Files of the output neither encrypted nor known to be public (deny by default): a page must
    be encrypted or be one of ``public`` (source URIs) and :data:`PUBLIC_PAGES`; any other file
    must match :data:`PUBLIC_FILES`. ``protected`` pages are checked by :func:`_page_problems`.
    The Arabic build writes ``ar/`` after the English one has checked its output."""
    known = {page_file(site_dir, uri, directory_urls) for uri in [*protected, *public]}
    known |= {site_dir / name for name in PUBLIC_PAGES}
    problems = []
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(site_dir).as_posix()
        if path in known:
            continue
        if path.suffix == ".html":
            if ENCRYPTED_MARK not in path.read_text(encoding="utf-8", errors="replace"):
                problems.append(f"{rel} is published in clear but is no page known to be public")
        elif not PUBLIC_FILES.fullmatch(rel):
            problems.append(f"{rel} is published but is no file known to be public")
    return problems


ENCRYPTED_PARTS = re.compile(
    r'<div id="mkdocs-encrypted-content"[^>]*>[^<]*</div>|var encryptcontent_keystore = \[[^\]]*\];'
    r'|<script id="isp-passphrase-check" type="application/json">[^<]*</script>'
)


def clear_mentions(site_dir: Path, needles: list[str]) -> list[str]:
    """Files that show one of ``needles`` (identifiers of internal records: breaches, requests)
    outside their encrypted blocks."""
    if not needles:
        return []
    pattern = re.compile("|".join(re.escape(n) for n in sorted(set(needles), key=len, reverse=True)))
    problems = []
    for path in sorted(
        p for p in site_dir.rglob("*") if p.is_file() and p.suffix in (".html", ".ics", ".json", ".xml")
    ):
        found = pattern.search(ENCRYPTED_PARTS.sub("", path.read_text(encoding="utf-8", errors="replace")))
        if found:
            problems.append(f"{path.relative_to(site_dir).as_posix()} names {found.group(0)} in clear")
    return problems


def output_problems(
    site_dir: Path,
    config_dir: Path,
    protected: list[str],
    directory_urls: bool = True,
    public: list[str] | None = None,
    internal: list[str] | None = None,
) -> list[str]:
    left = [name for name in SECRET_FILES if (config_dir / name).exists()]
    problems = [f"{name} was left beside mkdocs.yml: delete it" for name in left]
    problems += _page_problems(site_dir, protected, directory_urls)
    problems += _search_problems(site_dir, protected, directory_urls)
    problems += unknown_files(site_dir, protected, public or [], directory_urls)[:5]
    problems += clear_mentions(site_dir, internal or [])[:5]
    return problems
