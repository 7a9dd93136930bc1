"""The results' application keys."""

from __future__ import annotations

from aiohttp import web

from .certificate_zips import CertificateZipJobs
from .export_jobs import ExportJobs

certificate_zips_key = web.AppKey("certificate_zips", CertificateZipJobs)
export_jobs_key = web.AppKey("export_jobs", ExportJobs)
