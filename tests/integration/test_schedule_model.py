"""Issue 18's proof: a model-based test of the exam engine under changing schedules, on both backends.

Hypothesis interleaves at random what the admin, the bodies, physicians and the clock do: creating,
shortening, lengthening and closing schedules (the admin's, the one body whose physicians these are,
and another body's), starts, saves with sequence numbers (fresh and stale), extra time, submits
(early, in the grace, after the sweeper), clock advances and sweeps. After every step the database is
compared with a plain-Python model of docs/assessment-rules.md ("Which schedule applies"), written
here independently of exam/rules.py: attempts used, each deadline and state, who may start, each
score from the answers acknowledged, every registration's result, and that nobody is 考核不合格 while
an attempt of theirs runs.

The service calls are the ones the handlers and the sweeper make (on PostgreSQL the two-statement
start and the one-statement save first, falling back as the handlers do), each given the model's
clock, so time is controlled without sleeping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings as hsettings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import delete, select, update

from exam_server.banks.models import Paper
from exam_server.exam import answers as answer_service, attempts, papers, schedules, start_sql
from exam_server.exam.hot_path import HotPath
from exam_server.exam.models import Answer, Attempt, ExamSchedule, InvigilatorAssignment
from exam_server.exam.sweeper import sweep_once
from exam_server.settings import Settings
from registry.db import make_engine, make_sessionmaker, utcnow
from registry.errors import IllegalTransition, InvalidInput
from registry.models import Account, AssessmentBody, Institution, Message, Physician, Registration
from registry.roles import Role
from registry.scope import Actor

from ..conftest import _empty
from ..exam_flows import GENERAL, SIMPLE, SIMPLE_STOMA, WAIVED_PRO

GRACE = 10
LIMIT = 60  # minutes, every schedule here
PASS_MARK = 60.0
DEVICE = "device-model-01"
PHYSICIANS = (GENERAL, SIMPLE, WAIVED_PRO, SIMPLE_STOMA)
OWNERS = ("admin", "body01", "body02")
# Examples and steps per backend: one to two minutes each on the shared 2-core machine (PostgreSQL
# round trips cost more than SQLite's, so it runs fewer).
EXAMPLES = {"sqlite": 10, "postgres": 6}
STEPS = 30


# ------------------------------------------------------------------ the model


@dataclass
class MSchedule:
    id: int
    owner: str  # "admin" reaches every body
    start: dt.datetime
    end: dt.datetime
    allowed: int
    closed: bool = False


@dataclass
class MItem:
    key: str
    wrong: str
    points: float


@dataclass
class MAttempt:
    id: int
    physician: int
    schedule: int
    started: dt.datetime
    deadline: dt.datetime
    items: list[MItem]
    extra: int = 0
    state: str = "in_progress"
    reason: str | None = None
    score: float | None = None
    acked: dict[int, tuple[str, int]] = field(default_factory=dict)  # item -> (choice, seq) acknowledged
    seq: int = 0
    cursor: int = 0


@dataclass
class MPhysician:
    index: int
    id: int
    account_id: int
    general: bool  # one attempt; GENERAL also needs the professional paper (never sat here)
    needs_professional: bool
    body: str
    state: str = "APPROVED"


def reaches(s: MSchedule, p: MPhysician) -> bool:
    return s.owner == "admin" or s.owner == p.body


def overlap(a_start: dt.datetime, a_end: dt.datetime, b: MSchedule) -> bool:
    return a_start < b.end and b.start < a_end


class Model:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.schedules: dict[int, MSchedule] = {}
        self.attempts: dict[int, MAttempt] = {}
        self.physicians: dict[int, MPhysician] = {}

    def windows(self, p: MPhysician) -> list[MSchedule]:
        return [s for s in self.schedules.values() if reaches(s, p)]

    def applicable(self, p: MPhysician) -> MSchedule | None:
        """The open window, else the next to open, else the one that ended last."""
        ws = self.windows(p)
        opened = [s for s in ws if s.start <= self.now < s.end]
        if opened:
            return max(opened, key=lambda s: (s.end, s.id))
        upcoming = [s for s in ws if self.now < s.start]
        if upcoming:
            return min(upcoming, key=lambda s: (s.start, s.id))
        return max(ws, key=lambda s: (s.end, s.id)) if ws else None

    def of(self, p: MPhysician) -> list[MAttempt]:
        return [a for a in self.attempts.values() if a.physician == p.index]

    def allowed(self, p: MPhysician) -> int:
        w = self.applicable(p)
        return 1 if p.general else (w.allowed if w else 3)

    def outcome(self, p: MPhysician) -> str:
        atts = self.of(p)
        if any(a.score is not None and a.score >= PASS_MARK for a in atts):
            return "passed"
        running = any(a.state == "in_progress" for a in atts)
        if not running and atts and len(atts) >= self.allowed(p):
            return "failed"
        w = self.applicable(p)
        if w is not None and self.now >= w.end and not running:
            return "failed"
        return "pending"

    def running(self, p: MPhysician) -> MAttempt | None:
        return next((a for a in self.of(p) if a.state == "in_progress"), None)

    def may_start(self, p: MPhysician) -> bool:
        w = self.applicable(p)
        return (p.state == "APPROVED" and self.outcome(p) == "pending" and self.running(p) is None
                and w is not None and w.start <= self.now < w.end and len(self.of(p)) < self.allowed(p))

    def decide(self, p: MPhysician) -> None:
        if p.state != "APPROVED":
            return
        out = self.outcome(p)
        if out == "failed":
            p.state = "FAILED"
        elif out == "passed" and not p.needs_professional:
            p.state = "PASSED"

    def deadline(self, a: MAttempt) -> dt.datetime:
        s = self.schedules[a.schedule]
        return min(a.started + dt.timedelta(minutes=LIMIT), s.end) + dt.timedelta(minutes=a.extra)

    def overdue(self, a: MAttempt) -> bool:
        return self.now > a.deadline + dt.timedelta(seconds=GRACE)

    def finish(self, a: MAttempt, reason: str) -> None:
        a.state, a.reason = "scored", reason
        a.score = round(sum(it.points for n, it in enumerate(a.items, start=1)
                            if n in a.acked and a.acked[n][0] == it.key), 2)
        self.decide(self.physicians[a.physician])

    def sweep(self) -> None:
        for a in sorted(self.attempts.values(), key=lambda a: a.deadline):
            if a.state == "in_progress" and self.overdue(a):
                self.finish(a, "time_up")
        for s in self.schedules.values():
            if s.closed or s.end > self.now:
                continue
            if any(a.state == "in_progress" and a.schedule == s.id for a in self.attempts.values()):
                continue
            s.closed = True
            for p in self.physicians.values():
                if reaches(s, p):
                    self.decide(p)


# ------------------------------------------------------------------ the system


class System:
    """The service functions the handlers call, each on its own transaction, with the model's clock."""

    def __init__(self, url: str, backend: str) -> None:
        self.url, self.backend = url, backend
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        self.cache = papers.PaperCache()
        self.hot: HotPath | None = None
        self.actors: dict[str, Actor] = {}
        self.paper_id = 0

    async def open(self) -> None:
        if self.backend == "postgres":
            self.hot = await HotPath.open(self.url, size=2)

    async def close(self) -> None:
        if self.hot is not None:
            await self.hot.close()
        await self.engine.dispose()

    async def reset(self) -> list[MPhysician]:
        """Back to the seeded state: no humanities schedule, no attempt, everyone approved."""
        from exam_server.demo.exams import exam_login

        async with self.sessions() as s, s.begin():
            await s.execute(delete(Answer))
            await s.execute(delete(Attempt))
            hum = select(ExamSchedule.id).where(ExamSchedule.kind == "humanities").scalar_subquery()
            await s.execute(delete(InvigilatorAssignment).where(InvigilatorAssignment.schedule_id.in_(hum)))
            await s.execute(delete(ExamSchedule).where(ExamSchedule.kind == "humanities"))
            await s.execute(delete(Message))
            self.paper_id = await s.scalar(select(Paper.id).where(Paper.kind == "humanities").order_by(Paper.id))
            for name in OWNERS:
                account = await s.scalar(select(Account).where(Account.username == name))
                self.actors[name] = Actor.of(account)
            bodies = {b.id: b for b in (await s.scalars(select(AssessmentBody))).all()}
            body_name = {self.actors[n].body_id: n for n in ("body01", "body02")}
            out = []
            for index in PHYSICIANS:
                ph = await s.scalar(select(Physician).where(Physician.id_number == exam_login(index)))
                inst = await s.get(Institution, ph.institution_id)
                account = await s.scalar(select(Account).where(Account.physician_id == ph.id))
                await s.execute(update(Registration).where(Registration.physician_id == ph.id)
                                .values(state="APPROVED"))
                assert inst.body_id in bodies
                out.append(MPhysician(index, ph.id, account.id, general=index in (GENERAL, WAIVED_PRO),
                                      needs_professional=index == GENERAL,
                                      body=body_name.get(inst.body_id, "other")))
        return out

    def physician_actor(self, p: MPhysician) -> Actor:
        return Actor(account_id=p.account_id, role=Role.PHYSICIAN, physician_id=p.id)

    async def create(self, owner: str, start: dt.datetime, end: dt.datetime, allowed: int) -> int:
        async with self.sessions() as s, s.begin():
            made = await schedules.create_schedule(s, self.actors[owner], paper_id=self.paper_id, window_start=start,
                                                   window_end=end, time_limit_minutes=LIMIT, attempts_allowed=allowed,
                                                   pass_mark=PASS_MARK)
            return made.id

    async def edit(self, owner: str, schedule_id: int, start: dt.datetime, end: dt.datetime) -> None:
        async with self.sessions() as s, s.begin():
            await schedules.update_window(s, self.actors[owner], schedule_id, window_start=start, window_end=end)

    async def start(self, p: MPhysician, now: dt.datetime) -> int:
        if self.hot is not None:
            async def load_pool(paper_id: int, bank_ids: Any) -> Any:
                async with self.sessions() as s:
                    return await self.cache.pool_of(s, paper_id, bank_ids)

            started = await start_sql.start(self.hot.pool, self.cache, load_pool, physician_id=p.id,
                                            account_id=p.account_id, kind="humanities", device_id=DEVICE,
                                            face_check=False, now=now, request_id=None)
            if started is not None:
                return started.attempt_id
        async with self.sessions() as s, s.begin():
            a = await attempts.start_attempt(s, self.physician_actor(p), "humanities", device_id=DEVICE, now=now,
                                             cache=self.cache)
            return a.id

    async def items(self, attempt_id: int) -> list[MItem]:
        """The test's oracle: keys and points as scoring reads them (no endpoint reveals keys)."""
        async with self.sessions() as s:
            record = await s.scalar(select(Attempt.paper).where(Attempt.id == attempt_id))
            paper = await papers.rebuild(s, papers.PaperCache(), attempt_id, record)
        return [MItem("".join(it.key), next(o.label for o in it.options if o.label not in it.key), it.points)
                for it in paper.items]

    async def save(self, a: MAttempt, raw: list[dict[str, Any]], now: dt.datetime) -> answer_service.SaveResult:
        args: dict[str, Any] = dict(attempt_id=a.id, physician_id=self.model_ids[a.physician], device_id=DEVICE,
                                    raw=raw, now=now, grace_seconds=GRACE)
        result = await self.hot.save(self.cache, **args) if self.hot is not None else None
        if result is None:
            async with self.sessions() as s, s.begin():
                result = await answer_service.save_answers(s, self.cache, **args)
        return result

    async def submit(self, a: MAttempt, now: dt.datetime) -> None:
        async with self.sessions() as s, s.begin():
            await attempts.submit_own(s, a.id, self.model_ids[a.physician], DEVICE, now=now, grace_seconds=GRACE,
                                      cache=self.cache)

    async def extra(self, owner: str, a: MAttempt, minutes: int, now: dt.datetime) -> None:
        async with self.sessions() as s, s.begin():
            await attempts.grant_extra_time(s, self.actors[owner], a.id, minutes, "照顾", now=now)

    async def sweep(self, now: dt.datetime) -> None:
        await sweep_once(self.sessions, self.cache, _noop, grace_seconds=GRACE, clock=lambda: now)

    async def snapshot(self, model: Model) -> dict[str, Any]:
        async with self.sessions() as s:
            regs = dict((await s.execute(select(Registration.physician_id, Registration.state))).all())
            rows = {a.id: a for a in (await s.scalars(select(Attempt))).all()}
            saved: dict[int, dict[int, tuple[str, int]]] = {}
            for ans in (await s.scalars(select(Answer))).all():
                saved.setdefault(ans.attempt_id, {})[ans.item_number] = (ans.choice, ans.seq)
            closed = dict((await s.execute(select(ExamSchedule.id, ExamSchedule.closed_at)
                                           .where(ExamSchedule.kind == "humanities"))).all())
            exams = {}
            for p in model.physicians.values():
                view = await attempts.my_exams(s, self.physician_actor(p), now=model.now, is_published=_never)
                exams[p.index] = next(x for x in view["papers"] if x["kind"] == "humanities")
        return {"regs": regs, "rows": rows, "saved": saved, "closed": closed, "exams": exams}

    model_ids: dict[int, int] = {}


