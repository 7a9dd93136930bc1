"""Item enemies (互斥题) in the database: pairs of questions of one bank that never share a paper.

The rule and the drawing live in :mod:`question_bank`; this module stores pairs by question id
(so an edit keeps them, and retiring a question only takes it out of drawing), resolves the codes
an import names (:class:`question_bank.enemies.EnemyLinks`), and hands pools and paper checks the
pairs between active questions, counted in SQL where a check needs no question loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from question_bank import Problem, QuestionType
from question_bank.enemies import MAX_CODE_CHARS, EnemyLinks, code_problem, normalise_code
from registry import audit
from registry.db import utcnow
from registry.errors import InvalidInput, NotFound

from .models import BankQuestion, QuestionEnemy

MAX_PER_REQUEST = 200
SOURCES = ("import", "admin", "cueing")


@dataclass(frozen=True, slots=True)
class EnemyRow:
    """One enemy of a question, as its page lists it."""

    id: int
    code: str | None
    type: str
    type_label: str
    stem: str
    retired: bool
    source: str


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


async def bank_codes(session: AsyncSession, bank_id: int) -> dict[str, str]:
    """code -> fingerprint of the bank's questions that have a code."""
    rows = await session.execute(select(BankQuestion.code, BankQuestion.fingerprint)
                                 .where(BankQuestion.bank_id == bank_id, BankQuestion.code.is_not(None)))
    return {c: fp for c, fp in rows.all()}


async def existing_pairs(session: AsyncSession, question_ids: Iterable[int]) -> set[tuple[int, int]]:
    ids = list(set(question_ids))
    out: set[tuple[int, int]] = set()
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        rows = await session.execute(select(QuestionEnemy.question_id, QuestionEnemy.enemy_id).where(
            or_(QuestionEnemy.question_id.in_(chunk), QuestionEnemy.enemy_id.in_(chunk))))
        out.update((a, b) for a, b in rows.all())
    return out


class PairRefused(InvalidInput):
    """A pair that cannot be enemies (same question, another bank, one group)."""


async def _rows(session: AsyncSession, ids: Iterable[int]) -> dict[int, BankQuestion]:
    wanted = sorted(set(ids))
    out: dict[int, BankQuestion] = {}
    for k in range(0, len(wanted), 1000):
        rows = (await session.scalars(select(BankQuestion).where(BankQuestion.id.in_(wanted[k:k + 1000])))).all()
        out.update((r.id, r) for r in rows)
    return out


def _refusal(a: BankQuestion, b: BankQuestion) -> str | None:
    if a.id == b.id:
        return f"试题（编号 {a.id}）不能与自身互斥"
    if a.bank_id != b.bank_id:
        return f"互斥题须在同一题库中：编号 {a.id} 与编号 {b.id} 属于不同题库"
    if a.group_key is not None and a.group_key == b.group_key:
        return f"编号 {a.id} 与编号 {b.id} 同属一组（共用题干或共用选项），同组小题总是一起出现，不能互为互斥题"
    return None


async def add_pairs(session: AsyncSession, pairs: Iterable[tuple[int, int]], *, source: str, actor_id: int | None,
                    request_id: str | None = None, audit_entity: tuple[str, object] | None = None) -> int:
    """Store the pairs not yet stored (checked: both exist, one bank, not one group); returns how
    many were new. Refused as a whole, with every reason, when any pair is not allowed."""
    wanted = {_ordered(a, b) for a, b in pairs}
    rows = await _rows(session, (i for p in wanted for i in p))
    reasons: list[str] = []
    for a, b in sorted(wanted):
        if a not in rows or b not in rows:
            reasons.append(f"试题不存在（编号 {a if a not in rows else b}）")
            continue
        why = _refusal(rows[a], rows[b])
        if why:
            reasons.append(why)
    if reasons:
        message = "；".join(dict.fromkeys(reasons))
        raise PairRefused(message, fields={"enemies": message})
    have = await existing_pairs(session, (a for a, _ in wanted))
    new = sorted(p for p in wanted if p not in have)
    if new:
        await session.execute(QuestionEnemy.__table__.insert(), [
            {"question_id": a, "enemy_id": b, "bank_id": rows[a].bank_id, "source": source, "created_by": actor_id,
             "created_at": utcnow()} for a, b in new])
        entity, entity_id = audit_entity or ("question_bank", rows[new[0][0]].bank_id)
        audit.record(session, actor_id=actor_id, action="question.enemies.add", entity=entity, entity_id=entity_id,
                     detail={"source": source, "pairs": [list(p) for p in new[:500]], "count": len(new)},
                     request_id=request_id)
    return len(new)


