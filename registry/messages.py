"""In-app messages: a physician is told whenever someone else changes their record."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .db import utcnow
from .models import Account, Message


async def notify_physicians(session: AsyncSession, physician_ids: list[int], text: str) -> None:
    if not physician_ids:
        return
    account_ids = (await session.scalars(select(Account.id).where(Account.physician_id.in_(physician_ids)))).all()
    if account_ids:
        now = utcnow()
        await session.execute(insert(Message), [{"account_id": a, "text": text, "created_at": now} for a in account_ids])


async def list_messages(session: AsyncSession, account_id: int, *, limit: int = 50) -> list[Message]:
    return list((await session.scalars(
        select(Message).where(Message.account_id == account_id).order_by(Message.id.desc()).limit(limit))).all())


async def mark_read(session: AsyncSession, account_id: int) -> None:
    await session.execute(update(Message).where(Message.account_id == account_id, Message.read_at.is_(None))
                          .values(read_at=utcnow()))
