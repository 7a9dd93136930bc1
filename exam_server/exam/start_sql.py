"""Starting an attempt on PostgreSQL in two statements: what a crowd starting at once pays.

A province's sitting opens with thousands of starts within seconds. Through the ORM a start was
fourteen statements and some sixteen loaded objects (about 11 ms of this process's CPU). Here one
query reads everything the rules and the identity gate need, the same pure functions decide
(:func:`rules.start_refusal`, :func:`attempts.pick_schedules`, :func:`identity.first_valid`,
:func:`gate.admit`), the paper is drawn from this process's cached pool, and one statement writes
the new question snapshots, claims the identity check, inserts the attempt and its audit entry,
all or nothing.

Only the plain success is decided here. Anything else (a refusal, a concurrent start winning the
unique index, a check used meanwhile) returns None and the caller runs :func:`attempts.start_attempt`, which gives every refusal in its own words.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

import asyncpg

from question_bank import Pool
from question_bank.drawing import DrawnPaper, draw_paper
from registry.exemptions import ExemptionState

from ..identity import checks as identity, consent, gate
from . import papers, predraw, rules
from .attempts import pick_schedules

# Earlier attempts are found by physician_id, which is indexed: by registration alone only the
# in-progress one is, and the rest would be a scan of every attempt.
_SITUATION = """
SELECT r.id AS registration_id, r.state, r.procedure, r.work_rating, r.ethics_rating,
  (SELECT e.state FROM exemptions e WHERE e.registration_id = r.id) AS exemption_state,
  (SELECT json_agg(json_build_object('id', s.id, 'kind', s.kind, 'body_id', s.body_id, 'paper_id', s.paper_id,
          'window_start', s.window_start, 'window_end', s.window_end, 'time_limit_minutes', s.time_limit_minutes,
          'attempts_allowed', s.attempts_allowed, 'pass_mark', s.pass_mark, 'blueprint', pp.blueprint,
          'bank_ids', pp.bank_ids) ORDER BY s.id)
     FROM exam_schedules s JOIN papers pp ON pp.id = s.paper_id
    WHERE s.cycle_id = r.cycle_id AND (s.body_id = i.body_id OR s.body_id IS NULL)
      AND (s.kind = 'humanities' OR s.practice_category = ph.practice_category)) AS schedules,
  (SELECT json_agg(json_build_object('schedule_id', a.schedule_id, 'kind', sa.kind, 'state', a.state,
          'score', a.score, 'passed', a.passed,
          'seen', (SELECT json_agg(it->>'fp') FROM json_array_elements(a.paper->'items') it)) ORDER BY a.id)
     FROM exam_attempts a JOIN exam_schedules sa ON sa.id = a.schedule_id
    WHERE a.physician_id = r.physician_id AND a.registration_id = r.id) AS attempts,
  EXISTS (SELECT 1 FROM proctor_consents c WHERE c.physician_id = r.physician_id AND c.withdrawn_at IS NULL
          AND c.text_version = $3) AS consented,
  (SELECT json_agg(json_build_object('id', k.id, 'manual_by', k.manual_by, 'decided_at', k.decided_at)
          ORDER BY k.id DESC)
     FROM proctor_identity_checks k WHERE k.physician_id = r.physician_id AND k.kind = $2 AND k.state = 'passed'
      AND k.used_by_attempt_id IS NULL AND k.decided_at >= $4) AS checks,
  (SELECT json_agg(json_build_object('id', p.id, 'schedule_id', p.schedule_id, 'basis', p.basis,
          'fps', CASE WHEN EXISTS (SELECT 1 FROM exam_attempts a WHERE a.physician_id = r.physician_id
                                      AND a.registration_id = r.id)
                      THEN (SELECT json_agg(it->>'fp') FROM json_array_elements(p.paper->'items') it) END))
     FROM exam_predrawn_papers p WHERE p.registration_id = r.id AND p.attempt_no = 1
      AND p.claimed_at IS NULL) AS predrawn
FROM registrations r
JOIN cycles cy ON cy.id = r.cycle_id AND cy.is_current
JOIN physicians ph ON ph.id = r.physician_id
JOIN institutions i ON i.id = ph.institution_id
WHERE r.physician_id = $1
"""

# The attempt's id is taken first so the identity check can be claimed in the same statement; the
# attempt is inserted only when the claim succeeded (or no check is needed) and the schedule's window
# end is still the one its deadline was computed from; the schedule row is share-locked, so a window
# edit waits for this start and then moves its deadline too. A concurrent start fails the whole
# statement on the attempts' unique indexes.
_WRITE = """
WITH snaps AS (
  INSERT INTO exam_question_snapshots (fingerprint, payload)
  SELECT k, p::json FROM unnest($1::varchar[], $2::text[]) AS n (k, p) ON CONFLICT DO NOTHING),
