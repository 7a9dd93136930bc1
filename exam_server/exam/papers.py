"""Drawing an attempt's paper and rebuilding it later: pools cached per paper, questions snapshotted.

A province sitting the same paper starts thousands of attempts within minutes; building a pool
means loading every question of the banks, so each process keeps the pool of a paper for
``POOL_TTL`` seconds. A rebuilt paper is immutable, so it is kept per attempt (LRU).

A drawn paper is some thousand objects (items, relabelled options); thousands of them per process
made each full pass of the garbage collector take seconds, stalling every request. So only the
papers of the last ``PAPER_CACHE_SIZE`` attempts opened here are kept whole (page loads, scoring
rebuild the others from the snapshots, which are shared); what every save needs, each item's
labels and single/multiple, is kept for ``OPTIONS_CACHE_SIZE`` attempts as plain tuples of strings,
which the collector does not track.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from question_bank import Blueprint, Pool, Question, question_from_dict, question_to_dict
from question_bank.drawing import DrawnPaper, draw_paper, paper_from_record

from ..banks.models import Paper
from ..banks.question_store import bank_pool
from .models import QuestionSnapshot

POOL_TTL = 30.0
PAPER_CACHE_SIZE = 2_000
OPTIONS_CACHE_SIZE = 100_000
SNAPSHOT_MEMO_SIZE = 20_000  # questions; a bank holds a few thousand


def snapshot_key(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


@dataclass(slots=True)
class PaperCache:
    """Per-process caches; nothing in them is authoritative."""

    pools: dict[int, tuple[float, Pool]] = field(default_factory=dict)
    pool_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    papers: OrderedDict[int, DrawnPaper] = field(default_factory=OrderedDict)
    snapshots_known: set[str] = field(default_factory=set)
    # Content-addressed, so immutable: every rebuilt paper shares these question objects.
    snapshot_questions: dict[str, Question] = field(default_factory=dict)
    # Pool question (kept alive here, so its id() is not reused) -> (snapshot key, snapshot payload).
    drawn_snapshots: dict[int, tuple[Question, str, dict[str, Any]]] = field(default_factory=dict)
    # Attempt -> item_options of its paper (LRU): every save checks its answers against them.
    options: OrderedDict[int, tuple[tuple[str, bool], ...]] = field(default_factory=OrderedDict)
    # Pool (kept alive here, so its id() is not reused) -> its signature (see pool_signature).
    signatures: dict[int, tuple[Pool, str]] = field(default_factory=dict)

    def pool_signature(self, pool: Pool) -> str:
        """What a draw from ``pool`` depends on: each unit's questions (content fingerprint, category,
        difficulty, points) and the enemy pairs. Computed once per loaded pool."""
        hit = self.signatures.get(id(pool))
        if hit is not None and hit[0] is pool:
            return hit[1]
        h = hashlib.sha256()
        for unit in pool.units:
            for q in unit:
                h.update(f"{q.fingerprint}\x1f{q.category}\x1f{q.difficulty}\x1f{q.points}\x1e".encode())
            h.update(b"\x1d")
        for u in sorted(pool.enemies):
            h.update(f"{u}:{','.join(map(str, sorted(pool.enemies[u])))};".encode())
        if len(self.signatures) > 64:  # pools are reloaded every POOL_TTL s; old ones are garbage
            self.signatures.clear()
        self.signatures[id(pool)] = (pool, h.hexdigest())
        return self.signatures[id(pool)][1]

    def snapshot_of(self, question: Question) -> tuple[str, dict[str, Any]]:
        hit = self.drawn_snapshots.get(id(question))
        if hit is not None and hit[0] is question:
            return hit[1], hit[2]
        payload = question_to_dict(question.with_id(None))
        key = snapshot_key(payload)
        if len(self.drawn_snapshots) >= SNAPSHOT_MEMO_SIZE:  # pools are reloaded every POOL_TTL s
            self.drawn_snapshots.clear()
        self.drawn_snapshots[id(question)] = (question, key, payload)
        return key, payload

    async def pool(self, session: AsyncSession, paper: Paper) -> Pool:
        return await self.pool_of(session, paper.id, paper.bank_ids)

    def cached_pool(self, paper_id: int) -> Pool | None:
        """The paper's question pool when loaded here within POOL_TTL (no session needed), else None."""
        hit = self.pools.get(paper_id)
        return hit[1] if hit and time.monotonic() - hit[0] < POOL_TTL else None

    async def pool_of(self, session: AsyncSession, paper_id: int, bank_ids: Sequence[int]) -> Pool:
        cached = self.cached_pool(paper_id)
        if cached is not None:
            return cached
        async with self.pool_locks.setdefault(paper_id, asyncio.Lock()):  # one load when a crowd starts at once
            cached = self.cached_pool(paper_id)
            if cached is not None:
                return cached
            pool = await bank_pool(session, bank_ids)
            self.pools[paper_id] = (time.monotonic(), pool)
            return pool

    def remember(self, attempt_id: int, paper: DrawnPaper) -> None:
        self.papers[attempt_id] = paper
        self.papers.move_to_end(attempt_id)
        while len(self.papers) > PAPER_CACHE_SIZE:
            self.papers.popitem(last=False)
        self.options[attempt_id] = item_options(paper)
        self.options.move_to_end(attempt_id)
        while len(self.options) > OPTIONS_CACHE_SIZE:
            self.options.popitem(last=False)

    def forget(self, attempt_id: int) -> None:
        self.papers.pop(attempt_id, None)
        self.options.pop(attempt_id, None)

    def options_of(self, attempt_id: int) -> tuple[tuple[str, bool], ...] | None:
        """The labels and single/multiple of each item of a paper opened in this process, or None."""
        return self.options.get(attempt_id)


