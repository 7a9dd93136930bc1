"""Attempt events pushed to open pages, across processes: one live-state subscription per process,
fanned out here to the pages connected to this process."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from ..livestate import LiveState, follow

CHANNEL = "exam-events"


class AttemptHub:
    def __init__(self, live: LiveState) -> None:
        self.live = live
        self._listeners: dict[int, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def publish(self, attempt_id: int, event: str, **data: Any) -> None:
        await self.live.publish(CHANNEL, json.dumps({"attempt": attempt_id, "event": event, **data}, default=str))

    def listen(self, attempt_id: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._listeners[attempt_id].add(queue)
        return queue

    def unlisten(self, attempt_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        listeners = self._listeners.get(attempt_id)
        if listeners is not None:
            listeners.discard(queue)
            if not listeners:
                del self._listeners[attempt_id]

    @property
    def connected(self) -> int:
        return sum(len(v) for v in self._listeners.values())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="attempt-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        # While the live state (Redis) is down, pages fall back to their clock polling.
        await follow(self.live, CHANNEL, self._dispatch, ready=self.ready, what="attempt event")

    def _dispatch(self, raw: str) -> None:
        try:
            event = json.loads(raw)
            listeners = self._listeners.get(int(event["attempt"]), ())
        except (ValueError, KeyError, TypeError):
            return
        for queue in list(listeners):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stalled page: it resynchronises on its next heartbeat
                pass
