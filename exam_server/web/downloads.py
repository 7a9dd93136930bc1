"""Sending files as downloads: a temporary file just written, or a file in storage."""

from __future__ import annotations

import asyncio
import os
import urllib.parse
from collections.abc import AsyncIterator

from aiohttp import web

from ..infra.storage import CHUNK, FileStorage
from .errors import ApiError


def attachment_headers(content_type: str, ascii_name: str, name: str, **extra: str) -> dict[str, str]:
    """Headers of a download named ``name`` (Chinese allowed; ``ascii_name`` for old clients)."""
    return {"Content-Type": content_type, "Cache-Control": "private, no-store",
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name)}",
            **extra}


async def _stream(request: web.Request, size: int, chunks: AsyncIterator[bytes],
                  headers: dict[str, str]) -> web.StreamResponse:
    # Prepared once, here: a FileResponse prepared again by aiohttp after its temporary file was
    # deleted logged a traceback on every export.
    response = web.StreamResponse(headers=headers)
    response.content_length = size
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def _file_chunks(path: str) -> AsyncIterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, CHUNK):
            yield chunk


async def send_file(request: web.Request, path: str, headers: dict[str, str]) -> web.StreamResponse:
    """Send a finished temporary file (the caller deletes it afterwards)."""
    return await _stream(request, os.path.getsize(path), _file_chunks(path), headers)


async def send_stored(request: web.Request, storage: FileStorage, key: str, headers: dict[str, str], *,
                      missing: str) -> web.StreamResponse:
    """Send a file from storage; a file gone (expired, deleted) is a 404 saying ``missing``."""
    try:
        size = await storage.size(key)
    except FileNotFoundError:
        raise ApiError(missing, code="not_found", status=404) from None
    return await _stream(request, size, storage.chunks(key), headers)
