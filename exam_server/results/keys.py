"""The results' application keys."""

from __future__ import annotations

from aiohttp import web

from .certificate_zips import CertificateZipJobs

certificate_zips_key = web.AppKey("certificate_zips", CertificateZipJobs)
