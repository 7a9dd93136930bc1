"""Question imports as background jobs: upload once, read (preview), then store (import).

A job survives a page reload because it is a row (:class:`~exam_server.banks.models.ImportJob`)
and its file waits in file storage; each step runs as an asyncio task in the process that was
asked, reading the file as a stream of events (``question_bank.iter_file``) in a worker thread,
500 at a time, so memory holds one batch, the counters of the preview and the bank's
fingerprints, never the whole file's questions. Progress and the cancel flag live in the live
state (Redis or in-process), so any process can show the one and set the other; the import step
stores everything in one transaction, so a cancelled or failed import leaves nothing behind.

The CLI runs the same two steps in the foreground (:func:`run_preview` / :func:`run_import`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from question_bank import Event, PreviewBuilder, Problem, Question, iter_file, skipped_report
from question_bank.enemies import EnemyLinks
from question_bank.result import problem_to_dict
from registry.db import utcnow
from registry.errors import ConcurrentUpdate, InvalidInput, NotFound

from ..infra.livestate import LiveState
from ..infra.storage import FileStorage
from . import question_cueing, question_store
from .models import ImportJob

__all__ = ["ImportJobs", "JobView", "create_job", "run_preview", "run_import", "job_view", "request_cancel",
           "list_jobs", "skipped_csv", "BATCH", "RUNNING", "FINISHED"]

_log = logging.getLogger(__name__)

BATCH = 500
PREVIEW_ROWS = 20
KEEP_PROBLEMS = 200  # shown on the page; every one of them is in the downloadable report
ABANDONED_AFTER = dt.timedelta(days=1)  # a preview nobody confirmed: its upload is deleted
PROGRESS_TTL = 120.0  # seconds; refreshed every batch, so a dead process's job shows as interrupted
RUNNING = ("previewing", "importing")
FINISHED = ("done", "failed", "cancelled")
STATE_ZH = {"previewing": "正在读取", "previewed": "已预览", "importing": "正在导入", "done": "导入完成",
            "failed": "失败", "cancelled": "已取消"}


class Cancelled(Exception):
    """The admin cancelled the job; the transaction rolls back."""


def _progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:progress"


def _cancel_key(job_id: int) -> str:
    return f"import-job:{job_id}:cancel"


@dataclass(frozen=True, slots=True)
class JobView:
    """What the page and the CLI show of a job."""

    id: int
    bank_name: str
    filename: str
    size: int
    format: str
    state: str
    state_label: str
    skip_unsupported: bool
    total: int
    problem_count: int
    preview: dict[str, Any] | None
    outcome: dict[str, Any] | None
    message: str
    progress: dict[str, Any] | None
    has_report: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- rows


async def _job(session: AsyncSession, job_id: int) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("导入任务不存在")
    return job


async def _update(sessionmaker: async_sessionmaker[AsyncSession], job_id: int, **values: Any) -> None:
    async with sessionmaker() as session, session.begin():
        job = await _job(session, job_id)
        for k, v in values.items():
            setattr(job, k, v)
        job.updated_at = utcnow()


async def create_job(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, *, data: bytes,
                     filename: str, bank_name: str, actor_id: int | None) -> int:
    """Keep the upload in storage and record a job waiting to be read; returns its id."""
    name = question_store.check_bank_name(bank_name)
    if not data:
        raise InvalidInput("上传的文件是空的", fields={"file": "上传的文件是空的"})
    key = await storage.put(data, prefix="question-imports")
    async with sessionmaker() as session, session.begin():
        job = ImportJob(actor_id=actor_id, bank_name=name, filename=(filename or "")[:255], file_key=key,
                        size=len(data), state="previewing", message="")
        session.add(job)
        await session.flush()
        return job.id


async def expire_abandoned(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage) -> int:
    """Drop previews nobody confirmed within a day (their uploads would otherwise stay forever)."""
    async with sessionmaker() as session:
        ids = (await session.scalars(select(ImportJob.id).where(
            ImportJob.state == "previewed", ImportJob.updated_at < utcnow() - ABANDONED_AFTER))).all()
    for job_id in ids:
        await _finish(sessionmaker, storage, job_id, state="cancelled", message="预览后超过一天未确认，已自动取消，未导入任何试题")
    return len(ids)


async def job_view(sessionmaker: async_sessionmaker[AsyncSession], live: LiveState, job_id: int) -> JobView:
    async with sessionmaker() as session:
        job = await _job(session, job_id)
    progress_raw = await live.get(_progress_key(job_id))
    progress = json.loads(progress_raw) if progress_raw else None
    if job.state in RUNNING and progress is None and utcnow() - job.updated_at > dt.timedelta(seconds=PROGRESS_TTL):
        # No process reports on it any more (restarted or killed): the step ended without a word.
        await _update(sessionmaker, job_id, state="failed", message="导入中断（服务进程已退出），未导入任何试题，请重新上传")
        return await job_view(sessionmaker, live, job_id)
    return JobView(job.id, job.bank_name, job.filename, job.size, job.format, job.state, STATE_ZH.get(job.state, job.state),
                   job.skip_unsupported, job.total, job.problem_count, job.preview, job.outcome, job.message, progress,
                   job.report_key is not None, job.created_at, job.updated_at)


async def list_jobs(sessionmaker: async_sessionmaker[AsyncSession], live: LiveState, *, limit: int = 10) -> list[JobView]:
    async with sessionmaker() as session:
        ids = (await session.scalars(select(ImportJob.id).order_by(ImportJob.id.desc()).limit(limit))).all()
    return [await job_view(sessionmaker, live, i) for i in ids]


async def request_cancel(sessionmaker: async_sessionmaker[AsyncSession], live: LiveState, job_id: int) -> JobView:
    """Ask the running step to stop (it rolls back); a previewed job is dropped at once."""
    view = await job_view(sessionmaker, live, job_id)
    if view.state in RUNNING:
        await live.set(_cancel_key(job_id), "1", ttl=3600)
    elif view.state == "previewed":
        await _update(sessionmaker, job_id, state="cancelled", message="已取消，未导入任何试题")
    else:
        raise ConcurrentUpdate(f"导入任务{view.state_label}，不能取消")
    return await job_view(sessionmaker, live, job_id)


async def skipped_csv(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, job_id: int) -> tuple[bytes, str]:
    async with sessionmaker() as session:
        job = await _job(session, job_id)
    if job.report_key is None:
        raise NotFound("该导入任务没有问题清单")
    stem = job.filename.rsplit(".", 1)[0] or "试题文件"
    return await storage.get(job.report_key), f"{stem}-问题清单.csv"


# ---------------------------------------------------------------- the two steps


def _take(events: Iterator[Event], n: int) -> list[Event]:
    out: list[Event] = []
    for e in events:
        out.append(e)
        if len(out) >= n:
            break
    return out


async def _batches(data: bytes, filename: str, fmt: str | None = None) -> tuple[str, Any]:
    found, events = await asyncio.to_thread(iter_file, data, format=fmt, filename=filename or None)

    async def gen():  # type: ignore[no-untyped-def]
        while True:
            batch = await asyncio.to_thread(_take, events, BATCH)
            if not batch:
                return
            yield batch

    return found, gen()


async def _check_cancel(live: LiveState, job_id: int) -> None:
    if await live.get(_cancel_key(job_id)):
        raise Cancelled()


async def _report(live: LiveState, job_id: int, **progress: Any) -> None:
    await live.set(_progress_key(job_id), json.dumps(progress), ttl=PROGRESS_TTL)


Listener = Callable[[dict[str, Any]], None]


async def run_preview(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState,
                      job_id: int, *, listener: Listener | None = None) -> JobView:
    """Read the job's file through and record the preview (counts, first questions, problems)."""
    try:
        async with sessionmaker() as session:
            job = await _job(session, job_id)
            bank = await question_store.bank_by_name(session, job.bank_name)
            existing = await question_store.bank_fingerprints(session, bank.id) if bank else set()
        data = await storage.get(job.file_key or "")
        fmt, batches = await _batches(data, job.filename)
        builder = PreviewBuilder(fmt, limit=PREVIEW_ROWS, keep_problems=KEEP_PROBLEMS)
        all_problems: list[Problem] = []
        links, cues = EnemyLinks(), question_cueing.CueCollector()
        async for batch in batches:
            await _check_cancel(live, job_id)
            for e in batch:
                builder.add(e)
                if isinstance(e, Problem):
                    all_problems.append(e)
                else:
                    links.add(e)
                    cues.add(e)
            state = {"stage": "previewing", "read": builder.total, "problems": builder.problem_count}
            await _report(live, job_id, **state)
            if listener:
                listener(state)
        del data
        preview = builder.finish(existing).to_dict()
        async with sessionmaker() as session:
            extra = await question_cueing.import_preview(session, bank, links, cues)
        del cues
        question_cueing.merge_into(preview, extra)
        all_problems.extend(extra["problems"])
        can = preview["ok"] or preview["can_skip"]
        new = builder.new_count(existing) if can else 0
        preview.update(bank=job.bank_name, bank_exists=bank is not None, would_create=new,
                       would_skip=builder.total - new if new else 0)
        report_key = None
        if all_problems:
            all_problems.sort(key=lambda p: p.line_or_row or 0)
            report_key = await storage.put(skipped_report(all_problems), prefix="question-import-reports")
        await _update(sessionmaker, job_id, state="previewed", format=fmt, total=builder.total,
                      problem_count=preview["problem_count"], preview=preview, report_key=report_key, message="")
    except Cancelled:
        await _finish(sessionmaker, storage, job_id, state="cancelled", message="已取消，未导入任何试题")
    except Exception:  # noqa: BLE001 - the job must end in a state the page can show
        _log.exception("import job %s: preview failed", job_id)
        await _finish(sessionmaker, storage, job_id, state="failed", message="读取文件时出错，未导入任何试题")
    finally:
        await live.delete(_progress_key(job_id), _cancel_key(job_id))
    return await job_view(sessionmaker, live, job_id)