async def add_bank_pairs(session: AsyncSession, bank_id: int, bank_name: str, pairs: Sequence[tuple[int, int]], *,
                         source: str, actor_id: int | None, request_id: str | None = None) -> int:
    """Store pairs of the bank's questions (a pair naming another bank's question is refused)."""
    banks = await question_banks_of(session, {i for p in pairs for i in p})
    foreign = sorted({i for p in pairs for i in p if banks.get(i, bank_id) != bank_id})
    if foreign:
        msg = f"试题不属于题库“{bank_name}”（编号 {'、'.join(map(str, foreign[:10]))}）"
        raise InvalidInput(msg, fields={"pairs": msg})
    return await add_pairs(session, pairs, source=source, actor_id=actor_id, request_id=request_id,
                           audit_entity=("question_bank", bank_id))


async def edit_enemies(session: AsyncSession, question_id: int, *, add: Sequence[int] = (), add_codes: Sequence[str] = (),
                       remove: Sequence[int] = (), actor_id: int | None, request_id: str | None = None) -> tuple[int, int]:
    """The admin's change to one question's enemies: others by id or by code (in its bank) become
    enemies, pairs with ``remove`` are dropped. Returns (added, removed)."""
    row = await require_question(session, question_id)
    others = list(add)
    for raw in add_codes:
        code = checked_code(raw)
        owner = await code_owner(session, row.bank_id, code) if code else None
        if owner is None:
            msg = f"本题库中没有试题编号为“{raw[:MAX_CODE_CHARS]}”的试题"
            raise InvalidInput(msg, fields={"add_codes": msg})
        others.append(owner)
    added = await add_pairs(session, [(question_id, o) for o in others], source="admin", actor_id=actor_id,
                            request_id=request_id, audit_entity=("bank_question", question_id))
    removed = 0
    for other in remove:
        removed += await remove_pair(session, question_id, other, actor_id=actor_id, request_id=request_id)
    return added, removed


async def remove_pair(session: AsyncSession, question_id: int, enemy_id: int, *, actor_id: int | None,
                      request_id: str | None = None) -> bool:
    a, b = _ordered(question_id, enemy_id)
    row = await session.get(QuestionEnemy, (a, b))
    if row is None:
        return False
    await session.delete(row)
    audit.record(session, actor_id=actor_id, action="question.enemies.remove", entity="bank_question",
                 entity_id=question_id, detail={"pair": [a, b], "source": row.source}, request_id=request_id)
    return True


async def enemies_of(session: AsyncSession, question_id: int) -> list[EnemyRow]:
    """The question's enemies (retired ones too, marked), by id."""
    other = aliased(BankQuestion)
    pair = QuestionEnemy
    rows = (await session.execute(
        select(other.id, other.code, other.type, other.stem, other.retired, pair.source)
        .join(pair, or_(and_(pair.question_id == question_id, pair.enemy_id == other.id),
                        and_(pair.enemy_id == question_id, pair.question_id == other.id)))
        .order_by(other.id))).all()
    return [EnemyRow(r.id, r.code, r.type, QuestionType(r.type).label_zh, r.stem.split("\n", 1)[0][:120],
                     bool(r.retired), r.source) for r in rows]


