"""Clauses of the signed protocol that need no git: the attribution of ground rule 10, the
sectoral report's dates, the meetings' calendar, focal points as the annex has them.

Dates are checked on years other than the examples, against a working-day count written out by
hand here (the Jordanian public holidays of one year listed below), not against the calendar
module's own arithmetic.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from isp.errors import ValidationFailed
from isp.protocol import attribution
from isp.protocol import models as protocol
from tests.conftest import REPO_ROOT


@pytest.fixture
def proto(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "protocol", tmp_path / "protocol")
    return tmp_path


def edit(root: Path, name: str, change) -> None:
    path = root / "protocol" / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        protocol.load(root)
    return info.value.lines()


# --- ground rule 10 ----------------------------------------------------------------------------

# A paraphrase in the signatories' own style, as they might paste it: every element is there.
SIGNED = [
    "The data shared comes only from reported cases and is in no way representative of the total "
    "child protection concerns in Jordan. This consolidated statistical report is generated "
    "exclusively by child protection case management providers who use the CPIMS, in twelve "
    "governorates of Jordan, for the population affected by the Syrian crisis, with the consent of "
    "children and their caregivers.",
    "This information is confidential and cannot be reproduced without the authorization of the CPIMS "
    "agencies. For any other purpose please contact the CPIMS focal points: {contacts}.",
]


def test_the_default_attribution_has_every_element_and_the_coordinators_contacts() -> None:
    isp_ = protocol.load(REPO_ROOT)
    texts = attribution.wording(isp_)
    assert attribution.missing_elements(texts, isp_) == []
    joined = " ".join(texts)
    assert "focal.unhcr@example.org" in joined and "focal.imc@example.org" in joined
    assert "focal.irc@example.org" not in joined  # only the coordinators' focal points
    assert "{contacts}" not in joined


@pytest.mark.parametrize("element", attribution.ELEMENTS, ids=lambda e: e.code)
def test_each_element_missing_is_caught(element: attribution.Element) -> None:
    isp_ = protocol.load(REPO_ROOT)
    text = " ".join(attribution.wording(isp_))
    broken = element.pattern.sub("", text)
    if element.code == "contact":
        broken = broken.replace("focal.unhcr@example.org", "")
    assert element in attribution.missing_elements([broken], isp_)


def test_the_signatories_may_paste_their_signed_wording(proto: Path) -> None:
    edit(proto, "protocol.yaml", lambda d: d["sharing"].update(attribution=SIGNED))
    isp_ = protocol.load(proto)
    assert attribution.wording(isp_)[0].startswith("The data shared comes only from reported cases")
    assert "focal.imc@example.org" in attribution.release_notices(isp_)[1]


def test_pasted_wording_that_drops_an_element_is_refused(proto: Path) -> None:
    dropped = [SIGNED[0].replace("in twelve governorates of Jordan, ", ""), SIGNED[1]]
    edit(proto, "protocol.yaml", lambda d: d["sharing"].update(attribution=dropped))
    (line,) = [p for p in problems(proto) if "attribution" in p]
    assert "twelve-governorates" in line and "protocol/protocol.yaml" in line


def test_a_coordinator_missing_from_the_contact_is_refused(proto: Path) -> None:
    fixed = [SIGNED[0], SIGNED[1].replace("{contacts}", "focal.imc@example.org")]
    edit(proto, "protocol.yaml", lambda d: d["sharing"].update(attribution=fixed))
    assert any("(contact)" in p for p in problems(proto))


# --- a denial's reasons, for the requester -----------------------------------------------------


def _denied_status():
    from isp.governance import request_files
    from tests.requests_fixtures import ISSUED, REQUIRED, fields, shipped_isp

    request = request_files.Request.model_validate(fields())
    decisions = {a: request_files.Decision(decision="approve", date=ISSUED) for a in REQUIRED}
    decisions["IRC"] = request_files.Decision(
        decision="deny",
        date=ISSUED,
        reason="IRC (International Rescue Committee): Rana Example <focal.irc@example.org> asks that irc's "
        "camp figures stay inside the group while the site is reviewed.",
    )
    decisions["NHF"] = request_files.Decision(
        decision="deny", date=ISSUED, reason="The Institute for Family Health sees a risk to children in small sites."
    )
    return shipped_isp(), request_files.timeline(shipped_isp(), request, decisions, [], ISSUED)


def test_a_denials_reasons_reach_the_requester_without_any_agency_named() -> None:
    from isp.governance import requester_notice

    isp_, status = _denied_status()
    assert status.state == "denied"
    text = requester_notice.notice(isp_, status)
    assert "camp figures stay inside the group" in text and "risk to children in small sites" in text
    body = text.split("Questions:")[0]
    for name in requester_notice.identities(isp_):
        assert name.lower() not in body.lower(), name
    reasons = requester_notice.anonymised_reasons(isp_, status)
    assert reasons == sorted(reasons)  # never in the order the agencies answered


def test_the_coordinators_may_keep_the_reasons_back() -> None:
    from isp.governance import requester_notice

    isp_, status = _denied_status()
    text = requester_notice.notice(isp_, status, with_reasons=False)
    assert "camp figures" not in text and "may share the reasons" in text


def test_for_requester_needs_a_request_id(tmp_path: Path) -> None:
    from tests.helpers import isp as run

    shutil.copytree(REPO_ROOT / "protocol", tmp_path / "protocol")
    result = run("request", "status", "--for-requester", "--repo", tmp_path)
    assert result.code == 2 and "needs a request id" in result.err
