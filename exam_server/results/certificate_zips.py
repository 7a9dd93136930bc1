"""Certificate ZIPs per institution as background jobs with real progress.

A large institution has thousands of certificates; drawing them takes minutes, longer than a
browser should wait on one request with nothing to show. The body starts a job; the job gathers
the facts and draws the PDFs in this process (drawing in a worker thread), reporting how many are
done to the live state (Redis or in-process), so the page can poll any process for it. The
finished ZIP goes to file storage, where any process can serve it to the job's owner; starting a
new job for the same institution deletes the owner's previous file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.models import Institution

from ..infra.livestate import LiveState
from ..infra.storage import FileStorage
from .documents import certificates_zip

_log = logging.getLogger(__name__)

JOB_TTL = 6 * 3600.0  # seconds a job (and what it says about its file) is remembered
REPORT_EVERY = 0.5  # seconds between progress writes while drawing
STAGE_WORDS = {"queued": "排队中", "gathering": "正在准备证书信息", "rendering": "正在生成证书", "done": "已生成",
               "failed": "生成失败"}


def _key(token: str) -> str:
    return f"cert-zip:{token}"


def _last_key(owner: int, institution_id: int) -> str:
    return f"cert-zip-last:{owner}:{institution_id}"


@dataclass(frozen=True)
class ZipJob:
    token: str
    owner: int
    institution_id: int
    institution: str
    stage: str
    done: int
    total: int
    storage_key: str | None = None
    message: str | None = None

    def public(self) -> dict[str, Any]:
        return {"job": self.token, "institution": self.institution, "stage": self.stage,
                "words": STAGE_WORDS.get(self.stage, self.stage), "done": self.done, "total": self.total,
                "finished": self.stage in ("done", "failed"), "message": self.message,
                "download": f"/api/v1/certificate-zips/{self.token}/file" if self.stage == "done" else None}


async def job_of(live: LiveState, token: str, owner: int) -> ZipJob | None:
    """The job if it exists and belongs to ``owner`` (someone else's job answers as missing)."""
    if not token.isalnum() or len(token) > 64:
        return None
    raw = await live.get(_key(token))
    if raw is None:
        return None
    job = ZipJob(**json.loads(raw))
    return job if job.owner == owner else None


async def _save(live: LiveState, job: ZipJob) -> None:
    await live.set(_key(job.token), json.dumps(job.__dict__), ttl=JOB_TTL)


class CertificateZipJobs:
    """The jobs running in this process, so shutdown can stop them."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState) -> None:
        self.sessionmaker, self.storage, self.live = sessionmaker, storage, live
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self, *, owner: int, institution: Institution, total: int, base_url: str) -> ZipJob:
        previous = await self.live.get(_last_key(owner, institution.id))
        if previous:
            old = await job_of(self.live, previous, owner)
            if old is not None and old.storage_key:
                await self.storage.delete(old.storage_key)
        job = ZipJob(secrets.token_hex(16), owner, institution.id, institution.name, "queued", 0, total)
        await _save(self.live, job)
        await self.live.set(_last_key(owner, institution.id), job.token, ttl=JOB_TTL)
        task = asyncio.create_task(self._run(job, base_url), name=f"cert-zip-{job.token}")
        self.tasks[job.token] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job.token, None))
        return job

    async def _run(self, job: ZipJob, base_url: str) -> None:
        latest: dict[str, Any] = {"stage": "gathering", "done": 0, "total": job.total}

        def progress(stage: str, done: int, total: int) -> None:  # may run in the drawing thread: record only
            latest.update(stage=stage, done=done, total=total)

        async def reporter() -> None:
            while True:
                await asyncio.sleep(REPORT_EVERY)
                await _save(self.live, ZipJob(**{**job.__dict__, **latest}))

        ticker = asyncio.create_task(reporter())
        path = None
        try:
            async with self.sessionmaker() as session:
                institution = await session.get(Institution, job.institution_id)
                assert institution is not None
                path, count = await certificates_zip(session, self.storage, institution, base_url=base_url,
                                                     progress=progress)
            data = await asyncio.to_thread(_read, path)
            key = await self.storage.put(data, prefix="certificate-zips")
            final = ZipJob(**{**job.__dict__, "stage": "done", "done": count, "total": count, "storage_key": key})
        except asyncio.CancelledError:
            final = ZipJob(**{**job.__dict__, **latest, "stage": "failed", "message": "服务重启，生成中断，请重新生成"})
            raise
        except Exception as exc:  # noqa: BLE001 - the page must hear that the job ended
            _log.exception("certificate zip %s failed", job.token)
            message = getattr(exc, "message_zh", None) or "生成失败，请稍后重试"
            final = ZipJob(**{**job.__dict__, **latest, "stage": "failed", "message": message})
        finally:
            ticker.cancel()
            try:  # wait for it, so a late progress write cannot land after the outcome
                await ticker
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            if path is not None:
                os.unlink(path)
            try:
                await _save(self.live, final)
            except Exception:  # noqa: BLE001
                _log.exception("certificate zip %s: could not record the outcome", job.token)

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


async def wait_finished(live: LiveState, token: str, owner: int, *, timeout: float = 60.0) -> ZipJob | None:
    """For the CLI and tests: poll until the job has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await job_of(live, token, owner)
        if job is None or job.stage in ("done", "failed"):
            return job
        await asyncio.sleep(0.05)
    return await job_of(live, token, owner)
