"""Connections at a province's size, in small: event streams opened all at once need neither a Redis
nor a database connection, so a burst of them larger than both pools opens every one (no 503), and
session requests in the same burst wait for the (here tiny) Redis pool instead of failing. Both backends."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp
import pytest

from exam_server.exam.keys import attempt_hub_key
from exam_server.settings import Settings
from exam_server.web.keys import settings_key

from ..exam_flows import DEVICE, SIMPLE, exam_doctor, seed_exams

STREAMS = 400  # more than the Redis pool (2 here) and the database pool (20 + 10) together
SESSION_REQUESTS = 200


@pytest.fixture
async def settings(settings: Settings) -> Settings:  # type: ignore[override]
    return dataclasses.replace(settings, redis_pool_size=2)


async def _open(http: aiohttp.ClientSession, url: str, token: str) -> aiohttp.ClientResponse:
    r = await http.get(url, params={"token": token})
    if r.status == 200:
        assert (await asyncio.wait_for(r.content.readline(), 60)).startswith(b"retry:")
    return r


async def _next_event(r: aiohttp.ClientResponse) -> bytes:
    while True:
        line = await asyncio.wait_for(r.content.readline(), 60)
        if line.startswith(b"data:"):
            return line


async def test_a_burst_of_event_streams_opens_every_one(client, make_client) -> None:  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    doctor = await exam_doctor(make_client, client, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 201, body
    url = f"{doctor.base}/api/v1/attempts/{body['attempt_id']}/events"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as bare:
        streams, answers = await asyncio.gather(
            asyncio.gather(*(_open(bare, url, body["token"]) for _ in range(STREAMS))),
            asyncio.gather(*(doctor.get("/api/v1/me") for _ in range(SESSION_REQUESTS))))
        try:
            assert [r.status for r in streams] == [200] * STREAMS
            assert [s for s, _ in answers] == [200] * SESSION_REQUESTS
            # Every open stream hears the next event.
            await client.app[attempt_hub_key].publish(body["attempt_id"], "extended", minutes=5)
            heard = await asyncio.gather(*(_next_event(r) for r in streams))
            assert all(b'"extended"' in line for line in heard)
        finally:
            for r in streams:
                r.close()
