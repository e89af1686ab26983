"""One agency's sectoral data points for a half-year, in the form ActivityInfo imports.

The protocol has each signatory enter its own data in ActivityInfo for sectoral reporting. This
reads that agency's own half-yearly figures from its own encrypted aggregates
(``aggregates/agency/<AGENCY>/<YYYY>.csv``, readable only with its key or CI's) and maps them
through ``protocol/activityinfo.yaml``: the database and form, the field code of each column,
the ActivityInfo value of each indicator and disaggregation, and the partner and location record
ids. SGBV indicators are refused in the mapping: they never leave the group. Disaggregations the
form does not have are summed over.

The output is a folder outside the repository with ``<AGENCY>-<HALF>.csv`` (one record a row,
columns headed by field code, for ActivityInfo's import wizard) and ``<AGENCY>-<HALF>.json``
(the body of a ``POST /resources/update``: ``{"changes": [{formId, recordId, parentRecordId,
fields}]}``). Record ids are derived from agency, half-year and cell, so pushing twice updates the
same records instead of adding copies. :func:`push` sends that body with a personal API token
(``Authorization: Bearer``), as the ActivityInfo R client does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from isp import errors, yamlfiles
from isp.consolidate import outputs
from isp.errors import IspError, Problem, UsageError, ValidationFailed
from isp.protocol import loading
from isp.protocol.models import Isp
from isp.release.output import WrittenFile, check_destination, write_package
from isp.release.sectoral import half_period

MAPPING = "protocol/activityinfo.yaml"
RECORD_ID = r"^[a-z][a-z0-9]{0,30}$"  # ActivityInfo's record and form ids (cuids)
Dimension = Literal["sex", "age_group", "nationality"]
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
BATCH = 500  # records per update request
TIMEOUT = 60


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldCodes(_Model):
    """The code of each field of the ActivityInfo form."""

    partner: str
    location: str
    period: str
    indicator: str
    value: str


class Disaggregation(_Model):
    field: str  # the form's field code
    values: dict[str, str]  # protocol code -> ActivityInfo item (label or id)


class Mapping(_Model):
    server: str = "https://www.activityinfo.org"
    database: str = Field(pattern=RECORD_ID)
    form: str = Field(pattern=RECORD_ID)
    geography: Literal["national", "site"] = "site"
    fields: FieldCodes
    indicators: dict[str, str] = Field(min_length=1)  # protocol indicator -> ActivityInfo indicator
    disaggregations: dict[Dimension, Disaggregation] = {}
    partners: dict[str, Annotated[str, Field(pattern=RECORD_ID)]] = {}  # agency -> partner record id
    locations: dict[
        str, Annotated[str, Field(pattern=RECORD_ID)]
    ] = {}  # site code ("ALL" for national) -> location record id


@dataclass(frozen=True)
class Export:
    agency: str
    half: str
    records: list[dict[str, Any]]
    files: list[WrittenFile]
    out: Path | None
    server: str  # where --push sends them


# --- the mapping ----------------------------------------------------------------------------------


def load_mapping(root: Path, isp: Isp) -> Mapping:
    """protocol/activityinfo.yaml, checked against the protocol; every problem listed."""
    path = root / MAPPING
    if not path.is_file():
        raise IspError(f"{MAPPING} is missing: describe the ActivityInfo form there (database, form, field codes)")
    mapping = yamlfiles.parse_model(Mapping, path.read_bytes(), MAPPING, what="usable")
    problems = mapping_problems(mapping, isp)
    if problems:
        raise ValidationFailed(problems, f"{MAPPING}: not usable")
    return mapping


def mapping_problems(mapping: Mapping, isp: Isp) -> list[Problem]:
    problems = []
    never = set(isp.protocol.sharing.never_external_tags)
    for code in mapping.indicators:
        indicator = isp.indicators.get(code)
        if indicator is None:
            problems.append(_problem(f"indicators.{code}", "no such indicator in protocol/indicators.yaml"))
        elif never & set(indicator.tags):
            problems.append(_problem(f"indicators.{code}", "an SGBV indicator never leaves the group", "remove it"))
    codes = isp.dimension_codes()
    for name, dim in mapping.disaggregations.items():
        missing = sorted(set(codes[name]) - set(dim.values))
        if missing:
            problems.append(_problem(f"disaggregations.{name}", f"no ActivityInfo value for {', '.join(missing)}"))
    for agency in mapping.partners:
        if agency not in isp.agencies:
            problems.append(_problem(f"partners.{agency}", "not an agency of protocol/agencies.yaml"))
    for site in mapping.locations:
        if site != "ALL" and site not in isp.sites:
            problems.append(_problem(f"locations.{site}", "not a site of protocol/sites.yaml (or ALL for national)"))
    return problems


def _problem(column: str, message: str, fix: str | None = None) -> Problem:
    return Problem.of(errors.ACTIVITYINFO_MAPPING, MAPPING, column=column, fix=fix, detail=message)


# --- the data points ------------------------------------------------------------------------------


def own_figures(root: Path, agency: str, half: str) -> pd.DataFrame:
    """The agency's half-yearly rows from its own year file, decrypted in memory with the key in
    SOPS_AGE_KEY(_FILE): only its own key (or CI's) opens it."""
    period = half_period(half)
    year = period.first[:4]
    if year not in outputs.agency_years(root, agency):
        raise IspError(f"aggregates/agency/{agency}/{year}.csv does not exist: run `isp consolidate` first")
    table = outputs.read_agency_year(root, agency, year)
    rows = table[table["period"] == period.label]
    if rows.empty:
        raise IspError(f"aggregates/agency/{agency}/{year}.csv has no figures for {period.label}")
    return rows


def data_points(frame: pd.DataFrame, mapping: Mapping, agency: str, half: str) -> pd.DataFrame:
    """Rows of the mapped indicators and geography, summed over the disaggregations the form lacks."""
    rows = frame[frame["indicator"].isin(list(mapping.indicators))]
    rows = rows[rows["site"] == "ALL"] if mapping.geography == "national" else rows[rows["site"] != "ALL"]
    unmapped = sorted(set(rows["site"]) - set(mapping.locations))
    if unmapped:
        raise ValidationFailed(
            [_problem("locations", f"{agency} reports from {s}, which has no location record id") for s in unmapped]
        )
    keys = ["site", "indicator", *mapping.disaggregations]
    return rows.groupby(keys, as_index=False, sort=True)["count"].sum()


def _record_id(agency: str, half: str, key: tuple[str, ...]) -> str:
    return "c" + hashlib.sha256("|".join((agency, half, *key)).encode()).hexdigest()[:24]


def records(points: pd.DataFrame, mapping: Mapping, agency: str, half: str) -> list[dict[str, Any]]:
    codes = mapping.fields
    dims = list(mapping.disaggregations)
    result = []
    for row in points.itertuples(index=False):
        cell = row._asdict()
        fields: dict[str, Any] = {
            codes.partner: mapping.partners[agency],
            codes.location: mapping.locations[str(cell["site"])],
            codes.period: half,
            codes.indicator: mapping.indicators[str(cell["indicator"])],
        }
        for dim in dims:
            fields[mapping.disaggregations[dim].field] = mapping.disaggregations[dim].values[str(cell[dim])]
        fields[codes.value] = int(cell["count"])
        key = tuple(str(cell[k]) for k in ["site", "indicator", *dims])
        result.append({"formId": mapping.form, "recordId": _record_id(agency, half, key), "parentRecordId": None,
                       "fields": fields})  # fmt: skip
    return result


def _csv(items: list[dict[str, Any]]) -> bytes:
    if not items:
        return b""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["recordId", *items[0]["fields"]], lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerow({"recordId": item["recordId"], **item["fields"]})
    return buffer.getvalue().encode("utf-8")


def export(root: Path, agency: str, half: str, out: Path | None) -> Export:
    """The agency's data points for ``half``; written to ``out`` (outside the repository) if given."""
    isp = loading.load(root)
    isp.agency(agency)
    mapping = load_mapping(root, isp)
    if agency not in mapping.partners:
        raise IspError(f"{MAPPING}: {agency} has no partner record id under `partners`; add it to export")
    label = half_period(half).label
    destination = check_destination(root, out) if out is not None else None
    items = records(data_points(own_figures(root, agency, label), mapping, agency, label), mapping, agency, label)
    files: list[WrittenFile] = []
    if destination is not None:
        body = json.dumps({"changes": items}, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"
        files = write_package(destination, {f"{agency}-{label}.csv": _csv(items), f"{agency}-{label}.json": body})
    return Export(agency, label, items, files, destination, mapping.server)


# --- the push -------------------------------------------------------------------------------------


def _endpoint(server: str) -> str:
    parts = urlsplit(server)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        raise UsageError(f"{MAPPING}: server {server} must be https:// (the token never travels in clear)")
    return server.rstrip("/") + "/resources/update"


def push(mapping_server: str, items: list[dict[str, Any]], token: str) -> int:
    """POST the records to ``/resources/update`` in batches; the number of records sent."""
    if not token.strip():
        raise UsageError("set ACTIVITYINFO_TOKEN to a personal API token (ActivityInfo, Profile settings)")
    url = _endpoint(mapping_server)
    for start in range(0, len(items), BATCH):
        body = json.dumps({"changes": items[start : start + BATCH]}).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Authorization", f"Bearer {token.strip()}")
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise IspError(f"ActivityInfo refused the update ({exc.code} {exc.reason}): {_hint(exc.code)}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise IspError(f"cannot reach ActivityInfo at {url}: {getattr(exc, 'reason', exc)}") from None
    return len(items)


def _hint(code: int) -> str:
    if code in (401, 403):
        return "check ACTIVITYINFO_TOKEN and that its user may edit the form"
    if code == 404:
        return f"check `database` and `form` in {MAPPING}"
    return f"check the field codes and record ids in {MAPPING}"