async def start_import(sessionmaker: async_sessionmaker[AsyncSession], live: LiveState, job_id: int, *,
                       skip_unsupported: bool, enemy_pairs: list[tuple[str, str]] | None = None) -> None:
    """Move a previewed job to importing (refused when it would be refused anyway).

    ``enemy_pairs``: cueing pairs of the preview (by fingerprint) to store as enemies."""
    async with sessionmaker() as session, session.begin():
        job = await _job(session, job_id)
        if job.state != "previewed":
            raise ConcurrentUpdate(f"导入任务{STATE_ZH.get(job.state, job.state)}，不能开始导入")
        preview = job.preview or {}
        confirmed = question_cueing.confirmed_pairs(preview, enemy_pairs or [])
        if job.problem_count and not (skip_unsupported and preview.get("can_skip")):
            msg = (f"文件有 {job.problem_count} 处问题，未导入任何试题；"
                   + ("可选择跳过有问题的试题后导入其余试题" if preview.get("can_skip") else "请改正后重新上传"))
            raise InvalidInput(msg, fields={"file": msg})
        if not job.total:
            raise InvalidInput("文件中没有可导入的试题", fields={"file": "文件中没有可导入的试题"})
        job.state = "importing"
        job.skip_unsupported = skip_unsupported
        job.enemy_pairs = [list(p) for p in confirmed]
        job.updated_at = utcnow()
    await _report(live, job_id, stage="importing", read=0, stored=0, total=job.total)


