"""The physician's pages before a paper: the consent (人脸信息采集授权) and the identity check."""

from __future__ import annotations

from aiohttp import web

from registry.roles import Role

from ..web.pages import only_for
from ..web.routes import page_routes
from ..web.security_headers import uses_camera
from ..web.templating import render


@page_routes.get("/proctoring/consent", name="proctor_consent")
async def consent_page(request: web.Request) -> web.StreamResponse:
    only_for(request, "/proctoring/consent", (Role.PHYSICIAN,), "医师本人")
    return render(request, "proctor_consent.html", {"next": _next(request)})


def _next(request: web.Request) -> str:
    target = request.query.get("next", "/exams")
    return target if target.startswith("/") and not target.startswith("//") else "/exams"


@page_routes.get("/exams/check", name="proctor_check")
@uses_camera
async def check_page(request: web.Request) -> web.StreamResponse:
    only_for(request, request.path_qs, (Role.PHYSICIAN,), "医师本人")
    kind = request.query.get("kind", "humanities")
    if kind not in ("humanities", "professional"):
        kind = "humanities"
    return render(request, "proctor_check.html", {"kind": kind})


@page_routes.get("/identity/manual", name="manual_verification")
async def manual_page(request: web.Request) -> web.StreamResponse:
    """The body's queue of physicians the face check cannot let through (its script: manual.js)."""
    only_for(request, "/identity/manual", (Role.BODY, Role.ADMIN), "考核机构")
    return render(request, "manual_verification.html", {})
