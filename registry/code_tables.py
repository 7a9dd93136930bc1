"""Code tables the admin can extend: practice categories, practice scopes, titles.

The defaults of registry.codes are always there; entries the admin adds (CodeEntry rows) come after
them and can be retired. Validation of forms and imports reads the merged tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .codes import PRACTICE_SCOPES, TITLES
from .errors import InvalidInput, NotFound
from .models import CodeEntry
from .roles import Role
from .scope import Actor, ensure_role

TABLES = {"practice_category": "执业类别", "practice_scope": "执业范围", "title": "职称"}
# Column widths where the values land (Physician.practice_category, practice_scope).
MAX_LENGTH = {"practice_category": 16, "practice_scope": 64, "title": 32}


@dataclass(frozen=True, slots=True)
class CodeTables:
    scopes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(PRACTICE_SCOPES))
    titles: tuple[str, ...] = TITLES

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.scopes)


DEFAULTS = CodeTables()


async def load(session: AsyncSession) -> CodeTables:
    rows = (await session.scalars(select(CodeEntry).where(CodeEntry.active.is_(True))
                                  .order_by(CodeEntry.id))).all()
    scopes = {k: list(v) for k, v in PRACTICE_SCOPES.items()}
    titles = list(TITLES)
    for row in rows:
        if row.table == "practice_category":
            scopes.setdefault(row.value, [])
    for row in rows:
        if row.table == "practice_scope" and row.parent in scopes and row.value not in scopes[row.parent]:
            scopes[row.parent].append(row.value)
        elif row.table == "title" and row.value not in titles:
            titles.append(row.value)
    return CodeTables({k: tuple(v) for k, v in scopes.items()}, tuple(titles))


async def entries(session: AsyncSession) -> list[CodeEntry]:
    return list((await session.scalars(select(CodeEntry).order_by(CodeEntry.table, CodeEntry.id))).all())


def _clean(text: str, title: str, limit: int) -> str:
    value = " ".join(text.split())
    if not value:
        raise InvalidInput(f"请填写{title}", fields={"value": f"请填写{title}"})
    if len(value) > limit:
        raise InvalidInput(f"{title}不能超过 {limit} 个字", fields={"value": f"{title}不能超过 {limit} 个字"})
    if any(not ch.isprintable() for ch in value):
        raise InvalidInput(f"{title}含有不可见字符", fields={"value": f"{title}含有不可见字符"})
    return value


async def add_entry(session: AsyncSession, actor: Actor, *, table: str, value: str, parent: str = "",
                    request_id: str | None = None) -> CodeEntry:
    ensure_role(actor, Role.ADMIN)
    if table not in TABLES:
        raise InvalidInput("代码表的取值无效", fields={"table": "代码表的取值无效"})
    title = TABLES[table]
    value = _clean(value, title, MAX_LENGTH[table])
    current = await load(session)
    parent = parent.strip() if table == "practice_scope" else ""
    if table == "practice_scope" and parent not in current.scopes:
        raise InvalidInput("请选择执业范围所属的执业类别", fields={"parent": "请选择执业范围所属的执业类别"})
    existing = {"practice_category": current.categories, "title": current.titles,
                "practice_scope": current.scopes.get(parent, ())}[table]
    if value in existing:
        raise InvalidInput(f"{title}“{value}”已存在", fields={"value": f"{title}“{value}”已存在"})
    entry = await session.scalar(select(CodeEntry).where(CodeEntry.table == table, CodeEntry.parent == parent,
                                                         CodeEntry.value == value))
    if entry is not None:  # retired before: bring it back rather than duplicate it
        entry.active = True
    else:
        entry = CodeEntry(table=table, parent=parent, value=value, active=True)
        session.add(entry)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="add_code", entity="code_entry", entity_id=entry.id,
                 detail={"table": table, "parent": parent, "value": value}, request_id=request_id)
    return entry


async def set_active(session: AsyncSession, actor: Actor, entry_id: int, *, active: bool,
                     request_id: str | None = None) -> CodeEntry:
    """Retire (or restore) an added entry; values already chosen on records stay as they are."""
    ensure_role(actor, Role.ADMIN)
    entry = await session.get(CodeEntry, entry_id)
    if entry is None:
        raise NotFound("代码不存在")
    if entry.active != active:
        entry.active = active
        audit.record(session, actor_id=actor.account_id, action="enable_code" if active else "retire_code",
                     entity="code_entry", entity_id=entry.id, detail={"table": entry.table, "value": entry.value},
                     request_id=request_id)
    return entry
