"""Results before publication (docs/assessment-rules.md, "结果公布前"): until the assessment body
publishes a decided result, institution and health-admin staff see the physician's outcome as 待公布,
exactly as the physician does; the body (which decides it) and the system administrator see the real one.

The published registrations live in the results feature's table, above this library: callers pass them
in as a selectable of registration ids (`published`), so the library stays free of that table.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, true

from .models import Registration
from .roles import Role
from .states import STATE_WORDS, Action, State

# The state shown (and counted) in place of a decided, unpublished outcome.
UNPUBLISHED = "UNPUBLISHED"
UNPUBLISHED_WORDS = "待公布"
DECIDED = frozenset({State.PASSED, State.FAILED})
# The moves that decided the outcome: a record's history leaves them out until it is published.
DECIDING_ACTIONS = frozenset({Action.PASS, Action.FAIL, Action.BODY_CONFIRM_FAIL})


def hides_unpublished(role: Role) -> bool:
    """Whether this role sees a decided, unpublished outcome only as 待公布."""
    return role in (Role.INSTITUTION, Role.HEALTH_ADMIN)


def shown_state(role: Role, state: str, published: bool) -> tuple[str, str]:
    """The (state, words) a role is shown for a registration in `state`."""
    if state in DECIDED and not published and hides_unpublished(role):
        return UNPUBLISHED, UNPUBLISHED_WORDS
    return state, STATE_WORDS[State(state)]


def state_filter(role: Role, state: str, published: Select | None) -> ColumnElement[bool]:
    """The clause behind a state filter as the role sees states: 考核合格 matches published passes only,
    and UNPUBLISHED matches the decided, unpublished ones."""
    if not hides_unpublished(role) or published is None:
        return Registration.state == state
    if state == UNPUBLISHED:
        return and_(Registration.state.in_(list(DECIDED)), Registration.id.not_in(published))
    if state in DECIDED:
        return and_(Registration.state == state, Registration.id.in_(published))
    return Registration.state == state


def published_column(published: Select | None) -> ColumnElement[bool]:
    """A column: is the row's registration published (true throughout when no selectable is given)."""
    if published is None:
        return true().label("published")
    return Registration.id.in_(published).label("published")


def shown_states(role: Role) -> dict[str, str]:
    """The states a role's lists and filters offer, in order, with their words (待公布 after 审核通过)."""
    words: dict[str, str] = {}
    for state in State:
        if state in DECIDED and hides_unpublished(role) and UNPUBLISHED not in words:
            words[UNPUBLISHED] = UNPUBLISHED_WORDS
        words[state] = STATE_WORDS[state]
    return words
