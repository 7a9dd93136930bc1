"""The longest single step the event loop ran, in CPU time of the loop's thread.

Every callback and task step the loop runs is an ``asyncio.Handle``; timing each with the thread's
CPU clock measures what a step itself costs, so a busy machine (another process taking the core)
does not make a short step look long, and a test asserting on it does not flake."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Steps:
    longest: float = 0.0
    what: str = ""
    count: int = 0
    thread: int = field(default_factory=threading.get_ident)


@contextlib.contextmanager
def measured_steps() -> Iterator[Steps]:
    steps = Steps()
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.Handle) -> None:
        if threading.get_ident() != steps.thread:
            return original(handle)
        started = time.thread_time()
        try:
            return original(handle)
        finally:
            spent = time.thread_time() - started
            steps.count += 1
            if spent > steps.longest:
                steps.longest, steps.what = spent, repr(handle)[:300]

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        yield steps
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
