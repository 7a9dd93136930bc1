"""The longest single step the event loop ran, in CPU time of the loop's thread.

Every callback and task step the loop runs is an ``asyncio.Handle``; timing each with the thread's
CPU clock measures what a step itself costs, so a busy machine (another process taking the core)
does not make a short step look long, and a test asserting on it does not flake. Time in the
garbage collector is left out: a full collection of the test process (pytest, every fixture's
objects) lands in whichever step allocates at that moment and says nothing about that step."""

from __future__ import annotations

import asyncio
import contextlib
import gc
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
    collecting: float = 0.0  # CPU time spent in the collector so far, in the loop's thread
    _gc_started: float = 0.0


@contextlib.contextmanager
def measured_steps() -> Iterator[Steps]:
    steps = Steps()
    original = asyncio.events.Handle._run

    def collector(phase: str, _info: dict[str, int]) -> None:
        if threading.get_ident() != steps.thread:
            return
        if phase == "start":
            steps._gc_started = time.thread_time()
        else:
            steps.collecting += time.thread_time() - steps._gc_started

    def timed(handle: asyncio.Handle) -> None:
        if threading.get_ident() != steps.thread:
            return original(handle)
        started, collected = time.thread_time(), steps.collecting
        try:
            return original(handle)
        finally:
            spent = time.thread_time() - started - (steps.collecting - collected)
            steps.count += 1
            if spent > steps.longest:
                steps.longest, steps.what = spent, repr(handle)[:300]

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    gc.callbacks.append(collector)
    try:
        yield steps
    finally:
        gc.callbacks.remove(collector)
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
