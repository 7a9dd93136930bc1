"""The registration state machine of docs/assessment-rules.md: which move is legal from which state, by whom.

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
    INSTITUTION_FAIL = "institution_fail"  # reviewed with a 不合格 rating: the body re-reviews it
    BODY_RETURN = "body_return"
    BODY_APPROVE = "body_approve"
    BODY_CONFIRM_FAIL = "body_confirm_fail"  # the body confirms the institution's 不合格 rating
    BODY_RETURN_TO_INSTITUTION = "body_return_to_institution"  # ... or sends it back to be rated again
    PASS = "pass"
    FAIL = "fail"
    # A physician's review request (复核申请) of a 不合格 result, decided by the body.
    REVIEW_UPHOLD = "review_uphold"
    REVIEW_CHANGE = "review_change"
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
    # A 不合格 rating suspends practice, so it is never final on the institution's word alone.
    Action.INSTITUTION_FAIL: Move(frozenset({State.SUBMITTED}), State.INSTITUTION_APPROVED, frozenset({Role.INSTITUTION})),
    Action.BODY_RETURN: Move(frozenset({State.INSTITUTION_APPROVED}), State.RETURNED, frozenset({Role.BODY})),
    Action.BODY_APPROVE: Move(frozenset({State.INSTITUTION_APPROVED}), State.APPROVED, frozenset({Role.BODY})),
    Action.BODY_CONFIRM_FAIL: Move(frozenset({State.INSTITUTION_APPROVED}), State.FAILED, frozenset({Role.BODY})),
    Action.BODY_RETURN_TO_INSTITUTION: Move(frozenset({State.INSTITUTION_APPROVED}), State.SUBMITTED,
                                            frozenset({Role.BODY})),
    Action.PASS: Move(frozenset({State.APPROVED}), State.PASSED, frozenset({SYSTEM})),
    Action.FAIL: Move(_AFTER_SUBMIT, State.FAILED, frozenset({SYSTEM})),
    Action.REVIEW_UPHOLD: Move(frozenset({State.FAILED}), None, frozenset({Role.BODY})),
    Action.REVIEW_CHANGE: Move(frozenset({State.FAILED}), State.PASSED, frozenset({Role.BODY})),
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


# The body's re-review depends on the institution's rating: a 不合格 one is confirmed or sent back to the
# institution; a 合格 one is approved or returned to the physician. True: needs a 不合格 rating.
RATING_MOVES: dict[Action, bool] = {
    Action.BODY_CONFIRM_FAIL: True,
    Action.BODY_RETURN_TO_INSTITUTION: True,
    Action.BODY_APPROVE: False,
    Action.BODY_RETURN: False,
}


def check_rating(action: Action, failed_rating: bool) -> None:
    """Refuse a body move that does not fit the institution's rating, with a Chinese reason."""
    needs_fail = RATING_MOVES.get(action)
    if needs_fail is None or needs_fail == failed_rating:
        return
    if failed_rating:
        raise IllegalTransition("所在机构评定为不合格：请确认不合格，或退回机构重新评定")
    raise IllegalTransition("所在机构评定为合格：只能复核通过或退回医师修改")


# Until the physician first submits, the record is theirs alone: staff see only its state.
_UNSUBMITTED = frozenset({State.NOT_OPENED, State.OPENED, State.DRAFT})


def staff_see_contents(state: State) -> bool:
    return state not in _UNSUBMITTED


def physician_may_edit(state: State) -> bool:
    return state in MOVES[Action.SAVE].sources
