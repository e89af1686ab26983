"""Releases to one recipient under several requests (issue 11): the recipient is matched by
organisation or e-mail; a later release keeps the rounding of the cells it already holds and is
audited against all of it; an independent integer-programming attacker holding both releases
narrows no small count; a breakdown that would let the recipient difference a small count out of
what it holds is refused, naming the cells; another recipient is not bound by the first.

Real sops, age, git and signed commits (tests/release/helpers.py)."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from isp.governance import request_files, request_models
from isp.governance.request_models import Request, same_recipient
from isp.release import holdings
from tests.helpers import isp
from tests.release import helpers as fx

SUBSET, BROKEN_OUT, OTHER = "REQ-2026-010", "REQ-2026-011", "REQ-2026-012"
KEYS = ["site", "indicator", "sex", "age_group", "nationality"]
# The independent attacker across two requests is in test_release_holdings.py (small synthetic
# figures: an integer program over two whole releases of the demo is too slow for a test).
OTHER_ORG = "Zarqa Children's Research Fund"


def _fields(request_id: str, data: dict[str, Any], organization: str = fx.RECIPIENT_ORG, contact: str = "") -> dict:
    fields: dict[str, Any] = fx._request(request_id, organization)
    fields["data"] = data
    if contact:
        fields["requester"] = {**fields["requester"], "contact": contact}
    return fields


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, keyring, _template_repo) -> fx.ReleaseRepo:
    """The approved request released and recorded; three more requests, all approved: the same
    recipient asking a subset, the same recipient asking Mafraq apart, another recipient asking that."""
    repo = fx.build(tmp_path_factory.mktemp("recipient"), _template_repo, keyring)
    out = repo.root.parent / "first"
    result = isp("release", fx.APPROVED, "-o", out, "--repo", repo.root, "--json", env=repo.env())
    assert result.code == 0, result.output
    repo.repo.commit("Record the first release", [request_models.path_of(fx.APPROVED)], "UNHCR:primary")
    subset = {**fx.DATA, "indicators": ["new_cases", "active_cases"]}
    broken_out = {**fx.DATA, "geography": ["national", "JO11", "JO22"]}
    # the same organisation, written differently: one recipient
    same_org = "  amman institute for social-research "
    items = [
        _fields(SUBSET, subset, same_org, "Dr L. Haddad <layla.haddad@example.org>"),
        _fields(BROKEN_OUT, broken_out),
        _fields(OTHER, broken_out, OTHER_ORG, "research@zarqa-fund.example.org"),
    ]
    for item in items:
        request_files.new_request(repo.root, item)
    repo.repo.commit("Issue more requests", ["requests"], "UNHCR:primary")
    for request_id in (SUBSET, BROKEN_OUT, OTHER):
        fx.decide_all(repo.repo, request_id)
    return repo


def _table(folder: Path) -> pd.DataFrame:
    (path,) = [p for p in folder.glob("REL-*.csv") if not p.name.endswith("-hxl.csv")]
    frame = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    return frame[frame["measure"] == "count"]


def _release(repo: fx.ReleaseRepo, request_id: str, out: Path) -> Any:
    return isp("release", request_id, "-o", out, "--repo", repo.root, "--json", env=repo.env())


# --- the rule ------------------------------------------------------------------------------------


def _request(organization: str, contact: str, recipient: str | None = None) -> Request:
    return Request(
        id="REQ-2026-900",
        type="government" if recipient else "external",
        received=date(2026, 11, 1),
        issued=date(2026, 11, 2),
        requester=request_models.Requester(organization=organization, contact=contact),
        recipient=recipient,
    )


def test_one_recipient_is_one_organisation_or_one_email() -> None:
    first = _request("Amman Institute for Social Research", "layla.haddad@example.org")
    assert same_recipient(first, _request("AMMAN  institute, for social-research.", "someone@else.example.org"))
    assert same_recipient(first, _request("Another body", "Layla Haddad <Layla.Haddad@Example.org>, +962 6 000"))
    assert not same_recipient(first, _request("Another body", "haddad@example.org"))
    assert not same_recipient(_request("", ""), _request("", ""))  # nothing known: no match
    assert same_recipient(_request("", "", "MOSD"), _request("Ministry", "", "MOSD"))


# --- the releases --------------------------------------------------------------------------------


def test_the_same_recipient_gets_the_same_rounding_and_the_attacker_narrows_nothing(
    held: fx.ReleaseRepo, tmp_path: Path
) -> None:
    """The recipient asks again, under another request, for part of what it holds: every cell it
    already holds comes out the same, so holding both tells it nothing the first did not."""
    repo = held.copy(tmp_path)
    request = request_files.load(repo.root, SUBSET)
    assert [r.id for _, r in holdings.earlier_releases(repo.root, request)] == [f"REL-{fx.APPROVED}-1"]
    out = tmp_path / "subset"
    result = _release(repo, SUBSET, out)
    assert result.code == 0, result.output
    first, second = _table(held.root.parent / "first"), _table(out)
    merged = second.merge(first, on=["period", *KEYS], suffixes=("", "_first"))
    assert len(merged) == len(second) > 0
    assert (merged["value"] == merged["value_first"]).all(), "a cell the recipient holds changed"


def test_another_recipient_is_not_bound_by_the_first(held: fx.ReleaseRepo, tmp_path: Path) -> None:
    """Mafraq apart from the rest of the country: refused for the recipient who holds the rest of
    the country (the cells named, never a figure), released to another recipient."""
    repo = held.copy(tmp_path)
    assert holdings.earlier_releases(repo.root, request_files.load(repo.root, OTHER)) == []
    line = _refused(repo, BROKEN_OUT, tmp_path / "same")
    assert ("earlier releases to the same recipient" in line and "Mafraq" in line) or "JO22" in line
    other = _release(repo, OTHER, tmp_path / "other")
    assert other.code == 0, other.output


def _refused(repo: fx.ReleaseRepo, request_id: str, out: Path) -> str:
    result = _release(repo, request_id, out)
    assert result.code == 1, result.output
    assert not out.exists() and "Traceback" not in result.output
    (line,) = result.err.strip().splitlines()
    named = line.split(": ", 2)[-1]
    labels = re.sub(r"\b(0-5|6-11|12-17)\b", "", named.replace("2026-Q1", ""))
    assert not re.search(r"\b\d+\b(?! more)", labels), f"a figure in {line}"
    return line


def test_periods_that_overlap_what_the_recipient_holds_are_audited_over_the_months(
    held: fx.ReleaseRepo, tmp_path: Path
) -> None:
    """The recipient holds 2026-Q1 and asks for 2026-H1: no longer refused for the overlap; the
    audit meets the two in the months (decrypted from the monthly aggregates), and either lets H1
    out or names the cells, never a figure."""
    repo = held.copy(tmp_path)
    half = {**fx.DATA, "report": "half-yearly", "periods": ["2026-H1"]}
    request_files.new_request(repo.root, _fields("REQ-2026-013", half))
    repo.repo.commit("Issue a half-yearly request", ["requests"], "UNHCR:primary")
    fx.decide_all(repo.repo, "REQ-2026-013")
    started = time.perf_counter()
    result = _release(repo, "REQ-2026-013", tmp_path / "half")
    print(f"\n2026-H1 after 2026-Q1, released in {time.perf_counter() - started:.1f} s: exit {result.code}")
    assert "overlaps" not in result.output
    if result.code:
        assert not (tmp_path / "half").exists() and "Traceback" not in result.output
        (line,) = result.err.strip().splitlines()
        assert "earlier releases to the same recipient" in line and "(2026-Q1, as released in REL-" in line
        named = re.sub(r"REL-REQ-[\d-]+|\b2026-(Q1|H1)\b|\b(0-5|6-11|12-17)\b", "", line.split(": ", 2)[-1])
        assert not re.search(r"\b\d+\b(?! more)", named), f"a figure in {line}"
