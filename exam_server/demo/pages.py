"""The demo's SMS outbox page (/demo/sms): what the log gateway would have sent, shown only in demo mode."""

from __future__ import annotations

from aiohttp import web

from ..infra.sms import LogSms
from ..web.keys import settings_key, sms_key
from ..web.routes import page_routes
from ..web.templating import render


@page_routes.get("/demo/sms", name="demo_sms")
async def demo_sms(request: web.Request) -> web.StreamResponse:
    if not request.app[settings_key].demo_mode:
        raise web.HTTPNotFound()
    sms = request.app[sms_key]
    outbox = list(sms.outbox) if isinstance(sms, LogSms) else []
    return render(request, "demo_sms.html", {"outbox": outbox})
