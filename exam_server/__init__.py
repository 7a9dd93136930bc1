"""Dingkao's aiohttp service: app.py composes the features below it (see docs/architecture.md)."""
