"""Where a package may go, writing it all at once, and the files' formats (no crypto, no git history)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from isp.errors import IspError
from isp.protocol import loading
from isp.protocol.periods import period_of
from isp.release.output import check_destination, sha256, write_package
from isp.release.package import Package, ReleaseMeta, format_value, labels_for, with_period_bounds
from isp.release.spec import read_spec
from isp.release.writers import ARABIC_COLUMNS, HXL_TAGS, file_names, to_csv, to_hxl, to_metadata, to_readme, to_xlsx
from tests.helpers import REPO_ROOT, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "isp"
    (root / "requests").mkdir(parents=True)
    (root / ".gitignore").write_text("/build/\n")
    git(root, "init", "-q")
    return root


def test_destinations(repo: Path, tmp_path: Path) -> None:
    for inside in (repo, repo / "requests" / "pkg", repo / "new-folder"):
        with pytest.raises(IspError, match="inside the repository"):
            check_destination(repo, inside)
    assert check_destination(repo, repo / "build" / "pkg") == (repo / "build" / "pkg").resolve()
    (tmp_path / "empty").mkdir()
    assert check_destination(repo, tmp_path / "empty") == (tmp_path / "empty").resolve()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(IspError, match="not an empty folder"):
        check_destination(repo, tmp_path / "full")


def test_a_package_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    written = write_package(out, {"b.csv": b"b\n", "a.txt": b"a\n"})
    assert [w.name for w in written] == ["a.txt", "b.csv"] and written[0].sha256 == sha256(b"a\n")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.csv"]
    with pytest.raises(ValueError):
        write_package(tmp_path / "bad", {"ok.csv": b"1\n", "../escape.csv": b"2\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"], "no half package, no staging folder"


@pytest.fixture(scope="module")
def package() -> Package:
    isp_ = loading.load(REPO_ROOT)
    spec = read_spec(isp_, {"periods": ["2026-Q1"], "indicators": ["new_cases", "concern_early_marriage"]}, "r.yaml")
    rows = [
        ("2026-Q1", "ALL", "new_cases", "ALL", "ALL", "ALL", "count", 120, ""),
        ("2026-Q1", "ALL", "new_cases", "F", "ALL", "ALL", "count", None, "suppressed"),
        ("2026-Q1", "ALL", "concern_early_marriage", "ALL", "ALL", "ALL", "percent", 7, ""),
    ]
    columns = ["period", "site", "indicator", "sex", "age_group", "nationality", "measure", "value", "note"]
    table = with_period_bounds(pd.DataFrame(rows, columns=columns), spec.periods)
    meta = ReleaseMeta(
        release_id="REL-R-1",
        request_id="R",
        recipient="A. Person, Analyst, Some Institute",
        title="Figures",
        generated=date(2026, 4, 20),
        profile="external",
        disclaimers=("First, said plainly.", "Second & last <one>."),
        periods=(period_of("2026-01", "quarterly"),),
        notes=("A note.",),
    )
    return Package(meta, table, labels_for(isp_, spec.indicators), 1)


def test_csv_opens_with_id_recipient_and_disclaimers(package: Package) -> None:
    data = to_csv(package)
    head = data.decode().splitlines()[:6]
    assert head[1] == "# Release REL-R-1, prepared for A. Person, Analyst, Some Institute"
    assert "# Disclaimer: Second & last <one>." in head
    frame = pd.read_csv(io.BytesIO(data), comment="#", dtype=str, keep_default_na=False)
    assert list(frame["value"]) == ["120", "", "7"] and frame.loc[0, "period_end"] == "2026-03-31"
    assert frame.loc[2, "indicator_name"] == "Early marriage (% of new cases)"


def test_hxl_has_a_hashtag_row_and_the_release_on_every_row(package: Package) -> None:
    lines = to_hxl(package).decode().splitlines()
    assert lines[1].split(",") == [tag for key, tag in HXL_TAGS.items() if key not in ARABIC_COLUMNS]  # English only
    frame = pd.read_csv(io.StringIO("\n".join(lines)), skiprows=[1], dtype=str, keep_default_na=False)
    assert set(frame["release_id"]) == {"REL-R-1"} and list(frame["percent"]) == ["", "", "7"]
    assert list(frame["count"]) == ["120", "", ""]


def test_metadata_and_readme(package: Package) -> None:
    names = file_names("REL-R-1")
    files = {names["csv"]: to_csv(package), names["xlsx"]: to_xlsx(package)}
    meta = json.loads(to_metadata(package, files))
    assert meta["caveats"] == list(package.meta.disclaimers) and meta["suppressed_cells"] == 1
    assert {f["name"]: f["sha256"] for f in meta["files"]} == {n: sha256(d) for n, d in files.items()}
    readme = to_readme(package, names).decode()
    assert "REL-R-1" in readme and "#indicator+pct" in readme and "Second & last <one>." in readme


@pytest.mark.parametrize(
    ("value", "measure", "text"),
    [
        (None, "count", ""),
        (float("nan"), "count", ""),
        (12, "count", "12"),
        (12.0, "percent", "12"),
        (7.25, "percent", "7.2"),
    ],
)
def test_format_value(value, measure, text) -> None:
    assert format_value(value, measure) == text


def test_the_briefing_note_answers_a_media_request_for_the_annual_report_only() -> None:
    from isp.release import briefing

    assert briefing.briefing_problem("media", "annual") is None
    assert "media request" in (briefing.briefing_problem("external", "annual") or "")
    assert "annual report" in (briefing.briefing_problem("media", "quarterly") or "")


def test_the_briefing_note_template_carries_the_attribution(package: Package) -> None:
    from isp.release import briefing
    from isp.release.html import render

    text = render(package, REPO_ROOT, briefing.TEMPLATE).decode()
    assert "briefing note" in text and "Child Protection Sub-Working Group" in text
    assert "First, said plainly." in text and "REL-R-1" in text


FORMULAS = ('=HYPERLINK("https://evil.example","x")', "+SUM(A1)", "-A1+A2", "@SUM(A1)", "\tA1")


def test_text_from_records_never_becomes_a_formula(package: Package) -> None:
    """OWASP CSV injection: a site name or a title opening with = + - @ or a tab is text in every file."""
    import dataclasses

    from openpyxl import load_workbook

    labels = dataclasses.replace(package.labels, sites={**package.labels.sites, "ALL": FORMULAS[0]})
    meta = dataclasses.replace(package.meta, title=FORMULAS[1], notes=FORMULAS[2:])
    hostile = dataclasses.replace(package, meta=meta, labels=labels)
    book = load_workbook(io.BytesIO(to_xlsx(hostile)))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert FORMULAS[0] in texts and FORMULAS[1] in texts  # kept verbatim, as text
    for data in (to_csv(hostile), to_hxl(hostile)):
        rows = list(csv.reader(io.StringIO(data.decode())))
        cells_csv = [cell for row in rows for cell in row]
        assert "'" + FORMULAS[0] in cells_csv
        assert not [cell for cell in cells_csv if cell[:1] in ("=", "+", "@", "\t", "\r")]
    assert ",120," in to_csv(hostile).decode()  # the figures stay numbers


def test_the_html_report_escapes_names_and_titles(package: Package) -> None:
    """A title, a recipient and a site name holding tags reach the HTML report as text (autoescape)."""
    import dataclasses

    from isp.release import briefing
    from isp.release.html import render

    tag = '<img src=x onerror="alert()"><script>alert()</script>'
    labels = dataclasses.replace(package.labels, sites={**package.labels.sites, "ALL": "Site " + tag})
    meta = dataclasses.replace(package.meta, title="Title " + tag, recipient="Recipient " + tag)
    hostile = dataclasses.replace(package, meta=meta, labels=labels)
    for template in (None, briefing.TEMPLATE):
        text = (render(hostile, REPO_ROOT) if template is None else render(hostile, REPO_ROOT, template)).decode()
        assert "<img" not in text and "<script>alert" not in text
        assert "Title &lt;img" in text and "Recipient &lt;img" in text
