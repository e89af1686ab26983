"""Hostile text a member with commit rights writes into records (a site name, a request, a denial
reason, a suspension, minutes) is shown as text on the built site: no tag, attribute, link or image
comes out of it, the inline JSON payloads keep their ``<script>`` element closed, and in Chromium,
after the unlock, no script it carries runs (``window.__pwned`` stays undefined) and nothing is
fetched from the attacker's host."""

from __future__ import annotations

import csv
import html
import io
import json
import shutil
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from isp.site import serve
from isp.site.build import build_site
from tests.helpers import IspRepo, Keyring, patched_env
from tests.site.helpers import TODAY, BuiltSite, canaries, decrypt_page, hermetic_git, passphrases, populate, unlock

EVIL = "evil.example"
PAYLOAD = (
    '=HYPERLINK("https://evil.example") <img src=x onerror="window.__pwned=true"> '
    "[go](javascript:window.__pwned=true) ![t](https://evil.example/t.png){: onload=window.__pwned=true } "
    "</script><script>window.__pwned=true</script> <!--<script> *x* _y_ `z` @org/team"
)
PAGES = ("requests/", "governance/", "about/sites/", "about/signatories/")


def _plant_site_and_agency_names(root: Path) -> None:
    path = root / "protocol" / "sites.yaml"
    sites = yaml.safe_load(path.read_text(encoding="utf-8"))
    sites["sites"][1]["name_en"] = PAYLOAD  # opens with "=": a formula to a spreadsheet
    path.write_text(json.dumps(sites, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    path = root / "protocol" / "agencies.yaml"
    text = path.read_text(encoding="utf-8")
    agencies = yaml.safe_load(text)
    first = next(iter(agencies["agencies"].values()))
    first["name"] = "Agency " + PAYLOAD
    first["focal_points"]["primary"]["name"] = "Focal " + PAYLOAD
    path.write_text(json.dumps(agencies, ensure_ascii=False), encoding="utf-8")


def _plant_records(root: Path, repo: IspRepo) -> None:
    from isp.governance import membership, request_files

    isp = repo.load()
    request_files.new_request(root, {
        "id": "REQ-2026-002", "type": "external", "received": date(2026, 2, 12), "issued": date(2026, 2, 15),
        "requester": {"organization": "Org " + PAYLOAD, "name": "Name " + PAYLOAD, "position": "Lecturer",
                      "contact": "research@example.org"},
        "purpose": "Purpose " + PAYLOAD, "use": "Use", "feedback": "Feedback", "guarantee": "No onward sharing",
        "data": {"report": "quarterly", "periods": ["2025-Q4"], "indicators": ["new_cases"], "geography": "national"},
    }, isp)  # fmt: skip
    membership.suspend(root, "IMC", "2026-03", "2026-03", "Reason " + PAYLOAD, date(2026, 2, 3))
    (root / "protocol" / "meetings" / "TF-2026-02.yaml").write_text(
        json.dumps({"id": "TF-2026-02", "kind": "task-force", "subject": "2026-02", "date": "2026-02-17",
                    "attended": ["focal.irc@example.org"], "decisions": ["Decision " + PAYLOAD]}),
        encoding="utf-8",
    )  # fmt: skip
    repo.commit("Hostile records", paths=["requests", "protocol"], signer="UNHCR:primary",
                email=isp.agencies["UNHCR"].focal_points.primary.email)  # fmt: skip


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> BuiltSite:
    base = tmp_path_factory.mktemp("hostile-site")
    root = base / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    env = hermetic_git(base / "home") | {"ISP_TODAY": TODAY, "SOPS_AGE_KEY": None, "SOPS_AGE_KEY_FILE": None}
    _plant_site_and_agency_names(root)
    with patched_env(env):
        repo = IspRepo(root, keyring)
        repo.commit("Hostile names", paths=["protocol"], signer="UNHCR:primary",
                    email=repo.load().agencies["UNHCR"].focal_points.primary.email)  # fmt: skip
        site = populate(repo)
        _plant_records(root, repo)
    ci = keyring.age_secret["ci"]
    with patched_env(env | {"SOPS_AGE_KEY": ci}):
        report = build_site(root, strict=True)
    return BuiltSite(site, report.out, passphrases(site, ci), canaries(site), 0.0, ci)


class _Tags(HTMLParser):
    """Every tag and attribute of a page, and its script elements' text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _content(built: BuiltSite, url: str) -> str:
    page = (built.out / url / "index.html").read_text(encoding="utf-8")
    content = decrypt_page(page, built.passphrases["members"])
    assert content is not None, url
    return content


@pytest.mark.parametrize("url", PAGES)
def test_record_text_makes_no_tag_attribute_or_link(hostile_site: BuiltSite, url: str) -> None:
    parser = _Tags()
    content = _content(hostile_site, url)
    parser.feed(content)
    for tag, attrs in parser.tags:
        assert tag not in ("img", "iframe", "object"), (url, tag)
        for name, value in attrs:
            assert not name.startswith("on"), (url, tag, name)
            assert EVIL not in (value or "") and "javascript:" not in (value or "").lower(), (url, tag, name, value)
    for script in parser.scripts:  # only the JSON payloads: each one parses whole
        json.loads(script)
    assert "window.__pwned=true" in html.unescape(content)  # the text is there, as text


@pytest.fixture
def page(browser, hostile_site: BuiltSite) -> Iterator[object]:
    httpd, thread = serve.in_thread(hostile_site.out)
    base = serve.url(httpd)
    outside: list[str] = []
    context = browser.new_context(accept_downloads=True)

    def route(r):
        if r.request.url.startswith(base):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.base = base
    yield tab
    context.close()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)
    assert not [u for u in outside if EVIL in u]


@pytest.mark.browser
def test_no_script_from_a_record_runs_after_the_unlock(page, hostile_site: BuiltSite) -> None:
    page.goto(page.base + "explore/")
    unlock(page, hostile_site.passphrases["members"], "members")
    page.locator('.isp-widget[data-widget="pivot"][data-isp-ready="yes"]').wait_for()
    assert "window.__pwned=true" in page.inner_text("article")  # the site name, shown as text
    with page.expect_download() as download:  # the pivot's CSV, built in the browser: no formula in it
        page.locator('.isp-widget[data-widget="pivot"] [data-isp-download="csv"]').first.click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + PAYLOAD in cells and not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    for url in PAGES:
        page.goto(page.base + url)
        page.wait_for_selector("article >> text=window.__pwned=true")
        for link in page.locator("article a").all():
            link.hover()
        assert page.evaluate("typeof window.__pwned") == "undefined", url
