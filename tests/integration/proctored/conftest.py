"""Proctored attempts: the face check on (the engine's own tests switch it off)."""

from __future__ import annotations

import pytest

from exam_server.settings import Settings


@pytest.fixture
async def settings(settings: Settings) -> Settings:  # type: ignore[override]
    return settings.with_(exam_face_check=True)
