"""The CSV twin of the XLSX template: same columns, one question per record.

Reading accepts UTF-8 with or without BOM, UTF-16 with BOM (Excel "Unicode text", tab
separated) and falls back to GB18030 (what Chinese Excel saves as "CSV"); comma or tab
separated. Writing produces UTF-8 with BOM and CRLF so Excel opens it correctly.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable

from ..errors import UnsupportedFormatError
from ..model import Question
from ..result import ImportResult
from ._safety import MAX_UPLOAD_BYTES
from ._table import questions_to_rows, read_rows

__all__ = ["read_csv", "write_csv", "decode_text"]


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


def read_csv(data: bytes) -> ImportResult:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnsupportedFormatError("CSV 文件过大")
    text = decode_text(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(enumerate(reader, start=1))
    except csv.Error as exc:
        raise UnsupportedFormatError(f"CSV 格式错误：{exc}") from None
    return read_rows(rows, format_name="csv")


def write_csv(questions: Iterable[Question]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    for row in questions_to_rows(questions):
        w.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
