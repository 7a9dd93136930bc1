"""Aiken: single-answer multiple choice only.

    Question text (one or more lines)
    A) option            (also "A." "A、" "Ａ．"; full-width letters accepted)
    B) option
    ANSWER: B

Questions are separated by blank lines (optional). Aiken has no categories or points."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from ..errors import ExportError, Problem
from ..model import OPTION_LABELS, Option, Question, QuestionType
from ..normalise import clean_text, normalise_label
from ..result import Event, ImportResult, collect, drain
from ..validate import question_problems
from .csv_template import iter_lines

__all__ = ["read_aiken", "iter_aiken", "write_aiken"]

_OPTION = re.compile(r"^\s*([A-Za-zＡ-Ｚａ-ｚ])\s*[)）.．、:：]\s*(.*)$")
_ANSWER = re.compile(r"^\s*ANSWER\s*[:：]\s*(.*?)\s*$", re.IGNORECASE)


def read_aiken(data: bytes) -> ImportResult:
    return collect("aiken", iter_aiken(data))


def iter_aiken(data: bytes) -> Iterator[Event]:
    """Every problem is reported at the line it is on (the ANSWER line for a bad key, the option
    line for a skipped letter, the question's first line for what concerns it as a whole), and
    reading goes on after an error, so one pass lists every bad line of the file."""
    res = ImportResult(format="aiken")
    stem_lines: list[str] = []
    options: list[Option] = []
    start = 0
    last = 0
    broken = False  # the question being read already has a problem: it is not imported

    def bad(line: int, field: str, msg: str) -> None:
        nonlocal broken
        broken = True
        res.problems.append(Problem(line, field, f"第 {line} 行：{msg}", "单选题"))

    for no, raw in enumerate(iter_lines(data), start=1):
        yield from drain(res)
        line = clean_text(raw)
        if not line:
            continue
        if not stem_lines and not options:
            start, broken = no, False
        m_ans = _ANSWER.match(line)
        m_opt = _OPTION.match(line) if stem_lines else None
        if m_ans:
            ans = normalise_label(m_ans.group(1))
            if not stem_lines:
                bad(no, "题干", "ANSWER 之前没有题干")
            elif len(ans) != 1 or not ("A" <= ans <= "Z"):
                bad(no, "答案", f"答案 \"{m_ans.group(1)}\" 应为一个选项字母（Aiken 只支持单选题）")
            elif ans not in {o.label for o in options}:
                bad(no, "答案", f"答案 {ans} 不在本题的选项中（第 {start} 行开始的题目只有 "
                                f"{'、'.join(o.label for o in options) or '0 个选项'}）")
            else:
                q = Question(QuestionType.A1, "\n".join(stem_lines), tuple(options), (ans,), source_ref=f"第 {start} 行")
                errs = [(f, m) for f, m in question_problems(q) if f != "答案"]
                for f, m in errs:
                    bad(start, f, m)
                if not broken:
                    res.questions.append(q)
            stem_lines, options = [], []
        elif m_opt and (options or normalise_label(m_opt.group(1)) == "A"):
            lab = normalise_label(m_opt.group(1))
            expected = OPTION_LABELS[len(options)] if len(options) < len(OPTION_LABELS) else "?"
            if lab != expected:
                bad(no, f"选项{lab}", f"选项字母 {lab} 不连续（应为 {expected}）")
            options.append(Option(lab, clean_text(m_opt.group(2))))
        elif options:
            bad(no, "答案", f"第 {start} 行开始的题目缺少 “ANSWER:” 行（本行出现了新的内容）")
            stem_lines, options, start, broken = [line], [], no, False
        else:
            stem_lines.append(line)
        last = no
    if stem_lines or options:
        bad(last, "答案", f"第 {start} 行开始的题目缺少 “ANSWER:” 行（文件在此结束）")
    yield from drain(res)


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
