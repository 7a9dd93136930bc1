"""File storage port; a local directory by default. Keys are generated, never user-given."""

from __future__ import annotations

import asyncio
import os
import shutil
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

CHUNK = 256 * 1024


class FileStorage(Protocol):
    async def put(self, data: bytes, *, prefix: str) -> str: ...
    async def put_file(self, path: str, *, prefix: str) -> str: ...
    async def get(self, key: str) -> bytes: ...
    async def size(self, key: str) -> int: ...
    def chunks(self, key: str) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...


class LocalFileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    async def put(self, data: bytes, *, prefix: str) -> str:
        key = f"{prefix}/{secrets.token_hex(16)}"
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            os.replace(tmp, path)

        await asyncio.to_thread(write)
        return key

    async def put_file(self, path: str, *, prefix: str) -> str:
        """Move a finished file (an export) into storage without reading it into memory."""
        key = f"{prefix}/{secrets.token_hex(16)}"
        target = self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            shutil.copyfile(path, tmp)  # the temporary file may be on another file system
            os.replace(tmp, target)

        await asyncio.to_thread(move)
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def size(self, key: str) -> int:
        return (await asyncio.to_thread(self._path(key).stat)).st_size

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        """The stored file piece by piece (a 70 MB export is never held whole in memory)."""
        fh = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk
        finally:
            fh.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)
