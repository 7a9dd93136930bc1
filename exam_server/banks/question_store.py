"""Question banks and paper definitions in the database: plain async functions on an AsyncSession.

The question content rules live in :mod:`question_bank`; this module stores what that library
reads and checks, keeps fingerprints unique per bank, keeps a group's sub-questions together
and in order, and records every change in the audit log. User errors are raised as registry's
``InvalidInput`` / ``NotFound`` / ``ConcurrentUpdate`` with Chinese messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from question_bank import (
    TF_OPTIONS,
    WRITABLE_FORMATS,
    Blueprint,
    CountedPool,
    ExportError,
    Group,
    ImportResult,
    Option,
    Pool,
    Problem,
    Question,
    QuestionType,
    check_pool,
    images_lost_on_export,
    question_from_dict,
    question_to_dict,
    write_questions,
)
from question_bank.enemies import EnemyLinks
from question_bank.model import OPTION_LABELS
from question_bank.normalise import clean_text, normalise_category, parse_choice_key, parse_true_false
from question_bank.validate import question_problems
from registry import audit
from registry.db import utcnow
from registry.errors import ConcurrentUpdate, InvalidInput, NotFound

from . import question_cueing, question_enemies
from .models import BankQuestion, Paper, QuestionBank

INSERT_CHUNK = 1000
MAX_BANK_NAME = 64

EXPORT_FILES: dict[str, tuple[str, str]] = {
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": (".csv", "text/csv; charset=utf-8"),
    "aiken": (".txt", "text/plain; charset=utf-8"),
    "gift": (".gift", "text/plain; charset=utf-8"),
    "moodle_xml": (".xml", "application/xml"),
}
FORMAT_NAMES = {"xlsx": "Excel 模板（XLSX）", "csv": "CSV 模板", "aiken": "Aiken", "gift": "GIFT", "moodle_xml": "Moodle XML"}


class ImportRefused(InvalidInput):
    """The file has problems; nothing was stored. ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        head = "；".join(p.message_zh for p in self.problems[:3])
        more = f"（共 {len(self.problems)} 处问题）" if len(self.problems) > 3 else ""
        message = f"文件有误，未导入任何试题：{head}{more}"
        super().__init__(message, fields={"file": message})


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    bank_id: int
    bank_name: str
    total: int
    created: int
    duplicates: int
    skipped: int = 0  # problems of the questions a partial import left out
    enemies: int = 0  # enemy pairs (互斥题) the import added


@dataclass(frozen=True, slots=True)
class BankSummary:
    id: int
    name: str
    description: str
    active: int
    retired: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class QuestionRow:
    id: int
    bank_id: int
    fingerprint: str
    type: str
    type_label: str
    category: str
    difficulty: int | None
    stem: str
    group_key: str | None
    retired: bool
    updated_at: dt.datetime
    code: str | None = None


@dataclass(frozen=True, slots=True)
class PaperCheck:
    problems: list[str]
    shortfalls: list[dict[str, Any]]
    pool_size: int

    @property
    def ok(self) -> bool:
        return not self.problems and not self.shortfalls


# ---------------------------------------------------------------- banks


def check_bank_name(name: str) -> str:
    name = clean_text(name)
    if not name:
        raise InvalidInput("请填写题库名称", fields={"bank": "请填写题库名称"})
    if len(name) > MAX_BANK_NAME or "\n" in name:
        raise InvalidInput(f"题库名称不能超过 {MAX_BANK_NAME} 个字符且不能换行",
                           fields={"bank": f"题库名称不能超过 {MAX_BANK_NAME} 个字符且不能换行"})
    return name


async def bank_by_name(session: AsyncSession, name: str) -> QuestionBank | None:
    return await session.scalar(select(QuestionBank).where(QuestionBank.name == clean_text(name)))


async def get_bank(session: AsyncSession, bank_id: int) -> QuestionBank:
    bank = await session.get(QuestionBank, bank_id)
    if bank is None:
        raise NotFound("题库不存在")
    return bank


async def require_bank_named(session: AsyncSession, name: str) -> QuestionBank:
    bank = await bank_by_name(session, name)
    if bank is None:
        raise NotFound(f"题库“{clean_text(name)}”不存在")
    return bank


async def list_banks(session: AsyncSession) -> list[BankSummary]:
    counts = (select(BankQuestion.bank_id, BankQuestion.retired, func.count().label("n"))
              .group_by(BankQuestion.bank_id, BankQuestion.retired))
    per: dict[int, dict[bool, int]] = {}
    for bank_id, retired, n in (await session.execute(counts)).all():
        per.setdefault(bank_id, {})[bool(retired)] = n
    banks = (await session.scalars(select(QuestionBank).order_by(QuestionBank.id))).all()
    return [BankSummary(b.id, b.name, b.description, per.get(b.id, {}).get(False, 0),
                        per.get(b.id, {}).get(True, 0), b.created_at) for b in banks]


