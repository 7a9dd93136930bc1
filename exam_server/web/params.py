"""Reading what a request names: path ids, bounded integers in the query, one uploaded file part."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, InvalidHeader

from question_bank.errors import UnsupportedFormatError
from question_bank.formats import SafeZip

from .edge import parse_id
from .errors import ApiError
from .text import check_file_name, control_message


def path_id(request: web.Request, name: str) -> int:
    value = parse_id(request.match_info[name])
    if value is None:  # the edge middleware refuses these first; kept for handlers called directly
        raise ApiError("记录不存在", code="not_found", status=404)
    return value


def int_param(request: web.Request, name: str, default: int, *, lo: int, hi: int, title: str) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(f"{title}应为整数", fields={name: f"{title}应为整数"}) from None
    if not lo <= value <= hi:
        raise ApiError(f"{title}应在 {lo} 到 {hi} 之间", fields={name: f"{title}应在 {lo} 到 {hi} 之间"})
    return value


# What a zip-based upload (XLSX, a QTI package, any ZIP) may unpack to unless its endpoint allows more.
UNPACKED_MAX_BYTES = 64 * 1024 * 1024


def check_archive(data: bytes, title: str, *, unpacked_limit: int = UNPACKED_MAX_BYTES) -> None:
    """The one guard every spreadsheet and archive upload passes before a parser opens it: the question
    importer's (`question_bank.formats.SafeZip`: sizes declared in the directory, compression ratio over
    200, member count), checked from the zip's directory without unpacking anything."""
    if data[:4] != b"PK\x03\x04":
        return
    try:
        SafeZip(data, what=title, max_member_bytes=unpacked_limit, max_total_bytes=unpacked_limit)
    except UnsupportedFormatError as exc:
        message = str(exc)
        # A bomb or an oversize file stops here; a damaged one goes on to its parser, which names the damage
        # in its own words.
        if any(word in message for word in ("过大", "炸弹", "过多")):
            raise ApiError(message, fields={"file": message}, code="too_large", status=413) from None


async def read_upload(request: web.Request, field: str, limit: int, title: str, *,
                      unpacked_limit: int = UNPACKED_MAX_BYTES) -> tuple[bytes, str]:
    """The one file part named `field`, read up to `limit` bytes (the rest is refused unread); a zip-based
    file (XLSX...) must pass `check_archive` before any parser sees it."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(f"请以表单方式上传{title}", code="unsupported_media_type", status=415)
    try:
        data, name = await _read_part(request, field, limit, title)
    except InvalidHeader:  # a part header holding a control character (a NUL in a raw file name)
        raise ApiError(control_message(f"{title}的文件名"), fields={field: control_message(f"{title}的文件名")},
                       code="invalid_text") from None
    except (HttpProcessingError, ValueError):
        raise ApiError(f"无法读取上传的{title}：表单格式不正确", fields={field: f"无法读取上传的{title}"}) from None
    check_archive(data, title, unpacked_limit=unpacked_limit)
    return data, name


async def _read_part(request: web.Request, field: str, limit: int, title: str) -> tuple[bytes, str]:
    reader = await request.multipart()
    async for part in reader:
        if getattr(part, "name", None) != field:
            continue
        name = part.filename or ""  # type: ignore[union-attr]
        check_file_name(name, field, title)
        chunks, size = [], 0
        while chunk := await part.read_chunk(64 * 1024):  # type: ignore[union-attr]
            size += len(chunk)
            if size > limit:
                raise ApiError(f"{title}不能超过 {limit // (1024 * 1024)} MB", fields={field: f"{title}不能超过 {limit // (1024 * 1024)} MB"}, status=413, code="too_large")
            chunks.append(chunk)
        return b"".join(chunks), name
    raise ApiError(f"请选择要上传的{title}", fields={field: f"请选择要上传的{title}"})