sch AS (SELECT window_end FROM exam_schedules WHERE id = $4 FOR SHARE),
nid AS (SELECT nextval(pg_get_serial_sequence('exam_attempts', 'id')) AS id),
chk AS (
  UPDATE proctor_identity_checks SET used_by_attempt_id = (SELECT id FROM nid)
   WHERE id = $3 AND used_by_attempt_id IS NULL RETURNING id),
att AS (
  INSERT INTO exam_attempts (id, schedule_id, registration_id, physician_id, attempt_no, state, started_at, deadline,
                             extra_minutes, device_id, paper, question_count, version)
  SELECT nid.id, $4, $5, $6, $7, 'in_progress', $8, $9, 0, $10, $11::json, $12, 1 FROM nid
   WHERE ($3::int IS NULL OR EXISTS (SELECT 1 FROM chk)) AND (SELECT window_end FROM sch) = $16
  RETURNING id),
aud AS (
  INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, detail, request_id)
  SELECT $8, $13, 'attempt.start', 'attempt', att.id::text, $14::json, $15 FROM att)
SELECT id FROM att
"""


# A first sitting's paper drawn ahead (:mod:`.predraw`): claimed, and copied into the attempt, in the
# database. The claim names the attempt, whose key makes a claim without its attempt (the identity
# check used meanwhile) fail the whole statement; a concurrent start waits on the claimed row, then
# finds it claimed and inserts nothing.
_CLAIM = """
WITH sch AS (SELECT window_end FROM exam_schedules WHERE id = $2 FOR SHARE),
nid AS (SELECT nextval(pg_get_serial_sequence('exam_attempts', 'id')) AS id),
clm AS (
  UPDATE exam_predrawn_papers SET claimed_at = $6, claimed_by_attempt_id = (SELECT id FROM nid)
   WHERE id = $13 AND claimed_at IS NULL AND basis = $14 AND (SELECT window_end FROM sch) = $12
  RETURNING paper, question_count),
chk AS (
  UPDATE proctor_identity_checks SET used_by_attempt_id = (SELECT id FROM nid)
   WHERE id = $1 AND used_by_attempt_id IS NULL AND EXISTS (SELECT 1 FROM clm) RETURNING id),
att AS (
  INSERT INTO exam_attempts (id, schedule_id, registration_id, physician_id, attempt_no, state, started_at, deadline,
                             extra_minutes, device_id, paper, question_count, version)
  SELECT nid.id, $2, $3, $4, $5, 'in_progress', $6, $7, 0, $8, clm.paper, clm.question_count, 1 FROM nid, clm
   WHERE ($1::int IS NULL OR EXISTS (SELECT 1 FROM chk))
  RETURNING id),
aud AS (
  INSERT INTO audit_log (at, actor_account_id, action, entity, entity_id, detail, request_id)
  SELECT $6, $9, 'attempt.start', 'attempt', att.id::text, $10::json, $11 FROM att)
