"""The "one row per option" layout common in Chinese exam systems' import templates (e.g. 云帆考试's
试题导入模板), read by the CSV and XLSX formats when their header has 题目类型 and 是否正确项::

    题目序号 | 题目类型 | 题目内容 | 整体解析 | ... | 是否正确项 | 选项内容 | 选项解析 | ...

Rows with the same 题目序号 are one question; its first row carries 题目类型 (1 单选, 2 多选, 3 判断,
4 主观题, or the type's name), 题目内容 and 整体解析; every row gives one option (选项内容) and
whether it is correct (是否正确项: 1/0, 是/否, 对/错 ...). Options are labelled A, B, ... in row order.
A 判断 question's correct row says 正确 or 错误 (or 对/错, √/×). 主观题 and questions with pictures or
video are refused by name (this system stores neither). The template's own instruction row
(“正式导入，请删除此说明行……”) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from ..errors import Problem
from ..model import OPTION_LABELS, TF_OPTIONS, Option, Question, QuestionType
from ..normalise import clean_text, normalise_label, parse_true_false, strip_option_prefix
from ..result import Event, ImportResult, drain
from ..validate import question_problems
from ._type_words import parse_type

HEADER_MARKS = ("题目类型", "是否正确项")
REQUIRED = ("题目序号", "题目类型", "题目内容", "是否正确项", "选项内容")
MEDIA = ("题目图片", "题目视频", "选项图片")
TYPE_CODES = {"1": QuestionType.A1, "2": QuestionType.X, "3": QuestionType.TF}
SUBJECTIVE = ("4", "主观题", "简答题", "问答题", "填空题")
MAX_QUESTION_ROWS = 50  # a question with more option rows is a damaged file, not a question
_YES = {"1", "是", "对", "正确", "√", "✓", "Y", "YES", "T", "TRUE"}
_NO = {"0", "否", "错", "错误", "×", "✗", "N", "NO", "F", "FALSE", ""}


def is_option_rows_header(names: Sequence[str]) -> bool:
    return all(mark in names for mark in HEADER_MARKS)


@dataclass
class _Pending:
    number: str
    row: int
    type_text: str = ""
    stem: str = ""
    explanation: str = ""
    options: list[tuple[int, str, bool | None, str]] = field(default_factory=list)  # row, text, correct, flag
    problems: list[Problem] = field(default_factory=list)


def _loc(row: int) -> str:
    return f"第 {row} 行"


def _question_type(text: str) -> QuestionType | str | None:
    s = normalise_label(text).replace(" ", "")
    if s in SUBJECTIVE:
        return "subjective"
    if s in TYPE_CODES:
        return TYPE_CODES[s]
    return parse_type(s)


def _correct(value: object) -> bool | None:
    s = normalise_label(clean_text(value)).replace(" ", "").upper()
    if s.endswith(".0") and s[:-2] in ("0", "1"):  # a spreadsheet's number 1.0
        s = s[:-2]
    return True if s in _YES else False if s in _NO else None


def iter_option_rows(header_row: int, names: Sequence[str], rows: Iterator[tuple[int, Sequence[object]]], *,
                     format_name: str) -> Iterator[Event]:
    """The questions and problems of the rows after an option-rows header (``names`` its cells)."""
    result = ImportResult(format=format_name)
    col: dict[str, int] = {}
    for i, n in enumerate(names):
        if n and n not in col:
            col[n] = i
    missing = [c for c in REQUIRED if c not in col]
    if missing:
        result.problems.append(Problem(header_row, "表头", f"{_loc(header_row)}：“每个选项一行”的模板缺少必填列 "
                                                          f"{'、'.join(missing)}", whole_file=True))
        yield from drain(result)
        return
    i_no, i_type, i_stem, i_mark, i_text = (col[c] for c in REQUIRED)
    i_expl = col.get("整体解析")
    media = [(c, col[c]) for c in MEDIA if c in col]
    width = max(col.values()) + 1

    current: _Pending | None = None
    seen: dict[str, int] = {}  # 题目序号 -> first row
    for row_no, raw in rows:
        cells = tuple(raw) + (None,) * max(0, width - len(raw))
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        number = clean_text(cells[i_no]).strip()
        if number.endswith(".0") and number[:-2].isdigit():
            number = number[:-2]
        if "说明行" in number or ("说明" in number and current is None and not seen):
            continue  # the template's own instruction row
        if not number:
            if current is None:
                result.problems.append(Problem(row_no, "题目序号", f"{_loc(row_no)}：题目序号为空"))
                yield from drain(result)
                continue
            number = current.number  # a continuation row left blank: the same question
        if current is None or number != current.number:
            if current is not None:
                yield from _finish(current, result)
            if number in seen:
                result.problems.append(Problem(row_no, "题目序号", f"{_loc(row_no)}：题目序号“{number[:20]}”已在第 "
                                               f"{seen[number]} 行用过；同一题的各选项行须连在一起"))
                current = None
                yield from drain(result)
                continue
            seen[number] = row_no
            current = _Pending(number, row_no)
        p = current
        type_text, stem = clean_text(cells[i_type]), clean_text(cells[i_stem])
        if type_text:
            if p.type_text and type_text != p.type_text:
                p.problems.append(Problem(row_no, "题目类型", f"{_loc(row_no)}：同一题（题目序号 {number[:20]}）的题目类型前后不一致"))
            p.type_text = p.type_text or type_text
        if stem:
            if p.stem and stem != p.stem:
                p.problems.append(Problem(row_no, "题目内容", f"{_loc(row_no)}：同一题（题目序号 {number[:20]}）的题目内容前后不一致"))
            p.stem = p.stem or stem
        if i_expl is not None and clean_text(cells[i_expl]) and not p.explanation:
            p.explanation = clean_text(cells[i_expl])
        for name, ci in media:
            if clean_text(cells[ci]):
                p.problems.append(Problem(row_no, name, f"{_loc(row_no)}：{name}不能导入（本系统不保存外部图片和视频），"
                                                        "请把图片内容改写成文字或删去该题"))
        text, flag = clean_text(cells[i_text]), clean_text(cells[i_mark])
        if text or flag:
            if len(p.options) >= MAX_QUESTION_ROWS:
                if len(p.options) == MAX_QUESTION_ROWS:
                    p.problems.append(Problem(row_no, "选项内容", f"{_loc(row_no)}：一道题的选项行过多"))
                p.options.append((row_no, "", None, ""))
                continue
            p.options.append((row_no, text, _correct(cells[i_mark]), flag[:20]))
    if current is not None:
        yield from _finish(current, result)
    yield from drain(result)


def _finish(p: _Pending, result: ImportResult) -> Iterator[Event]:
    """One question from its rows, or the problems that keep it out (each naming its row)."""
    problems = list(p.problems)
    where = f"{_loc(p.row)}（题目序号 {p.number[:20]}）"

    def bad(row: int, field_name: str, msg: str) -> None:
        problems.append(Problem(row, field_name, f"{_loc(row)}：{msg}", p.type_text[:20]))

    qtype = _question_type(p.type_text) if p.type_text else None
    if not p.type_text:
        bad(p.row, "题目类型", f"题目序号 {p.number[:20]} 的题目类型为空")
    elif qtype == "subjective":
        bad(p.row, "题目类型", f"题目序号 {p.number[:20]} 是主观题，本系统只导入单选、多选和判断题")
    elif not isinstance(qtype, QuestionType) or qtype.is_group:
        bad(p.row, "题目类型", f"题目类型“{p.type_text[:20]}”无法识别（应为 1 单选、2 多选、3 判断）")
    if not p.stem:
        bad(p.row, "题目内容", f"题目序号 {p.number[:20]} 的题目内容为空")
    for row, text, correct, flag in p.options[:MAX_QUESTION_ROWS]:
        if correct is None:
            bad(row, "是否正确项", f"是否正确项“{flag}”无法识别（应为 1 或 0）")
        if not text:
            bad(row, "选项内容", "选项内容为空")
    if problems or not isinstance(qtype, QuestionType):
        result.problems.extend(problems)
        yield from drain(result)
        return
    rows = p.options
    right = [(row, text) for row, text, correct, _ in rows if correct]
    key: tuple[str, ...]
    options: tuple[Option, ...]
    if qtype is QuestionType.TF:
        values = [parse_true_false(text) for _, text in right]
        if len(right) != 1 or values[0] is None:
            bad(p.row, "是否正确项", f"{where[len(_loc(p.row)):]}判断题应有且只有一个正确项，且其选项内容为“正确”或“错误”")
            result.problems.extend(problems)
            yield from drain(result)
            return
        options, key = TF_OPTIONS, ("T" if values[0] else "F",)
    else:
        if len(rows) > len(OPTION_LABELS):
            bad(p.row, "选项内容", f"题目序号 {p.number[:20]} 有 {len(rows)} 个选项，最多 {len(OPTION_LABELS)} 个")
            result.problems.extend(problems)
            yield from drain(result)
            return
        options = tuple(Option(lab, strip_option_prefix(text, lab)) for lab, (_, text, _, _) in zip(OPTION_LABELS, rows))
        key = tuple(lab for lab, (_, _, correct, _) in zip(OPTION_LABELS, rows) if correct)
        if not key:
            bad(p.row, "是否正确项", f"题目序号 {p.number[:20]} 没有标记正确项（正确选项的“是否正确项”填 1）")
            result.problems.extend(problems)
            yield from drain(result)
            return
    q = Question(qtype, p.stem, options, key, explanation=p.explanation, source_ref=where)
    for field_name, msg in question_problems(q):
        bad(p.row, field_name, msg)
    if problems:
        result.problems.extend(problems)
    else:
        result.questions.append(q)
    yield from drain(result)
