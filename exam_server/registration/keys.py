"""The registration feature's application keys."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from sqlalchemy import Select

# The ids of the registrations whose result the body has published, as a selectable (one query joins
# it, so a state filter never reveals an unpublished outcome). Results own publication and sit above
# registration, so the lists ask through this port (app.py wires it; see registry/publication.py).
PublishedRegistrations = Callable[[], Select]

published_registrations_key = web.AppKey("published_registrations", PublishedRegistrations)
