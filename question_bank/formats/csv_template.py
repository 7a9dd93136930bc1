"""The CSV twin of the XLSX template: same columns, one question per record.

Reading accepts UTF-8 with or without BOM, UTF-16 with BOM (Excel "Unicode text", tab
separated) and falls back to GB18030 (what Chinese Excel saves as "CSV"); comma or tab
separated. Writing produces UTF-8 with BOM and CRLF so Excel opens it correctly.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Iterable, Iterator

from ..errors import UnsupportedFormatError
from ..model import Question
from ..result import Event, ImportResult, collect
from ._safety import MAX_UPLOAD_BYTES
from ._table import iter_rows, questions_to_rows

__all__ = ["read_csv", "iter_csv", "write_csv", "decode_text", "text_encoding", "iter_lines"]


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional), UTF-16 (BOM), else GB18030; raise when none fits."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnsupportedFormatError("文件编码无法识别：请保存为 UTF-8 或 GB18030（GBK）编码") from None


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether ``data`` is valid in ``encoding``, checked in 1 MB steps (no full copy as text)."""
    dec = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    step = 1 << 20
    try:
        for i in range(0, len(data), step):
            dec.decode(view[i:i + step], final=i + step >= len(data))
        if not data:
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def text_encoding(data: bytes) -> str:
    """The encoding :func:`decode_text` would use; raise UnsupportedFormatError when none fits."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and _decodes(data, "utf-16"):
        return "utf-16"
    for enc in ("utf-8-sig", "gb18030"):
        if _decodes(data, enc):
            return enc
    raise UnsupportedFormatError("文件编码无法识别：请保存为 UTF-8 或 GB18030（GBK）编码")


def iter_lines(data: bytes) -> Iterator[str]:
    """The file's lines (``\r\n`` and ``\r`` as line ends, no line end kept), decoded as they
    are read: a 50 MB file never exists twice over as one string and a list of lines."""
    enc = text_encoding(data)
    with io.TextIOWrapper(io.BytesIO(data), encoding=enc, newline=None) as fh:
        for line in fh:
            yield line[:-1] if line.endswith("\n") else line


def read_csv(data: bytes) -> ImportResult:
    return collect("csv", iter_csv(data))


def iter_csv(data: bytes) -> Iterator[Event]:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnsupportedFormatError("CSV 文件过大")
    enc = text_encoding(data)
    with io.TextIOWrapper(io.BytesIO(data), encoding=enc, newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        reader = csv.reader(fh, delimiter=delimiter)
        rows = enumerate(reader, start=1)
        try:
            yield from iter_rows(rows, format_name="csv")
        except csv.Error as exc:
            raise UnsupportedFormatError(f"CSV 格式错误（第 {reader.line_num} 行）：{_csv_error_zh(exc)}") from None


def _csv_error_zh(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return "单元格内容过长"
    if "NUL" in text or "null byte" in text:
        return "包含空字符（文件可能已损坏或不是文本文件）"
    if "new-line character seen in unquoted field" in text or "unexpected end of data" in text:
        return "引号未闭合或换行位置错误"
    return "格式错误"


def write_csv(questions: Iterable[Question]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    for row in questions_to_rows(questions):
        w.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