async def _noop(*_a: Any, **_k: Any) -> None:
    return None


async def _never(*_a: Any) -> bool:
    return False


# ------------------------------------------------------------------ the machine

OFFSETS = st.sampled_from([-90, -30, -1, 0, 5, 45, 120])  # minutes from now
LENGTHS = st.sampled_from([20, 60, 180])
TICKS = st.sampled_from([dt.timedelta(seconds=s) for s in (1, 9, 11)]
                        + [dt.timedelta(minutes=m) for m in (1, 7, 25, 70)])


def machine_for(url: str, backend: str) -> type[RuleBasedStateMachine]:
    class ScheduleMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.sys = System(url, backend)
            self.run(self.sys.open())
            physicians = self.run(self.sys.reset())
            self.model = Model(utcnow().replace(microsecond=0))
            self.model.physicians = {p.index: p for p in physicians}
            System.model_ids = {p.index: p.id for p in physicians}

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        def teardown(self) -> None:
            self.run(self.sys.close())
            self.loop.close()

        def pick_attempt(self, i: int) -> MAttempt:
            ids = sorted(self.model.attempts)
            return self.model.attempts[ids[i % len(ids)]]

        def physician(self, i: int) -> MPhysician:
            return self.model.physicians[PHYSICIANS[i % len(PHYSICIANS)]]

        # -- schedules

        @rule(owner=st.sampled_from(OWNERS), offset=OFFSETS, length=LENGTHS, allowed=st.sampled_from([1, 2, 3]))
        def create(self, owner: str, offset: int, length: int, allowed: int) -> None:
            m = self.model
            start = m.now + dt.timedelta(minutes=offset)
            end = start + dt.timedelta(minutes=length)
            same_owner = any(s.owner == owner for s in m.schedules.values())
            clash = any(overlap(start, end, s) for s in m.schedules.values()
                        if "admin" in (owner, s.owner) or owner == s.owner)
            try:
                sid = self.run(self.sys.create(owner, start, end, allowed))
            except InvalidInput as exc:
                assert same_owner or clash, f"refused without a clash: {exc.message}"
                if clash and not same_owner:
                    assert "时间重叠" in exc.message, exc.message
                return
            assert not same_owner and not clash, "two open windows for one physician and paper were allowed"
            m.schedules[sid] = MSchedule(sid, owner, start, end, allowed)

        @precondition(lambda self: self.model.schedules)
        @rule(i=st.integers(0, 5), offset=st.sampled_from([-40, -1, 0, 3, 30, 240]))
        def move_end(self, i: int, offset: int) -> None:
            """Shorten, lengthen or close (end now) a window, by its owner."""
            m = self.model
            s = m.schedules[sorted(m.schedules)[i % len(m.schedules)]]
            end = m.now + dt.timedelta(minutes=offset)
            clash = any(overlap(s.start, end, o) for o in m.schedules.values()
                        if o.id != s.id and ("admin" in (s.owner, o.owner) or s.owner == o.owner))
            try:
                self.run(self.sys.edit(s.owner, s.id, s.start, end))
            except InvalidInput as exc:
                assert s.closed or end <= s.start or clash, f"edit refused without a reason: {exc.message}"
                return
            assert not s.closed and end > s.start and not clash, "a refused edit went through"
            s.end = end
            for a in m.attempts.values():
                if a.schedule == s.id and a.state == "in_progress":
                    a.deadline = m.deadline(a)

        # -- physicians

        @rule(i=st.integers(0, 3))
        def start(self, i: int) -> None:
            m, p = self.model, self.physician(i)
            expected = m.may_start(p)
            try:
                attempt_id = self.run(self.sys.start(p, m.now))
            except IllegalTransition as exc:
                assert not expected, f"start refused ({exc.message}) though the rules allow it"
                return
            assert expected, "a start the rules forbid went through"
            w = m.applicable(p)
            assert w is not None
            a = MAttempt(attempt_id, p.index, w.id, m.now, m.now, self.run(self.sys.items(attempt_id)))
            a.deadline = m.deadline(a)
            m.attempts[attempt_id] = a

        @precondition(lambda self: self.model.attempts)
        @rule(i=st.integers(0, 5), count=st.sampled_from([1, 8, 40]), correct=st.booleans(), stale=st.booleans())
        def save(self, i: int, count: int, correct: bool, stale: bool) -> None:
            m, a = self.model, self.pick_attempt(i)
            raw, expect_saved, expect_stale = [], [], []
            if stale and a.acked:
                item = sorted(a.acked)[0]
                raw.append({"item": item, "choice": a.items[item - 1].wrong, "seq": a.acked[item][1] - 1})
                expect_stale.append(item)
            else:
                for _ in range(min(count, len(a.items))):
                    n = a.cursor % len(a.items) + 1
                    a.cursor += 1
                    a.seq += 1
                    it = a.items[n - 1]
                    raw.append({"item": n, "choice": it.key if correct else it.wrong, "seq": a.seq})
                    expect_saved.append(n)
            try:
                result = self.run(self.sys.save(a, raw, m.now))
            except answer_service.TimeUp as exc:
                assert a.state != "in_progress" or m.overdue(a), "an answer in time was refused"
                if m.now > a.deadline:
                    assert exc.message == "作答时间已到，本次答案未能保存", exc.message
                return
            assert a.state == "in_progress" and not m.overdue(a), "an answer was taken after deadline + grace"
            assert sorted(x["item"] for x in result.saved) == sorted(expect_saved)
            assert sorted(x["item"] for x in result.stale) == sorted(expect_stale)
            for ans in raw:
                if ans["item"] in expect_saved:
                    a.acked[ans["item"]] = (ans["choice"], ans["seq"])

        @precondition(lambda self: self.model.attempts)
        @rule(i=st.integers(0, 5))
        def submit(self, i: int) -> None:
            m, a = self.model, self.pick_attempt(i)
            self.run(self.sys.submit(a, m.now))  # never an error, whoever submitted first
            if a.state == "in_progress":
                m.finish(a, "time_up" if m.overdue(a) else "physician")

        @precondition(lambda self: self.model.attempts)
        @rule(i=st.integers(0, 5), minutes=st.sampled_from([5, 15]), owner=st.sampled_from(("admin", "body01")))
        def extra_time(self, i: int, minutes: int, owner: str) -> None:
            m, a = self.model, self.pick_attempt(i)
            try:
                self.run(self.sys.extra(owner, a, minutes, m.now))
            except IllegalTransition:
                assert a.state != "in_progress" or a.deadline <= m.now, "extra time refused while it runs"
                return
            except InvalidInput:
                assert a.extra + minutes > attempts.MAX_EXTRA_MINUTES
                return
            assert a.state == "in_progress" and a.deadline > m.now
            before = a.deadline
            a.extra += minutes
            a.deadline = max(before, m.deadline(a))
            assert a.deadline >= before

        # -- the clock and the sweeper

        @rule(tick=TICKS)
        def advance(self, tick: dt.timedelta) -> None:
            self.model.now += tick

        @rule()
        def sweep(self) -> None:
            self.run(self.sys.sweep(self.model.now))
            self.model.sweep()

        # -- after every step

        @invariant()
        def database_matches_the_model(self) -> None:
            m = self.model
            snap = self.run(self.sys.snapshot(m))
            for p in m.physicians.values():
                state = snap["regs"][p.id]
                assert state == p.state, (p.index, state, p.state)
                running = m.running(p)
                assert not (state == "FAILED" and running is not None), "考核不合格 while an attempt runs"
                view = snap["exams"][p.index]
                assert view["attempts_used"] == len(m.of(p)), (view, len(m.of(p)))
                assert view["attempt_in_progress"] == (running.id if running else None), view
                assert view["can_start"] == m.may_start(p), (p.index, view, m.now)
            assert set(snap["rows"]) == set(m.attempts)
            for a in m.attempts.values():
                row = snap["rows"][a.id]
                assert row.schedule_id == a.schedule
                assert row.deadline == a.deadline, (a.id, row.deadline, a.deadline)
                assert row.state == a.state and row.submit_reason == a.reason, (row.state, row.submit_reason, a)
                assert row.score == a.score, (row.score, a.score)
                # no acknowledged answer lost, nothing unacknowledged stored
                assert snap["saved"].get(a.id, {}) == a.acked
            for sid, s in m.schedules.items():
                assert (snap["closed"][sid] is not None) == s.closed, (sid, s)

    return ScheduleMachine


def test_schedules_attempts_and_results_follow_the_rules(backend_db: tuple[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    backend, url = backend_db

    async def seed() -> None:
        from exam_server.demo.exams import seed_exam_demo
        from exam_server.demo.seed import seed_demo

        s = Settings(database_url=url, redis_url=None, secret_key="t" * 40, storage_dir=tmp_path / "storage", cookie_secure=False,
                     demo_mode=True, log_json=False, exam_face_check=False)
        await seed_demo(s)
        await seed_exam_demo(s)

    asyncio.run(seed())
    try:
        run_state_machine_as_test(machine_for(url, backend), settings=hsettings(
            max_examples=EXAMPLES[backend], stateful_step_count=STEPS, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    finally:
        asyncio.run(_empty(url))


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
