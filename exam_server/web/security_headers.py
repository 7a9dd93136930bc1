"""Security headers on every response: the content security policy pages are rendered under, no framing,
the referrer kept to this site, the browser's powerful features off (the camera only on the pages that
film the candidate), and HSTS when the cookies are marked secure (so the site is served over HTTPS).

Set from `on_response_prepare`, so static files, error pages, streams and WebSockets get them as well.
Pages carry no inline script, inline event handler or `style=` attribute: their JS and CSS are files
under /static, and the policy allows nothing else (tests/e2e collects violations while walking pages).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from aiohttp import web

from .keys import settings_key

# `data:` images: the dashboard's empty thumbnail; `blob:`: downloads made from a fetched file.
PAGE_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
))
# JSON is never rendered; a PDF or image must stay viewable in the browser's own viewer, so it gets
# only the framing rule.
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
OTHER_POLICY = "frame-ancestors 'none'"

_FEATURES = ("microphone", "geolocation", "payment", "usb", "serial", "bluetooth", "midi",
             "accelerometer", "gyroscope", "magnetometer", "display-capture")
PERMISSIONS_NO_CAMERA = ", ".join(["camera=()", *(f"{f}=()" for f in _FEATURES)])
PERMISSIONS_CAMERA = ", ".join(["camera=(self)", *(f"{f}=()" for f in _FEATURES)])
HSTS = "max-age=31536000; includeSubDomains"

H = TypeVar("H", bound=Callable[..., object])


def uses_camera(handler: H) -> H:
    """Marks a page that films the candidate: only there may the page ask for the camera."""
    handler.uses_camera = True  # type: ignore[attr-defined]
    return handler


def _camera_page(request: web.Request) -> bool:
    match = request.match_info
    return bool(match is not None and getattr(match.handler, "uses_camera", False))


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    kind = response.content_type if not isinstance(response, web.WebSocketResponse) else ""
    if kind == "text/html":
        policy = PAGE_POLICY
    elif kind == "application/json":
        policy = JSON_POLICY
    else:
        policy = OTHER_POLICY
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_CAMERA if _camera_page(request) else PERMISSIONS_NO_CAMERA)
    if request.app[settings_key].cookie_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)


def install(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
