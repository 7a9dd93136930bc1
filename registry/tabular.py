"""Read CSV or XLSX files with a header row into numbered rows, tolerating Excel's habits."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInput

MAX_ROWS = 200_000
# NUL and the other control characters no one types (a cell may hold a line break): PostgreSQL cannot
# store NUL, SQLite would keep it silently. The service refuses the same in every request at its edge.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_TEXT_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    values: dict[str, str]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores long digit strings typed as numbers as floats
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10]  # type: ignore[union-attr]
    return str(value).replace("\u00a0", " ").replace("\ufeff", "").strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("文件编码无法识别，请另存为 UTF-8 编码的 CSV 或 XLSX 文件")


def read_table(name: str, data: bytes, *, required: tuple[str, ...]) -> list[Row]:
    """Rows of a CSV or XLSX file keyed by header; refuses a file missing a required column."""
    suffix = Path(name).suffix.lower()
    if data[:4] == b"PK\x03\x04" or suffix == ".xlsx":
        raw_rows = _xlsx_rows(data)
    elif suffix in (".csv", ".txt", ""):
        try:
            raw_rows = list(csv.reader(io.StringIO(_decode(data))))
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field limit
            raise InvalidInput(f"CSV 文件格式有误：{exc}") from None
    else:
        raise InvalidInput(f"不支持的文件类型“{suffix}”，请上传 CSV 或 XLSX 文件")
    if not raw_rows:
        raise InvalidInput("文件为空")
    header = [_cell(h) for h in raw_rows[0]]
    missing = [col for col in required if col not in header]
    if missing:
        raise InvalidInput("缺少列：" + "、".join(missing))
    rows = []
    bad: list[str] = [f"第 1 行第 {i + 1} 列（表头）" for i, h in enumerate(header) if _CONTROL.search(h)]
    for offset, raw in enumerate(raw_rows[1:], start=2):
        values = {h: _cell(raw[i]) if i < len(raw) else "" for i, h in enumerate(header) if h}
        bad += [f"第 {offset} 行“{h}”" for h, v in values.items() if _CONTROL.search(v)]
        if any(values.values()):
            rows.append(Row(offset, values))
    if bad:
        more = f"等 {len(bad)} 处" if len(bad) > MAX_TEXT_PROBLEMS else ""
        raise InvalidInput("、".join(bad[:MAX_TEXT_PROBLEMS]) + more + "含有不允许的控制字符（如空字符），请删除后重新上传")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"文件行数超过上限 {MAX_ROWS}")
    return rows


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InvalidInput("XLSX 文件无法读取，请确认文件未损坏") from exc
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