async def active_pairs(session: AsyncSession, bank_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Pairs between active questions of the banks (what drawing must keep apart)."""
    a, b = aliased(BankQuestion), aliased(BankQuestion)
    rows = await session.execute(
        select(QuestionEnemy.question_id, QuestionEnemy.enemy_id)
        .join(a, a.id == QuestionEnemy.question_id).join(b, b.id == QuestionEnemy.enemy_id)
        .where(QuestionEnemy.bank_id.in_(list(bank_ids)), a.retired.is_(False), b.retired.is_(False)))
    return [(x, y) for x, y in rows.all()]


async def bank_pairs(session: AsyncSession, bank_id: int) -> list[tuple[int, int]]:
    rows = await session.execute(select(QuestionEnemy.question_id, QuestionEnemy.enemy_id)
                                 .where(QuestionEnemy.bank_id == bank_id))
    return [(a, b) for a, b in rows.all()]


@dataclass(frozen=True, slots=True)
class InvolvedRow:
    id: int
    bank_id: int
    type: str
    category: str
    fingerprint: str
    group_key: str | None


async def involved(session: AsyncSession, bank_ids: Sequence[int]) -> tuple[list[InvolvedRow], list[tuple[int, int]]]:
    """The active questions that have an active enemy, and the pairs: all a paper check loads
    beyond counts (a few columns of those questions, never a payload)."""
    pairs = await active_pairs(session, bank_ids)
    ids = sorted({i for p in pairs for i in p})
    out: list[InvolvedRow] = []
    for k in range(0, len(ids), 1000):
        rows = await session.execute(select(BankQuestion.id, BankQuestion.bank_id, BankQuestion.type,
                                            BankQuestion.category, BankQuestion.fingerprint, BankQuestion.group_key)
                                     .where(BankQuestion.id.in_(ids[k:k + 1000])))
        out.extend(InvolvedRow(*r) for r in rows.all())
    return out, pairs


# ---------------------------------------------------------------- imports


async def link_import(session: AsyncSession, bank_id: int, links: EnemyLinks, stored_codes: dict[str, str], *,
                      confirmed: Sequence[tuple[str, str]] = (), actor_id: int | None,
                      request_id: str | None = None) -> tuple[int, list[Problem]]:
    """Store the enemy pairs an import names (codes resolved against the file, then the bank as it
    was before the import) and the cueing pairs the admin confirmed on its preview (by
    fingerprint). Returns (pairs added, problems); nothing is stored when there are problems."""
    pairs, problems = links.resolve(stored_codes)
    if problems:
        return 0, problems
    wanted = {(min(a, b), max(a, b)) for a, b in list(pairs) + [tuple(p) for p in confirmed]}  # type: ignore[misc]
    if not wanted:
        return 0, []
    fps = sorted({fp for p in wanted for fp in p})
    ids: dict[str, int] = {}
    for k in range(0, len(fps), 1000):
        rows = await session.execute(select(BankQuestion.fingerprint, BankQuestion.id).where(
            BankQuestion.bank_id == bank_id, BankQuestion.fingerprint.in_(fps[k:k + 1000])))
        ids.update(dict(rows.all()))
    from_file = set(pairs)
    named: list[tuple[int, int]] = []
    confirmed_ids: list[tuple[int, int]] = []
    for a, b in sorted(wanted):
        if a in ids and b in ids:  # a confirmed pair may name a question the import left out
            (named if (a, b) in from_file else confirmed_ids).append((ids[a], ids[b]))
    try:
        added = await add_pairs(session, named, source="import", actor_id=actor_id, request_id=request_id)
        added += await add_pairs(session, confirmed_ids, source="cueing", actor_id=actor_id, request_id=request_id)
    except PairRefused as exc:
        return 0, [Problem(None, "互斥题", f"互斥题：{exc.message}", whole_file=True)]
    return added, []


# ---------------------------------------------------------------- codes


def checked_code(value: object) -> str | None:
    """A code the admin typed, normalised; None for empty. Raises InvalidInput naming the field."""
    code = normalise_code(value)
    if not code:
        return None
    why = code_problem(code)
    if why:
        raise InvalidInput(why, fields={"code": why})
    return code[:MAX_CODE_CHARS]


async def code_owner(session: AsyncSession, bank_id: int, code: str) -> int | None:
    return await session.scalar(select(BankQuestion.id).where(BankQuestion.bank_id == bank_id, BankQuestion.code == code))


async def question_banks_of(session: AsyncSession, ids: Iterable[int]) -> dict[int, int]:
    """question id -> bank id, for the ids that exist."""
    wanted = sorted(set(ids))
    out: dict[int, int] = {}
    for k in range(0, len(wanted), 1000):
        rows = await session.execute(select(BankQuestion.id, BankQuestion.bank_id)
                                     .where(BankQuestion.id.in_(wanted[k:k + 1000])))
        out.update(rows.all())
    return out


async def require_question(session: AsyncSession, question_id: int) -> BankQuestion:
    row = await session.get(BankQuestion, question_id)
    if row is None:
        raise NotFound("试题不存在")
    return row
