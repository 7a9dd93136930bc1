"""Jinja2 setup and the render helpers pages use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Any, Iterable

import aiohttp_jinja2
import jinja2
from aiohttp import web

from registry.codes import REASON_MAX
from registry.roles import ROLE_NAMES_ZH

from .keys import account_key, settings_key
from .sessions import csrf_token

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


def page_context(request: web.Request) -> dict[str, Any]:
    """What every page's layout reads. Built when a page is rendered, not for every request (an
    aiohttp_jinja2 context processor would parse the cookies of each JSON request too)."""
    account = request.get(account_key)
    return {
        "account": account,
        "role_name": ROLE_NAMES_ZH.get(account.role) if account else None,
        "csrf_token": csrf_token(request),
        "demo_mode": request.app[settings_key].demo_mode,
    }


# Stored times are naive UTC; people read them in China Standard Time.
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def local_time(value: dt.datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.replace(tzinfo=dt.UTC).astimezone(DISPLAY_TZ).strftime(fmt)


def template_dirs(features: Iterable[Path]) -> list[str]:
    """web's templates (the layout, the error page) and each feature's own; a name must be unique across them,
    since the loader takes the first directory that has it."""
    dirs = [TEMPLATES, *(d for d in features if d.is_dir())]
    seen: dict[str, Path] = {}
    for d in dirs:
        for f in d.rglob("*.html"):
            name = f.relative_to(d).as_posix()
            if name in seen:
                raise RuntimeError(f"template {name} is in both {seen[name]} and {d}")
            seen[name] = d
    return [str(d) for d in dirs]


def points(value: float | int | None) -> str:
    """A mark as people write it: 100 and 60, 2.5, never 100.0."""
    if value is None:
        return ""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def setup(app: web.Application, features: Iterable[Path]) -> None:
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(template_dirs(features)), autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["local"] = local_time
    env.filters["points"] = points
    env.globals["reason_max"] = REASON_MAX


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, {**page_context(request), **(context or {})},
                                              status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def render_error(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", {"status": status, "message": message}, status=status)
