"""The attempt lifecycle: which move is legal from which state, by whom. One table, like registry.states."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from registry.errors import IllegalTransition


class AttemptState(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SCORED = "scored"
    # Voided after a confirmed proctoring violation: counts as a used attempt that did not pass.
    VOIDED = "voided"


ATTEMPT_WORDS = {AttemptState.IN_PROGRESS: "进行中", AttemptState.SUBMITTED: "已交卷", AttemptState.SCORED: "已评分",
                 AttemptState.VOIDED: "已作废"}


class SubmitReason(StrEnum):
    """Who ended the attempt: the physician, the clock, or staff (with a reason)."""

    PHYSICIAN = "physician"
    TIME_UP = "time_up"
    INVIGILATOR = "invigilator"
    BODY = "body"
    PROCTORING = "proctoring"  # a schedule's proctoring rule ended it (rule 9)


SUBMIT_WORDS = {SubmitReason.PHYSICIAN: "考生交卷", SubmitReason.TIME_UP: "时间到自动交卷",
                SubmitReason.INVIGILATOR: "监考员结束考试", SubmitReason.BODY: "考核机构结束考试",
                SubmitReason.PROCTORING: "监考规则结束考试"}


class AttemptAction(StrEnum):
    SUBMIT = "submit"
    SCORE = "score"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class AttemptMove:
    source: AttemptState
    target: AttemptState


MOVES = {
    AttemptAction.SUBMIT: AttemptMove(AttemptState.IN_PROGRESS, AttemptState.SUBMITTED),
    AttemptAction.SCORE: AttemptMove(AttemptState.SUBMITTED, AttemptState.SCORED),
    AttemptAction.VOID: AttemptMove(AttemptState.SCORED, AttemptState.VOIDED),
}


def next_attempt_state(current: AttemptState, action: AttemptAction) -> AttemptState:
    move = MOVES[action]
    if current is not move.source:
        raise IllegalTransition(f"考试当前状态为“{ATTEMPT_WORDS[current]}”，不能执行此操作")
    return move.target
