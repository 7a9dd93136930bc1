"""The pre-exam identity check's application keys."""

from __future__ import annotations

from typing import Callable

import proctoring
from aiohttp import web

# The face analyser the check judges frames with: a port, since the process's analyser (a local pool or the
# Redis queue read by `dingkao proctor-worker`) is owned by proctor's FrameService; app.py wires it.
face_analyzer_key = web.AppKey("face_analyzer", Callable[[], proctoring.FrameAnalyzer])
