"""A repository ready for releases, built once per test module: six months of encrypted, signed
submissions (with a planted early-marriage canary), consolidated aggregates, and requests in
every state (approved, one agency silent, one agency refusing, the sectoral standing request).

Everything is real: sops encrypts, `isp consolidate` runs with the CI key, and every decision is
a commit SSH-signed by a focal point of the deciding agency.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from isp.demo import synthetic
from isp.governance import request_files, request_models
from isp.protocol import loading
from isp.release.sectoral import standing_request
from tests.helpers import IspRepo, Keyring, isp, patched_env, write_submission

MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06")
TODAY = "2026-11-10"  # ISP_TODAY for every release test
ISSUED = date(2026, 11, 2)
DECIDED = date(2026, 11, 3)
# A count planted in one agency's early-marriage cell: no release may ever show it, or any
# early-marriage count that contains it, as a number.
CANARY_AGENCY, CANARY_MONTH, CANARY_SITE = "IRC", "2026-02", "JO22"
CANARY = 4321
APPROVED, SILENT, DENIED = "REQ-2026-001", "REQ-2026-002", "REQ-2026-003"
SECTORAL = "SECTORAL-2026-H1"
SILENT_AGENCY, DENYING_AGENCY = "JRF", "NHF"
DENIAL_REASON = "The purpose does not match our mandate."
RECIPIENT_ORG = "Amman Institute for Social Research"
RECIPIENT_NAME = "Dr Layla Haddad"
# Small on purpose: secondary suppression and the audit solve many integer programs, and the
# whole release suite must stay fast. The concern group is partly asked for, so the residual,
# the withheld SGBV indicator and the percent-only early marriage are all exercised.
INDICATORS = ["new_cases", "active_cases", "concern_child_labour", "concern_early_marriage", "concern_sexual_violence"]
DATA = {"report": "quarterly", "periods": ["2026-Q1"], "indicators": INDICATORS, "geography": ["national", "JO11"]}
SECTORAL_DATA = {"report": "sectoral", "periods": ["2026-H1"], "indicators": INDICATORS, "geography": "national"}


@dataclass
class ReleaseRepo:
    repo: IspRepo
    frames: dict[str, pd.DataFrame]  # agency -> every month, as submitted (the canary included)

    @property
    def root(self) -> Path:
        return self.repo.root

    def env(self, today: str = TODAY) -> dict[str, str | None]:
        return {**self.repo.keyring.env("ci"), "ISP_TODAY": today}

    def copy(self, folder: Path) -> ReleaseRepo:
        shutil.copytree(self.root, folder / "isp", symlinks=True)
        return ReleaseRepo(IspRepo(folder / "isp", self.repo.keyring), self.frames)


def planted(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the canary to one early-marriage cell, keeping the sheet's own sums true."""
    cell = (frame["site"] == CANARY_SITE) & (frame["sex"] == "F") & (frame["age_group"] == "12-17")
    cell &= frame["nationality"] == "SYR"
    out = frame.copy()
    for indicator in ("concern_early_marriage", "new_cases", "risk_high"):
        out.loc[cell & (out["indicator"] == indicator), "count"] += CANARY
    return out


def _submit_all(repo: IspRepo) -> dict[str, pd.DataFrame]:
    isp_ = repo.load()
    frames: dict[str, list[pd.DataFrame]] = {}
    for agency in isp_.submitters():
        for month in MONTHS:
            frame = synthetic.month_sheet(isp_, agency, month)
            if (agency, month) == (CANARY_AGENCY, CANARY_MONTH):
                frame = planted(frame)
            write_submission(repo, agency, month, frame)
            frames.setdefault(agency, []).append(frame)
        repo.commit(f"{agency}: sheets {MONTHS[0]}..{MONTHS[-1]}", [f"submissions/{agency}"], f"{agency}:primary")
    return {agency: pd.concat(parts, ignore_index=True) for agency, parts in frames.items()}


def _request(request_id: str, organization: str = RECIPIENT_ORG) -> dict[str, object]:
    return {
        "id": request_id,
        "type": "external",
        "received": date(2026, 11, 1),
        "issued": ISSUED,
        "requester": {
            "organization": organization,
            "name": RECIPIENT_NAME,
            "position": "Research director",
            "contact": "layla.haddad@example.org",
        },
        "purpose": "A study of child-protection caseloads in northern Jordan.",
        "use": "Tables in a research report; no attempt to identify anyone.",
        "feedback": "The draft report is shared with the coordinators before publication.",
        "guarantee": "We will not pass the data on, and will cite the release identifier.",
        "data": DATA,
    }


def decide_all(repo: IspRepo, request_id: str, skip: tuple[str, ...] = (), deny: tuple[str, ...] = ()) -> None:
    """Every data-gathering agency decides in its own signed commit (``skip``: stays silent)."""
    rel = request_models.path_of(request_id)
    for agency in repo.load().data_gathering():
        if agency in skip:
            continue
        refuse = agency in deny
        request_files.decide(repo.root, request_id, agency, not refuse, DENIAL_REASON if refuse else None, DECIDED)
        repo.commit(f"{agency} decides on {request_id}", [rel], f"{agency}:primary")


def build(folder: Path, template: Path, keyring: Keyring) -> ReleaseRepo:
    root = folder / "isp"
    shutil.copytree(template, root, symlinks=True)
    repo = IspRepo(root, keyring)
    with patched_env({"ISP_TODAY": TODAY}):
        frames = _submit_all(repo)
        result = isp("consolidate", "--repo", root, env=keyring.env("ci"))
        assert result.code == 0, result.output
        repo.commit("Consolidate", ["aggregates"], "UNHCR:primary")
        isp_ = loading.load(root)
        sectoral = {**standing_request(isp_, "2026-H1", ISSUED), "data": SECTORAL_DATA}
        fields = [_request(APPROVED), _request(SILENT), _request(DENIED), sectoral]
        for item in fields:
            request_files.new_request(root, item, isp_)
        repo.commit("Issue requests", ["requests"], "UNHCR:primary")
        decide_all(repo, APPROVED)
        decide_all(repo, SILENT, skip=(SILENT_AGENCY,))
        decide_all(repo, DENIED, deny=(DENYING_AGENCY,))
        decide_all(repo, SECTORAL)
    return ReleaseRepo(repo, frames)
