"""The question banks' application keys."""

from __future__ import annotations

from aiohttp import web

from .import_jobs import ImportJobs

import_jobs_key = web.AppKey("import_jobs", ImportJobs)