async def bank_fingerprints(session: AsyncSession, bank_id: int) -> set[str]:
    rows = await session.scalars(select(BankQuestion.fingerprint).where(BankQuestion.bank_id == bank_id))
    return set(rows.all())


async def categories(session: AsyncSession, bank_id: int) -> dict[str, int]:
    """Active questions per category prefix (``临床`` counts ``临床/内科`` too), sorted."""
    rows = (await session.execute(
        select(BankQuestion.category, func.count()).where(BankQuestion.bank_id == bank_id, BankQuestion.retired.is_(False))
        .group_by(BankQuestion.category))).all()
    out: dict[str, int] = {}
    for category, n in rows:
        parts = category.split("/") if category else []
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            out[prefix] = out.get(prefix, 0) + n
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- import


async def preview_import(session: AsyncSession, result: ImportResult, *, bank_name: str, limit: int = 20) -> dict[str, Any]:
    """The dry run: counts, the first questions, duplicates, and every problem; stores nothing.

    ``would_create`` is what a plain import adds; when the file has problems about single
    questions only (``can_skip``), it is what an import that skips those questions adds."""
    bank = await bank_by_name(session, bank_name) if bank_name else None
    existing = await bank_fingerprints(session, bank.id) if bank else set()
    preview = result.preview(limit=limit, existing_fingerprints=existing).to_dict()
    links, cues = EnemyLinks(), question_cueing.CueCollector()
    for q in result.questions:
        links.add(q)
        cues.add(q)
    question_cueing.merge_into(preview, await question_cueing.import_preview(session, bank, links, cues))
    can = preview["ok"] or preview["can_skip"]
    new = len(result.new_questions(existing)) if can else 0
    preview.update(bank=bank.name if bank else clean_text(bank_name), bank_exists=bank is not None,
                   would_create=new, would_skip=len(result.questions) - new if can else 0)
    return preview


def _search_text(q: Question) -> str:
    if q.group is not None and q.group.stem:
        return f"{q.stem}\n{q.group.stem}"
    return q.stem


def _group_signature(g: Group) -> dict[str, Any]:
    d = question_to_dict(Question(g.type, "-", (), ("A",), group=g))["group"]
    d.pop("key", None)
    return d


class _GroupKeys:
    """Gives every stored group a key unique in its bank, and the next position in it."""

    def __init__(self, existing: dict[str, tuple[dict[str, Any], int]]) -> None:
        self.existing = existing  # key -> (signature, last seq)
        self.assigned: dict[Group, str] = {}

    def place(self, g: Group) -> tuple[str, int]:
        key = self.assigned.get(g)
        if key is None:
            sig = _group_signature(g)
            base = (g.key or "G").strip()[:100] or "G"
            key, n = base, 1
            while key in self.existing and self.existing[key][0] != sig:
                n += 1
                key = f"{base}-{n}"
            self.assigned[g] = key
            self.existing.setdefault(key, (sig, -1))
        sig, last = self.existing[key]
        self.existing[key] = (sig, last + 1)
        return key, last + 1


async def _existing_groups(session: AsyncSession, bank_id: int) -> dict[str, tuple[dict[str, Any], int]]:
    heads = (await session.execute(
        select(BankQuestion.group_key, func.min(BankQuestion.id), func.max(BankQuestion.group_seq))
        .where(BankQuestion.bank_id == bank_id, BankQuestion.group_key.is_not(None))
        .group_by(BankQuestion.group_key))).all()
    out: dict[str, tuple[dict[str, Any], int]] = {}
    ids = {first_id: (key, last) for key, first_id, last in heads}
    for chunk in _chunks(list(ids), INSERT_CHUNK):
        for row_id, payload in (await session.execute(
                select(BankQuestion.id, BankQuestion.payload).where(BankQuestion.id.in_(chunk)))).all():
            key, last = ids[row_id]
            g = dict(payload["group"])
            g.pop("key", None)
            out[key] = (g, last)
    return out


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _stored(q: Question) -> dict[str, Any]:
    """The payload: the question without its id, code and enemies (columns and pairs hold those)."""
    return question_to_dict(dataclasses.replace(q, id=None, code="", enemies=()))


