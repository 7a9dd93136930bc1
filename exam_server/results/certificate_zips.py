"""Certificate ZIPs per institution as background jobs with real progress.

A large institution has thousands of certificates; drawing them takes minutes. The body starts a
job (`jobs.JobRunner`); the job gathers the facts and draws the PDFs in this process (drawing in a
worker thread), reporting how many are done, and moves the finished ZIP into file storage, where
any process can serve it to the job's owner. Starting a new job for the same institution deletes
the owner's previous file.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.models import Institution

from ..infra.livestate import LiveState
from ..infra.storage import FileStorage
from .documents import certificates_zip
from .jobs import JOB_TTL, Job, JobRunner, Words

STAGE_WORDS = {"queued": "排队中", "gathering": "正在准备证书信息", "rendering": "正在生成证书", "done": "已生成",
               "failed": "生成失败"}


@dataclass(frozen=True, kw_only=True)
class ZipJob(Job):
    institution_id: int
    institution: str

    def public(self) -> dict[str, Any]:
        return {"job": self.token, "institution": self.institution, "stage": self.stage,
                "words": STAGE_WORDS.get(self.stage, self.stage), "done": self.done, "total": self.total,
                "finished": self.finished, "message": self.message,
                "download": f"/api/v1/certificate-zips/{self.token}/file" if self.stage == "done" else None}


def _last_key(owner: int, institution_id: int) -> str:
    return f"cert-zip-last:{owner}:{institution_id}"


class CertificateZipJobs(JobRunner[ZipJob]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState) -> None:
        super().__init__(live, "cert-zip", ZipJob, Words(interrupted="服务重启，生成中断，请重新生成",
                                                         failed="生成失败，请稍后重试"))
        self.sessionmaker, self.storage = sessionmaker, storage

    async def start(self, *, owner: int, institution: Institution, total: int, base_url: str) -> ZipJob:
        previous = await self.live.get(_last_key(owner, institution.id))
        if previous:
            old = await self.get(previous, owner)
            if old is not None and old.storage_key:
                await self.storage.delete(old.storage_key)
        job = ZipJob(token=secrets.token_hex(16), owner=owner, institution_id=institution.id,
                     institution=institution.name, stage="queued", done=0, total=total)
        await self.live.set(_last_key(owner, institution.id), job.token, ttl=JOB_TTL)

        async def work(latest: dict[str, Any]) -> tuple[int, str]:
            def progress(stage: str, done: int, total: int) -> None:  # runs in the drawing thread: record only
                latest.update(stage=stage, done=done, total=total)

            async with self.sessionmaker() as session:
                found = await session.get(Institution, job.institution_id)
                assert found is not None
                path, count = await certificates_zip(session, self.storage, found, base_url=base_url,
                                                     progress=progress)
            try:
                return count, await self.storage.put_file(path, prefix="certificate-zips")
            finally:
                os.unlink(path)

        return await self.launch(job, work, start={"stage": "gathering", "done": 0, "total": total})
