"""Append to the audit log inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditLog


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditLog:
    entry = AuditLog(
        actor_account_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        detail=detail or {},
        request_id=request_id,
    )
    session.add(entry)
    return entry
