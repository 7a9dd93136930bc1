"""Defences for untrusted uploads: XML (see :mod:`question_bank.safe_xml`), bounded zip archives.

Zip archives are
checked member by member for path traversal, absolute paths, too many members, oversized
members and compression ratios typical of zip bombs before anything is decompressed, and every
read of a damaged member (bad CRC, broken deflate stream, bad offsets) is refused by name.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from posixpath import normpath

from ..errors import UnsupportedFormatError
from ..safe_xml import MAX_XML_DEPTH, parse_xml, xml_error_zh

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_XML_DEPTH",
    "parse_xml",
    "xml_error_zh",
    "SafeZip",
]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200

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
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError,
                UnicodeError, KeyError, IndexError, OverflowError):
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

    def _damaged(self, name: str) -> UnsupportedFormatError:
        return UnsupportedFormatError(f"{self.what}中的文件 {name} 已损坏（校验失败或数据不完整），无法读取")

    def read(self, name: str) -> bytes:
        info = self._names.get(normpath(name.replace("\\", "/")))
        if info is None:
            raise KeyError(name)
        try:
            with self._zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, OverflowError,
                UnicodeError, RuntimeError):
            raise self._damaged(name) from None
        if len(data) > info.file_size or len(data) > self.max_member_bytes:
            raise UnsupportedFormatError(f"{self.what}中的文件 {name} 实际大小与声明不符，拒绝导入")
        return data

    def read_head(self, name: str, n: int) -> bytes:
        info = self._names[normpath(name)]
        try:
            with self._zf.open(info) as fh:
                return fh.read(n)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, OverflowError,
                UnicodeError, RuntimeError):
            raise self._damaged(name) from None
