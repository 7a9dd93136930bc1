"""Proctoring pages: 监考工作台 (with its WebSocket), assignment and review."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from registry.roles import Role

from ..web.api import _json_default
from ..web.errors import ApiError, Forbidden
from ..web.keys import sessionmaker_key
from ..web.pages import only_for
from ..web.params import path_id
from ..web.routes import page_routes
from ..web.sessions import current_account
from ..web.templating import render
from . import events
from .api import dashboard_scope, snapshot
from .keys import invigilation_hub_key
from .live import Dashboard

STAFF = (Role.INVIGILATOR, Role.BODY, Role.ADMIN)


@page_routes.get("/invigilation", name="invigilation")
async def invigilation_page(request: web.Request) -> web.StreamResponse:
    only_for(request, "/invigilation", STAFF, "监考员、考核机构和系统管理员")
    return render(request, "proctor_dashboard.html", {})


@page_routes.get("/schedules/{schedule_id}/proctoring", name="proctor_assign")
async def assign_page(request: web.Request) -> web.StreamResponse:
    only_for(request, request.path, (Role.BODY, Role.ADMIN), "考核机构和系统管理员")
    return render(request, "proctor_assign.html", {"schedule_id": path_id(request, "schedule_id")})


@page_routes.get("/schedules/{schedule_id}/review", name="proctor_review")
async def review_page(request: web.Request) -> web.StreamResponse:
    only_for(request, request.path, (Role.BODY, Role.ADMIN), "考核机构和系统管理员")
    return render(request, "proctor_review.html", {"schedule_id": path_id(request, "schedule_id")})


@page_routes.get("/ws/invigilation/{schedule_id}", name="invigilation_ws")
async def invigilation_ws(request: web.Request) -> web.StreamResponse:
    """Snapshot, then the missed events since ``?since=`` (catch-up after a reconnect), then live ones."""
    account = current_account(request)
    if Role(account.role) not in STAFF or account.must_change_password or account.phone_verified_at is None:
        raise Forbidden("当前角色无权执行此操作")
    schedule_id = path_id(request, "schedule_id")
    raw_since = request.query.get("since", "0")
    if not raw_since.isdigit() or len(raw_since) > 12:
        raise ApiError("since 应为事件编号")
    body, followed = await snapshot(request, schedule_id)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    hub = request.app[invigilation_hub_key]
    board = Dashboard(schedule_id, followed)
    hub.connect(board)  # before reading the backlog, so nothing falls between the two

    async def send(message: dict) -> None:
        await ws.send_str(json.dumps(message, ensure_ascii=False, default=_json_default))

    async def pump() -> None:
        while True:
            message = await board.queue.get()
            if board.overflowed:
                board.overflowed = False
                await send({"type": "resync"})
            await send(message)

    try:
        await send(body)
        since = int(raw_since)
        if since:
            async with request.app[sessionmaker_key]() as session:
                ids = [c["attempt_id"] for c in body["candidates"]]
                missed = await events.since(session, ids, since)
            await send({"type": "catchup", "events": [events.event_json(e) for e in missed]})
        sender = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "ping":
                    await ws.send_str('{"type":"pong"}')
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await sender
    finally:
        hub.disconnect(board)
    return ws