def _row_values(bank_id: int, q: Question, group_key: str | None, seq: int, now: dt.datetime) -> dict[str, Any]:
    return {"bank_id": bank_id, "fingerprint": q.fingerprint, "type": q.type.value, "category": q.category[:255],
            "difficulty": q.difficulty, "stem": _search_text(q), "group_key": group_key, "group_seq": seq,
            "code": q.code or None, "payload": _stored(q), "retired": False, "created_at": now, "updated_at": now}


async def open_bank(session: AsyncSession, bank_name: str, *, actor_id: int | None,
                    request_id: str | None = None) -> QuestionBank:
    """The bank named ``bank_name``, created (and audited) when missing."""
    name = check_bank_name(bank_name)
    bank = await bank_by_name(session, name)
    if bank is None:
        bank = QuestionBank(name=name, description="")
        session.add(bank)
        await session.flush()
        audit.record(session, actor_id=actor_id, action="question_bank.create", entity="question_bank",
                     entity_id=bank.id, detail={"name": name}, request_id=request_id)
    return bank


class BankWriter:
    """Adds questions to one bank in batches inside the caller's transaction: questions whose
    fingerprint the bank (or an earlier batch) already holds are counted, not stored; groups get
    keys unique in the bank. Holds only the bank's fingerprints and codes, never the questions.

    A new question keeps its 试题编号 unless the bank uses it for another question (refused);
    :meth:`link_enemies`, once every batch is in, stores the enemy pairs the file names."""

    def __init__(self, session: AsyncSession, bank: QuestionBank) -> None:
        self.session = session
        self.bank = bank
        self.total = 0
        self.created = 0
        self.enemies = 0
        self._seen: set[str] | None = None
        self._codes: dict[str, str] = {}  # the bank's codes before this import -> fingerprint
        self._new_codes: set[str] = set()
        self._keys: _GroupKeys | None = None
        self.links = EnemyLinks()

    async def add(self, questions: Sequence[Question]) -> int:
        if self._seen is None:
            self._seen = await bank_fingerprints(self.session, self.bank.id)
            self._codes = await question_enemies.bank_codes(self.session, self.bank.id)
        self.total += len(questions)
        now = utcnow()
        rows = []
        for q in questions:
            self.links.add(q)
            if q.fingerprint in self._seen:
                continue
            self._seen.add(q.fingerprint)
            if q.code and (q.code in self._new_codes or self._codes.get(q.code, q.fingerprint) != q.fingerprint):
                # Taken by another question of the bank (the preview said so): store nothing.
                where = f"{q.source_ref}：" if q.source_ref else ""
                raise ImportRefused([Problem(None, "试题编号", f"{where}试题编号“{q.code}”已被题库中另一道试题使用，请换一个编号",
                                             whole_file=True)])
            if q.code:
                self._new_codes.add(q.code)
            if q.group is not None:
                if self._keys is None:
                    self._keys = _GroupKeys(await _existing_groups(self.session, self.bank.id))
                key, seq = self._keys.place(q.group)
                q = dataclasses.replace(q, group=dataclasses.replace(q.group, key=key))
                rows.append(_row_values(self.bank.id, q, key, seq, now))
            else:
                rows.append(_row_values(self.bank.id, q, None, 0, now))
        try:
            for chunk in _chunks(rows, INSERT_CHUNK):
                await self.session.execute(insert(BankQuestion), chunk)
        except IntegrityError:
            raise ConcurrentUpdate("题库正在被他人导入或修改，请稍后重试") from None
        self.created += len(rows)
        return len(rows)

    async def link_enemies(self, *, confirmed: Sequence[tuple[str, str]] = (), actor_id: int | None,
                           request_id: str | None = None) -> int:
        """Store the pairs the file's 互斥题 name and the cueing pairs confirmed on the preview;
        raises ImportRefused (nothing stored) when a reference cannot be resolved."""
        added, problems = await question_enemies.link_import(self.session, self.bank.id, self.links, self._codes,
                                                             confirmed=confirmed, actor_id=actor_id,
                                                             request_id=request_id)
        if problems:
            raise ImportRefused(problems)
        self.enemies += added
        return added

    def outcome(self, skipped: int = 0) -> ImportOutcome:
        return ImportOutcome(self.bank.id, self.bank.name, self.total, self.created, self.total - self.created, skipped,
                             self.enemies)


def record_import(session: AsyncSession, outcome: ImportOutcome, *, fmt: str, source: str, actor_id: int | None,
                  request_id: str | None = None, skip_unsupported: bool = False) -> None:
    audit.record(session, actor_id=actor_id, action="question_bank.import", entity="question_bank",
                 entity_id=outcome.bank_id,
                 detail={"format": fmt, "source": source[:200], "total": outcome.total, "created": outcome.created,
                         "duplicates": outcome.duplicates, "skipped": outcome.skipped, "enemies": outcome.enemies,
                         "skip_unsupported": skip_unsupported}, request_id=request_id)


