"""XLSX exports streamed from the database, small ones inline and large ones as background jobs.

A province's results export has 100,000 rows. Loading them as ORM objects into a list on the event
loop took minutes and gigabytes, and every candidate on that process waited. Here the rows come
from a server-side cursor in batches (`yield_per`), each batch is converted and appended to the
write-only workbook in a worker thread, and the loop only awaits: memory stays that of one batch
plus openpyxl's shared strings, and no step holds the loop for longer than fetching one batch.

An export over `INLINE_MAX_ROWS` rows runs as a background job (`jobs.JobRunner`, as the certificate
ZIPs do): progress any process can answer, the finished file in file storage for its owner.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
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
from .jobs import Job, JobRunner, Words
from .statistics import EXPORTS, STAFF, ExportKind

BATCH = 1000  # rows fetched from the cursor and written per step
INLINE_MAX_ROWS = 5000  # above this an export is a background job, not one long request
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


@dataclass(frozen=True, kw_only=True)
class ExportJob(Job):
    kind: str

    @property
    def title(self) -> str:
        return EXPORTS[self.kind].title

    def public(self) -> dict[str, Any]:
        return {"job": self.token, "kind": self.kind, "title": self.title, "stage": self.stage,
                "words": STAGE_WORDS.get(self.stage, self.stage), "done": self.done, "total": self.total,
                "finished": self.finished, "message": self.message,
                "progress": f"/api/v1/export-jobs/{self.token}",
                "download": f"/api/v1/export-jobs/{self.token}/file" if self.stage == "done" else None}


class ExportJobs(JobRunner[ExportJob]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState) -> None:
        super().__init__(live, "export", ExportJob, Words(interrupted="服务重启，导出中断，请重新导出",
                                                          failed="导出失败，请稍后重试"))
        self.sessionmaker, self.storage = sessionmaker, storage
        self.latest: dict[tuple[int, str], str] = {}  # (account, kind) -> its latest job here

    async def get(self, token: str, owner: int) -> ExportJob | None:
        job = await super().get(token, owner)
        return job if job is not None and job.kind in EXPORTS else None

    async def start(self, *, actor: Actor, kind: ExportKind, total: int) -> ExportJob:
        # One running export per account and kind in a process: asking again (a second click, a reload)
        # follows the running one instead of starting another minute-long cursor.
        running = self.latest.get((actor.account_id, kind.name))
        if self.running(running):
            assert running is not None
            job = await self.get(running, actor.account_id)
            if job is not None and not job.finished:
                return job
        job = ExportJob(token=secrets.token_hex(16), owner=actor.account_id, kind=kind.name, stage="queued", done=0,
                        total=total)
        self.latest[(actor.account_id, kind.name)] = job.token

        async def work(latest: dict[str, Any]) -> tuple[int, str]:
            path = temp_path()
            try:
                count = await write_export(self.sessionmaker, kind, actor, path,
                                           progress=lambda done: latest.update(done=done))
                return count, await self.storage.put_file(path, prefix="exports")
            finally:
                os.unlink(path)

        return await self.launch(job, work, start={"stage": "writing", "done": 0})
