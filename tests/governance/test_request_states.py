"""The request state machine against hand-built timelines that cross weekends and holidays.

Pure: the shipped protocol, no git. Working days in Jordan skip Friday, Saturday and the public
holidays of the `holidays` package; each expected date below was counted by hand from that list.
"""

from __future__ import annotations

from datetime import date

import pytest

from isp.governance import membership, request_models, request_status
from isp.governance.request_states import (
    AGENCY_TABLE,
    REQUEST_TABLE,
    AgencyEvent,
    AgencyState,
    Event,
    State,
)
from tests.governance.helpers import REQUIRED, fields, shipped_isp, with_expiry


def test_both_tables_are_complete_and_every_row_gives_its_rule() -> None:
    assert set(REQUEST_TABLE) == {(s, e) for s in State for e in Event}
    assert set(AGENCY_TABLE) == {(s, e) for s in AgencyState for e in AgencyEvent}
    assert all(len(rule.why) > 20 for rule in REQUEST_TABLE.values())
    assert all(len(why) > 10 for _, why in AGENCY_TABLE.values())


def test_terminal_states_stay_put() -> None:
    assert all(REQUEST_TABLE[(State.EXPIRED, e)].to == State.EXPIRED for e in Event)
    assert all(REQUEST_TABLE[(State.DENIED, e)].to == State.DENIED for e in Event)


def _request(issued: date, **overrides: object) -> request_models.Request:
    return request_models.Request.model_validate(fields(issued=issued, received=issued, **overrides))


def _approve(day: date) -> request_models.Decision:
    return request_models.Decision(decision="approve", date=day)


def _status(
    issued: date, today: date, decisions: dict[str, request_models.Decision], breaches=(), isp=None
) -> request_status.RequestStatus:
    return request_status.timeline(isp or shipped_isp(), _request(issued), decisions, list(breaches), today)


# Issued Thursday 21 May 2026. Then: Fri 22, Sat 23 weekend; Sun 24 = 1; Mon 25 Independence Day,
# Tue 26 Arafah, Wed 27 - Fri 29 Eid al-Adha, Sat 30 weekend; Sun 31 = 2; Jun 1 = 3, 2 = 4,
# Wed 3 = 5 (follow-up); Thu 4 = 6, Sun 7 = 7, Mon 8 = 8, Tue 9 = 9, Wed 10 = 10 (escalation);
# Thu 11 = 11, Sun 14 = 12, Mon 15 = 13, Tue 16 Islamic New Year, Wed 17 = 14, Thu 18 = 15,
# Sun 21 = 16, 22 = 17, 23 = 18, 24 = 19, Thu 25 June = 20 (last day to answer).
ADHA = date(2026, 5, 21)


def test_clocks_across_eid_al_adha() -> None:
    st = _status(ADHA, date(2026, 5, 24), {})
    assert (st.follow_up_on, st.escalate_on, st.expires_on) == (date(2026, 6, 3), date(2026, 6, 10), None)
    assert _status(ADHA, date(2026, 5, 24), {}, isp=with_expiry(20)).expires_on == date(2026, 6, 25)
    assert st.answer_due == date(2026, 6, 3)
    assert st.state == "pending" and {a.state for a in st.agencies} == {"awaiting"}
    assert st.agency("IRC").contact.email == "focal.irc@example.org"


def test_follow_up_names_the_secondary_focal_point_then_escalation_the_signatory() -> None:
    answered = {"IRC": _approve(date(2026, 5, 31)), "JRF": _approve(date(2026, 6, 3))}
    before = _status(ADHA, date(2026, 6, 2), answered)
    assert before.agency("IMC").state == "awaiting"
    on = _status(ADHA, date(2026, 6, 3), answered)
    assert on.agency("IRC").state == "approved" and on.agency("JRF").state == "approved"
    imc = on.agency("IMC")
    assert imc.state == "follow-up-due" and imc.contact.role == "secondary"
    assert (imc.contact.name, imc.contact.email) == ("Omar Example", "second.imc@example.org")
    later = _status(ADHA, date(2026, 6, 10), answered)
    unicef = later.agency("UNICEF")
    assert unicef.state == "escalation-due" and unicef.contact.email == "sign.unicef@example.org"
    assert later.state == "pending" and later.waiting_for() == ["IMC", "NHF", "UNHCR", "UNICEF"]


