"""HTTP handlers per role. Each module adds its JSON endpoints to `routes` and its pages to `page_routes`."""

from __future__ import annotations

from aiohttp import web

from .api import ApiRoutes

routes = ApiRoutes()
page_routes = web.RouteTableDef()
