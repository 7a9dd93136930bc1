"""Attempt tokens: the exam page's own credential for one attempt on one device.

Signed with the secret key (HMAC-SHA256), so checking one needs no live state: a sitting goes on
through a Redis restart that loses every login session, and the hot path skips the session
lookup. A takeover changes the attempt's device, which the save path checks in the database, so
a token of the device that lost the attempt stops working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

HEADER = "X-Attempt-Token"


@dataclass(frozen=True, slots=True)
class AttemptToken:
    attempt_id: int
    physician_id: int
    device: str


def _sign(secret: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), b"attempt-token:" + body, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(secret: str, attempt_id: int, physician_id: int, device: str) -> str:
    body = f"{attempt_id}.{physician_id}.{device}".encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _sign(secret, body)


def verify(secret: str, token: str) -> AttemptToken | None:
    if not token or len(token) > 200 or token.count(".") != 1:
        return None
    encoded, mac = token.split(".")
    try:
        body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(_sign(secret, body), mac):
        return None
    try:
        attempt, physician, device = body.decode().split(".", 2)
        return AttemptToken(int(attempt), int(physician), device)
    except (ValueError, UnicodeDecodeError):
        return None