def test_an_answer_on_the_last_day_counts_and_the_next_day_it_has_expired() -> None:
    """Only when protocol.yaml opts in to the lapse (the signed protocol sets none)."""
    opted = with_expiry(20)
    last_day = {a: _approve(date(2026, 6, 25)) for a in REQUIRED}
    assert _status(ADHA, date(2026, 7, 1), last_day, isp=opted).state == "approved"
    late = {a: _approve(date(2026, 6, 28)) for a in REQUIRED}  # Sunday after the last day
    st = _status(ADHA, date(2026, 7, 1), late, isp=opted)
    assert st.state == "expired"
    assert st.steps[0].event == "expiry" and st.steps[0].day == date(2026, 6, 25)
    assert _status(ADHA, date(2026, 6, 25), {}, isp=opted).state == "pending"
    assert _status(ADHA, date(2026, 6, 28), {}, isp=opted).state == "expired"


def test_by_default_a_request_never_lapses_for_want_of_answers() -> None:
    """The 20-working-day lapse is not in the signed protocol: off unless protocol.yaml opts in."""
    assert shipped_isp().protocol.deadlines.requests.expiry_working_days is None
    months_late = {a: _approve(date(2026, 9, 30)) for a in REQUIRED}
    st = _status(ADHA, date(2026, 10, 1), months_late)
    assert st.state == "approved" and st.expires_on is None
    assert all(step.event != "expiry" for step in st.steps)
    assert _status(ADHA, date(2026, 9, 1), {}).state == "pending"


# Issued Wednesday 18 March 2026: Thu 19 = 1; Fri 20 - Sun 22 Eid al-Fitr; Mon 23 = 2, Tue 24 = 3,
# Wed 25 = 4, Thu 26 = 5 (follow-up); Sun 29 = 6, Mon 30 = 7, Tue 31 = 8, Wed 1 Apr = 9,
# Thu 2 Apr = 10 (escalation).
def test_clocks_across_eid_al_fitr() -> None:
    st = _status(date(2026, 3, 18), date(2026, 3, 26), {})
    assert (st.follow_up_on, st.escalate_on) == (date(2026, 3, 26), date(2026, 4, 2))
    assert {a.state for a in st.agencies} == {"follow-up-due"}


# Issued Thursday 24 December 2026: Fri 25 Christmas, Sat 26; Sun 27 = 1 ... Thu 31 = 5
# (follow-up); Fri 1 Jan New Year, Sat 2; Sun 3 = 6, Mon 4 = 7, Tue 5 Isra' and Mi'raj,
# Wed 6 = 8, Thu 7 = 9, Sun 10 January 2027 = 10 (escalation).
def test_clocks_across_the_year_end() -> None:
    st = _status(date(2026, 12, 24), date(2027, 1, 10), {})
    assert (st.follow_up_on, st.escalate_on) == (date(2026, 12, 31), date(2027, 1, 10))
    assert {a.state for a in st.agencies} == {"escalation-due"}


def test_unanimous_approval_is_approved_and_silence_is_not_consent() -> None:
    five = {a: _approve(date(2026, 5, 24)) for a in REQUIRED[:-1]}
    assert _status(ADHA, date(2026, 6, 1), five).state == "pending"
    six = five | {"UNICEF": _approve(date(2026, 5, 31))}
    st = _status(ADHA, date(2026, 6, 1), six)
    assert st.state == "approved"
    assert st.steps[-1].event == "last-approval" and st.steps[-1].agency == "UNICEF"


