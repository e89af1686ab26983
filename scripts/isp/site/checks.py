"""Leak checks on a built site, run at the end of every build (a failure aborts the build).

They catch the known ways mkdocs-encryptcontent can leave protected text readable: its key cache
beside mkdocs.yml, a protected page rendered without encryption, search-index entries of protected
pages, and an offline search bundle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SECRET_FILES = ("encryptcontent.cache", "encryptcontent.key", "sharelinks.txt")
ENCRYPTED_MARK = 'id="mkdocs-encrypted-content"'
CLEAR_MARKS = ("isp-data", "isp-widget", "isp-payload-slot")
TOC_LINK = re.compile(r'<a href="#[^"]+" class="md-(?:nav__link|skip)"')


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


def output_problems(site_dir: Path, config_dir: Path, protected: list[str], directory_urls: bool = True) -> list[str]:
    left = [name for name in SECRET_FILES if (config_dir / name).exists()]
    problems = [f"{name} was left beside mkdocs.yml: delete it" for name in left]
    problems += _page_problems(site_dir, protected, directory_urls)
    problems += _search_problems(site_dir, protected, directory_urls)
    return problems
