"""XLSX exports streamed from the database, small ones inline and large ones as background jobs.

A province's results export has 100,000 rows. Loading them as ORM objects into a list on the event
loop took minutes and gigabytes, and every candidate on that process waited. Here the rows come
from a server-side cursor in batches (`yield_per`), each batch is converted and appended to the
write-only workbook in a worker thread, and the loop only awaits: memory stays that of one batch
plus openpyxl's shared strings, and no step holds the loop for longer than fetching one batch.

An export over `INLINE_MAX_ROWS` rows runs as a job like the certificate ZIPs: progress in the live
state (any process can answer the poll), the finished file in file storage for its owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import reports
from registry.registrations import current_cycle
from registry.scope import Actor, ensure_role

from ..infra.livestate import LiveState
from ..infra.storage import FileStorage
from .statistics import EXPORTS, STAFF, ExportKind

_log = logging.getLogger(__name__)

BATCH = 1000  # rows fetched from the cursor and written per step
INLINE_MAX_ROWS = 5000  # above this an export is a background job, not one long request
JOB_TTL = 6 * 3600.0
REPORT_EVERY = 0.5
STAGE_WORDS = {"queued": "排队中", "writing": "正在导出", "done": "已生成", "failed": "导出失败"}


async def export_size(session: AsyncSession, kind: ExportKind, actor: Actor) -> int:
    """How many rows the export would have (one count query, nothing loaded)."""
    ensure_role(actor, *STAFF)
    cycle = await current_cycle(session)
    stmt = kind.statement(cycle.id, actor).order_by(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(stmt)) or 0)


def _append(writer: reports.XlsxWriter, convert: Callable[[Sequence[Any]], dict[str, Any]],
            part: Sequence[Sequence[Any]]) -> None:
    writer.append(convert(r) for r in part)


async def write_export(sessionmaker: async_sessionmaker[AsyncSession], kind: ExportKind, actor: Actor, path: str,
                       progress: Callable[[int], None] | None = None) -> int:
    """Stream the export's rows into an XLSX file at ``path``; returns the number of rows."""
    ensure_role(actor, *STAFF)
    writer = reports.XlsxWriter()
    await asyncio.to_thread(writer.sheet, kind.title, kind.columns)
    convert = kind.converter(actor)
    writing: asyncio.Future[None] | None = None  # the previous batch, written while the next one is fetched
    try:
        async with sessionmaker() as session:
            cycle = await current_cycle(session)
            connection = await session.connection()
            result = await connection.stream(kind.statement(cycle.id, actor).execution_options(yield_per=BATCH))
            async for part in result.partitions(BATCH):
                if writing is not None:
                    await writing
                    if progress is not None:
                        progress(writer.count)
                writing = asyncio.ensure_future(asyncio.to_thread(_append, writer, convert, part))
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():  # a failed fetch: let the thread finish before the file goes
            await asyncio.wait([writing])
    if progress is not None:
        progress(writer.count)
    await asyncio.to_thread(writer.save, path)
    return writer.count


def temp_path() -> str:
    fd, path = tempfile.mkstemp(prefix="dingkao-export-", suffix=".xlsx")
    os.close(fd)
    return path


def _key(token: str) -> str:
    return f"export:{token}"


@dataclass(frozen=True)
class ExportJob:
    token: str
    owner: int
    kind: str
    stage: str
    done: int
    total: int
    storage_key: str | None = None
    message: str | None = None

    @property
    def title(self) -> str:
        return EXPORTS[self.kind].title

    def public(self) -> dict[str, Any]:
        return {"job": self.token, "kind": self.kind, "title": self.title, "stage": self.stage,
                "words": STAGE_WORDS.get(self.stage, self.stage), "done": self.done, "total": self.total,
                "finished": self.stage in ("done", "failed"), "message": self.message,
                "progress": f"/api/v1/export-jobs/{self.token}",
                "download": f"/api/v1/export-jobs/{self.token}/file" if self.stage == "done" else None}


async def job_of(live: LiveState, token: str, owner: int) -> ExportJob | None:
    """The job if it exists and belongs to ``owner`` (someone else's job answers as missing)."""
    if not token.isalnum() or len(token) > 64:
        return None
    raw = await live.get(_key(token))
    if raw is None:
        return None
    job = ExportJob(**json.loads(raw))
    return job if job.owner == owner and job.kind in EXPORTS else None


async def _save(live: LiveState, job: ExportJob) -> None:
    await live.set(_key(job.token), json.dumps(job.__dict__), ttl=JOB_TTL)


class ExportJobs:
    """The export jobs running in this process, so shutdown can stop them."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState) -> None:
        self.sessionmaker, self.storage, self.live = sessionmaker, storage, live
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.running: dict[tuple[int, str], str] = {}  # (account, kind) -> its latest job here

    async def start(self, *, actor: Actor, kind: ExportKind, total: int) -> ExportJob:
        # One running export per account and kind in a process: asking again (a second click, a reload)
        # follows the running one instead of starting another minute-long cursor.
        running = self.running.get((actor.account_id, kind.name))
        if running in self.tasks:
            job = await job_of(self.live, running, actor.account_id)
            if job is not None and job.stage not in ("done", "failed"):
                return job
        job = ExportJob(secrets.token_hex(16), actor.account_id, kind.name, "queued", 0, total)
        await _save(self.live, job)
        task = asyncio.create_task(self._run(job, actor), name=f"export-{job.token}")
        self.tasks[job.token] = task
        self.running[(actor.account_id, kind.name)] = job.token
        task.add_done_callback(lambda _t: self.tasks.pop(job.token, None))
        return job

    async def _run(self, job: ExportJob, actor: Actor) -> None:
        latest: dict[str, Any] = {"stage": "writing", "done": 0}

        async def reporter() -> None:
            while True:
                await asyncio.sleep(REPORT_EVERY)
                await _save(self.live, ExportJob(**{**job.__dict__, **latest}))

        ticker = asyncio.create_task(reporter())
        path = temp_path()
        try:
            count = await write_export(self.sessionmaker, EXPORTS[job.kind], actor, path,
                                       progress=lambda done: latest.update(done=done))
            key = await self.storage.put_file(path, prefix="exports")
            final = ExportJob(**{**job.__dict__, "stage": "done", "done": count, "total": count, "storage_key": key})
        except asyncio.CancelledError:
            final = ExportJob(**{**job.__dict__, **latest, "stage": "failed", "message": "服务重启，导出中断，请重新导出"})
            raise
        except Exception as exc:  # noqa: BLE001 - the page must hear that the job ended
            _log.exception("export %s failed", job.token)
            message = getattr(exc, "message_zh", None) or "导出失败，请稍后重试"
            final = ExportJob(**{**job.__dict__, **latest, "stage": "failed", "message": message})
        finally:
            ticker.cancel()
            try:  # wait for it, so a late progress write cannot land after the outcome
                await ticker
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            if os.path.exists(path):
                os.unlink(path)
            try:
                await _save(self.live, final)
            except Exception:  # noqa: BLE001
                _log.exception("export %s: could not record the outcome", job.token)

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass


async def wait_finished(live: LiveState, token: str, owner: int, *, timeout: float = 120.0) -> ExportJob | None:
    """For tests: poll until the job has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await job_of(live, token, owner)
        if job is None or job.stage in ("done", "failed"):
            return job
        await asyncio.sleep(0.05)
    return await job_of(live, token, owner)
