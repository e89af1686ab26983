"""The built site in headless Chromium (Debian's, through Playwright), served on 127.0.0.1:
no credential shows no figure; a member opens the dashboard and the pivot table responds; an
agency cannot open another agency's pages; a wrong passphrase is refused; downloads work.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.site.helpers import PASSWORD, WHOSE, BuiltSite, unlock

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, base_url: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(accept_downloads=True)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == []


def _numbers(built: BuiltSite) -> list[str]:
    return [f"{value:,}" for value in built.canaries] + [str(value) for value in built.canaries]


def test_no_credential_shows_no_figure(page, base_url: str, built_site: BuiltSite) -> None:  # type: ignore[no-untyped-def]
    for url in ("", "explore/", "reports/monthly/", "agencies/irc/monthly/"):
        page.goto(base_url + url)
        page.wait_for_selector(PASSWORD, state="visible")
        text = page.inner_text("body")
        assert not any(number in text for number in _numbers(built_site)), url
        assert page.locator(".isp-widget").count() == 0
        assert page.locator("table").count() == 0


def test_member_opens_the_dashboard_and_the_pivot_responds(page, base_url: str, built_site: BuiltSite) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    unlock(page, built_site.passphrases["members"], "members")
    page.wait_for_selector("article >> text=Key figures")
    national = f"{max(built_site.canaries):,}"
    assert national in page.inner_text("article")
    page.goto(base_url + "explore/")  # the key is remembered for the session: no second prompt
    pivot = page.locator('.isp-widget[data-widget="pivot"][data-isp-ready="yes"]')
    pivot.wait_for()
    table = pivot.locator('table[data-isp-table="pivot"]')
    before = table.inner_text()
    assert "Mafraq" in before and "Female" in before
    page.select_option('select[data-isp-control="pivot-rows"]', "indicator")
    after = table.inner_text()
    assert after != before and "New cases" in after and "Mafraq" not in after
    page.select_option('select[data-isp-control="pivot-from"]', "2026-01")
    narrowed = table.inner_text()
    assert narrowed != after
    assert page.locator(".isp-widget[data-widget=trend] canvas").count() == 1


def test_downloads_are_built_in_the_browser(page, base_url: str, built_site: BuiltSite) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "reports/monthly/")
    unlock(page, built_site.passphrases["members"], "members")
    page.locator('.isp-widget[data-widget="report"][data-isp-ready="yes"]').wait_for()
    with page.expect_download() as csv_download:
        page.locator('[data-isp-download="csv"]').first.click()
    csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    lines = csv_text.splitlines()
    assert lines[0].startswith("INTERNAL: for CP ISP Jordan members only")  # it said neither what nor for whom
    assert lines[1] == "Scope: Consolidated reports (monthly); 2026-01; By site"
    assert lines[2] == "Completeness: 5 of 5 agency-months received" and lines[3] == ""
    assert lines[4].startswith("Indicator,National total") and f"{max(built_site.canaries)}" in csv_text
    with page.expect_download() as xlsx_download:
        page.locator('[data-isp-download="xlsx"]').first.click()
    data = Path(xlsx_download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
        assert str(max(built_site.canaries)) in book.read("xl/worksheets/sheet1.xml").decode()
    assert csv_download.value.suggested_filename == "isp-monthly-2026-01-sites-internal.csv"


def test_an_agency_cannot_open_another_agencys_pages(page, base_url: str, built_site: BuiltSite) -> None:  # type: ignore[no-untyped-def]
    irc = built_site.passphrases["agency-irc"]
    page.goto(base_url + "agencies/irc/monthly/")
    assert page.input_value(WHOSE) == "agency-irc"  # an agency's page starts at that agency
    unlock(page, irc, "agency-irc")
    page.locator('.isp-widget[data-widget="report"][data-isp-ready="yes"]').wait_for()
    page.goto(base_url + "agencies/imc/monthly/")
    page.wait_for_selector(PASSWORD, state="visible")
    assert page.input_value(WHOSE) == "agency-irc"  # the choice made earlier in the tab
    unlock(page, irc, "agency-irc")
    # a right passphrase for another page is not called wrong (it said "Wrong passphrase.")
    page.wait_for_selector("#mkdocs-decrypt-msg[data-isp-reason=other-page]:has-text('opens other pages')")
    assert "(IMC: International Medical Corps)" in page.inner_text("#mkdocs-decrypt-msg")
    assert page.locator(".isp-widget").count() == 0
    page.goto(base_url + "compliance/")  # the coordinators' page, with an agency's passphrase
    unlock(page, irc, "agency-irc")
    page.wait_for_selector("#mkdocs-decrypt-msg:has-text('this page is for another audience (Coordinators)')")
    page.goto(base_url + "agencies/imc/monthly/")
    unlock(page, "abcd-efgh-ijkl-mnop-qrst-uvwx", "agency-imc")
    page.wait_for_selector("#mkdocs-decrypt-msg:has-text('Wrong passphrase')")
    assert page.get_attribute("#mkdocs-decrypt-msg", "data-isp-reason") is None
    page.goto(base_url)  # the agency's passphrase also opens the members' pages
    page.wait_for_selector("article >> text=Key figures")


def test_a_wrong_passphrase_is_refused(page, base_url: str, built_site: BuiltSite) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "explore/")
    assert page.input_value(WHOSE) == "members"  # a members' page starts at "all members"
    unlock(page, "abcd-efgh-ijkl-mnop-qrst-uvwx", "members")
    page.wait_for_selector("#mkdocs-decrypt-msg:has-text('Wrong passphrase')")
    assert page.locator(".isp-widget").count() == 0
    assert page.is_visible(PASSWORD)
    # the passphrase is checked against the level chosen, not against every level's
    unlock(page, built_site.passphrases["agency-irc"], "coordinators")
    page.wait_for_function("document.getElementById('mkdocs-decrypt-msg').textContent.includes('Wrong passphrase')"
                           " && !document.getElementById('mkdocs-content-password').value")  # fmt: skip
    assert page.locator(".isp-widget").count() == 0


def test_arabic_pages_are_right_to_left(page, base_url: str, built_site: BuiltSite) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "ar/reports/monthly/")
    assert page.get_attribute("body", "dir") == "rtl"
    unlock(page, built_site.passphrases["members"], "members")
    report = page.locator('.isp-widget[data-widget="report"][data-isp-ready="yes"]')
    report.wait_for()
    text = report.inner_text()
    assert "المؤشر" in text and "المفرق" in text and "حالات جديدة" in text
    english = page.locator("a[hreflang=en]").get_attribute("href")
    assert english is not None
    page.goto(urljoin(page.url, english))
    assert page.url == base_url + "reports/monthly/"
    page.locator('.isp-widget[data-widget="report"][data-isp-ready="yes"]').wait_for()  # same keys: no prompt