async def run_import(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState,
                     job_id: int, *, listener: Listener | None = None) -> JobView:
    """Store the job's questions, all in one transaction (started by :func:`start_import`)."""
    try:
        async with sessionmaker() as session:
            job = await _job(session, job_id)
        data = await storage.get(job.file_key or "")
        _, batches = await _batches(data, job.filename, job.format or None)
        skipped = 0
        async with sessionmaker() as session, session.begin():
            bank = await question_store.open_bank(session, job.bank_name, actor_id=job.actor_id)
            writer = question_store.BankWriter(session, bank)
            async for batch in batches:
                await _check_cancel(live, job_id)
                problems = [e for e in batch if isinstance(e, Problem)]
                if problems and (not job.skip_unsupported or any(p.whole_file for p in problems)):
                    # The file changed under us, or the preview was bypassed: refuse, store nothing.
                    raise question_store.ImportRefused(problems)
                skipped += len(problems)
                await writer.add([e for e in batch if isinstance(e, Question)])
                state = {"stage": "importing", "read": writer.total, "stored": writer.created, "total": job.total}
                await _report(live, job_id, **state)
                if listener:
                    listener(state)
            await _check_cancel(live, job_id)
            await writer.link_enemies(confirmed=[(a, b) for a, b in (job.enemy_pairs or [])], actor_id=job.actor_id)
            outcome = writer.outcome(skipped=skipped)
            question_store.record_import(session, outcome, fmt=job.format, source=job.filename, actor_id=job.actor_id,
                                         skip_unsupported=job.skip_unsupported)
        await _finish(sessionmaker, storage, job_id, state="done", outcome=asdict(outcome), message="")
    except Cancelled:
        await _finish(sessionmaker, storage, job_id, state="cancelled", message="已取消，未导入任何试题")
    except question_store.ImportRefused as exc:
        await _finish(sessionmaker, storage, job_id, state="failed", message=exc.message,
                      preview={**(job.preview or {}), "problems": [problem_to_dict(p) for p in exc.problems[:KEEP_PROBLEMS]]})
    except (InvalidInput, ConcurrentUpdate) as exc:
        await _finish(sessionmaker, storage, job_id, state="failed", message=f"{exc.message}，未导入任何试题")
    except Exception:  # noqa: BLE001
        _log.exception("import job %s: import failed", job_id)
        await _finish(sessionmaker, storage, job_id, state="failed", message="导入时出错，未导入任何试题")
    finally:
        await live.delete(_progress_key(job_id), _cancel_key(job_id))
    return await job_view(sessionmaker, live, job_id)


