"""SMS port. The default backend writes each message to the log and keeps it for the demo page."""

from __future__ import annotations

import collections
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("dingkao.sms")


@dataclass(frozen=True, slots=True)
class SentSms:
    phone: str
    text: str
    at: dt.datetime


class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class LogSms:
    """Writes to the log; the last messages are shown on /demo/sms (demo mode only)."""

    def __init__(self, keep: int = 200) -> None:
        self.outbox: collections.deque[SentSms] = collections.deque(maxlen=keep)

    async def send(self, phone: str, text: str) -> None:
        self.outbox.appendleft(SentSms(phone, text, dt.datetime.now(dt.UTC).replace(tzinfo=None)))
        log.info("sms to %s: %s", phone, text)


def make_sms(backend: str) -> SmsSender:
    if backend == "log":
        return LogSms()
    raise ValueError(backend)
