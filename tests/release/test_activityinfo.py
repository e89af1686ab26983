"""`isp activityinfo export`: an agency's own sectoral data points, in ActivityInfo's import form.

Real sops-encrypted sheets, a real consolidation, real per-agency keys. ActivityInfo itself cannot
run here: the push goes to a local HTTP server (http.server in a thread) that follows the published
API the ActivityInfo R client uses (`POST /resources/update` with `{"changes": [{formId, recordId,
parentRecordId, fields}]}` and `Authorization: Bearer <token>`), and keeps records by id.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
import yaml

from isp import consolidate
from isp.demo import canaries, synthetic
from isp.release import activityinfo
from tests.consolidate.helpers import encrypt_sheet
from tests.helpers import IspRepo, Keyring, isp, patched_env

MONTHS = ("2026-01", "2026-02", "2026-03")
CANARY = 7919  # in IMC's sheets only: never in IRC's export
TOKEN = "a-personal-api-token"


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring, _template_repo: Path) -> Path:
    """IRC's and IMC's sheets for 2026-01..03 (IMC's with canaries), consolidated by CI's key."""
    root = tmp_path_factory.mktemp("activityinfo") / "isp"
    shutil.copytree(_template_repo, root, symlinks=True)
    repo = IspRepo(root, keyring)
    isp_ = repo.load()
    with patched_env(keyring.env("ci")):
        for agency in ("IRC", "IMC"):
            for month in MONTHS:
                frame = synthetic.month_sheet(isp_, agency, month)
                if agency == "IMC":
                    frame.loc[frame["indicator"] == "new_cases", "count"] = CANARY
                encrypt_sheet(root, agency, month, frame)
        for agency in ("IRC", "IMC"):
            repo.commit(f"{agency}: sheets", paths=[f"submissions/{agency}"], signer=f"{agency}:primary")
        consolidate.run(root, jobs=1)
    return root


@pytest.fixture
def repo(consolidated: Path, tmp_path: Path) -> Path:
    root = tmp_path / "isp"
    shutil.copytree(consolidated, root, symlinks=True)
    return root


def _own_national(root: Path, keyring: Keyring, agency: str) -> pd.Series:
    with patched_env(keyring.env(agency)):
        year = consolidate.read_agency_year(root, agency, 2026)
    rows = year[(year["period"] == "2026-H1") & (year["site"] == "ALL")]
    mapped = activityinfo.load_mapping(root, IspRepo(root, keyring).load()).indicators
    return rows[rows["indicator"].isin(list(mapped))].groupby("indicator")["count"].sum()


def _totals(changes: list[dict[str, Any]], mapping: dict[str, Any]) -> dict[str, int]:
    back = {label: code for code, label in mapping["indicators"].items()}
    totals: dict[str, int] = {}
    for change in changes:
        code = back[change["fields"]["INDICATOR"]]
        totals[code] = totals.get(code, 0) + change["fields"]["VALUE"]
    return totals


def test_export_totals_are_the_agencys_own_and_nothing_else(repo: Path, keyring: Keyring, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = isp(
        "activityinfo", "export", "IRC", "--half", "2026-H1", "-o", out, "--repo", repo, env=keyring.env("IRC")
    )
    assert result.code == 0, result.err
    assert sorted(p.name for p in out.iterdir()) == ["IRC-2026-H1.csv", "IRC-2026-H1.json"]
    changes = json.loads((out / "IRC-2026-H1.json").read_text())["changes"]
    mapping = yaml.safe_load((repo / activityinfo.MAPPING).read_text())
    own = _own_national(repo, keyring, "IRC")
    assert _totals(changes, mapping) == {k: int(v) for k, v in own.items()}
    assert {c["fields"]["PARTNER"] for c in changes} == {mapping["partners"]["IRC"]}
    assert {c["fields"]["LOCATION"] for c in changes} == {mapping["locations"][s] for s in ("JO21", "JO22")}
    assert all(re.match(activityinfo.RECORD_ID, c["recordId"]) and c["formId"] == mapping["form"] for c in changes)
    for path in out.iterdir():
        assert canaries.find(path.read_bytes(), [CANARY]) == [], path.name  # IMC's figures never appear
    table = pd.read_csv(out / "IRC-2026-H1.csv")
    assert list(table.columns) == [
        "recordId",
        "PARTNER",
        "LOCATION",
        "PERIOD",
        "INDICATOR",
        "SEX",
        "POPULATION",
        "VALUE",
    ]
    assert int(table["VALUE"].sum()) == int(own.sum()) and set(table["PERIOD"]) == {"2026-H1"}


def test_national_geography_gives_one_record_per_cell(repo: Path, keyring: Keyring) -> None:
    path = repo / activityinfo.MAPPING
    path.write_text(path.read_text().replace("geography: site", "geography: national"))
    with patched_env(keyring.env("IRC")):
        result = activityinfo.export(repo, "IRC", "2026-H1", None)
    assert {r["fields"]["LOCATION"] for r in result.records} == {"clocjordan00001"}
    totals = _totals(result.records, yaml.safe_load(path.read_text()))
    assert totals == {k: int(v) for k, v in _own_national(repo, keyring, "IRC").items()}


def test_another_agencys_key_cannot_export(repo: Path, keyring: Keyring, tmp_path: Path) -> None:
    result = isp("activityinfo", "export", "IRC", "--half", "2026-H1", "-o", tmp_path / "o", "--repo", repo,
                 env=keyring.env("IMC"))  # fmt: skip
    assert result.code == 1 and "aggregates/agency/IRC/2026.csv" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "o").exists()


def _export(repo: Path, out: Path, env: dict[str, str | None]) -> Any:
    return isp("activityinfo", "export", "IRC", "--half", "2026-H1", "-o", out, "--repo", repo, env=env)


def test_mapping_rules(repo: Path, keyring: Keyring, tmp_path: Path) -> None:
    path = repo / activityinfo.MAPPING
    text = path.read_text()
    env = keyring.env("IRC")
    path.write_text(text.replace("  new_cases:", "  concern_sexual_violence: CP-9 SGBV\n  new_cases:"))
    bad = _export(repo, tmp_path / "o", env)
    assert bad.code == 1 and "indicators.concern_sexual_violence" in bad.err and "SGBV" in bad.err
    path.write_text(text.replace("values: {F: Girls, M: Boys}", "values: {F: Girls}"))
    assert "no ActivityInfo value for M" in _export(repo, tmp_path / "o", env).err
    path.write_text(text)
    inside = _export(repo, repo / "exports", env)
    assert inside.code == 1 and "outside" in inside.err
    wrong = isp("activityinfo", "export", "IRC", "--half", "2026-H3", "-o", tmp_path / "o", "--repo", repo)
    assert wrong.code == 2 and "YYYY-H1 or YYYY-H2" in wrong.err


# --- the push, against a local stand-in for ActivityInfo's API -------------------------------------


class FakeActivityInfo(BaseHTTPRequestHandler):
    """ActivityInfo cannot run here: this follows its published `POST /resources/update`."""

    records: ClassVar[dict[str, dict[str, Any]]] = {}
    requests: ClassVar[int] = 0

    def do_POST(self) -> None:
        if self.path != "/resources/update":
            return self._answer(404, {"code": "NOT_FOUND"})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"code": "UNAUTHORIZED"})
        if self.headers.get("Content-Type") != "application/json":
            return self._answer(415, {"code": "BAD_CONTENT_TYPE"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for change in body["changes"]:
            if not re.match(r"^[a-z][a-z0-9]{0,30}$", change["recordId"]) or not isinstance(change["fields"], dict):
                return self._answer(400, {"code": "BAD_REQUEST"})
            type(self).records[change["recordId"]] = change
        type(self).requests += 1
        return self._answer(200, {})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@pytest.fixture
def server() -> Iterator[str]:
    FakeActivityInfo.records, FakeActivityInfo.requests = {}, 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeActivityInfo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_push_sends_the_records_and_a_second_push_updates_them(repo: Path, keyring: Keyring, server: str) -> None:
    path = repo / activityinfo.MAPPING
    path.write_text(path.read_text().replace("server: https://www.activityinfo.org", f"server: {server}"))
    env = {**keyring.env("IRC"), "ACTIVITYINFO_TOKEN": TOKEN}
    for _ in range(2):
        result = isp("activityinfo", "export", "IRC", "--half", "2026-H1", "--push", "--json", "--repo", repo, env=env)
        assert result.code == 0, result.err
    sent = json.loads(result.out)["pushed"]
    assert sent == len(FakeActivityInfo.records) > 0 and FakeActivityInfo.requests >= 2
    stored = list(FakeActivityInfo.records.values())
    assert sum(r["fields"]["VALUE"] for r in stored) == int(_own_national(repo, keyring, "IRC").sum())
    assert canaries.find(json.dumps(stored), [CANARY]) == []
    refused = isp("activityinfo", "export", "IRC", "--half", "2026-H1", "--push", "--repo", repo,
                  env={**env, "ACTIVITYINFO_TOKEN": "wrong"})  # fmt: skip
    assert refused.code == 1 and "refused the update (401" in refused.err and "ACTIVITYINFO_TOKEN" in refused.err
    path.write_text(path.read_text().replace(f"server: {server}", "server: http://activityinfo.example.org"))
    clear = isp("activityinfo", "export", "IRC", "--half", "2026-H1", "--push", "--repo", repo, env=env)
    assert clear.code == 2 and "must be https://" in clear.err
