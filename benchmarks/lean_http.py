"""A lean HTTP/1.1 client for benchmarks/exam_load.py: keep-alive connections as asyncio protocols.

The load client shares this 2-core machine with the servers it measures. With aiohttp's client,
20,000 simulated pages cost half a core (requests, 800 keep-alives a second read line by line
from the event streams, a task per wake-up), CPU the servers then queued behind. This one does
what the measurement needs and nothing more: requests on pooled connections (Content-Length or
chunked bodies), and event streams that only count their ``data:`` lines.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class HTTPError(OSError):
    """The connection failed or closed before a whole response came."""


def _origin(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    path = parts.path or "/"
    return parts.hostname or "127.0.0.1", parts.port or 80, path + (f"?{parts.query}" if parts.query else "")


def render_headers(headers: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")


def _head(buf: bytearray, end: int) -> tuple[int, int | None, bool, bool]:
    """(status, content length, chunked, close) from the header block ending at ``end``."""
    lines = bytes(buf[:end]).split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length: int | None = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    return status, length, chunked, close


def _chunked_body(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """(body, end) of a whole chunked body from ``start``, or None while incomplete."""
    out = bytearray()
    at = start
    while True:
        eol = buf.find(b"\r\n", at)
        if eol < 0:
            return None
        size = int(bytes(buf[at:eol]).split(b";")[0], 16)
        if size == 0:
            trailer_end = buf.find(b"\r\n\r\n", eol)
            return (bytes(out), trailer_end + 4) if trailer_end >= 0 else None
        if len(buf) < eol + 2 + size + 2:
            return None
        out += buf[eol + 2:eol + 2 + size]
        at = eol + 2 + size + 2


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            try:
                response = self._response()
            except ValueError as exc:
                self.waiter.set_exception(HTTPError(f"unreadable response: {exc}"))
                return
            if response is not None:
                self.waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HTTPError(f"connection closed: {exc or 'by the server'}"))

    def _response(self) -> tuple[int, bytes, bool] | None:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        status, length, chunked, close = _head(self.buf, end)
        if chunked:
            whole = _chunked_body(self.buf, end + 4)
            if whole is None:
                return None
            body, stop = whole
        else:
            stop = end + 4 + (length or 0)
            if len(self.buf) < stop:
                return None
            body = bytes(self.buf[end + 4:stop])
        del self.buf[:stop]
        return status, body, close


class Pool:
    """At most ``limit`` connections in use at once, across every origin (as aiohttp's connector
    ``limit``); requests beyond it wait for one."""

    def __init__(self, limit: int, timeout: float = 60.0) -> None:
        self._slots = asyncio.Semaphore(limit) if limit else None
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self.timeout = timeout

    async def request(self, method: str, url: str, head: bytes = b"", body: Any = None) -> tuple[int, bytes]:
        """``head``: rendered header lines (render_headers); ``body``: sent as JSON when not None."""
        if self._slots is None:
            return await self._request(method, url, head, body)
        async with self._slots:
            return await self._request(method, url, head, body)

    async def _request(self, method: str, url: str, head: bytes, body: Any) -> tuple[int, bytes]:
        host, port, path = _origin(url)
        loop = asyncio.get_running_loop()
        idle = self._idle.setdefault((host, port), [])
        while idle and idle[-1].closed:
            idle.pop()
        if idle:
            conn = idle.pop()
        else:
            _transport, conn = await loop.create_connection(_Connection, host, port)
        payload = b"" if body is None else json.dumps(body).encode()
        extra = b"Content-Type: application/json\r\n" if body is not None else b""
        conn.waiter = waiter = loop.create_future()
        assert conn.transport is not None
        conn.transport.write(b"%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%sContent-Length: %d\r\n\r\n%s" % (
            method.encode(), path.encode(), host.encode(), port, head, extra, len(payload), payload))
        timer = loop.call_later(self.timeout, _expire, waiter)
        try:
            status, raw, close = await waiter
        except BaseException:
            conn.transport.close()
            raise
        finally:
            timer.cancel()
            conn.waiter = None
        if close or conn.closed:
            conn.transport.close()
        else:
            idle.append(conn)
        return status, raw

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                if conn.transport is not None:
                    conn.transport.close()
        self._idle.clear()


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


class EventStream(asyncio.Protocol):
    """One open ``text/event-stream`` response: counts its ``data:`` lines; ``ended`` resolves
    when it closes (or stays silent for ``read_timeout`` s: the server's keep-alives stopped)."""

    def __init__(self, on_event: Any, read_timeout: float) -> None:
        self.on_event = on_event
        self.read_timeout = read_timeout
        self.status: int | None = None
        self.opened: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._tail = b""  # the end of the previous read, for a "data:" split across reads
        self._heard = 0.0

    @classmethod
    async def open(cls, url: str, head: bytes, on_event: Any, read_timeout: float = 60.0) -> EventStream:
        host, port, path = _origin(url)
        loop = asyncio.get_running_loop()
        _transport, stream = await loop.create_connection(lambda: cls(on_event, read_timeout), host, port)
        assert stream.transport is not None
        stream.transport.write(b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n%s\r\n" % (
            path.encode(), host.encode(), port, head))
        stream._heard = loop.time()
        loop.call_later(read_timeout, stream._watch)
        return stream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._heard = asyncio.get_running_loop().time()
        if self.status is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self.status = _head(self._head, end)[0]
            except ValueError:
                self._end("unreadable response")
                return
            data = bytes(self._head[end + 4:])
            self._head.clear()
            if not self.opened.done():
                self.opened.set_result(self.status)
        seen = self._tail + data
        count = seen.count(b"data:") - self._tail.count(b"data:")
        self._tail = seen[-4:]
        for _ in range(count):
            self.on_event()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(f"closed: {exc}" if exc else "closed")

    def _watch(self) -> None:
        if self.ended.done():
            return
        loop = asyncio.get_running_loop()
        silent = loop.time() - self._heard
        if silent >= self.read_timeout:
            self._end("TimeoutError")
            if self.transport is not None:
                self.transport.close()
        else:
            loop.call_later(self.read_timeout - silent, self._watch)

    def _end(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HTTPError(why))
        if not self.ended.done():
            self.ended.set_result(why)

    def close(self) -> None:
        self._end("closed by the client")
        if self.transport is not None:
            self.transport.close()
