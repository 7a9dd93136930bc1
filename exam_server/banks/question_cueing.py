"""The cueing check (:mod:`question_bank.cueing`) at import and on demand, and the import preview's
enemy part: references the file's 互斥题 cannot resolve, and likely pairs for the admin to confirm.

At import the file's questions are checked among themselves and against the bank's active
questions; on demand, a bank's (or one category's) active questions among themselves. Both skip
pairs that are enemies already. Both hold one small :class:`~question_bank.cueing.CueItem` per
question, so they stop at :data:`CUE_MAX` questions and say so (a larger bank is checked a
category at a time).
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from question_bank import Question, QuestionType
from question_bank.cueing import Cue, CueItem, find_cues
from question_bank.enemies import EnemyLinks
from question_bank.normalise import normalise_category
from question_bank.result import problem_to_dict
from registry.errors import InvalidInput

from . import question_enemies
from .models import BankQuestion, QuestionBank

CUE_MAX = 20_000
SHOWN_PAIRS = 500
_STEM = 80


class CueCollector:
    """The file's questions as the check reads them (one small record each), up to CUE_MAX."""

    def __init__(self, limit: int = CUE_MAX) -> None:
        self.limit = limit
        self.items: dict[str, CueItem] = {}
        self.shown: dict[str, dict[str, Any]] = {}
        self.too_many = False

    def add(self, q: Question) -> None:
        if self.too_many or q.fingerprint in self.items:
            return
        if len(self.items) >= self.limit:
            self.too_many = True
            self.items.clear()
            self.shown.clear()
            return
        group = f"file:{q.group_key}" if q.group_key else None
        self.items[q.fingerprint] = CueItem.parts(q.fingerprint, q.type, q.stem, [(o.label, o.text) for o in q.choices],
                                                  q.key, group)
        self.shown[q.fingerprint] = {"where": q.source_ref or "", "type": q.type.value, "type_label": q.type.label_zh,
                                     "stem": q.stem[:_STEM], "question_id": None}


async def _stored_items(session: AsyncSession, where: list[Any]) -> tuple[list[CueItem], dict[str, dict[str, Any]], dict[str, int]]:
    """The active questions matching ``where`` as cue records (parts of the payload, never its images)."""
    p = BankQuestion.payload
    rows = (await session.execute(
        select(BankQuestion.id, BankQuestion.fingerprint, BankQuestion.type, BankQuestion.group_key, BankQuestion.code,
               p["stem"], p["options"], p["key"], p[("group", "options")]).where(*where).order_by(BankQuestion.id))).all()
    items: list[CueItem] = []
    shown: dict[str, dict[str, Any]] = {}
    ids: dict[str, int] = {}
    for row_id, fp, qtype, group_key, code, stem, options, key, shared in rows:
        t = QuestionType(qtype)
        choices = (shared or []) if t is QuestionType.B1 else (options or [])
        items.append(CueItem.parts(fp, t, stem or "", [(o["label"], o["text"]) for o in choices], key or [],
                                   f"bank:{group_key}" if group_key else None))
        shown[fp] = {"where": f"题库编号 {row_id}" + (f"（{code}）" if code else ""), "type": qtype, "type_label": t.label_zh,
                     "stem": (stem or "")[:_STEM], "question_id": row_id}
        ids[fp] = row_id
    return items, shown, ids


def _pair(cue: Cue, shown: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"teller": {"fingerprint": cue.teller, **shown[cue.teller]}, "told": {"fingerprint": cue.told, **shown[cue.told]},
            "kind": cue.kind, "option": cue.option, "reason": cue.reason_zh, "score": cue.score}


