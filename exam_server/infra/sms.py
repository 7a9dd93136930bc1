"""SMS port. `log` writes each message to the log and keeps it for the demo page; `aliyun` and `tencent`
send through the commercial gateways (exam_server.infra.sms_gateways).

Gateways send by template: `text` is what the log backend shows, `params` fill the provider's template.
A gateway that refuses raises SmsDeliveryError after logging the provider's code and message for the
operator; callers show the user a plain message only.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Mapping, Protocol


log = logging.getLogger("dingkao.sms")


@dataclass(frozen=True, slots=True)
class SentSms:
    phone: str
    text: str
    at: dt.datetime  # naive UTC, like every stored time


class SmsDeliveryError(Exception):
    """The gateway did not take the message; `throttled` when it asked us to slow down."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


class SmsSender(Protocol):
    async def send(self, phone: str, text: str, *, params: Mapping[str, str] | None = None) -> None: ...

    async def close(self) -> None: ...


class LogSms:
    """Writes to the log; the last messages are shown on /demo/sms (demo mode only)."""

    def __init__(self, keep: int = 200) -> None:
        self.outbox: collections.deque[SentSms] = collections.deque(maxlen=keep)

    async def send(self, phone: str, text: str, *, params: Mapping[str, str] | None = None) -> None:
        self.outbox.appendleft(SentSms(phone, text, dt.datetime.now(dt.UTC).replace(tzinfo=None)))
        log.info("sms to %s: %s", phone, text)

    async def close(self) -> None:
        return None
