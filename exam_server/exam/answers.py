"""Saving answers: the hot path of a sitting, one short transaction per request.

Per request: one read of the attempt (row-share locked on PostgreSQL, so a submit waits for a
save in flight and scores what was acknowledged), one multi-row upsert that keeps the answer
with the highest client sequence number, one commit. The reply says "saved" only after the
commit; an answer that lost to a newer one is reported as stale, never written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import IllegalTransition, InvalidInput, NotFound

from . import papers, rules
from .lifecycle import AttemptState
from .models import Attempt

MAX_ANSWERS_PER_REQUEST = 200

_UPSERT = ("INSERT INTO exam_answers (attempt_id, item_number, choice, flagged, seq, saved_at) VALUES {rows} "
           "ON CONFLICT (attempt_id, item_number) DO UPDATE SET choice = excluded.choice, "
           "flagged = excluded.flagged, seq = excluded.seq, saved_at = excluded.saved_at "
           "WHERE exam_answers.seq < excluded.seq RETURNING item_number")


class TakenOver(IllegalTransition):
    """Another device took the attempt over; this one must stop answering."""


class TimeUp(IllegalTransition):
    """The attempt's time is up (or it was submitted); nothing of this request was saved."""


TIME_UP_WORDS = "作答时间已到，本次答案未能保存"


def late(state: str, deadline: dt.datetime, now: dt.datetime, grace_seconds: float) -> TimeUp | None:
    """Why a save is refused for time (None: it may be saved): answers are taken until the deadline
    plus the grace; after that, and once the attempt is submitted, none. Past the deadline the words
    say the time is up, whoever submitted it."""
    past = now > deadline + dt.timedelta(seconds=grace_seconds)
    if state == AttemptState.IN_PROGRESS and not past:
        return None
    return TimeUp(TIME_UP_WORDS if now > deadline else "试卷已提交，不能再作答")


@dataclass(slots=True)
class SaveResult:
    saved: list[dict[str, int]] = field(default_factory=list)
    stale: list[dict[str, int]] = field(default_factory=list)
    deadline: dt.datetime | None = None


async def save_answers(session: AsyncSession, cache: papers.PaperCache, *, attempt_id: int, physician_id: int,
                       device_id: str, raw: Sequence[Any], now: dt.datetime, grace_seconds: float) -> SaveResult:
    """Validate and store answers for an attempt in progress; refuses the whole request if any
    answer does not fit the paper, so nothing is half-saved."""
    if len(raw) > MAX_ANSWERS_PER_REQUEST:
        msg = f"一次最多提交 {MAX_ANSWERS_PER_REQUEST} 条答案"
        raise InvalidInput(msg, fields={"answers": msg})
    row = (await session.execute(
        select(Attempt.physician_id, Attempt.state, Attempt.deadline, Attempt.device_id)
        .where(Attempt.id == attempt_id).with_for_update(read=True))).first()
    if row is None or row.physician_id != physician_id:
        raise NotFound("考试记录不存在")
    deadline = row.deadline
    refusal = late(row.state, deadline, now, grace_seconds)
    if refusal is not None:
        raise refusal
    if row.device_id != device_id:
        raise TakenOver("本场考试已在另一台设备上继续，此页面不再接受作答")
    options = cache.options_of(attempt_id)
    if options is None:  # another process started it, or this one restarted
        record = await session.scalar(select(Attempt.paper).where(Attempt.id == attempt_id))
        options = papers.item_options(await papers.rebuild(session, cache, attempt_id, record))
    check = rules.check_answers(raw, options)
    if check.problems:
        fields = {f"answers.{p.item}" if p.item else "answers": p.message for p in check.problems}
        raise InvalidInput("；".join(p.message for p in check.problems[:5]), fields=fields)
    result = SaveResult(deadline=deadline)
    if not check.accepted:
        return result
    params: dict[str, Any] = {"a": attempt_id, "now": now}
    values = []
    for i, (item, choice, flagged, seq) in enumerate(check.accepted):
        values.append(f"(:a, :i{i}, :c{i}, :f{i}, :s{i}, :now)")
        params.update({f"i{i}": item, f"c{i}": choice, f"f{i}": flagged, f"s{i}": seq})
    written = set((await session.execute(text(_UPSERT.format(rows=", ".join(values))), params)).scalars().all())
    for item, _choice, _flagged, seq in check.accepted:
        (result.saved if item in written else result.stale).append({"item": item, "seq": seq})
    return result
