"""Aiken: single-answer multiple choice only.

    Question text (one or more lines)
    A) option            (also "A." "A、" "Ａ．"; full-width letters accepted)
    B) option
    ANSWER: B

Questions are separated by blank lines (optional). Aiken has no categories or points."""

from __future__ import annotations

import re
from typing import Iterable

from ..errors import ExportError, Problem
from ..model import OPTION_LABELS, Option, Question, QuestionType
from ..normalise import clean_text, normalise_label
from ..result import ImportResult
from ..validate import question_problems
from .csv_template import decode_text

__all__ = ["read_aiken", "write_aiken"]

_OPTION = re.compile(r"^\s*([A-Za-zＡ-Ｚａ-ｚ])\s*[)）.．、:：]\s*(.*)$")
_ANSWER = re.compile(r"^\s*ANSWER\s*[:：]\s*(.*?)\s*$", re.IGNORECASE)


def read_aiken(data: bytes) -> ImportResult:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    res = ImportResult(format="aiken")
    stem_lines: list[str] = []
    options: list[Option] = []
    start = 0
    for no, raw in enumerate(text.split("\n"), start=1):
        line = clean_text(raw)
        if not line:
            continue
        if not stem_lines and not options:
            start = no
        m_ans = _ANSWER.match(line)
        m_opt = _OPTION.match(line) if stem_lines else None
        if m_ans:
            where = f"第 {start} 行"
            ans = normalise_label(m_ans.group(1))
            errs: list[tuple[str, str]] = []
            if not stem_lines:
                errs.append(("题干", "ANSWER 之前没有题干"))
            if len(ans) != 1 or not ("A" <= ans <= "Z"):
                errs.append(("答案", f"答案 \"{m_ans.group(1)}\" 应为一个选项字母（Aiken 只支持单选题）"))
            if not errs:
                q = Question(QuestionType.A1, "\n".join(stem_lines), tuple(options), (ans,), source_ref=where)
                errs = question_problems(q)
                if not errs:
                    res.questions.append(q)
            res.problems.extend(Problem(start, f, f"{where}：{m}") for f, m in errs)
            stem_lines, options = [], []
        elif m_opt and (options or normalise_label(m_opt.group(1)) == "A"):
            lab = normalise_label(m_opt.group(1))
            expected = OPTION_LABELS[len(options)] if len(options) < len(OPTION_LABELS) else "?"
            if lab != expected:
                res.problems.append(Problem(no, f"选项{lab}", f"第 {no} 行：选项字母 {lab} 不连续（应为 {expected}）"))
            options.append(Option(lab, clean_text(m_opt.group(2))))
        elif options:
            res.problems.append(Problem(no, "答案", f"第 {start} 行开始的题目缺少 “ANSWER:” 行（第 {no} 行出现了新的内容）"))
            stem_lines, options, start = [line], [], no
        else:
            stem_lines.append(line)
    if stem_lines or options:
        res.problems.append(Problem(start, "答案", f"第 {start} 行开始的题目缺少 “ANSWER:” 行"))
    return res


def write_aiken(questions: Iterable[Question], *, skip_unsupported: bool = False) -> bytes:
    """A1/A2 only; other types raise :class:`ExportError` unless ``skip_unsupported``."""
    out: list[str] = []
    bad: list[str] = []
    for q in questions:
        if q.type not in (QuestionType.A1, QuestionType.A2):
            bad.append(q.source_ref or q.stem[:30])
            continue
        out.append(q.stem.replace("\n", " "))
        out.extend(f"{o.label}) {o.text.replace(chr(10), ' ')}" for o in q.options)
        out.append(f"ANSWER: {q.key[0]}")
        out.append("")
    if bad and not skip_unsupported:
        raise ExportError(f"Aiken 只支持单选题（A1/A2），有 {len(bad)} 道题无法导出", bad)
    return "\n".join(out).encode("utf-8")
