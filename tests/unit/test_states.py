"""The registration state machine: every (state, action, role) triple against an independent table."""

from __future__ import annotations

import itertools
import re

import pytest

from registry.errors import IllegalTransition
from registry.roles import Role
from registry.states import STATE_WORDS, Action, State, check_rating, next_state, physician_may_edit, staff_see_contents

S = State
A = Action
R = Role

# Written from the rules ("One physician in one cycle", docs/assessment-rules.md), not from registry/states.py:
# (state, action, role) -> the state after the move. Everything not listed is illegal.
LEGAL: dict[tuple[State, Action, Role], State] = {
    (S.NOT_OPENED, A.OPEN, R.INSTITUTION): S.OPENED,
    # "physician saves any step": the first save starts the draft; a returned record stays returned.
    (S.OPENED, A.SAVE, R.PHYSICIAN): S.DRAFT,
    (S.DRAFT, A.SAVE, R.PHYSICIAN): S.DRAFT,
    (S.RETURNED, A.SAVE, R.PHYSICIAN): S.RETURNED,
    (S.DRAFT, A.SUBMIT, R.PHYSICIAN): S.SUBMITTED,
    (S.RETURNED, A.SUBMIT, R.PHYSICIAN): S.SUBMITTED,
    (S.SUBMITTED, A.INSTITUTION_RETURN, R.INSTITUTION): S.RETURNED,
    (S.SUBMITTED, A.INSTITUTION_APPROVE, R.INSTITUTION): S.INSTITUTION_APPROVED,
    # A 不合格 rating is re-reviewed by the body like every other institution decision ...
    (S.SUBMITTED, A.INSTITUTION_FAIL, R.INSTITUTION): S.INSTITUTION_APPROVED,
    (S.INSTITUTION_APPROVED, A.BODY_RETURN, R.BODY): S.RETURNED,
    (S.INSTITUTION_APPROVED, A.BODY_APPROVE, R.BODY): S.APPROVED,
    # ... which confirms it (不合格), or returns it to the institution (待机构审核 again).
    (S.INSTITUTION_APPROVED, A.BODY_CONFIRM_FAIL, R.BODY): S.FAILED,
    (S.INSTITUTION_APPROVED, A.BODY_RETURN_TO_INSTITUTION, R.BODY): S.SUBMITTED,
    # Results are recorded by the system, which acts with the admin role.
    (S.APPROVED, A.PASS, R.ADMIN): S.PASSED,
    (S.SUBMITTED, A.FAIL, R.ADMIN): S.FAILED,
    (S.RETURNED, A.FAIL, R.ADMIN): S.FAILED,
    (S.INSTITUTION_APPROVED, A.FAIL, R.ADMIN): S.FAILED,
    (S.APPROVED, A.FAIL, R.ADMIN): S.FAILED,
    # A review request (复核申请) of a 不合格 result: the body upholds it or changes it to 合格.
    (S.FAILED, A.REVIEW_UPHOLD, R.BODY): S.FAILED,
    (S.FAILED, A.REVIEW_CHANGE, R.BODY): S.PASSED,
    # A voided passing attempt (proctoring review) takes the pass back; the result is then recomputed.
    (S.PASSED, A.REVOKE_PASS, R.BODY): S.APPROVED,
    (S.PASSED, A.REVOKE_PASS, R.ADMIN): S.APPROVED,
}

TRIPLES = list(itertools.product(State, Action, Role))
_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_table_covers_every_action_and_every_state() -> None:
    assert {a for _, a, _ in LEGAL} == set(Action)
    assert {s for s, _, _ in LEGAL} == set(State)
    assert len(TRIPLES) == len(State) * len(Action) * len(Role) == 9 * 15 * 6


@pytest.mark.parametrize("state, action, role", TRIPLES, ids=lambda v: str(v))
def test_every_triple(state: State, action: Action, role: Role) -> None:
    expected = LEGAL.get((state, action, role))
    if expected is not None:
        assert next_state(state, action, role) is expected
        return
    with pytest.raises(IllegalTransition) as info:
        next_state(state, action, role)
    message = info.value.message
    # A clear Chinese reason naming the record's current state in words.
    assert _HAN.search(message) and STATE_WORDS[state] in message, message
    roles_allowed = {r for (s, a, r) in LEGAL if a is action}
    if role in roles_allowed:
        assert message == f"记录当前状态为“{STATE_WORDS[state]}”，不能执行此操作"
    else:
        assert message.startswith("当前角色不能执行此操作")


def test_passed_moves_only_on_revocation_and_failed_only_on_review() -> None:
    for state in (S.PASSED, S.FAILED):
        for action, role in itertools.product(Action, Role):
            if (state, action, role) in LEGAL:
                assert action in ((A.REVOKE_PASS,) if state is S.PASSED else (A.REVIEW_UPHOLD, A.REVIEW_CHANGE))
                continue
            with pytest.raises(IllegalTransition):
                next_state(state, action, role)


@pytest.mark.parametrize("state", list(State))
def test_the_physician_may_edit_exactly_while_saving_is_legal(state: State) -> None:
    assert physician_may_edit(state) is (state in {S.OPENED, S.DRAFT, S.RETURNED})


@pytest.mark.parametrize("state", list(State))
def test_staff_see_a_records_contents_only_once_the_physician_has_submitted_it(state: State) -> None:
    assert staff_see_contents(state) is (state not in {S.NOT_OPENED, S.OPENED, S.DRAFT})


def test_the_home_page_words_of_domain_md() -> None:
    assert set(STATE_WORDS) == set(State)
    assert STATE_WORDS[S.NOT_OPENED] == "未开通报名"
    assert STATE_WORDS[S.OPENED] == "已开通报名"
    assert STATE_WORDS[S.SUBMITTED] == "待机构审核"
    assert STATE_WORDS[S.RETURNED] == "机构退回"
    assert STATE_WORDS[S.INSTITUTION_APPROVED] == "待考核机构复核"
    assert STATE_WORDS[S.APPROVED] == "审核通过"
    assert STATE_WORDS[S.PASSED] == "考核合格"
    assert STATE_WORDS[S.FAILED] == "考核不合格"
    assert len(set(STATE_WORDS.values())) == len(State)


# Which body moves fit which institution rating (domain.md): a 不合格 rating is confirmed or returned to the
# institution; a 合格 one is approved or returned to the physician. Other moves do not depend on the rating.
NEEDS_FAILED_RATING = {A.BODY_CONFIRM_FAIL: True, A.BODY_RETURN_TO_INSTITUTION: True, A.BODY_APPROVE: False,
                       A.BODY_RETURN: False}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("failed_rating", [True, False])
def test_the_body_move_must_fit_the_institutions_rating(action: Action, failed_rating: bool) -> None:
    needs = NEEDS_FAILED_RATING.get(action)
    if needs is None or needs == failed_rating:
        check_rating(action, failed_rating)
        return
    with pytest.raises(IllegalTransition) as info:
        check_rating(action, failed_rating)
    # The reason tells the body which rating the institution gave and which moves are left.
    if failed_rating:
        assert info.value.message == "所在机构评定为不合格：请确认不合格，或退回机构重新评定"
    else:
        assert info.value.message == "所在机构评定为合格：只能复核通过或退回医师修改"


def test_an_institutions_failing_rating_alone_never_ends_in_failed() -> None:
    after = next_state(S.SUBMITTED, A.INSTITUTION_FAIL, R.INSTITUTION)
    assert after is S.INSTITUTION_APPROVED
    assert {a for (s, a, r), t in LEGAL.items() if t is S.FAILED and r is R.INSTITUTION} == set()