async def _finish(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, job_id: int, **values: Any) -> None:
    """End a job; the upload is no longer needed (the report, if any, stays)."""
    async with sessionmaker() as session:
        key = (await _job(session, job_id)).file_key
    await _update(sessionmaker, job_id, file_key=None, **values)
    if key:
        try:
            await storage.delete(key)
        except OSError:
            _log.warning("import job %s: could not delete upload %s", job_id, key)


# ---------------------------------------------------------------- tasks in this process


class ImportJobs:
    """The job steps running in this process, so shutdown can stop them cleanly."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState) -> None:
        self.sessionmaker, self.storage, self.live = sessionmaker, storage, live
        self.tasks: dict[int, asyncio.Task[Any]] = {}

    def _spawn(self, job_id: int, step: Any) -> None:
        task = asyncio.create_task(step(self.sessionmaker, self.storage, self.live, job_id))
        self.tasks[job_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job_id, None))

    async def upload(self, *, data: bytes, filename: str, bank_name: str, actor_id: int | None) -> int:
        await expire_abandoned(self.sessionmaker, self.storage)
        job_id = await create_job(self.sessionmaker, self.storage, data=data, filename=filename, bank_name=bank_name,
                                  actor_id=actor_id)
        await _report(self.live, job_id, stage="previewing", read=0, problems=0)
        self._spawn(job_id, run_preview)
        return job_id

    async def start(self, job_id: int, *, skip_unsupported: bool, enemy_pairs: list[tuple[str, str]] | None = None) -> None:
        await start_import(self.sessionmaker, self.live, job_id, skip_unsupported=skip_unsupported,
                           enemy_pairs=enemy_pairs)
        self._spawn(job_id, run_import)

    async def close(self) -> None:
        for job_id, task in list(self.tasks.items()):
            task.cancel()
        for job_id, task in list(self.tasks.items()):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            try:
                await _finish(self.sessionmaker, self.storage, job_id, state="failed",
                              message="服务重启，导入中断，未导入任何试题，请重新上传")
            except Exception:  # noqa: BLE001
                _log.exception("import job %s: could not record the interruption", job_id)
