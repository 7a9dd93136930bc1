"""GIFT (Moodle's text format): multiple choice, weighted multiple answer, true/false.

Supported: ``::title::``, ``[html]``/``[markdown]``/``[plain]``/``[moodle]`` text formats (HTML is
converted to plain text), ``//`` comments, ``$CATEGORY:``, escapes ``\\: \\= \\~ \\# \\{ \\}``,
literal ``\\n``, per-answer feedback (dropped), general feedback ``####`` (kept as the
explanation), weights such as ``%50%`` / ``%-100%`` / ``%33.33333%``, embedded answers
(``Grant is {~buried =entombed} in ...`` -> stem ``Grant is _____ in ...``).

Single choice: exactly one ``=`` among ``~`` wrong answers. Multiple answer: ``~%w%`` weights,
the options with positive weight are correct, or several ``=`` among ``~`` (all of them correct). True/false: ``{T}`` ``{TRUE}`` ``{F}`` ``{FALSE}``.
Refused, each by line: essay ``{}``, description (no answer block), numerical ``{#...}``, short
answer (only ``=`` answers), matching (``=a -> b``), partial credit on single choice.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from ..errors import ExportError, Problem
from ..model import OPTION_LABELS, TF_OPTIONS, Image, Option, Question, QuestionType
from ..mathml import MathUnsupported
from ..normalise import clean_text, html_to_text, mime_for_name, normalise_category
from ..result import Event, ImportResult, collect, drain
from ..validate import question_problems
from .csv_template import iter_lines

__all__ = ["read_gift", "iter_gift", "write_gift", "parse_gift_category"]

_ESCAPABLE = set(":~=#{}\\")
_PLUGINFILE = "@@PLUGINFILE@@"
_FORMAT = re.compile(r"^\s*\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
_WEIGHT = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%")
_TF = re.compile(r"^(TRUE|FALSE|T|F)(?=\s*(#|$))", re.IGNORECASE)


def _find(s: str, token: str, start: int = 0) -> int:
    """The first unescaped ``token`` at or after ``start`` (str.find, then count backslashes)."""
    i = s.find(token, start)
    while i >= 0:
        j = i
        while j > start and s[j - 1] == "\\":
            j -= 1
        if (i - j) % 2 == 0:
            return i
        i = s.find(token, i + 1)
    return -1


def _split_markers(s: str) -> list[tuple[str, str]]:
    """Split an answer block at unescaped ``=`` / ``~`` -> [(marker, raw text)]; a leading
    chunk before any marker gets marker ``""``."""
    out: list[tuple[str, str]] = []
    cur, marker, i, n = [], "", 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            cur.append(s[i : i + 2])
            i += 2
            continue
        if c in "=~":
            if marker or "".join(cur).strip():
                out.append((marker, "".join(cur)))
            marker, cur = c, []
        else:
            cur.append(c)
        i += 1
    if marker or "".join(cur).strip():
        out.append((marker, "".join(cur)))
    return out


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            nxt = s[i + 1]
            if nxt in _ESCAPABLE:
                out.append(nxt)
                i += 2
                continue
            if nxt == "n":
                out.append("\n")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _text(raw: str, fmt: str) -> tuple[str, list[str]]:
    m = _FORMAT.match(raw)
    if m:
        fmt, raw = m.group(1).lower(), raw[m.end():]
    s = _unescape(raw.strip())
    if fmt == "html":
        return html_to_text(s)
    return clean_text(s), []


def parse_gift_category(line: str) -> str:
    s = line.split(":", 1)[1].strip()
    s = re.sub(r"^\$(course|system|module|cat\d*)\$/?", "", s)
    s = re.sub(r"^top(/|$)", "", s)
    return normalise_category(s)


def _blocks(text_lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    depth = 0
    lines: list[str] = []
    start = 0
    for no, line in enumerate(text_lines, start=1):
        if line.strip().startswith("//"):
            continue
        if not line.strip() and depth == 0:
            if lines:
                yield start, "\n".join(lines)
            lines = []
            continue
        if not lines:
            start = no
        lines.append(line)
        if "{" not in line and "}" not in line:
            continue
        i = 0
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] == "{":
                depth += 1
            elif line[i] == "}":
                depth = max(0, depth - 1)
            i += 1
    if lines:
        yield start, "\n".join(lines)


def read_gift(data: bytes) -> ImportResult:
    return collect("gift", iter_gift(data))


def iter_gift(data: bytes) -> Iterator[Event]:
    res = ImportResult(format="gift")
    category = ""
    for start, block in _blocks(iter_lines(data)):
        yield from drain(res)
        s = block.strip()
        if s.startswith("$CATEGORY:"):
            first, _, rest = s.partition("\n")
            category = parse_gift_category(first)
            if not rest.strip():
                continue
            s = rest.strip()
        try:
            q, problem = _parse_question(s, start, category)
        except MathUnsupported as exc:
            q, problem = None, ("题干", exc.message_zh)
        if problem:
            kind = problem[2] if len(problem) > 2 else ""  # type: ignore[misc]
            res.problems.append(Problem(start, problem[0], f"第 {start} 行：{problem[1]}", kind))
        elif q is not None:
            kind = q.type.label_zh
            errs = question_problems(q)
            dangling = [img.ref for img in q.images if img.ref and _PLUGINFILE in img.ref]
            if dangling:
                # GIFT carries no files: @@PLUGINFILE@@ points into the Moodle course it came from.
                errs.append(("图片", f"图片 {dangling[0].split(_PLUGINFILE, 1)[-1].lstrip('/')} 引用了 @@PLUGINFILE@@，"
                                     "但 GIFT 文件不包含图片本身；请改用 Moodle XML 格式导出（含图片）"))
            if errs:
                res.problems.extend(Problem(start, f, f"第 {start} 行：{m}", kind) for f, m in errs)
            else:
                res.questions.append(q)
    yield from drain(res)


def _parse_question(s: str, start: int, category: str) -> tuple[Question | None, tuple[str, str] | None]:
    title = ""
    if s.startswith("::"):
        end = _find(s, "::", 2)
        if end < 0:
            return None, ("标题", "标题缺少结束的 ::")
        title, s = _unescape(s[2:end]).strip(), s[end + 2 :]
    name = f"“{title}”" if title else ""
    fmt = "moodle"
    m = _FORMAT.match(s)
    if m:
        fmt, s = m.group(1).lower(), s[m.end():]
    ob = _find(s, "{")
    if ob < 0:
        return None, ("题型", f"题目{name}没有答案块 {{…}}，是说明文字（description），不是试题，不支持导入")
    cb = _find(s, "}", ob + 1)
    if cb < 0:
        return None, ("答案", f"题目{name}的答案块缺少结束的 }}")
    before, inside, after = s[:ob], s[ob + 1 : cb], s[cb + 1 :]
    stem, images = _text(before, fmt)
    if after.strip():
        tail, imgs2 = _text(after, fmt)
        stem = f"{stem} _____ {tail}".strip() if stem else f"_____ {tail}"
        stem = stem.replace(" _____ ", " _____ ").strip()
        images += imgs2
    gi = _find(inside, "####")
    general = ""
    if gi >= 0:
        general, _ = _text(inside[gi + 4 :], fmt)
        inside = inside[:gi]
    body = inside.strip()
    imgs = tuple(Image(mime_for_name(src) or "image/png", ref=src, name=src.rsplit("/", 1)[-1]) for src in images
                 if mime_for_name(src) or _PLUGINFILE in src)
    ref = f"第 {start} 行"
    if not body:
        return None, ("题型", f"题目{name}是问答题（essay，{{}} 为空），不支持")
    if body.startswith("#"):
        return None, ("题型", f"题目{name}是数值题（numerical，{{#…}}），不支持")
    mtf = _TF.match(body)
    if mtf:
        if after.strip():
            return None, ("题干", f"判断题{name}的答案块 }} 之后还有内容 \"{after.strip()[:20]}\"，无法确定题干")
        value = mtf.group(1).upper() in ("T", "TRUE")
        return Question(QuestionType.TF, stem, TF_OPTIONS, ("T" if value else "F",), category=category,
                        explanation=general, images=imgs, source_ref=ref), None
    parts = _split_markers(body)
    if parts and parts[0][0] == "":
        return None, ("题型", f"题目{name}是简答题（short answer，没有 = 或 ~ 标记的答案），不支持")
    choices = []
    for marker, raw in parts:
        fb = _find(raw, "#")
        text_raw = raw if fb < 0 else raw[:fb]
        w = _WEIGHT.match(text_raw)
        weight = float(w.group(1)) if w else None
        if w:
            text_raw = text_raw[w.end():]
        choices.append((marker, weight, text_raw))
    if not any(m == "~" for m, _, _ in choices):
        if choices and all("->" in _unescape(t) for _, _, t in choices):
            return None, ("题型", f"题目{name}是匹配题（matching，= 问 -> 答），不支持")
        return None, ("题型", f"题目{name}是简答题（short answer，只有 = 答案），不支持")
    if len(choices) > len(OPTION_LABELS):
        return None, ("选项", f"题目{name}有 {len(choices)} 个选项，最多支持 {len(OPTION_LABELS)} 个")
    options = []
    for i, (_, _, t) in enumerate(choices):
        txt, _ = _text(t, fmt)
        options.append(Option(OPTION_LABELS[i], txt))
    eq = [i for i, (m, _, _) in enumerate(choices) if m == "="]
    positive_tilde = [i for i, (m, w, _) in enumerate(choices) if m == "~" and w is not None and w > 0]
    if eq and positive_tilde:
        return None, ("答案", f"题目{name}是带部分得分选项的单选题（~%n%），不支持")
    if len(eq) > 1:  # several "=" among "~": every "=" is correct, all of them must be chosen
        qtype, key = QuestionType.X, tuple(OPTION_LABELS[i] for i in eq)
    elif eq:
        qtype, key = QuestionType.A1, (OPTION_LABELS[eq[0]],)
    else:
        if not positive_tilde:
            return None, ("答案", f"题目{name}没有正确答案（没有 = 或正权重 ~%n%）")
        key = tuple(OPTION_LABELS[i] for i in positive_tilde)
        qtype = QuestionType.X if len(key) > 1 else QuestionType.A1
    return Question(qtype, stem, tuple(options), key, category=category, explanation=general,
                    images=imgs, source_ref=ref), None


def _esc(s: str) -> str:
    out = []
    for c in s:
        if c in _ESCAPABLE:
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        else:
            out.append(c)
    return "".join(out)


def _fmt_weight(w: float) -> str:
    s = f"{w:.5f}".rstrip("0").rstrip(".")
    return s


def write_gift(questions: Iterable[Question], *, skip_unsupported: bool = False) -> bytes:
    """A1/A2/X/TF. Groups (A3/A4/B1) raise :class:`ExportError` unless ``skip_unsupported``."""
    out: list[str] = []
    bad: list[str] = []
    category = None
    for n, q in enumerate(questions, start=1):
        if q.group is not None:
            bad.append(q.source_ref or q.stem[:30])
            continue
        if q.category != category:
            category = q.category
            out.append(f"$CATEGORY: $course$/top/{category}" if category else "$CATEGORY: $course$/top")
            out.append("")
        out.append(f"// question: {n}")
        head = f"::Q{n}::{_esc(q.stem)}"
        general = f"\n####{_esc(q.explanation)}" if q.explanation else ""
        if q.type is QuestionType.TF:
            out.append(f"{head}{{{'TRUE' if q.key == ('T',) else 'FALSE'}{general}}}")
        elif q.type is QuestionType.X:
            right = 100 / len(q.key)
            wrong = -100
            lines = [f"\t~%{_fmt_weight(right) if o.label in q.key else wrong}%{_esc(o.text)}" for o in q.options]
            out.append(head + "{\n" + "\n".join(lines) + general + "\n}")
        else:
            lines = [f"\t{'=' if o.label in q.key else '~'}{_esc(o.text)}" for o in q.options]
            out.append(head + "{\n" + "\n".join(lines) + general + "\n}")
        out.append("")
    if bad and not skip_unsupported:
        raise ExportError(f"GIFT 不支持共用题干/共用选项题（A3/A4/B1），有 {len(bad)} 道题无法导出", bad)
    return "\n".join(out).encode("utf-8")