async def import_questions(session: AsyncSession, bank_name: str, result: ImportResult, *, actor_id: int | None,
                           request_id: str | None = None, source: str = "",
                           skip_unsupported: bool = False,
                           confirmed: Sequence[tuple[str, str]] = ()) -> ImportOutcome:
    """Store the file's new questions in the bank (created if needed).

    All or nothing by default: a result with problems stores nothing (ImportRefused lists them
    all). With ``skip_unsupported`` the questions without problems are stored and the others
    are counted as skipped, unless a problem concerns the whole file. Questions whose
    fingerprint is already in the bank, or repeated in the file, are skipped and counted. The
    enemy pairs the file names are stored too, and the ``confirmed`` cueing pairs (fingerprints)."""
    check_bank_name(bank_name)
    if not result.ok and not (skip_unsupported and result.can_skip):
        raise ImportRefused(result.problems)
    bank = await open_bank(session, bank_name, actor_id=actor_id, request_id=request_id)
    writer = BankWriter(session, bank)
    await writer.add(result.questions)
    await writer.link_enemies(confirmed=confirmed, actor_id=actor_id, request_id=request_id)
    outcome = writer.outcome(skipped=len(result.problems))
    record_import(session, outcome, fmt=result.format, source=source, actor_id=actor_id, request_id=request_id,
                  skip_unsupported=skip_unsupported)
    return outcome


# ---------------------------------------------------------------- browse and edit


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_questions(session: AsyncSession, bank_id: int, *, category: str = "", type: str | None = None,
                           text: str = "", retired: bool | None = False, limit: int = 50,
                           offset: int = 0) -> tuple[int, list[QuestionRow]]:
    """Questions of a bank by category prefix (whole path segments), type and stem text."""
    await get_bank(session, bank_id)
    where = [BankQuestion.bank_id == bank_id]
    prefix = normalise_category(category)
    if prefix:
        where.append(or_(BankQuestion.category == prefix,
                         BankQuestion.category.like(_escape_like(prefix) + "/%", escape="\\")))
    if type:
        where.append(BankQuestion.type == type)
    text = clean_text(text)
    if text:
        where.append(or_(BankQuestion.stem.ilike("%" + _escape_like(text) + "%", escape="\\"), BankQuestion.code == text))
    if retired is not None:
        where.append(BankQuestion.retired.is_(retired))
    total = await session.scalar(select(func.count()).select_from(BankQuestion).where(*where)) or 0
    cols = (BankQuestion.id, BankQuestion.bank_id, BankQuestion.fingerprint, BankQuestion.type, BankQuestion.category,
            BankQuestion.difficulty, BankQuestion.stem, BankQuestion.group_key, BankQuestion.retired,
            BankQuestion.updated_at, BankQuestion.code)
    rows = (await session.execute(select(*cols).where(*where).order_by(BankQuestion.id).limit(limit).offset(offset))).all()
    return total, [QuestionRow(r.id, r.bank_id, r.fingerprint, r.type, QuestionType(r.type).label_zh, r.category,
                               r.difficulty, r.stem.split("\n", 1)[0][:200], r.group_key, bool(r.retired), r.updated_at,
                               r.code)
                   for r in rows]


async def _row(session: AsyncSession, question_id: int) -> BankQuestion:
    row = await session.get(BankQuestion, question_id)
    if row is None:
        raise NotFound("试题不存在")
    return row


def _question(row: BankQuestion) -> Question:
    return question_from_dict(row.payload).with_id(str(row.id))


async def get_question(session: AsyncSession, question_id: int) -> dict[str, Any]:
    """The question as the admin edits it (keys included, images described, not embedded)."""
    row = await _row(session, question_id)
    q = _question(row)
    bank = await get_bank(session, row.bank_id)
    siblings = 0
    if row.group_key is not None:
        siblings = await session.scalar(select(func.count()).select_from(BankQuestion).where(
            BankQuestion.bank_id == row.bank_id, BankQuestion.group_key == row.group_key)) or 0
    d = question_to_dict(q, embed_images=False)
    enemies = await question_enemies.enemies_of(session, row.id)
    d.update(id=row.id, bank_id=row.bank_id, bank_name=bank.name, type_label=q.type.label_zh, retired=row.retired,
             group_size=siblings, created_at=row.created_at, updated_at=row.updated_at, code=row.code or "",
             enemies=[dataclasses.asdict(e) for e in enemies])
    return d


