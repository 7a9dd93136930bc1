"""Real face photos from ../shared/faces, shaped into ID-photo proportions for upload tests."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from .conftest import FACES



def face_file(rel: str) -> Path:
    path = FACES / rel
    if not path.exists():
        pytest.skip(f"shared face photos not found at {FACES}")
    return path


def portrait_jpeg(rel: str, *, ratio: float = 1.35, max_side: int = 900) -> bytes:
    """The photo padded with a light background to a portrait ratio (faces kept whole), as a JPEG."""
    from PIL import Image

    img = Image.open(face_file(rel)).convert("RGB")
    img.thumbnail((max_side, max_side))
    w, h = img.size
    if h / w < ratio:
        canvas = Image.new("RGB", (w, int(w * ratio)), (225, 225, 225))
        canvas.paste(img, (0, (canvas.height - h) // 2))
        img = canvas
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def png_bytes(rel: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(face_file(rel)).convert("RGB").save(out, "PNG")
    return out.getvalue()


ONE_FACE = "identities/df01/1.jpg"
TWO_FACES = "groups/two_people.jpg"
NO_FACE = "groups/cf_017_0.jpg"
