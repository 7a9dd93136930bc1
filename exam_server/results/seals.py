"""The assessment body's seal: checked by content, stored as a PNG with transparency.

A seal is a PNG (transparency kept) or a JPEG scan (near-white paper made transparent, so the
seal overlays the body's name as a stamp does). Dimensions are read from the header and
bounded before any pixel is decoded (decompression bombs), and the image is re-encoded, so
what is printed is pixels we produced.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.db import utcnow
from registry.roles import Role
from registry.scope import Actor, ensure_role

from ..infra.storage import FileStorage
from ..registration.uploads import UploadRejected, _decode, _guard_dimensions, _jpeg_size, _walk_png, sniff
from .models import BodySeal

SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MIN_SIDE = 100
SEAL_MAX_SIDE = 4000
SEAL_STORED_SIDE = 800
FIELD = "seal"


def check_seal(data: bytes) -> tuple[bytes, int, int]:
    """(PNG bytes, width, height) of a usable seal, or UploadRejected with a Chinese reason."""
    if not data:
        raise UploadRejected(FIELD, "请选择印章图片文件")
    if len(data) > SEAL_MAX_BYTES:
        raise UploadRejected(FIELD, f"印章图片不能超过 {SEAL_MAX_BYTES // 1024 // 1024} MB")
    mime = sniff(data)
    if mime not in ("image/png", "image/jpeg"):
        raise UploadRejected(FIELD, "印章应为 PNG（推荐，透明背景）或 JPEG 图片，所选文件不是图片")
    damaged = "印章图片已损坏或不完整，请重新导出后上传"
    try:
        width, height = _walk_png(data) if mime == "image/png" else _jpeg_size(data)
    except ValueError:
        raise UploadRejected(FIELD, damaged) from None
    _guard_dimensions(width, height, FIELD, "印章图片", SEAL_MAX_SIDE)
    if min(width, height) < SEAL_MIN_SIDE:
        raise UploadRejected(FIELD, f"印章图片过小（{width}×{height} 像素），宽和高都至少 {SEAL_MIN_SIDE} 像素")
    im = _decode(data, ("PNG",) if mime == "image/png" else ("JPEG", "MPO"), (width, height), FIELD, damaged)
    rgba = im.convert("RGBA")
    if mime == "image/jpeg":
        px = np.asarray(rgba).copy()
        paper = px[..., :3].min(axis=-1) > 225
        px[paper, 3] = 0
        rgba = Image.fromarray(px, "RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    if (alpha > 32).mean() < 0.01:
        raise UploadRejected(FIELD, "印章图片几乎是空白的，请上传清晰的印章图片")
    rgba.thumbnail((SEAL_STORED_SIDE, SEAL_STORED_SIDE))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    return out.getvalue(), rgba.width, rgba.height


async def save_seal(session: AsyncSession, storage: FileStorage, actor: Actor, png: bytes, width: int, height: int,
                    *, request_id: str | None = None) -> BodySeal:
    import hashlib

    ensure_role(actor, Role.BODY)
    assert actor.body_id is not None
    key = await storage.put(png, prefix="seals")
    seal = await session.get(BodySeal, actor.body_id)
    old = seal.storage_key if seal else None
    if seal is None:
        seal = BodySeal(body_id=actor.body_id, storage_key=key, sha256="", width=width, height=height,
                        uploaded_by=actor.account_id)
        session.add(seal)
    seal.storage_key, seal.sha256 = key, hashlib.sha256(png).hexdigest()
    seal.width, seal.height, seal.uploaded_at, seal.uploaded_by = width, height, utcnow(), actor.account_id
    audit.record(session, actor_id=actor.account_id, action="upload_seal", entity="body", entity_id=actor.body_id,
                 detail={"sha256": seal.sha256, "replaced": old is not None}, request_id=request_id)
    return seal


async def seal_png(session: AsyncSession, storage: FileStorage, body_id: int) -> bytes | None:
    seal = await session.get(BodySeal, body_id)
    return await storage.get(seal.storage_key) if seal else None
