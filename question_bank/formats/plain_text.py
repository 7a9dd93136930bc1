"""Plain text as pasted from Word (the common Chinese "文本导入" layout)::

    1.题干（可换行）
    A.选项        （A. / A。/ A、/ A．/ A）均可）
    B。选项
    [B]            答案：一个字母 = 单选，多个字母 = 多选，对/错/√/× = 判断
    [AB][3分]      可选分值
    [解析]……       可选解析，直到空行

Questions are separated by blank lines. Fill-in (填空), essay (问答/主观题) and other item types
are refused, each naming its line. No writer: use the XLSX template instead."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from ..errors import Problem
from ..model import TF_OPTIONS, Option, Question, QuestionType
from ..normalise import clean_text, normalise_label, parse_points, parse_true_false
from ..result import Event, ImportResult, collect, drain
from ..validate import question_problems
from .csv_template import iter_lines

__all__ = ["read_text", "iter_text"]

_NUM = re.compile(r"^\s*\d+\s*[.、．。)）]\s*")
_OPT = re.compile(r"^\s*([A-Ha-hＡ-Ｈａ-ｈ])\s*[.。、．)）:：]\s*(.*)$")
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _blocks(text_lines: Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    block: list[tuple[int, str]] = []
    for no, raw in enumerate(text_lines, start=1):
        line = clean_text(raw)
        if not line:
            if block:
                yield block
            block = []
        else:
            block.append((no, line))
    if block:
        yield block


def read_text(data: bytes) -> ImportResult:
    return collect("text", iter_text(data))


def iter_text(data: bytes) -> Iterator[Event]:
    res = ImportResult(format="text")
    for block in _blocks(iter_lines(data)):
        yield from drain(res)
        start = block[0][0]
        where = f"第 {start} 行"
        stem: list[str] = []
        options: list[Option] = []
        answer_line: str | None = None
        explanation: list[str] = []
        in_expl = False
        for no, line in block:
            if answer_line is not None and answer_line.count("[") > answer_line.count("]"):
                answer_line += "\n" + line
            elif in_expl:
                explanation.append(line)
            elif line.startswith("[解析]") or line.startswith("【解析】"):
                in_expl = True
                explanation.append(line.split("]", 1)[-1].split("】", 1)[-1].strip())
            elif line.startswith("[") and answer_line is None and stem:
                answer_line = line
            elif (m := _OPT.match(line)) and stem:
                options.append(Option(normalise_label(m.group(1)), clean_text(m.group(2))))
            elif not options and answer_line is None:
                stem.append(_NUM.sub("", line, count=1) if not stem else line)
            else:
                res.problems.append(Problem(no, "题干", f"第 {no} 行：无法识别的内容 \"{line[:20]}\""))
        if answer_line is None:
            res.problems.append(Problem(start, "答案", f"{where}：缺少答案行（如 [B]）；只有说明文字的段落不是试题"))
            continue
        parts = [clean_text(p) for p in _BRACKETS.findall(answer_line)]
        if not parts:
            res.problems.append(Problem(start, "答案", f"{where}：答案行无法识别"))
            continue
        ans, extras = parts[0], parts[1:]
        if any(x in ("主观题",) for x in extras) or (not options and parse_true_false(ans) is None) or "_____" in "".join(stem):
            kind = "填空题" if "___" in "".join(stem) else "问答题/主观题"
            res.problems.append(Problem(start, "题型", f"{where}：{kind}不支持，只能导入单选、多选和判断题"))
            continue
        points = 1.0
        for x in extras:
            if x.endswith("分"):
                p = parse_points(x)
                if p is not None:
                    points = p
                break
        letters = normalise_label(ans).replace(",", "").replace("，", "").replace(" ", "")
        if not options:
            tf = parse_true_false(ans)
            q = Question(QuestionType.TF, "\n".join(stem), TF_OPTIONS, ("T" if tf else "F",), points,
                         explanation="\n".join(explanation), source_ref=where)
        elif letters.isascii() and letters.isalpha():
            key = tuple(sorted(set(letters)))
            qtype = QuestionType.X if len(key) > 1 else QuestionType.A1
            q = Question(qtype, "\n".join(stem), tuple(options), key, points,
                         explanation="\n".join(explanation), source_ref=where)
        else:
            res.problems.append(Problem(start, "答案", f"{where}：答案 \"{ans}\" 应为选项字母"))
            continue
        errs = question_problems(q)
        if errs:
            res.problems.extend(Problem(start, f, f"{where}：{m}") for f, m in errs)
        else:
            res.questions.append(q)
    yield from drain(res)
