"""The registration state machine: every (state, action, role) triple against an independent table."""

from __future__ import annotations

import itertools
import re

import pytest

from registry.errors import IllegalTransition
from registry.roles import Role
from registry.states import STATE_WORDS, Action, State, next_state, physician_may_edit

S = State
A = Action
R = Role

# Written from domain.md ("One physician, one cycle"), not from registry/states.py:
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
    (S.SUBMITTED, A.INSTITUTION_FAIL, R.INSTITUTION): S.FAILED,
    (S.INSTITUTION_APPROVED, A.BODY_RETURN, R.BODY): S.RETURNED,
    (S.INSTITUTION_APPROVED, A.BODY_APPROVE, R.BODY): S.APPROVED,
    # Results are recorded by the system, which acts with the admin role.
    (S.APPROVED, A.PASS, R.ADMIN): S.PASSED,
    (S.SUBMITTED, A.FAIL, R.ADMIN): S.FAILED,
    (S.RETURNED, A.FAIL, R.ADMIN): S.FAILED,
    (S.INSTITUTION_APPROVED, A.FAIL, R.ADMIN): S.FAILED,
    (S.APPROVED, A.FAIL, R.ADMIN): S.FAILED,
    # A voided passing attempt (proctoring review) takes the pass back; the result is then recomputed.
    (S.PASSED, A.REVOKE_PASS, R.BODY): S.APPROVED,
    (S.PASSED, A.REVOKE_PASS, R.ADMIN): S.APPROVED,
}

TRIPLES = list(itertools.product(State, Action, Role))
_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_table_covers_every_action_and_every_state_but_the_terminal_one() -> None:
    assert {a for _, a, _ in LEGAL} == set(Action)
    assert {s for s, _, _ in LEGAL} == set(State) - {S.FAILED}
    assert len(TRIPLES) == len(State) * len(Action) * len(Role) == 9 * 11 * 6


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


def test_failed_is_final_and_passed_only_revocable_by_review() -> None:
    for state in (S.PASSED, S.FAILED):
        for action, role in itertools.product(Action, Role):
            if (state, action, role) in LEGAL:
                assert action is A.REVOKE_PASS
                continue
            with pytest.raises(IllegalTransition):
                next_state(state, action, role)


@pytest.mark.parametrize("state", list(State))
def test_the_physician_may_edit_exactly_while_saving_is_legal(state: State) -> None:
    assert physician_may_edit(state) is (state in {S.OPENED, S.DRAFT, S.RETURNED})


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
