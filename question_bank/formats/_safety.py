"""Defences for untrusted uploads: XML without DTDs/entities, bounded zip archives.

defusedxml is not available, so XML is refused outright when it declares a DOCTYPE or an
ENTITY (billion laughs, external entities); zip archives are checked member by member for
path traversal, absolute paths, too many members, oversized members and compression ratios
typical of zip bombs before anything is decompressed, and reads are capped.
"""

from __future__ import annotations

import io
import re
import zipfile
import xml.etree.ElementTree as ET
from posixpath import normpath

from ..errors import UnsupportedFormatError

__all__ = [
    "MAX_UPLOAD_BYTES",
    "parse_xml",
    "refuse_dtd",
    "SafeZip",
]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def refuse_dtd(data: bytes, *, what: str = "XML 文件") -> None:
    """Raise when ``data`` contains a DTD or entity declaration (any encoding we read)."""
    probe = data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            probe = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise UnsupportedFormatError(f"{what}编码无法识别") from None
    if _DTD.search(probe):
        raise UnsupportedFormatError(f"{what}包含 DOCTYPE/ENTITY 声明，出于安全原因拒绝导入")


def parse_xml(data: bytes, *, what: str = "XML 文件") -> ET.Element:
    refuse_dtd(data, what=what)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line = getattr(exc, "position", (None, None))[0]
        where = f"第 {line} 行" if line else ""
        raise UnsupportedFormatError(f"{what}不是格式正确的 XML（{where}{exc.msg if hasattr(exc, 'msg') else exc}）") from None


class SafeZip:
    """A zip archive opened read-only with limits checked up front."""

    def __init__(self, data: bytes, *, what: str = "压缩包", max_member_bytes: int = MAX_MEMBER_BYTES,
                 max_total_bytes: int = MAX_TOTAL_BYTES) -> None:
        self.what = what
        self.max_member_bytes = max_member_bytes
        if len(data) > MAX_UPLOAD_BYTES:
            raise UnsupportedFormatError(f"{what}过大（超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB）")
        try:
            self._zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise UnsupportedFormatError(f"{what}已损坏或不是 zip 文件") from None
        if len(infos) > MAX_MEMBERS:
            raise UnsupportedFormatError(f"{what}中文件过多（{len(infos)} 个）")
        total = 0
        self._names: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if info.flag_bits & 0x1:
                raise UnsupportedFormatError(f"{what}中的文件 {name} 已加密，无法导入")
            norm = normpath(name.replace("\\", "/"))
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or norm.startswith("..") or "/../" in f"/{norm}/":
                raise UnsupportedFormatError(f"{what}中的文件路径 {name} 不安全（路径穿越），拒绝导入")
            if info.file_size > max_member_bytes:
                raise UnsupportedFormatError(f"{what}中的文件 {name} 过大")
            if info.compress_size and info.file_size / max(info.compress_size, 1) > MAX_RATIO and info.file_size > 1024 * 1024:
                raise UnsupportedFormatError(f"{what}中的文件 {name} 压缩比异常（疑似压缩炸弹），拒绝导入")
            total += info.file_size
            if not name.endswith("/"):
                self._names[norm] = info
        if total > max_total_bytes:
            raise UnsupportedFormatError(f"{what}解压后过大（疑似压缩炸弹），拒绝导入")

    def names(self) -> list[str]:
        return list(self._names)

    def has(self, name: str) -> bool:
        return normpath(name) in self._names

    def read(self, name: str) -> bytes:
        info = self._names.get(normpath(name.replace("\\", "/")))
        if info is None:
            raise KeyError(name)
        with self._zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
        if len(data) > info.file_size or len(data) > self.max_member_bytes:
            raise UnsupportedFormatError(f"{self.what}中的文件 {name} 实际大小与声明不符，拒绝导入")
        return data

    def read_head(self, name: str, n: int) -> bytes:
        info = self._names[normpath(name)]
        with self._zf.open(info) as fh:
            return fh.read(n)