SELECT id FROM att
"""


@dataclass(frozen=True, slots=True)
class Started:
    attempt_id: int
    deadline: dt.datetime


@dataclass(frozen=True, slots=True)
class _Schedule:
    id: int
    kind: str
    body_id: int | None
    paper_id: int
    window: rules.Window
    blueprint: dict[str, Any]
    bank_ids: list[int]


@dataclass(frozen=True, slots=True)
class _Check:
    id: int
    manual_by: int | None
    decided_at: dt.datetime | None


def _time(raw: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(raw) if raw else None


def _schedules(raw: str | None, now: dt.datetime) -> dict[str, _Schedule]:
    rows = [_Schedule(s["id"], s["kind"], s["body_id"], s["paper_id"],
                      rules.Window(_time(s["window_start"]), _time(s["window_end"]),  # type: ignore[arg-type]
                                   s["time_limit_minutes"], s["attempts_allowed"], s["pass_mark"]),
                      s["blueprint"], s["bank_ids"]) for s in json.loads(raw or "[]")]
    return pick_schedules(rows, now, lambda s: s.window)


LoadPool = Callable[[int, Sequence[int]], Awaitable[Pool]]


async def start(pool: asyncpg.Pool, cache: papers.PaperCache, load_pool: LoadPool, *, physician_id: int,
                account_id: int | None, kind: str, device_id: str, face_check: bool, now: dt.datetime,
                request_id: str | None) -> Started | None:
    """Start ``kind`` for the physician when the rules plainly allow it; None: let the ORM path decide.
    ``load_pool(paper_id, bank_ids)`` gives the paper's question pool (cached per process)."""
    row = await pool.fetchrow(_SITUATION, physician_id, kind, consent.VERSION, now - dt.timedelta(days=1))
    if row is None:
        return None
    schedules = _schedules(row["schedules"], now)
    facts: dict[str, list[rules.AttemptFact]] = {}
    seen: list[str] = []
    for a in json.loads(row["attempts"] or "[]"):  # per paper, under whichever schedule each was sat
        facts.setdefault(a["kind"], []).append(rules.AttemptFact(a["state"], a["score"], a["passed"]))
        seen.extend(a["seen"] or ())
    candidate = rules.Candidate(row["state"], row["procedure"], row["exemption_state"] == ExemptionState.GRANTED,
                                row["work_rating"], row["ethics_rating"])
    situations = [rules.PaperSituation(k, schedules[k].window if k in schedules else None, tuple(facts.get(k, ())))
                  for k in rules.required_papers(candidate.procedure)]
    if rules.start_refusal(candidate, situations, kind, now=now) is not None:
        return None
    check_id = None
    if face_check:
        checks = [_Check(c["id"], c["manual_by"], _time(c["decided_at"])) for c in json.loads(row["checks"] or "[]")]
        check = identity.first_valid(checks, now=now)
        try:
            check_id = gate.admit(check.id if check else None, manual=check is not None and check.manual_by is not None,
                                  consented=row["consented"])
        except gate.IdentityCheckRequired:
            return None
    schedule = schedules[kind]
    questions = await load_pool(schedule.paper_id, schedule.bank_ids)
    deadline = rules.deadline(now, schedule.window.time_limit_minutes, 0, schedule.window.end)
    ahead = next((p for p in json.loads(row["predrawn"] or "[]") if p["schedule_id"] == schedule.id), None)
    if ahead is not None and not facts.get(kind) and predraw.unseen(ahead["fps"], seen):  # claim the paper drawn ahead
        basis = papers.draw_basis(cache, questions, schedule.blueprint,
                                  time_limit_minutes=schedule.window.time_limit_minutes,
                                  pass_mark=schedule.window.pass_mark)
        if ahead["basis"] == basis:
            detail = {"schedule_id": schedule.id, "attempt_no": 1, "deadline": deadline.isoformat(), "predrawn": True}
            try:
                attempt_id = await pool.fetchval(
                    _CLAIM, check_id, schedule.id, row["registration_id"], physician_id, 1, now, deadline, device_id,
                    account_id, json.dumps(detail), request_id, schedule.window.end, ahead["id"], basis)
            except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError):
                return None  # a concurrent start won, or the identity check was used meanwhile
            return Started(attempt_id, deadline) if attempt_id is not None else None
    blueprint = papers.blueprint_from(schedule.blueprint, time_limit_minutes=schedule.window.time_limit_minutes,
                                      pass_mark=schedule.window.pass_mark)
    drawn: DrawnPaper = draw_paper(questions, blueprint, seed=secrets.token_hex(16), seen=seen)
    snaps = [cache.snapshot_of(it.question) for it in drawn.items]
    new = {k: p for k, p in snaps if k not in cache.snapshots_known}
    record = drawn.to_record()
    record["snaps"] = [k for k, _ in snaps]
    attempt_no = len(facts.get(kind, ())) + 1
    keys = sorted(new)  # one order, so concurrent starts writing the same snapshots cannot deadlock
    detail = {"schedule_id": schedule.id, "attempt_no": attempt_no, "deadline": deadline.isoformat()}
    try:
        attempt_id = await pool.fetchval(
            _WRITE, keys, [json.dumps(new[k], ensure_ascii=False) for k in keys], check_id, schedule.id,
            row["registration_id"], physician_id, attempt_no, now, deadline, device_id,
            json.dumps(record, ensure_ascii=False), len(drawn.items), account_id, json.dumps(detail), request_id,
            schedule.window.end)
    except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError):
        # A concurrent start won (the ORM path names what is in progress), or the window moved after the
        # identity check was claimed for an attempt that was then not inserted.
        return None
    if attempt_id is None:
        return None  # the identity check was used meanwhile
    cache.snapshots_known.update(new)
    cache.remember(attempt_id, drawn)
    return Started(attempt_id, deadline)
