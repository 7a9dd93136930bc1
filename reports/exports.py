"""Streaming XLSX exports with Chinese headers (openpyxl write-only: rows go to disk as they
come, so 100,000 rows do not build a workbook in memory)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL = 32767  # Excel's limit per cell


@dataclass(frozen=True)
class Column:
    header: str
    key: str | Callable[[Any], Any]
    width: int = 14

    def value(self, row: Any) -> Any:
        if callable(self.key):
            return self.key(row)
        return row[self.key] if isinstance(row, Mapping) else getattr(row, self.key)


def _safe(value: Any) -> Any:
    """Text as a literal cell: control characters dropped, and a leading =, +, -, @ kept from
    being read as a formula (CSV/XLSX injection) by a leading apostrophe."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    text = _ILLEGAL.sub("", str(value))[:MAX_CELL]
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def write_xlsx(target: BinaryIO | str, sheets: Sequence[tuple[str, Sequence[Column], Iterable[Any]]]) -> int:
    """Write ``(title, columns, rows)`` sheets to ``target``; returns the number of data rows."""
    writer = XlsxWriter()
    for title, columns, rows in sheets:
        writer.sheet(title, columns)
        writer.append(rows)
    writer.save(target)
    return writer.count


class XlsxWriter:
    """The same workbook written a batch at a time, so a caller can feed rows as a database cursor
    yields them (each call may run in a different worker thread, never two at once)."""

    def __init__(self) -> None:
        self._wb = Workbook(write_only=True)
        self._ws: Any = None
        self._columns: Sequence[Column] = ()
        self.count = 0

    def sheet(self, title: str, columns: Sequence[Column]) -> None:
        ws = self._ws = self._wb.create_sheet(title=_ILLEGAL.sub("", title)[:31] or "Sheet")
        self._columns = columns
        for i, col in enumerate(columns):
            ws.column_dimensions[_letter(i)].width = col.width
        ws.freeze_panes = "A2"
        header = []
        for col in columns:
            cell = WriteOnlyCell(ws, value=col.header)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)

    def append(self, rows: Iterable[Any]) -> None:
        ws, columns = self._ws, self._columns
        for row in rows:
            ws.append([_safe(col.value(row)) for col in columns])
            self.count += 1

    def save(self, target: BinaryIO | str) -> None:
        self._wb.save(target)


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# Column sets the service exports; rows are mappings with these keys.
RESULT_COLUMNS = (
    Column("姓名", "name", 12),
    Column("证件号码", "id_number", 22),
    Column("工作单位", "institution", 28),
    Column("执业类别", "category", 10),
    Column("执业范围", "scope", 14),
    Column("考核程序", "procedure", 10),
    Column("状态", "state", 14),
    Column("工作成绩", "work_rating", 10),
    Column("职业道德", "ethics_rating", 10),
    Column("考核结果", "result", 10),
    Column("是否已公布", "published", 10),
    Column("证书编号", "certificate", 20),
)
REVIEW_COLUMNS = (
    Column("姓名", "name", 12),
    Column("证件号码", "id_number", 22),
    Column("工作单位", "institution", 28),
    Column("执业类别", "category", 10),
    Column("考核程序", "procedure", 10),
    Column("状态", "state", 14),
    Column("提交时间", "submitted_at", 20),
)
ATTEMPT_COLUMNS = (
    Column("姓名", "name", 12),
    Column("证件号码", "id_number", 22),
    Column("工作单位", "institution", 28),
    Column("试卷", "paper", 20),
    Column("第几次", "attempt_no", 8),
    Column("开始时间", "started_at", 20),
    Column("交卷时间", "submitted_at", 20),
    Column("得分", "score", 8),
    Column("合格分", "pass_mark", 8),
    Column("结论", "outcome", 8),
)
QUESTION_COLUMNS = (
    Column("题目编号", "question", 10),
    Column("题干", "stem", 40),
    Column("被抽次数", "drawn", 10),
    Column("作答次数", "answered", 10),
    Column("正确率", "share_correct", 10),
    Column("区分度", "discrimination", 10),
    Column("从未被选的选项", "never_chosen", 16),
    Column("标记", "flags", 20),
)
