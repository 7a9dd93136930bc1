"""Attempt events pushed to open pages, across processes: the process's live-state follower hands each
event on CHANNEL to the hub, which fans it out to the pages connected to this process."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

from registry.db import utcnow

from ..infra.livestate import LIVE_STATE_ERRORS, LiveFollower, LiveState, cancel_and_wait

CHANNEL = "exam-events"
# Put in each open stream's queue every KEEPALIVE_SECONDS, a 1/KEEPALIVE_SECONDS share of the streams
# each second (by attempt id): no timer per stream, and no burst of writes when they all fall due.
KEEPALIVE: dict[str, Any] = {}
KEEPALIVE_SECONDS = 25


# An exam page keeps its event stream open: while it does, the attempt is on line. The stream's own
# keep-alive renews this mark, so the invigilator sees a candidate on line whether or not the
# camera is in use (with the face check off nothing else reports presence).
ONLINE_TTL = KEEPALIVE_SECONDS * 2 + 5


def online_key(attempt_id: int) -> str:
    return f"exam:online:{attempt_id}"


class AttemptHub:
    def __init__(self, live: LiveState) -> None:
        self.live = live
        self._listeners: dict[int, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._keepalive: asyncio.Task[None] | None = None

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

    async def mark_online(self, attempt_id: int) -> None:
        try:
            await self.live.set(online_key(attempt_id), utcnow().isoformat(), ttl=ONLINE_TTL)
        except LIVE_STATE_ERRORS:  # presence is a hint for the dashboard; the stream itself goes on
            pass

    @property
    def connected(self) -> int:
        return sum(len(v) for v in self._listeners.values())

    def start(self, follower: LiveFollower) -> None:
        # While the live state (Redis) is down, pages fall back to their clock polling.
        follower.follow(CHANNEL, self._dispatch)
        self._keepalive = asyncio.create_task(self._keep_alive(), name="attempt-hub-keepalive")

    async def stop(self) -> None:
        await cancel_and_wait(self._keepalive)

    async def _keep_alive(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(1)
            tick = (tick + 1) % KEEPALIVE_SECONDS
            for attempt_id, queues in list(self._listeners.items()):
                if attempt_id % KEEPALIVE_SECONDS == tick:
                    for queue in list(queues):
                        try:
                            queue.put_nowait(KEEPALIVE)
                        except asyncio.QueueFull:  # a stalled page has enough waiting
                            pass

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
