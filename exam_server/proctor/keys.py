"""Proctoring's application keys."""

from __future__ import annotations

from aiohttp import web

from .frames import FrameService
from .live import InvigilationHub

frame_service_key = web.AppKey("frame_service", FrameService)
invigilation_hub_key = web.AppKey("invigilation_hub", InvigilationHub)
