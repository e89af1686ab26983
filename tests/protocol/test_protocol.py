"""The protocol files: the shipped ones pass; each kind of bad value fails with its own line."""

from __future__ import annotations

from pathlib import Path

import pytest

from isp.errors import ValidationFailed
from isp.protocol import loading
from tests.helpers import REPO_ROOT, isp
from tests.protocol.helpers import edit


def problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        loading.load(root)
    return info.value.lines()


def test_shipped_protocol_is_valid() -> None:
    isp_ = loading.load(REPO_ROOT)
    assert isp_.submitters() == ["IRC", "IMC", "JRF", "NHF", "UNHCR"]
    assert isp_.data_gathering()[-1] == "UNICEF"
    assert sorted(isp_.coordinators()) == ["IMC", "UNHCR"]
    assert len(isp_.agencies["UNHCR"].sites) == 13 == len(isp_.sites)
    assert isp_.tagged("sgbv") == ["concern_sexual_violence"]
    assert isp_.tagged("percent_only") == ["concern_early_marriage"]


def test_sites_matrix_matches_the_protocol() -> None:
    isp_ = loading.load(REPO_ROOT)
    names = {code: {isp_.sites[s].name_en for s in a.sites} for code, a in isp_.agencies.items()}
    assert names["IMC"] == {"Azraq camp"}
    assert names["IRC"] == {"Mafraq", "Irbid"}
    assert names["JRF"] == {"Amman", "South region"}
    assert len(names["NHF"]) == 9 and "Zaatari camp" in names["NHF"]


CASES = [
    ("agencies.yaml", lambda d: d["agencies"]["IRC"].update(sites=["NOWHERE"]), "unknown-site"),
    ("agencies.yaml", lambda d: d["agencies"]["IRC"]["focal_points"].pop("secondary"), "focal_points.secondary"),
    ("agencies.yaml", lambda d: d["agencies"]["IRC"]["focal_points"]["primary"].update(email="not-an-email"), "email"),
    ("agencies.yaml", lambda d: d["agencies"]["IRC"].update(roles=["boss"]), "roles"),
    ("agencies.yaml", lambda d: d["agencies"]["IRC"].update(age_recipients=["age1short"]), "age recipient"),
    (
        "agencies.yaml",
        lambda d: d["agencies"]["IRC"].update(suspensions=[{"from": "2026-05", "to": "2026-01", "reason": "audit"}]),
        "before",
    ),
    (
        "agencies.yaml",
        lambda d: d["agencies"]["JRF"]["focal_points"]["secondary"].update(
            email=d["agencies"]["JRF"]["focal_points"]["primary"]["email"]
        ),
        "different people",
    ),
    (
        "agencies.yaml",
        lambda d: d["agencies"]["JRF"]["focal_points"]["primary"].update(email="focal.irc@example.org"),
        "one agency each",
    ),
    ("indicators.yaml", lambda d: d["indicators"][0].update(tags=["secret"]), "unknown-tag"),
    ("indicators.yaml", lambda d: d["indicators"][0].update(aggregation="average"), "aggregation"),
    ("indicators.yaml", lambda d: d["indicators"][8].pop("denominator"), "needs a denominator"),
    ("sites.yaml", lambda d: d["sites"][8].update(parent="JO99"), "parent"),
    ("protocol.yaml", lambda d: d["validity"].update(review_date="2030-01-01"), "review_date"),
    ("protocol.yaml", lambda d: d["deadlines"].update(consolidation_day=5), "consolidation_day"),
    ("protocol.yaml", lambda d: d["disclosure"]["profiles"].pop("external"), "external"),
    ("protocol.yaml", lambda d: d.update(weekend=["friday"]), "weekend"),
    ("protocol.yaml", lambda d: d["validity"]["periods"][1].update(start="2016-01-01"), "overlaps"),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES)
def test_each_broken_file_fails_with_its_line(proto: Path, name: str, change, expected: str) -> None:
    edit(proto, name, change)
    lines = problems(proto)
    assert any(name in line and expected in line for line in lines), lines


def test_yaml_syntax_error_names_the_file(proto: Path) -> None:
    (proto / "protocol" / "sites.yaml").write_text("sites: [unclosed\n")
    lines = problems(proto)
    assert any("protocol/sites.yaml" in line and "yaml-syntax" in line for line in lines)


def test_missing_file_is_one_line(proto: Path) -> None:
    (proto / "protocol" / "indicators.yaml").unlink()
    assert problems(proto) == [
        "protocol/indicators.yaml: [missing-file] the file is missing Fix: run `isp init` or restore it from git"
    ]


def test_cli_reports_lines_and_exit_1(proto: Path) -> None:
    edit(proto, "agencies.yaml", lambda d: d["agencies"]["IRC"].update(sites=["NOWHERE"]))
    result = isp("protocol", "check", "--repo", proto)
    assert result.code == 1
    assert "protocol/agencies.yaml" in result.err and "Traceback" not in result.output


def test_validity_in_force() -> None:
    from datetime import date

    validity = loading.load(REPO_ROOT).protocol.validity
    assert validity.in_force(date(2015, 10, 15)) and not validity.in_force(date(2015, 10, 14))
    assert validity.in_force(date(2026, 11, 25))
    assert validity.periods[0].end == date(2016, 10, 14)
