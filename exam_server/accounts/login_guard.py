"""Lockout after repeated wrong passwords, counted in the live state (so every process sees it)."""

from __future__ import annotations

from ..infra.livestate import LiveState
from ..web.errors import TooManyRequests


class LoginGuard:
    """Five wrong passwords lock an account (or an unknown login name) for 15 minutes."""

    MAX_FAILURES = 5
    LOCK_SECONDS = 15 * 60

    def __init__(self, live: LiveState) -> None:
        self.live = live

    async def ensure_not_locked(self, subject: str) -> None:
        remaining = await self.live.ttl(f"login:lock:{subject}")
        if remaining is not None and await self.live.get(f"login:lock:{subject}") is not None:
            minutes = max(1, int(remaining // 60) + (1 if remaining % 60 else 0))
            raise TooManyRequests(f"密码错误次数过多，账户已锁定，请 {minutes} 分钟后再试", code="locked")

    async def failed(self, subject: str) -> int:
        count = await self.live.incr(f"login:fail:{subject}", ttl=self.LOCK_SECONDS)
        if count >= self.MAX_FAILURES:
            await self.live.set(f"login:lock:{subject}", "1", ttl=self.LOCK_SECONDS)
            await self.live.delete(f"login:fail:{subject}")
        return count

    async def succeeded(self, subject: str) -> None:
        await self.live.delete(f"login:fail:{subject}")

    async def is_locked(self, subject: str) -> bool:
        return await self.live.get(f"login:lock:{subject}") is not None

    async def unlock(self, subject: str) -> None:
        """Lift a lock (and forget earlier failures) before the 15 minutes are up."""
        await self.live.delete(f"login:lock:{subject}")
        await self.live.delete(f"login:fail:{subject}")


def login_subject(kind: str, login: str) -> str:
    """The key a login's failures and lock are counted under: physicians by ID number, staff by username."""
    return f"{kind}:{login}"