_FIELD_OF = {"题干": "stem", "选项": "options", "答案": "key", "分值": "points", "分类": "category", "难度": "difficulty",
             "解析": "explanation", "共用题干组号": "group", "图片": "images"}


def _field(name: str) -> str:
    if name.startswith("选项"):
        return "options"
    return _FIELD_OF.get(name, name)


def _options(texts: Sequence[str]) -> tuple[Option, ...]:
    cleaned = [clean_text(t) for t in texts]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    if len(cleaned) > len(OPTION_LABELS):
        raise InvalidInput(f"选项最多 {len(OPTION_LABELS)} 个", fields={"options": f"选项最多 {len(OPTION_LABELS)} 个"})
    return tuple(Option(OPTION_LABELS[i], t) for i, t in enumerate(cleaned))


def edited_question(q: Question, changes: dict[str, Any]) -> Question:
    """``q`` with the admin's changes applied and re-validated by the library's rules."""
    t = q.type
    fields: dict[str, str] = {}
    if t is QuestionType.TF:
        options: tuple[Option, ...] = TF_OPTIONS
        verdict = parse_true_false(changes.get("key", ""))
        key: tuple[str, ...] = ("T",) if verdict else ("F",)
        if verdict is None:
            fields["key"] = "判断题答案应为“对”或“错”"
    else:
        options = () if t is QuestionType.B1 else _options(changes.get("options") or [])
        key, bad = parse_choice_key(changes.get("key", ""))
        if bad:
            fields["key"] = f"答案中有无法识别的字符“{bad}”，应填写选项字母，如 B 或 ACD"
    group = q.group
    if group is not None:
        if changes.get("group_stem") is not None and t is not QuestionType.B1:
            group = dataclasses.replace(group, stem=clean_text(changes["group_stem"]))
        if changes.get("group_options") is not None and t is QuestionType.B1:
            group = dataclasses.replace(group, options=_options(changes["group_options"]))
    difficulty = changes.get("difficulty")
    new = dataclasses.replace(
        q, stem=clean_text(changes.get("stem", "")), options=options, key=key,
        points=float(changes.get("points") or 0), category=normalise_category(changes.get("category", "")),
        difficulty=int(difficulty) if difficulty not in (None, "") else None,
        explanation=clean_text(changes.get("explanation", "")), group=group)
    for name, message in question_problems(new):
        fields.setdefault(_field(name), message)
    if len(new.category) > 255:
        fields.setdefault("category", "分类不能超过 255 个字符")
    if fields:
        raise InvalidInput("；".join(fields.values()), fields=fields)
    return new


async def _collision(session: AsyncSession, bank_id: int, fingerprint: str, exclude: Sequence[int]) -> int | None:
    return await session.scalar(select(BankQuestion.id).where(
        BankQuestion.bank_id == bank_id, BankQuestion.fingerprint == fingerprint, BankQuestion.id.not_in(exclude)))


async def edit_question(session: AsyncSession, question_id: int, changes: dict[str, Any], *, actor_id: int | None,
                        request_id: str | None = None) -> BankQuestion:
    """Apply the admin's changes; a change to the shared part of a group applies to every member.

    Refused when the result breaks a rule or becomes a question the bank already holds."""
    row = await _row(session, question_id)
    old = _question(row)
    new = edited_question(old, changes)
    code_before = row.code
    if changes.get("code") is not None:
        code = question_enemies.checked_code(changes["code"])
        owner = await question_enemies.code_owner(session, row.bank_id, code) if code else None
        if owner is not None and owner != row.id:
            msg = f"试题编号“{code}”已被本题库中的试题（编号 {owner}）使用"
            raise InvalidInput(msg, fields={"code": msg})
        row.code = code
    members = [row]
    if row.group_key is not None and new.group != old.group:
        members = list((await session.scalars(select(BankQuestion).where(
            BankQuestion.bank_id == row.bank_id, BankQuestion.group_key == row.group_key)
            .order_by(BankQuestion.group_seq, BankQuestion.id))).all())
    updated: list[tuple[BankQuestion, Question]] = []
    for m in members:
        q = new if m.id == row.id else dataclasses.replace(_question(m), group=new.group)
        if m.id != row.id:
            problems = question_problems(q)
            if problems:
                msg = f"同组其他小题（编号 {m.id}）：{problems[0][1]}"
                raise InvalidInput(msg, fields={"group_stem": msg})
        updated.append((m, q))
    fps = [q.fingerprint for _, q in updated]
    if len(set(fps)) != len(fps):
        raise InvalidInput("修改后同组小题内容重复", fields={"stem": "修改后同组小题内容重复"})
    ids = [m.id for m, _ in updated]
    for m, q in updated:
        other = await _collision(session, m.bank_id, q.fingerprint, ids)
        if other is not None:
            msg = f"修改后与本题库中已有试题（编号 {other}）重复"
            raise InvalidInput(msg, fields={"stem": msg})
    before = row.fingerprint
    now = utcnow()
    try:
        for m, q in updated:
            m.payload = _stored(q)
            m.fingerprint = q.fingerprint
            m.category = q.category
            m.difficulty = q.difficulty
            m.stem = _search_text(q)
            m.updated_at = now
        await session.flush()
    except IntegrityError:
        raise ConcurrentUpdate() from None
    audit.record(session, actor_id=actor_id, action="question.edit", entity="bank_question", entity_id=row.id,
                 detail={"bank_id": row.bank_id, "fingerprint_before": before, "fingerprint_after": row.fingerprint,
                         "group_members_updated": len(updated) - 1,
                         **({"code_before": code_before, "code_after": row.code} if row.code != code_before else {})},
                 request_id=request_id)
    return row


