"""Background jobs that write one file, with progress any process can read.

Certificate ZIPs and large exports take minutes, longer than a browser should wait on one request.
A job is a task in the process that started it; its record (stage, how many done, and at the end
the stored file or the reason it failed) lives in the live state (Redis or in-process), so the page
can poll any process, and the finished file goes to file storage for the job's owner only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..infra.livestate import LiveState

_log = logging.getLogger(__name__)

JOB_TTL = 6 * 3600.0  # seconds a job (and what it says about its file) is remembered
REPORT_EVERY = 0.5  # seconds between progress writes while the job runs


@dataclass(frozen=True, kw_only=True)
class Job:
    token: str
    owner: int
    stage: str
    done: int
    total: int
    storage_key: str | None = None
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.stage in ("done", "failed")


J = TypeVar("J", bound=Job)
# The work of a job: given the progress record to update (plain assignments, safe from a worker
# thread), it returns how many it made and the storage key of the file.
Work = Callable[[dict[str, Any]], Awaitable[tuple[int, str]]]


@dataclass(frozen=True)
class Words:
    """What a failed job says: after a restart, and after any other error without a message of its own."""

    interrupted: str
    failed: str


class JobRunner(Generic[J]):
    """The jobs of one kind running in this process (so shutdown can stop them) and their records."""

    def __init__(self, live: LiveState, prefix: str, job_type: type[J], words: Words) -> None:
        self.live, self.prefix, self.job_type, self.words = live, prefix, job_type, words
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def _key(self, token: str) -> str:
        return f"{self.prefix}:{token}"

    async def save(self, job: J) -> None:
        await self.live.set(self._key(job.token), json.dumps(dataclasses.asdict(job)), ttl=JOB_TTL)

    async def get(self, token: str, owner: int) -> J | None:
        """The job if it exists and belongs to ``owner`` (someone else's job answers as missing)."""
        if not token.isalnum() or len(token) > 64:
            return None
        raw = await self.live.get(self._key(token))
        if raw is None:
            return None
        try:
            job = self.job_type(**json.loads(raw))
        except TypeError:  # a record of another version or kind
            return None
        return job if job.owner == owner else None

    def running(self, token: str | None) -> bool:
        return token is not None and token in self.tasks

    async def launch(self, job: J, work: Work, *, start: dict[str, Any]) -> J:
        """Record ``job`` and run ``work`` for it in the background; ``start`` is the first progress."""
        await self.save(job)
        task = asyncio.create_task(self._run(job, work, dict(start)), name=f"{self.prefix}-{job.token}")
        self.tasks[job.token] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job.token, None))
        return job

    async def _run(self, job: J, work: Work, latest: dict[str, Any]) -> None:
        async def reporter() -> None:
            while True:
                await asyncio.sleep(REPORT_EVERY)
                await self.save(dataclasses.replace(job, **latest))

        ticker = asyncio.create_task(reporter())
        try:
            count, key = await work(latest)
            final = dataclasses.replace(job, stage="done", done=count, total=count, storage_key=key)
        except asyncio.CancelledError:
            final = dataclasses.replace(job, **{**latest, "stage": "failed", "message": self.words.interrupted})
            raise
        except Exception as exc:  # noqa: BLE001 - the page must hear that the job ended
            _log.exception("%s %s failed", self.prefix, job.token)
            message = getattr(exc, "message_zh", None) or self.words.failed
            final = dataclasses.replace(job, **{**latest, "stage": "failed", "message": message})
        finally:
            ticker.cancel()
            try:  # wait for it, so a late progress write cannot land after the outcome
                await ticker
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            try:
                await self.save(final)
            except Exception:  # noqa: BLE001
                _log.exception("%s %s: could not record the outcome", self.prefix, job.token)

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    async def wait_finished(self, token: str, owner: int, *, timeout: float = 120.0) -> J | None:
        """For the CLI and tests: poll until the job has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = await self.get(token, owner)
            if job is None or job.finished:
                return job
            await asyncio.sleep(0.05)
        return await self.get(token, owner)
