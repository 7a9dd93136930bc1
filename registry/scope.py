"""Who may see which records: role *and* scope, checked on every request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true

from .errors import NotFound, PermissionDenied
from .models import Account, Institution, Physician
from .roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    account_id: int
    role: Role
    institution_id: int | None = None
    body_id: int | None = None
    region_id: int | None = None
    physician_id: int | None = None

    @classmethod
    def of(cls, account: Account) -> "Actor":
        return cls(
            account_id=account.id,
            role=Role(account.role),
            institution_id=account.institution_id,
            body_id=account.body_id,
            region_id=account.region_id,
            physician_id=account.physician_id,
        )


# Which column of Institution must equal which attribute of the actor, per overseeing role.
_OVERSIGHT = {
    Role.INSTITUTION: ("id", "institution_id"),
    Role.BODY: ("body_id", "body_id"),
    Role.HEALTH_ADMIN: ("region_id", "region_id"),
}


def institution_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Institution selecting the institutions the actor oversees."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role not in _OVERSIGHT:
        return false()
    column, attribute = _OVERSIGHT[actor.role]
    return getattr(Institution, column) == getattr(actor, attribute)


def can_oversee_institution(actor: Actor, institution: Institution) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role not in _OVERSIGHT:
        return False
    column, attribute = _OVERSIGHT[actor.role]
    return getattr(institution, column) == getattr(actor, attribute)


def can_see_physician(actor: Actor, physician: Physician) -> bool:
    if actor.role is Role.PHYSICIAN:
        return actor.physician_id == physician.id
    return can_oversee_institution(actor, physician.institution)


def ensure_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise PermissionDenied("当前角色无权执行此操作")


def ensure_sees_physician(actor: Actor, physician: Physician, *, missing: str) -> None:
    """A record outside the actor's scope answers exactly as a missing one (`missing`), so ids reveal nothing."""
    if not can_see_physician(actor, physician):
        raise NotFound(missing)