async def set_retired(session: AsyncSession, question_id: int, retired: bool, *, actor_id: int | None,
                      request_id: str | None = None) -> int:
    """Retire (or bring back) a question; a group's sub-questions go together. Returns how many."""
    row = await _row(session, question_id)
    where = [BankQuestion.id == row.id]
    if row.group_key is not None:
        where = [BankQuestion.bank_id == row.bank_id, BankQuestion.group_key == row.group_key]
    result = await session.execute(update(BankQuestion).where(*where).values(retired=retired, updated_at=utcnow()))
    audit.record(session, actor_id=actor_id, action="question.retire" if retired else "question.unretire",
                 entity="bank_question", entity_id=row.id,
                 detail={"bank_id": row.bank_id, "group_key": row.group_key, "count": result.rowcount},
                 request_id=request_id)
    return int(result.rowcount or 0)


# ---------------------------------------------------------------- export


def _in_order(rows: Sequence[tuple[int, str | None, int, dict[str, Any]]]) -> list[Question]:
    """By id, with each group's sub-questions together, in their order, where the group first appears."""
    slots: list[int | str] = []
    singles: dict[int, dict[str, Any]] = {}
    groups: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
    for row_id, key, seq, payload in rows:
        if key is None:
            slots.append(row_id)
            singles[row_id] = payload
            continue
        if key not in groups:
            groups[key] = []
            slots.append(key)
        groups[key].append((seq, row_id, payload))
    out: list[Question] = []
    for slot in slots:
        if isinstance(slot, int):
            out.append(question_from_dict(singles[slot]).with_id(str(slot)))
        else:
            out.extend(question_from_dict(p).with_id(str(rid)) for _, rid, p in sorted(groups[slot], key=lambda m: m[:2]))
    return out


async def bank_questions(session: AsyncSession, bank_ids: Sequence[int], *, include_retired: bool = False) -> list[Question]:
    where = [BankQuestion.bank_id.in_(list(bank_ids))]
    if not include_retired:
        where.append(BankQuestion.retired.is_(False))
    rows = (await session.execute(select(BankQuestion.id, BankQuestion.group_key, BankQuestion.group_seq,
                                         BankQuestion.payload).where(*where).order_by(BankQuestion.id))).all()
    return _in_order([tuple(r) for r in rows])  # type: ignore[misc]


async def bank_pool(session: AsyncSession, bank_ids: Sequence[int]) -> Pool:
    """The banks' active questions as a pool, with the enemy pairs between them."""
    pairs = await question_enemies.active_pairs(session, bank_ids)
    return Pool(await bank_questions(session, bank_ids), enemies=[(str(a), str(b)) for a, b in pairs])


async def export_questions(session: AsyncSession, bank_id: int, *, include_retired: bool = False) -> list[Question]:
    """The bank's questions for a file, with their codes and enemies: a question with enemies but
    no code gets one for the file (``Q`` and its number, unless the bank uses that); each pair is
    written once, on the later question; pairs with a question left out are not written."""
    where = [BankQuestion.bank_id == bank_id]
    if not include_retired:
        where.append(BankQuestion.retired.is_(False))
    rows = (await session.execute(select(BankQuestion.id, BankQuestion.group_key, BankQuestion.group_seq,
                                         BankQuestion.payload, BankQuestion.code)
                                  .where(*where).order_by(BankQuestion.id))).all()
    codes = {r.id: r.code for r in rows if r.code}
    present = {r.id for r in rows}
    pairs = [(a, b) for a, b in await question_enemies.bank_pairs(session, bank_id) if a in present and b in present]
    taken = set(codes.values())
    for row_id in sorted({i for p in pairs for i in p} - set(codes)):
        code, n = f"Q{row_id}", 1
        while code in taken:
            n += 1
            code = f"Q{row_id}-{n}"
        codes[row_id] = code
        taken.add(code)
    later: dict[int, list[str]] = {}
    for a, b in sorted(pairs):
        later.setdefault(max(a, b), []).append(codes[min(a, b)])
    out = _in_order([(r.id, r.group_key, r.group_seq, r.payload) for r in rows])
    return [dataclasses.replace(q, code=codes.get(int(q.id or 0), ""), enemies=tuple(later.get(int(q.id or 0), ())))
            for q in out]