def blueprint_for(paper: Paper, *, time_limit_minutes: int, pass_mark: float) -> Blueprint:
    """The paper definition with the schedule's time limit and pass mark."""
    return blueprint_from(paper.blueprint, time_limit_minutes=time_limit_minutes, pass_mark=pass_mark)


def blueprint_from(stored: dict[str, Any], *, time_limit_minutes: int, pass_mark: float) -> Blueprint:
    d = dict(stored)
    d.update(time_limit_minutes=time_limit_minutes, pass_mark=pass_mark)
    return Blueprint.from_dict(d)


async def draw(session: AsyncSession, cache: PaperCache, paper: Paper, blueprint: Blueprint, *, seed: str,
               seen: Sequence[str]) -> tuple[dict[str, Any], DrawnPaper]:
    """Draw, snapshot the drawn questions, and return (record to store, drawn paper)."""
    pool = await cache.pool(session, paper)
    drawn = draw_paper(pool, blueprint, seed=seed, seen=seen)
    snaps = [cache.snapshot_of(it.question) for it in drawn.items]
    keys = [k for k, _ in snaps]
    payloads = [p for _, p in snaps]
    new = {k: p for k, p in zip(keys, payloads) if k not in cache.snapshots_known}
    if new:
        # Sorted, so concurrent starts drawing the same questions lock rows in one order (no deadlock).
        rows = [{"fingerprint": k, "payload": new[k]} for k in sorted(new)]
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(insert(QuestionSnapshot).values(rows).on_conflict_do_nothing())
        # Known only once committed: a start that rolls back must not stop the next one writing them.
        event.listen(session.sync_session, "after_commit", lambda _s: cache.snapshots_known.update(new), once=True)
    record = drawn.to_record()
    record["snaps"] = keys
    return record, drawn


# Reads the snapshots of the given fingerprints: (fingerprint, payload) rows.
FetchSnapshots = Callable[[set[str]], Awaitable[Sequence[tuple[str, dict[str, Any]]]]]


async def fetch_snapshots(session: AsyncSession, keys: set[str]) -> Sequence[tuple[str, dict[str, Any]]]:
    rows = (await session.execute(select(QuestionSnapshot.fingerprint, QuestionSnapshot.payload)
                                  .where(QuestionSnapshot.fingerprint.in_(keys)))).all()
    return [(k, p) for k, p in rows]


async def rebuild(session: AsyncSession, cache: PaperCache, attempt_id: int, record: dict[str, Any]) -> DrawnPaper:
    return await rebuild_with(lambda keys: fetch_snapshots(session, keys), cache, attempt_id, record)


async def rebuild_with(fetch: FetchSnapshots, cache: PaperCache, attempt_id: int, record: dict[str, Any]) -> DrawnPaper:
    """The attempt's paper from its record; ``fetch`` reads the snapshots this process has not seen,
    so a caller holding no connection opens one only for that read."""
    hit = cache.papers.get(attempt_id)
    if hit is not None:
        return hit
    keys = list(record["snaps"])
    known = cache.snapshot_questions
    by_key = {k: known[k] for k in keys if k in known}  # taken before any await: another request may clear it
    missing = set(keys) - by_key.keys()
    if missing:
        fetched = {k: question_from_dict(p) for k, p in await fetch(missing)}
        if len(known) + len(fetched) > SNAPSHOT_MEMO_SIZE:
            known.clear()
        known.update(fetched)
        by_key.update(fetched)
    questions: dict[str, Question] = {}
    for key, item in zip(keys, record["items"]):
        questions[item["fp"]] = by_key[key]
    paper = paper_from_record(record, questions)
    cache.remember(attempt_id, paper)
    return paper


def draw_basis(cache: PaperCache, pool: Pool, stored_blueprint: dict[str, Any], *, time_limit_minutes: int,
               pass_mark: float) -> str:
    """What a paper drawn for a schedule depends on: its pool, blueprint, time limit and pass mark. A
    paper drawn ahead is claimed only while this is unchanged (see :mod:`.predraw`)."""
    extra = json.dumps([stored_blueprint, int(time_limit_minutes), float(pass_mark)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{cache.pool_signature(pool)}|{extra}".encode()).hexdigest()


def seen_fingerprints(records: Sequence[dict[str, Any]]) -> list[str]:
    return [it["fp"] for r in records for it in r.get("items", [])]


def _image(img: Any) -> dict[str, str]:
    if img.data is not None:
        return {"src": f"data:{img.mime};base64,{base64.b64encode(img.data).decode()}", "name": img.name}
    return {"src": img.ref or "", "name": img.name}


def candidate_view(paper: DrawnPaper) -> dict[str, Any]:
    """What the candidate's page shows: stems and options in display order; never keys or explanations."""
    items = [{
        "number": it.number,
        "type": it.question.type.value,
        "type_label": it.question.type.label_zh,
        "stem": it.question.stem,
        "images": [_image(i) for i in it.question.images],
        "options": [{"label": o.label, "text": o.text} for o in it.options],
        "multiple": it.multiple,
        "points": it.points,
        "group": it.group_index,
    } for it in paper.items]
    groups = [{"index": g.index, "type": g.type.value, "stem": g.stem,
               "options": [{"label": o.label, "text": o.text} for o in g.options],
               "images": [_image(i) for i in g.images], "items": list(g.item_numbers)} for g in paper.groups]
    return {"title": paper.title, "items": items, "groups": groups, "total_points": paper.total_points,
            "pass_mark": paper.pass_mark}


def item_options(paper: DrawnPaper) -> tuple[tuple[str, bool], ...]:
    return tuple(("".join(o.label for o in it.options), it.multiple) for it in paper.items)
