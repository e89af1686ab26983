"""The readable HTML report of a release, rendered with jinja2 from the published table.

Templates are looked up first in the repository's ``protocol/reports/`` (the group's own
templates: ``sectoral.html.j2`` for the half-yearly sectoral report), then in the package's
``templates/`` (``release/report.html.j2`` for an external release, and the macros both use).
Autoescaping is on: names and disclaimers come from YAML that members edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from isp.release.package import DIMENSIONS, Package, format_value
from isp.release.spec import TOTAL

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
EXTERNAL_TEMPLATE = "release/report.html.j2"
SUPPRESSED_MARK = "–"


@dataclass(frozen=True)
class Column:
    label: str
    key: tuple[str, str, str]  # sex, age_group, nationality


@dataclass(frozen=True)
class Block:
    site: str
    site_name: str
    rows: list[tuple[str, list[str]]]  # indicator name, one cell per column


@dataclass(frozen=True)
class Section:
    period: str
    first: str
    last: str
    blocks: list[Block]
    percent_blocks: list[Block]


def environment(repo_root: Path) -> Environment:
    loader = ChoiceLoader(
        [FileSystemLoader(str(repo_root / "protocol" / "reports")), FileSystemLoader(str(PACKAGE_TEMPLATES))]
    )
    return Environment(
        loader=loader, autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined, trim_blocks=True
    )


def columns(package: Package) -> list[Column]:
    labels = package.labels
    cols = [Column("Total", (TOTAL, TOTAL, TOTAL))]
    for name in DIMENSIONS:
        for code, label in labels.dimensions[name].items():
            if code == TOTAL:
                continue
            key = tuple(code if dim == name else TOTAL for dim in DIMENSIONS)
            cols.append(Column(label, (key[0], key[1], key[2])))
    return cols


def _blocks(package: Package, table: pd.DataFrame, cols: list[Column]) -> list[Block]:
    labels = package.labels
    lookup = {
        (r.site, r.indicator, r.sex, r.age_group, r.nationality): format_value(r.value, r.measure) or SUPPRESSED_MARK
        for r in table.itertuples(index=False)
    }
    blocks = []
    for site in dict.fromkeys(table["site"]):
        indicators = dict.fromkeys(table.loc[table["site"] == site, "indicator"])
        rows = [(labels.indicator(ind), [lookup.get((site, ind, *c.key), "") for c in cols]) for ind in indicators]
        blocks.append(Block(site, labels.site(site), rows))
    return blocks


def sections(package: Package) -> list[Section]:
    counts, percents, cols = package.counts(), package.percents(), columns(package)
    return [
        Section(
            period.label,
            period.first,
            period.last,
            _blocks(package, counts[counts["period"] == period.label], cols),
            _blocks(package, percents[percents["period"] == period.label], cols),
        )
        for period in package.meta.periods
    ]


def render(package: Package, repo_root: Path, template: str = EXTERNAL_TEMPLATE) -> bytes:
    env = environment(repo_root)
    html = env.get_template(template).render(
        meta=package.meta,
        columns=columns(package),
        sections=sections(package),
        suppressed=package.suppressed,
        rounded=package.meta.method_short.startswith("small-count rounding"),
        empty=int(package.table["value"].isna().sum()),
        mark=SUPPRESSED_MARK,
    )
    return html.encode("utf-8")