class ImagesWouldBeLost(InvalidInput):
    """The chosen format would drop pictures; export again with ``drop_images`` to accept that."""

    def __init__(self, fmt: str, lost: Sequence[Question]) -> None:
        self.question_ids = [int(q.id) for q in lost if q.id is not None and q.id.isdigit()]
        shown = "、".join(str(i) for i in self.question_ids[:10])
        more = " 等" if len(self.question_ids) > 10 else ""
        message = (f"{FORMAT_NAMES[fmt]} 格式无法保存图片：{len(lost)} 道题的图片将丢失（编号 {shown}{more}），"
                   "再次导入时这些题会被当作新题。确认仍要导出，或改用 Moodle XML 格式（保留图片）")
        super().__init__(message, fields={"drop_images": message})


async def export_bank(session: AsyncSession, bank: QuestionBank, fmt: str, *, actor_id: int | None,
                      include_retired: bool = False, request_id: str | None = None,
                      drop_images: bool = False) -> tuple[bytes, str, str]:
    """(file bytes, file name, content type) of the bank's questions in ``fmt``.

    Refused with :class:`ImagesWouldBeLost` when the format would drop pictures, unless the
    caller accepts that with ``drop_images`` (recorded in the audit log)."""
    if fmt not in WRITABLE_FORMATS:
        msg = f"不支持的导出格式“{fmt}”（可选：{'、'.join(WRITABLE_FORMATS)}）"
        raise InvalidInput(msg, fields={"format": msg})
    questions = await export_questions(session, bank.id, include_retired=include_retired)
    if not questions:
        raise InvalidInput("题库中没有可导出的试题", fields={"bank": "题库中没有可导出的试题"})
    lost = images_lost_on_export(questions, format=fmt)
    if lost and not drop_images:
        raise ImagesWouldBeLost(fmt, lost)
    try:
        data = write_questions(questions, format=fmt)
    except ExportError as exc:
        refs = f"（如：{'；'.join(r[:30] for r in exc.refs[:3])}）" if exc.refs else ""
        msg = f"{FORMAT_NAMES[fmt]} 格式无法导出本题库的全部试题：{exc.message_zh}{refs}"
        raise InvalidInput(msg, fields={"format": msg}) from None
    audit.record(session, actor_id=actor_id, action="question_bank.export", entity="question_bank", entity_id=bank.id,
                 detail={"format": fmt, "count": len(questions), "images_dropped": len(lost),
                         "enemy_pairs": sum(len(q.enemies) for q in questions)}, request_id=request_id)
    ext, mime = EXPORT_FILES[fmt]
    return data, f"{bank.name}{ext}", mime


# ---------------------------------------------------------------- papers


def _blueprint(data: dict[str, Any] | Blueprint) -> Blueprint:
    if isinstance(data, Blueprint):
        return data
    try:
        return Blueprint.from_dict(data)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"试卷定义不完整或取值无效（{exc}）", fields={"sections": "试卷定义不完整或取值无效"}) from None