async def import_preview(session: AsyncSession, bank: QuestionBank | None, links: EnemyLinks,
                         cues: CueCollector) -> dict[str, Any]:
    """What the preview adds about enemies: ``problems`` (references that cannot be resolved),
    ``named`` (pairs the file's 互斥题 name) and ``cueing`` (likely pairs, not yet enemies)."""
    stored_codes = await question_enemies.bank_codes(session, bank.id) if bank else {}
    named, problems = links.resolve(stored_codes)
    out: dict[str, Any] = {"problems": problems, "named": len(named)}
    if cues.too_many:
        out["cueing"] = {"checked": False, "pairs": [], "total": 0,
                         "note": f"文件超过 {CUE_MAX} 道试题，导入时未做提示检查；导入后可在题库页按分类运行“提示检查”"}
        return out
    among: list[CueItem] = []
    shown = dict(cues.shown)
    stored_pairs: set[tuple[str, str]] = set()
    note = ""
    if bank is not None:
        active = [BankQuestion.bank_id == bank.id, BankQuestion.retired.is_(False)]
        over = await session.scalar(select(BankQuestion.id).where(*active).order_by(BankQuestion.id).limit(1)
                                    .offset(CUE_MAX))
        if over is None:
            among, stored_shown, ids = await _stored_items(session, active)
            among = [it for it in among if it.ref not in cues.items]
            for fp, info in stored_shown.items():
                shown.setdefault(fp, info)
            by_id = {v: k for k, v in ids.items()}
            stored_pairs = {tuple(sorted((by_id[a], by_id[b])))  # type: ignore[misc]
                            for a, b in await question_enemies.existing_pairs(session, ids.values())
                            if a in by_id and b in by_id}
        else:
            note = f"题库中已有超过 {CUE_MAX} 道试题，只检查了本文件中试题之间的提示关系"
    found = await asyncio.to_thread(find_cues, list(cues.items.values()), among=among)
    named_set = set(named)
    pairs = [c for c in found if (min(c.teller, c.told), max(c.teller, c.told)) not in named_set | stored_pairs]
    out["cueing"] = {"checked": True, "pairs": [_pair(c, shown) for c in pairs[:SHOWN_PAIRS]], "total": len(pairs),
                     "note": note}
    return out


def merge_into(preview: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The preview with the enemy part added: unresolved references are problems like any other
    (they block the import, even a partial one)."""
    problems = extra["problems"]
    if problems:
        preview["problems"] = sorted(preview.get("problems", []) + [problem_to_dict(p) for p in problems],
                                     key=lambda p: p["line_or_row"] or 0)
        preview["problem_count"] = preview.get("problem_count", 0) + len(problems)
        preview["ok"] = False
        preview["can_skip"] = False
    preview["enemies_named"] = extra["named"]
    preview["cueing"] = extra["cueing"]
    return preview


def confirmed_pairs(preview: dict[str, Any] | None, chosen: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The chosen pairs, each one the preview listed (anything else is refused by name)."""
    listed = {(min(p["teller"]["fingerprint"], p["told"]["fingerprint"]), max(p["teller"]["fingerprint"], p["told"]["fingerprint"]))
              for p in ((preview or {}).get("cueing") or {}).get("pairs", [])}
    out: list[tuple[str, str]] = []
    for a, b in chosen:
        key = (min(a, b), max(a, b))
        if key not in listed:
            raise InvalidInput("所选的互斥题不在预览列出的提示关系中，请刷新页面后重新选择",
                               fields={"enemy_pairs": "所选的互斥题不在预览列出的提示关系中"})
        if key not in out:
            out.append(key)
    return out


async def bank_cues(session: AsyncSession, bank_id: int, *, category: str = "") -> dict[str, Any]:
    """The cueing check on demand: likely pairs among the bank's active questions (under a
    category prefix when given) that are not enemies yet."""
    where = [BankQuestion.bank_id == bank_id, BankQuestion.retired.is_(False)]
    prefix = normalise_category(category)
    if prefix:
        where.append(or_(BankQuestion.category == prefix, BankQuestion.category.like(_escape_like(prefix) + "/%", escape="\\")))
    over = await session.scalar(select(BankQuestion.id).where(*where).order_by(BankQuestion.id).limit(1).offset(CUE_MAX))
    if over is not None:
        msg = f"参与检查的试题超过 {CUE_MAX} 道，请选择一个分类分批检查"
        raise InvalidInput(msg, fields={"category": msg})
    items, shown, ids = await _stored_items(session, where)
    found = await asyncio.to_thread(find_cues, items)
    have = await question_enemies.existing_pairs(session, ids.values())
    pairs = [c for c in found if tuple(sorted((ids[c.teller], ids[c.told]))) not in have]
    return {"checked": len(items), "total": len(pairs), "category": prefix,
            "pairs": [_pair(c, shown) for c in pairs[:SHOWN_PAIRS]]}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