def test_one_denial_blocks_and_later_approvals_do_not_lift_it() -> None:
    deny = request_models.Decision(decision="deny", date=date(2026, 5, 24), reason="Cells too small by camp.")
    decisions = {"JRF": deny} | {a: _approve(date(2026, 5, 31)) for a in REQUIRED if a != "JRF"}
    st = _status(ADHA, date(2026, 6, 1), decisions)
    assert st.state == "denied" and st.agency("JRF").reason == "Cells too small by camp."
    assert membership.decide_release(shipped_isp(), st, [], date(2026, 6, 1)) == [
        "REQ-2026-001: denied by JRF: Cells too small by camp."
    ]


def test_a_breach_blocks_an_approved_request_until_it_is_resolved() -> None:
    six = {a: _approve(date(2026, 5, 24)) for a in REQUIRED}
    breach = [(date(2026, 5, 31), date(2026, 6, 4))]
    assert _status(ADHA, date(2026, 6, 1), six, breach).state == "blocked"
    assert _status(ADHA, date(2026, 6, 1), six, breach).detail == "blocked-approved"
    assert _status(ADHA, date(2026, 6, 4), six, breach).state == "approved"
    still_open = [(date(2026, 5, 31), None)]
    assert _status(ADHA, date(2026, 8, 1), six, still_open).state == "blocked"


def test_a_breach_closed_before_issue_does_not_matter_and_one_open_at_issue_does() -> None:
    six = {a: _approve(date(2026, 5, 24)) for a in REQUIRED}
    assert _status(ADHA, date(2026, 6, 1), six, [(date(2026, 4, 1), date(2026, 5, 1))]).state == "approved"
    st = _status(ADHA, date(2026, 6, 1), {}, [(date(2026, 4, 1), None)])
    assert st.detail == "blocked-pending" and st.steps[0].day == ADHA


def test_decisions_before_issue_or_in_the_future_do_not_count() -> None:
    early = {a: _approve(date(2026, 5, 20)) for a in REQUIRED}
    assert _status(ADHA, date(2026, 6, 1), early).state == "pending"
    future = {a: _approve(date(2026, 6, 5)) for a in REQUIRED}
    assert _status(ADHA, date(2026, 6, 1), future).state == "pending"


def test_the_protocol_lapsing_expires_even_an_approved_request() -> None:
    # The last period of validity runs 2026-10-15 .. 2027-10-14.
    issued = date(2027, 10, 4)
    six = {a: _approve(date(2027, 10, 5)) for a in REQUIRED}
    assert _status(issued, date(2027, 10, 14), six).state == "approved"
    st = _status(issued, date(2027, 10, 15), six)
    assert st.state == "expired" and st.steps[-1].event == "protocol-lapsed"
    assert membership.decide_release(shipped_isp(), st, [], date(2027, 10, 15))[-1].startswith("the protocol is not")


@pytest.mark.parametrize(
    ("day", "rules"),
    [
        (date(2027, 9, 14), []),
        (date(2027, 9, 15), ["protocol-review"]),
        (date(2027, 10, 15), ["protocol-not-in-force"]),
        (date(2015, 10, 14), ["protocol-not-in-force"]),
    ],
)
def test_validity_warns_from_the_review_date_and_refuses_when_not_in_force(day: date, rules: list[str]) -> None:
    assert [p.rule for p in membership.validity_problems(shipped_isp(), day)] == rules
    assert membership.protocol_in_force(shipped_isp(), day) == ("protocol-not-in-force" not in rules)


def test_once_denied_nobody_is_chased_for_an_answer() -> None:
    """A refused request is closed: agencies that never answered are not escalated afterwards."""
    deny = request_models.Decision(decision="deny", date=date(2026, 5, 31), reason="Cells too small by camp.")
    st = _status(ADHA, date(2026, 6, 15), {"JRF": deny})
    assert st.state == "denied"
    silent = [a for a in st.agencies if a.agency != "JRF"]
    assert {a.state for a in silent} == {"awaiting"} and all(a.contact is None for a in silent)


def test_clocks_that_ran_before_a_denial_still_show() -> None:
    deny = request_models.Decision(decision="deny", date=date(2026, 6, 4), reason="Not for this purpose.")
    st = _status(ADHA, date(2026, 6, 15), {"JRF": deny})
    assert {a.state for a in st.agencies if a.agency != "JRF"} == {"follow-up-due"}