async def _checked_bank_ids(session: AsyncSession, bank_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(bank_ids))
    if not ids:
        raise InvalidInput("请至少选择一个题库", fields={"bank_ids": "请至少选择一个题库"})
    found = set((await session.scalars(select(QuestionBank.id).where(QuestionBank.id.in_(ids)))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        msg = f"题库不存在（编号 {'、'.join(map(str, missing))}）"
        raise InvalidInput(msg, fields={"bank_ids": msg})
    return ids


async def pool_counts(session: AsyncSession, bank_ids: Sequence[int]) -> CountedPool:
    """The banks' active questions as counts, aggregated by the database: single questions per
    type and category (one per fingerprint), and each group's size. No question is loaded."""
    ids = await _checked_bank_ids(session, bank_ids)
    active = [BankQuestion.bank_id.in_(ids), BankQuestion.retired.is_(False)]
    singles = (await session.execute(
        select(BankQuestion.type, BankQuestion.category, func.count(func.distinct(BankQuestion.fingerprint)))
        .where(*active, BankQuestion.group_key.is_(None))
        .group_by(BankQuestion.type, BankQuestion.category))).all()
    groups = (await session.execute(
        select(BankQuestion.bank_id, BankQuestion.group_key, BankQuestion.type, func.min(BankQuestion.category),
               func.count(func.distinct(BankQuestion.fingerprint)), func.min(BankQuestion.fingerprint))
        .where(*active, BankQuestion.group_key.is_not(None))
        .group_by(BankQuestion.bank_id, BankQuestion.group_key, BankQuestion.type)
        .order_by(BankQuestion.bank_id, BankQuestion.group_key))).all()
    # Questions with enemies count one by one (a few columns of those only), the rest by the numbers.
    involved, pairs = await question_enemies.involved(session, ids)
    unit_of: dict[object, int] = {(b, k): i for i, (b, k, *_rest) in enumerate(groups)}
    with_enemies: dict[str, tuple[QuestionType, str, int, str]] = {}
    for r in involved:
        if r.group_key is None and r.fingerprint not in with_enemies:
            with_enemies[r.fingerprint] = (QuestionType(r.type), r.category, 1, r.fingerprint)
    firsts = {fp: len(groups) + i for i, fp in enumerate(with_enemies)}
    taken: dict[tuple[str, str], int] = {}
    for t, c, _, _ in with_enemies.values():
        taken[(t.value, c)] = taken.get((t.value, c), 0) + 1
    for r in involved:
        unit_of[r.id] = unit_of[(r.bank_id, r.group_key)] if r.group_key is not None else firsts[r.fingerprint]
    return CountedPool(((QuestionType(t), c, max(n - taken.get((t, c), 0), 0)) for t, c, n in singles),
                       ((QuestionType(t), c, n, fp) for _, _, t, c, n, fp in groups),
                       singles_with_enemies=list(with_enemies.values()),
                       enemies=[(unit_of[a], unit_of[b]) for a, b in pairs])


async def check_paper(session: AsyncSession, blueprint: dict[str, Any] | Blueprint, bank_ids: Sequence[int]) -> PaperCheck:
    """Whether the banks' active questions can fill the blueprint, section by section (counted
    in SQL: checking a paper against a 100,000-question bank loads none of them)."""
    bp = _blueprint(blueprint)
    problems = bp.problems()
    pool = await pool_counts(session, bank_ids)
    shortfalls = [] if problems else [
        {"section": s.section_index + 1, "title": s.section_title, "needed": s.needed, "available": s.available,
         "message": s.message_zh} for s in check_pool(bp, pool)]
    return PaperCheck(problems, shortfalls, len(pool))


async def save_paper(session: AsyncSession, blueprint: dict[str, Any] | Blueprint, bank_ids: Sequence[int], *,
                     actor_id: int | None, request_id: str | None = None) -> Paper:
    """Store a paper definition once the blueprint is consistent and the banks can fill it."""
    bp = _blueprint(blueprint)
    check = await check_paper(session, bp, bank_ids)
    if not check.ok:
        messages = check.problems + [s["message"] for s in check.shortfalls]
        raise InvalidInput("；".join(messages), fields={"sections": "；".join(messages)})
    paper = Paper(title=bp.title, kind=bp.kind.value,
                  practice_category=bp.practice_category.value if bp.practice_category else None,
                  blueprint=bp.to_dict(), bank_ids=list(dict.fromkeys(bank_ids)))
    session.add(paper)
    await session.flush()
    audit.record(session, actor_id=actor_id, action="paper.create", entity="paper", entity_id=paper.id,
                 detail={"title": bp.title, "kind": bp.kind.value, "bank_ids": paper.bank_ids,
                         "questions": bp.question_count, "total_points": bp.total_points}, request_id=request_id)
    return paper


async def list_papers(session: AsyncSession) -> list[Paper]:
    return list((await session.scalars(select(Paper).order_by(Paper.id))).all())


def paper_json(paper: Paper, bank_names: dict[int, str] | None = None) -> dict[str, Any]:
    bp = Blueprint.from_dict(paper.blueprint)
    return {"id": paper.id, "title": paper.title, "kind": paper.kind, "kind_label": bp.kind.label_zh,
            "practice_category": paper.practice_category, "bank_ids": paper.bank_ids,
            "banks": [(bank_names or {}).get(i, str(i)) for i in paper.bank_ids],
            "question_count": bp.question_count, "total_points": bp.total_points, "pass_mark": bp.pass_mark,
            "time_limit_minutes": bp.time_limit_minutes, "attempts_allowed": bp.attempts_allowed,
            "blueprint": paper.blueprint, "created_at": paper.created_at}
