"""Property: a release is allowed if and only if every required agency approved (in time, after the
request was issued), none denied, no breach is open and the protocol is in force.

Pure (the shipped protocol, no git): hypothesis draws decisions, breaches and the day, feeds them
through the state machine (`request_status.timeline`) and the release gate (`membership.decide_release`),
and compares the verdict with the rule written out plainly below.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from isp.governance import membership, request_models, request_status
from isp.governance.request_states import EXPIRY_WORKING_DAYS
from isp.protocol.workdays import WorkingCalendar
from tests.governance.helpers import REQUIRED, fields, shipped_isp, with_expiry

# Across Eid al-Adha, across the year end, and across the end of the protocol's last period.
ISSUE_DAYS = (date(2026, 3, 2), date(2026, 5, 21), date(2026, 12, 24), date(2027, 9, 28))

decision = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["approve", "approve", "approve", "deny"]), st.integers(min_value=-3, max_value=40)),
)


@st.composite
def answer_sets(draw: st.DrawFn) -> dict:
    """Mostly unanimous approvals (else the allowed side of the property would rarely be drawn),
    with one agency's answer changed, or everything at random."""
    answers: dict = {a: ("approve", draw(st.integers(min_value=0, max_value=30))) for a in REQUIRED}
    mode = draw(st.sampled_from(["unanimous", "one-changed", "random"]))
    if mode == "one-changed":
        answers[draw(st.sampled_from(REQUIRED))] = draw(decision)
    elif mode == "random":
        answers = {a: draw(decision) for a in REQUIRED}
    return answers


breach = st.tuples(st.integers(min_value=-40, max_value=50), st.one_of(st.none(), st.integers(1, 30)))


def _plain_rule(issued: date, today: date, decisions: dict, breaches: list, lapse: int | None) -> bool:
    """The protocol, written out without the state machine (``lapse``: the opt-in expiry)."""
    cal = WorkingCalendar(shipped_isp())
    counted = {a: d for a, d in decisions.items() if issued <= d.date <= today}
    approvals = [d.date for d in counted.values() if d.decision == "approve"]
    unanimous = len(approvals) == len(REQUIRED)
    in_time = unanimous and (lapse is None or max(approvals) <= cal.add_working_days(issued, lapse))
    denied = any(d.decision == "deny" for d in counted.values())
    breach_open = any(start <= today and (end is None or end > today) for start, end in breaches)
    validity = shipped_isp().protocol.validity
    in_force = all(validity.in_force(issued + timedelta(days=i)) for i in range((today - issued).days + 1))
    return in_time and not denied and not breach_open and in_force


@settings(max_examples=300, deadline=None)
@given(
    issued=st.sampled_from(ISSUE_DAYS),
    answers=answer_sets(),
    raw_breaches=st.lists(breach, max_size=2),
    today_offset=st.integers(min_value=0, max_value=60),
    lapse=st.sampled_from([None, EXPIRY_WORKING_DAYS]),
)
def test_release_allowed_iff_unanimous_no_denial_no_open_breach_in_force(
    issued: date, answers: dict, raw_breaches: list, today_offset: int, lapse: int | None
) -> None:
    isp = shipped_isp() if lapse is None else with_expiry(lapse)
    today = issued + timedelta(days=today_offset)
    decisions = {
        a: request_models.Decision(decision=kind, date=issued + timedelta(days=offset), reason="A reason.")
        for a, answer in answers.items()
        if answer is not None
        for kind, offset in [answer]
    }
    breaches = [
        (issued + timedelta(days=s), None if n is None else issued + timedelta(days=s + n)) for s, n in raw_breaches
    ]
    request = request_models.Request.model_validate(fields(issued=issued, received=issued))
    status = request_status.timeline(isp, request, decisions, breaches, today)
    open_ids = [f"B{i}" for i, (s, e) in enumerate(breaches) if s <= today and (e is None or e > today)]
    blockers = membership.decide_release(isp, status, open_ids, today)
    allowed = _plain_rule(issued, today, decisions, breaches, lapse)
    event("allowed" if allowed else "refused")
    assert (blockers == []) == allowed, (status.state, blockers)
    if not blockers:
        assert status.state == "approved" and not status.waiting_for()
