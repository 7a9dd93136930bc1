"""The accounts behind sessions, cached per process so a request does not cost a database round trip.

An entry lives ``ttl`` seconds. Any change to an account made through the ORM in this
application (password change or reset, phone binding, a bulk update of accounts) drops the
entry when the transaction commits, in this process at once and in every other process through
the live state's pub/sub; so a password change ends the old sessions everywhere within
milliseconds, and a change made behind the application's back (SQL by hand) within ``ttl``.
Losing the subscription (Redis restarted) empties the cache, since messages may have been missed.

Cached accounts are detached and shared by concurrent requests: read them, never change them
(load the row in your own session to change it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import OrderedDict
from typing import Any, Iterable, Mapping

import asyncpg
from sqlalchemy import Select, bindparam, event, select
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from registry.models import Account, AssessmentBody, Institution, Physician, Region

from ..infra.livestate import LiveFollower, LiveState, cancel_and_wait

CHANNEL = "account-changed"
_CHANGED = "dk_accounts_changed"  # Session.info: ids changed in this transaction, or "*" for "some"
log = logging.getLogger("dingkao.accounts")


class AccountCache:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine, live: LiveState, *,
                 ttl: float = 60.0, max_entries: int = 200_000, pg: asyncpg.Pool | None = None) -> None:
        """``pg``: on PostgreSQL, a plain asyncpg pool (the exam hot path's) to read accounts from."""
        self._engine = engine
        self._pg = pg
        self._live = live
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[int, tuple[float, Account]] = OrderedDict()
        # Bumped by every drop: a load that raced with a drop must not store what it read.
        self._generation = 0
        self._pending: set[asyncio.Task[None]] = set()
        # Announcements carry their sender: this process dropped its entries at commit already, and
        # hearing its own message later (over Redis, after requests that reloaded the account)
        # must not drop them a second time.
        self.origin = f"{os.getpid()}-{id(self):x}-{time.monotonic_ns():x}"
        self.loads = 0
        self.heard = 0  # announcements received (own ones included), for tests that wait for one
        self.listening = asyncio.Event()  # set while other processes' changes are heard (the follower's ready)
        self._watch(sessionmaker)

    async def get(self, account_id: int) -> Account | None:
        hit = self._entries.get(account_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        row: Mapping[str, Any] | None
        if self._pg is not None:  # one prepared statement, without SQLAlchemy's execution (about 0.5 ms of CPU)
            row = await self._pg.fetchrow(_LOAD_PG, account_id)
        else:
            # One read in autocommit: no BEGIN and ROLLBACK around it, two round trips fewer on each
            # miss (a crowd of cold sessions, as at the opening of a sitting).
            async with self._engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                found = (await conn.execute(_LOAD, {"account_id": account_id})).first()
            row = found._mapping if found is not None else None
        account = _account_of(row) if row is not None else None
        self.loads += 1
        if account is None or generation != self._generation:
            self._entries.pop(account_id, None)
            return account
        self._entries[account_id] = (now + self.ttl, account)
        self._entries.move_to_end(account_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return account

    def drop(self, ids: Iterable[int] | None) -> None:
        """Forget these accounts (None: all of them)."""
        self._generation += 1
        if ids is None:
            self._entries.clear()
        else:
            for account_id in ids:
                self._entries.pop(account_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    # ---- noticing changes

    def _watch(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Listen on a Session class of this application's own, so other engines are not affected."""

        class WatchedSession(sessionmaker.kw.get("sync_session_class", Session)):  # type: ignore[misc]
            pass

        sessionmaker.configure(sync_session_class=WatchedSession)

        @event.listens_for(WatchedSession, "after_flush")
        def changed_rows(session: Session, flush: UOWTransaction) -> None:
            # The flush's own states, not session.dirty (which walks the whole identity map).
            ids = {state.identity[0] for state in flush.states
                   if state.class_ is Account and state.identity is not None}
            if ids:
                _note(session, ids)

        @event.listens_for(WatchedSession, "do_orm_execute")
        def changed_in_bulk(state: ORMExecuteState) -> None:
            if (state.is_update or state.is_delete) and any(m.class_ is Account for m in state.all_mappers):
                _note(state.session, None)

        @event.listens_for(WatchedSession, "after_commit")
        def committed(session: Session) -> None:
            changed = session.info.pop(_CHANGED, None)
            if changed is not None:
                self._changed(None if changed == "*" else changed)

        @event.listens_for(WatchedSession, "after_rollback")
        def rolled_back(session: Session) -> None:
            session.info.pop(_CHANGED, None)

    def _changed(self, ids: set[int] | None) -> None:
        self.drop(ids)
        message = json.dumps({"from": self.origin, "ids": sorted(ids) if ids is not None else "*"})
        try:
            task = asyncio.get_running_loop().create_task(self._publish(message))
        except RuntimeError:  # no loop (a synchronous script): nobody else to tell
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self._live.publish(CHANNEL, message)
        except Exception:  # Redis down: the others' subscriptions are down too and they empty their caches
            log.warning("could not announce an account change", exc_info=True)

    # ---- hearing about other processes' changes

    def start(self, follower: LiveFollower) -> None:
        # Anything may have changed while nobody listened: the cache empties on every (re)subscription and loss.
        follower.follow(CHANNEL, self._heard, on_gap=lambda: self.drop(None))
        self.listening = follower.ready

    async def stop(self) -> None:
        for task in list(self._pending):
            await cancel_and_wait(task)

    def _heard(self, raw: str) -> None:
        self.heard += 1
        try:
            data: Any = json.loads(raw)
        except ValueError:
            self.drop(None)
            return
        if isinstance(data, dict):
            if data.get("from") == self.origin:
                return
            data = data.get("ids")
        if isinstance(data, list) and all(type(i) is int for i in data):
            self.drop(data)
        else:
            self.drop(None)


# The account with what Account.physician (and Physician.institution, Institution.region and .body)
# load eagerly, read with one Core select: the ORM's get() of this graph cost a cold session about
# 0.7 ms of CPU (a province's opening is thousands of cold sessions within seconds).
_GRAPH = ((Account, None, None), (Physician, Account, "physician"), (Institution, Physician, "institution"),
          (Region, Institution, "region"), (AssessmentBody, Institution, "body"))


def _columns(model: type) -> list[tuple[str, Any]]:
    """(attribute, column) of each mapped column of ``model``."""
    mapper = model.__mapper__  # type: ignore[attr-defined]
    return [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]


def _load_query() -> Select[Any]:
    a, p, i, r, b = (m.__table__ for m, _, _ in _GRAPH)  # type: ignore[attr-defined]
    joined = (a.outerjoin(p, p.c.id == a.c.physician_id).outerjoin(i, i.c.id == p.c.institution_id)
              .outerjoin(r, r.c.id == i.c.region_id).outerjoin(b, b.c.id == i.c.body_id))
    labelled = [column.label(f"t{n}_{key}") for n, (m, _, _) in enumerate(_GRAPH) for key, column in _columns(m)]
    return select(*labelled).select_from(joined).where(a.c.id == bindparam("account_id"))


_LOAD = _load_query()
_LOAD_PG = str(_LOAD.compile(dialect=pg_asyncpg.dialect()))  # "... WHERE accounts.id = $1::INTEGER"
_FIELDS = [(m, parent, attr, f"t{n}_{m.__mapper__.primary_key[0].key}",  # type: ignore[attr-defined]
            [(key, f"t{n}_{key}") for key, _ in _columns(m)]) for n, (m, parent, attr) in enumerate(_GRAPH)]


def _account_of(values: Mapping[str, Any]) -> Account:
    """Detached objects as a session's get() would leave them: every column and eager relationship
    loaded, no history. (These tables' columns come the same from asyncpg as through SQLAlchemy.)"""
    built: dict[type, Any] = {}
    for model, parent, attr, pk, fields in _FIELDS:
        if parent is not None and parent not in built:
            continue  # the parent is absent (an account without a physician): so is this
        obj = None
        if values[pk] is not None:
            # As the ORM's loader fills a row's object: straight into its dict, without the constructor's
            # attribute events (which cost more than the read itself).
            obj = model.__mapper__.class_manager.new_instance()
            obj.__dict__.update({key: values[label] for key, label in fields})
            built[model] = obj
        if parent is not None:
            set_committed_value(built[parent], attr, obj)
    for obj in built.values():
        make_transient_to_detached(obj)
    return built[Account]


def _note(session: Session, ids: set[int] | None) -> None:
    current = session.info.get(_CHANGED)
    if ids is None or current == "*":
        session.info[_CHANGED] = "*"
    else:
        session.info[_CHANGED] = (current or set()) | ids
