"""The registration state machine of domain.md: which move is legal from which state, by whom.

Pure data and functions; registry.registrations applies a move to a stored record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import IllegalTransition
from .roles import Role


class State(StrEnum):
    NOT_OPENED = "NOT_OPENED"
    OPENED = "OPENED"
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    RETURNED = "RETURNED"
    INSTITUTION_APPROVED = "INSTITUTION_APPROVED"
    APPROVED = "APPROVED"
    PASSED = "PASSED"
    FAILED = "FAILED"


STATE_WORDS = {
    State.NOT_OPENED: "未开通报名",
    State.OPENED: "已开通报名",
    State.DRAFT: "待提交",
    State.SUBMITTED: "待机构审核",
    State.RETURNED: "机构退回",
    State.INSTITUTION_APPROVED: "待考核机构复核",
    State.APPROVED: "审核通过",
    State.PASSED: "考核合格",
    State.FAILED: "考核不合格",
}


class Action(StrEnum):
    OPEN = "open"
    SAVE = "save"
    SUBMIT = "submit"
    INSTITUTION_RETURN = "institution_return"
    INSTITUTION_APPROVE = "institution_approve"
    INSTITUTION_FAIL = "institution_fail"  # approved with a 不合格 rating
    BODY_RETURN = "body_return"
    BODY_APPROVE = "body_approve"
    PASS = "pass"
    FAIL = "fail"
    # A passing attempt voided after review (rule 9): the result is taken back and recomputed.
    REVOKE_PASS = "revoke_pass"


@dataclass(frozen=True, slots=True)
class Move:
    sources: frozenset[State]
    target: State | None  # None: the state stays as it is
    roles: frozenset[Role]


_AFTER_SUBMIT = frozenset({State.SUBMITTED, State.RETURNED, State.INSTITUTION_APPROVED, State.APPROVED})
SYSTEM = Role.ADMIN  # automatic results are recorded as the system acting

MOVES: dict[Action, Move] = {
    Action.OPEN: Move(frozenset({State.NOT_OPENED}), State.OPENED, frozenset({Role.INSTITUTION})),
    # Saving a returned record keeps it RETURNED so the reason stays in view until resubmitted.
    Action.SAVE: Move(frozenset({State.OPENED, State.DRAFT, State.RETURNED}), None, frozenset({Role.PHYSICIAN})),
    Action.SUBMIT: Move(frozenset({State.DRAFT, State.RETURNED}), State.SUBMITTED, frozenset({Role.PHYSICIAN})),
    Action.INSTITUTION_RETURN: Move(frozenset({State.SUBMITTED}), State.RETURNED, frozenset({Role.INSTITUTION})),
    Action.INSTITUTION_APPROVE: Move(
        frozenset({State.SUBMITTED}), State.INSTITUTION_APPROVED, frozenset({Role.INSTITUTION})
    ),
    Action.INSTITUTION_FAIL: Move(frozenset({State.SUBMITTED}), State.FAILED, frozenset({Role.INSTITUTION})),
    Action.BODY_RETURN: Move(frozenset({State.INSTITUTION_APPROVED}), State.RETURNED, frozenset({Role.BODY})),
    Action.BODY_APPROVE: Move(frozenset({State.INSTITUTION_APPROVED}), State.APPROVED, frozenset({Role.BODY})),
    Action.PASS: Move(frozenset({State.APPROVED}), State.PASSED, frozenset({SYSTEM})),
    Action.FAIL: Move(_AFTER_SUBMIT, State.FAILED, frozenset({SYSTEM})),
    Action.REVOKE_PASS: Move(frozenset({State.PASSED}), State.APPROVED, frozenset({Role.BODY, SYSTEM})),
}


def next_state(current: State, action: Action, role: Role) -> State:
    """The state after `action`, or IllegalTransition with a Chinese reason."""
    move = MOVES[action]
    if role not in move.roles:
        raise IllegalTransition(f"当前角色不能执行此操作（{STATE_WORDS[current]}）")
    if current not in move.sources:
        raise IllegalTransition(f"记录当前状态为“{STATE_WORDS[current]}”，不能执行此操作")
    if action is Action.SAVE and current is State.OPENED:
        return State.DRAFT
    return current if move.target is None else move.target


def physician_may_edit(state: State) -> bool:
    return state in MOVES[Action.SAVE].sources
