"""The XLSX import template (see :mod:`question_bank.formats._table` for the columns).

Reading uses openpyxl's read-only streaming mode (values only). Writing uses write-only mode.
:func:`blank_template` produces the downloadable template: an empty 试题 sheet with the header,
a 填写说明 sheet, and a 示例 sheet with one example of every item type.
"""

from __future__ import annotations

import io
import warnings
from typing import Iterable, Iterator

from ..errors import UnsupportedFormatError
from ..model import Group, Option, Question, QuestionType, TF_OPTIONS
from ..result import Event, ImportResult, collect
from defusedxml import DefusedXmlException

from ._safety import MAX_UPLOAD_BYTES, SafeZip
from ._table import COLUMNS, INSTRUCTIONS, iter_rows, questions_to_rows

__all__ = ["read_xlsx", "iter_xlsx", "write_xlsx", "blank_template", "SHEET_QUESTIONS", "example_questions"]

SHEET_QUESTIONS = "试题"
SHEET_INSTRUCTIONS = "填写说明"
SHEET_EXAMPLES = "示例"


def _check_package(data: bytes) -> None:
    # Worksheet XML of a large but legitimate bank is big (≈ 300 bytes per row); the ratio
    # check in SafeZip still stops zip bombs.
    # openpyxl parses every part through defusedxml (entities and external references refused).
    z = SafeZip(data, what="XLSX 文件", max_member_bytes=512 * 1024 * 1024, max_total_bytes=1024 * 1024 * 1024)
    if not z.has("[Content_Types].xml"):
        raise UnsupportedFormatError("不是有效的 XLSX 文件（缺少 [Content_Types].xml）")


def read_xlsx(data: bytes) -> "ImportResult":
    """Read the first sheet named 试题 (or else the first sheet) of an XLSX template."""
    return collect("xlsx", iter_xlsx(data))


def iter_xlsx(data: bytes) -> Iterator[Event]:
    """The sheet's questions and problems as its rows stream out of openpyxl's read-only mode."""
    import openpyxl

    if len(data) > MAX_UPLOAD_BYTES:
        raise UnsupportedFormatError("XLSX 文件过大")
    _check_package(data)
    last_row = [0]

    def numbered(rows):  # type: ignore[no-untyped-def]
        for n, cells in enumerate(rows, start=1):
            last_row[0] = n
            yield n, cells

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                names = wb.sheetnames
                sheet = SHEET_QUESTIONS if SHEET_QUESTIONS in names else next(
                    (n for n in names if n not in (SHEET_INSTRUCTIONS, SHEET_EXAMPLES)), names[0])
                yield from iter_rows(numbered(wb[sheet].iter_rows(values_only=True)), format_name="xlsx")
            finally:
                wb.close()
    except UnsupportedFormatError:
        raise
    except DefusedXmlException:
        raise UnsupportedFormatError("XLSX 文件包含 DTD/实体声明或外部引用，出于安全原因拒绝导入") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl, zipfile and zlib raise many types for damaged files
        where = f"（读到第 {last_row[0]} 行时出错）" if last_row[0] else ""
        raise UnsupportedFormatError(f"XLSX 文件已损坏，无法读取{where}：{_damage_zh(exc)}") from None


def _damage_zh(exc: BaseException) -> str:
    import zipfile
    import zlib
    import xml.etree.ElementTree as ET

    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
        return "压缩数据损坏（校验失败或数据不完整）"
    if isinstance(exc, ET.ParseError):
        from ._safety import xml_error_zh

        return f"内部 XML 格式错误，{xml_error_zh(exc)}"
    if isinstance(exc, (KeyError, IndexError)):
        return "缺少必需的组成部分"
    if isinstance(exc, (ValueError, TypeError)):
        return "单元格或样式数据无效"
    return "文件结构无效"


def _write(sheets: Iterable[tuple[str, Iterable[list[object]], list[int]]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    for title, rows, widths in sheets:
        ws = wb.create_sheet(title)
        for i, w in enumerate(widths):
            ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = w
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_WIDTHS = [8, 40] + [18] * 8 + [8, 6, 18, 6, 30, 12, 12, 16]


def write_xlsx(questions: Iterable[Question]) -> bytes:
    """The questions as an importable XLSX template (one sheet, 试题)."""
    return _write([(SHEET_QUESTIONS, questions_to_rows(questions), _WIDTHS)])


def example_questions() -> list[Question]:
    """One example of every item type, as shown in the template's 示例 sheet."""
    five = lambda *t: tuple(Option(l, x) for l, x in zip("ABCDE", t))  # noqa: E731
    a3 = Group("G1", QuestionType.A3, "男，58 岁。突发胸骨后压榨性疼痛 2 小时，伴大汗，含服硝酸甘油不缓解。")
    b1 = Group("G2", QuestionType.B1, "", five("青霉素", "红霉素", "甲硝唑", "异烟肼", "氟康唑"))
    return [
        Question(QuestionType.A1, "《中华人民共和国医师法》施行的日期是", five(
            "2021年8月20日", "2022年3月1日", "2020年6月1日", "2019年12月28日", "2023年1月1日"),
            ("B",), 2, "医学人文/法律法规", 2, "医师法于 2021 年 8 月 20 日通过，自 2022 年 3 月 1 日起施行。", code="RW-001"),
        Question(QuestionType.X, "医师定期考核的内容包括", five("业务水平", "工作成绩", "职业道德", "科研论文数量", "学历层次"),
                 ("A", "B", "C"), 2, "医学人文/法律法规", 3, "医师法第四十二条。"),
        Question(QuestionType.TF, "医师定期考核每三年为一个周期。", TF_OPTIONS, ("T",), 1, "医学人文/法律法规", 1),
        # States the answer of RW-001: the two must never share a paper.
        Question(QuestionType.TF, "《中华人民共和国医师法》自2022年3月1日起施行。", TF_OPTIONS, ("T",), 1, "医学人文/法律法规", 1,
                 code="RW-003", enemies=("RW-001",)),
        Question(QuestionType.A3, "最可能的诊断是", five("急性心肌梗死", "稳定型心绞痛", "急性胃炎", "肋间神经痛", "气胸"),
                 ("A",), 2, "临床/内科", 2, group=a3),
        Question(QuestionType.A3, "首选的检查是", five("心电图", "胃镜", "腹部B超", "肺功能", "头颅CT"),
                 ("A",), 2, "临床/内科", 2, group=a3),
        Question(QuestionType.B1, "治疗结核病的一线药物是", (), ("D",), 1, "临床/内科", 2, group=b1),
        Question(QuestionType.B1, "治疗阴道毛滴虫病首选", (), ("C",), 1, "临床/内科", 3, group=b1),
    ]


def blank_template() -> bytes:
    """The downloadable template: empty 试题 sheet, 填写说明 and 示例 sheets."""
    instructions = [["项目", "说明"], *([k, v] for k, v in INSTRUCTIONS)]
    return _write([
        (SHEET_QUESTIONS, [list(COLUMNS)], _WIDTHS),
        (SHEET_INSTRUCTIONS, instructions, [16, 110]),
        (SHEET_EXAMPLES, questions_to_rows(example_questions()), _WIDTHS),
    ])
