"""Password guessing (OWASP ASVS 4.0 section 2.2), counted in the live state so every process sees it.

Every guess is *reserved* before the password hash is computed, with one atomic increment each, and a
success gives its reservation back. So however many guesses arrive together, at most `MAX_FAILURES`
of them are checked against one account, and a client sending wrong passwords is stopped by its
sliding window; a refusal is a 429 with Retry-After that cost no hash (argon2 takes ~0.13 s of CPU).

- Per account (or unknown login name, or an account's old password on /auth/password): 5 wrong
  passwords within 15 minutes lock it for 15 minutes from the first of them.
- Per client address: `Settings.login_client_failures` wrong passwords (30 by default) in a sliding
  10 minutes, two fixed buckets weighted by the overlap (the sliding-window counter).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ..infra.livestate import LiveState
from ..web.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class Reservation:
    subject: str
    client_key: str
    count: int  # this guess's number among the subject's failures in the lock window, 1..MAX_FAILURES


class LoginGuard:
    """Five wrong passwords lock an account (or an unknown login name) for 15 minutes; a client is
    limited to `client_failures` wrong passwords in a sliding 10 minutes."""

    MAX_FAILURES = 5
    LOCK_SECONDS = 15 * 60
    CLIENT_WINDOW = 10 * 60

    def __init__(self, live: LiveState, *, client_failures: int = 30) -> None:
        self.live = live
        self.client_failures = client_failures

    async def reserve(self, subject: str, client: str, *, what: str = "账户") -> Reservation:
        """Claim one guess for `subject` from `client`, or raise 429 before any hash is computed."""
        client_key = await self._reserve_client(client)
        lock_left = await self._lock_left(subject)
        if lock_left is not None:
            raise self._locked(lock_left, what)
        count = await self.live.incr(f"login:fail:{subject}", ttl=self.LOCK_SECONDS)
        if count > self.MAX_FAILURES:  # others took the last guesses meanwhile
            raise self._locked(await self.live.ttl(f"login:fail:{subject}") or self.LOCK_SECONDS, what)
        return Reservation(subject, client_key, count)

    async def failed(self, r: Reservation) -> int:
        """The guess was wrong: it stays counted; the fifth locks. Returns the guesses left."""
        if r.count >= self.MAX_FAILURES:
            await self.live.set(f"login:lock:{r.subject}", "1", ttl=self.LOCK_SECONDS)
        return self.MAX_FAILURES - r.count

    async def succeeded(self, r: Reservation) -> None:
        """The password was right: earlier failures are forgotten and the client gets its guess back."""
        await self.live.delete(f"login:fail:{r.subject}")
        await self.live.incr(r.client_key, ttl=2 * self.CLIENT_WINDOW, by=-1)

    async def release(self, r: Reservation) -> None:
        """No verdict (the database failed meanwhile): the guess is given back to both counters."""
        await self.live.incr(f"login:fail:{r.subject}", ttl=self.LOCK_SECONDS, by=-1)
        await self.live.incr(r.client_key, ttl=2 * self.CLIENT_WINDOW, by=-1)

    async def is_locked(self, subject: str) -> bool:
        return await self.live.get(f"login:lock:{subject}") is not None

    async def unlock(self, subject: str) -> None:
        """Lift a lock (and forget earlier failures) before the 15 minutes are up."""
        await self.live.delete(f"login:lock:{subject}")
        await self.live.delete(f"login:fail:{subject}")

    async def _lock_left(self, subject: str) -> float | None:
        if await self.live.get(f"login:lock:{subject}") is None:
            return None
        return await self.live.ttl(f"login:lock:{subject}") or 1.0

    def _locked(self, seconds: float, what: str) -> TooManyRequests:
        minutes = max(1, math.ceil(seconds / 60))
        return TooManyRequests(f"密码错误次数过多，{what}已锁定，请 {minutes} 分钟后再试", code="locked",
                               retry_after=seconds)

    async def _reserve_client(self, client: str) -> str:
        now = time.time()
        bucket = int(now // self.CLIENT_WINDOW)
        key = f"login:client:{client}:{bucket}"
        current = await self.live.incr(key, ttl=2 * self.CLIENT_WINDOW)
        previous = int(await self.live.get(f"login:client:{client}:{bucket - 1}") or 0)
        into = (now % self.CLIENT_WINDOW) / self.CLIENT_WINDOW  # how far into the current bucket, 0..1
        if previous * (1 - into) + current > self.client_failures:
            # When the previous bucket's weight has fallen far enough (or, failing that, the next bucket).
            room = self.client_failures - current
            wait = (self.CLIENT_WINDOW * (1 - into) if room <= 0 or previous == 0
                    else max(1.0, self.CLIENT_WINDOW * (1 - room / previous) - now % self.CLIENT_WINDOW))
            raise TooManyRequests("当前网络登录失败次数过多，请稍后再试", code="throttled", retry_after=wait)
        return key


def login_subject(kind: str, login: str) -> str:
    """The key a login's failures and lock are counted under: physicians by ID number, staff by username."""
    return f"{kind}:{login}"


def password_subject(account_id: int) -> str:
    """The key an account's wrong old passwords on /auth/password are counted under."""
    return f"password:{account_id}"
