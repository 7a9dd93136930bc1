"""Moodle XML: ``multichoice`` (single and multiple), ``truefalse``, ``category``.

Question text in HTML is converted to plain text; images come from ``<file encoding="base64">``
elements (referenced as ``@@PLUGINFILE@@/name``) and from the legacy ``<image>`` +
``<image_base64>`` pair. ``generalfeedback`` becomes the explanation, ``defaultgrade`` the
points. Every other question type (essay, matching, shortanswer, numerical, cloze, calculated,
drag and drop, description ...) is refused, naming the question and its line.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

from ..errors import ExportError, Problem, UnsupportedFormatError
from ..model import OPTION_LABELS, TF_OPTIONS, Image, Option, Question, QuestionType
from ..mathml import MathUnsupported
from ..normalise import clean_text, html_to_text, mime_for_name, normalise_category
from ..result import Event, ImportResult, collect, drain
from ..validate import question_problems
from ..safe_xml import iter_children
from ._safety import MAX_UPLOAD_BYTES

__all__ = ["read_moodle_xml", "iter_moodle_xml", "write_moodle_xml"]

MAX_IMAGE_BYTES = 5 * 1024 * 1024

_TYPE_NAMES = {
    "essay": "问答题", "matching": "匹配题", "shortanswer": "简答题", "numerical": "数值题",
    "cloze": "完形填空", "multianswer": "完形填空", "calculated": "计算题", "calculatedmulti": "计算选择题",
    "calculatedsimple": "简单计算题", "ddimageortext": "图片拖放题", "ddmarker": "标记拖放题",
    "ddwtos": "文字拖放题", "gapselect": "选词填空", "description": "说明文字", "randomsamatch": "随机简答匹配题",
    "random": "随机题",
}


# Moodle's grade list (question_bank fraction options, in percent); anything else Moodle's own
# import refuses, and so do we: a fraction of 33 is a typo for 33.33333 or a hand-edited file.
MOODLE_GRADES = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667, 14.28571,
                 12.5, 11.11111, 10, 5, 0)
_GRADE_TOLERANCE = 0.005  # percent: 33.333 and 33.33333 are the same grade, 33 is not


def allowed_grade(percent: float) -> bool:
    return any(abs(abs(percent) - g) <= _GRADE_TOLERANCE for g in MOODLE_GRADES)


def _strip_course(path: str) -> str:
    s = re.sub(r"^\$(course|system|module|cat\d*)\$/?", "", path.strip())
    s = re.sub(r"^top(/|$)", "", s)
    return normalise_category(s)


def _text_of(el: ET.Element | None) -> tuple[str, list[str]]:
    if el is None:
        return "", []
    t = el.find("text")
    raw = (t.text or "") if t is not None else ""
    if el.get("format", "html") in ("html", "moodle_auto_format"):
        return html_to_text(raw)
    return clean_text(raw), []


def _images(el: ET.Element | None, q: ET.Element, refs: list[str]) -> tuple[list[Image], list[str]]:
    out: list[Image] = []
    errs: list[str] = []
    files = list(el.findall("file")) if el is not None else []
    wanted = {r.split("@@PLUGINFILE@@/", 1)[-1] for r in refs}
    for f in files:
        name = f.get("name", "")
        mime = mime_for_name(name)
        if mime is None:
            errs.append(f"附件 {name} 不是支持的图片类型")
            continue
        try:
            data = base64.b64decode("".join((f.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            errs.append(f"图片 {name} 的 base64 数据损坏")
            continue
        if len(data) > MAX_IMAGE_BYTES:
            errs.append(f"图片 {name} 超过 {MAX_IMAGE_BYTES // 1024 // 1024} MB")
            continue
        out.append(Image(mime, data=data, name=name))
        wanted.discard(name)
    legacy = q.find("image")
    b64 = q.find("image_base64")
    if legacy is not None and b64 is not None and (b64.text or "").strip():
        name = (legacy.text or "").strip()
        mime = mime_for_name(name) or "image/png"
        try:
            data = base64.b64decode("".join((b64.text or "").split()), validate=True)
            out.append(Image(mime, data=data, name=name))
        except (binascii.Error, ValueError):
            errs.append(f"图片 {name} 的 base64 数据损坏")
    plugin = {r.split("@@PLUGINFILE@@/", 1)[-1] for r in refs if "@@PLUGINFILE@@" in r}
    for w in sorted(wanted):
        if w in plugin:
            # The text shows a file of the Moodle course that the export did not include.
            errs.append(f"图片 {w} 引用了 @@PLUGINFILE@@，但文件中没有这张图片（<file name=\"{w}\">），请重新导出并包含图片")
        elif mime_for_name(w) and not w.startswith("@@"):
            out.append(Image(mime_for_name(w) or "image/png", ref=w, name=w.rsplit("/", 1)[-1]))
    return out, errs


def read_moodle_xml(data: bytes) -> ImportResult:
    return collect("moodle_xml", iter_moodle_xml(data))


def _question_lines(data: bytes) -> Iterator[int]:
    line, pos = 1, 0
    for m in re.finditer(rb"<question[\s>]", data):
        line += data.count(b"\n", pos, m.start())
        pos = m.start()
        yield line


def iter_moodle_xml(data: bytes) -> Iterator[Event]:
    """Questions stream out of the document one ``<question>`` at a time."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnsupportedFormatError("XML 文件过大")
    elements = iter_children(data, what="Moodle XML 文件")
    root = next(elements, None)
    if root is None or root.tag != "quiz":
        raise UnsupportedFormatError(f"不是 Moodle XML 文件：根元素是 <{root.tag if root is not None else ''}>，应为 <quiz>")
    lines = _question_lines(data)
    res = ImportResult(format="moodle_xml")
    category = ""
    n = 0
    for q in elements:
        yield from drain(res)
        if q.tag != "question":
            continue
        n += 1
        line = next(lines, None)
        qtype = q.get("type", "")
        name_el = q.find("name/text")
        name = clean_text(name_el.text if name_el is not None else "") or f"第 {n} 题"
        where = f"第 {line} 行" if line else f"第 {n} 题"
        label = f"{where}：题目“{name}”"
        kind = f"{qtype}（{_TYPE_NAMES.get(qtype, '单选/多选/判断' if qtype in ('multichoice', 'truefalse') else '未知题型')}）"
        failed = False

        def bad(field: str, msg: str) -> None:
            nonlocal failed
            failed = True
            res.problems.append(Problem(line, field, f"{label}{msg}", kind))

        if qtype == "category":
            c = q.find("category/text")
            category = _strip_course(c.text or "") if c is not None else ""
            continue
        if qtype not in ("multichoice", "truefalse"):
            bad("题型", f"的题型 {qtype}（{_TYPE_NAMES.get(qtype, '未知题型')}）不支持，只能导入单选、多选和判断题")
            continue
        qt = q.find("questiontext")
        try:
            stem, refs = _text_of(qt)
            explanation, _ = _text_of(q.find("generalfeedback"))
        except MathUnsupported as exc:
            bad("题干", f"：{exc.message_zh}")
            continue
        images, img_errs = _images(qt, q, refs)
        for e in img_errs:
            bad("图片", f"：{e}")
        points = 1.0
        g = q.find("defaultgrade")
        if g is not None and g.text:
            try:
                v = float(g.text)
                if v > 0:
                    points = round(v, 4)
            except ValueError:
                bad("分值", f"的分值 defaultgrade \"{g.text}\" 不是数字")
        answers = []
        for i, a in enumerate(q.findall("answer")):
            raw_frac = a.get("fraction", "0")
            try:
                frac = float(raw_frac)
                if frac != frac or abs(frac) == float("inf"):
                    raise ValueError
            except ValueError:
                bad("答案", f"的答案得分比例 fraction=\"{raw_frac[:20]}\" 不是数字")
                frac = 0.0
            else:
                if not allowed_grade(frac):
                    bad("答案", f"第 {i + 1} 个答案的得分比例 fraction=\"{raw_frac[:20]}\" 不在 Moodle 允许的取值中"
                               f"（如 100、50、33.33333、25、0，或其负值）")
            try:
                text, _ = _text_of(a) if a.get("format", "html") != "html" or a.find("text") is not None else ("", [])
            except MathUnsupported as exc:
                bad(f"选项{OPTION_LABELS[i] if i < len(OPTION_LABELS) else i + 1}", f"：{exc.message_zh}")
                text = ""
            answers.append((frac, text))
        if failed:
            continue
        if qtype == "truefalse":
            truth = None
            for frac, text in answers:
                if frac >= 100 - 1e-6:
                    low = text.strip().lower()
                    truth = True if low in ("true", "对", "正确") else False if low in ("false", "错", "错误") else None
            if truth is None:
                bad("答案", "没有得分为 100 的 true/false 答案")
                continue
            question = Question(QuestionType.TF, stem, TF_OPTIONS, ("T" if truth else "F",), points, category,
                                explanation=explanation, images=tuple(images), source_ref=where)
        else:
            single_el = q.find("single")
            single = (single_el is None) or (single_el.text or "").strip().lower() in ("true", "1")
            if len(answers) > len(OPTION_LABELS):
                bad("选项", f"有 {len(answers)} 个选项，最多支持 {len(OPTION_LABELS)} 个")
                continue
            options = tuple(Option(OPTION_LABELS[i], t) for i, (_, t) in enumerate(answers))
            if single:
                full = [i for i, (f, _) in enumerate(answers) if f >= 100 - 1e-6]
                partial = [i for i, (f, _) in enumerate(answers) if 0 < f < 100 - 1e-6]
                if partial:
                    bad("答案", "是带部分得分选项的单选题，不支持")
                    continue
                if len(full) != 1:
                    bad("答案", f"是单选题，但有 {len(full)} 个满分答案")
                    continue
                qtype_m, key = (QuestionType.A1, (OPTION_LABELS[full[0]],))
            else:
                pos = [i for i, (f, _) in enumerate(answers) if f > 0]
                if not pos:
                    bad("答案", "没有正确答案（没有得分大于 0 的选项）")
                    continue
                key = tuple(OPTION_LABELS[i] for i in pos)
                qtype_m = QuestionType.X if len(key) > 1 else QuestionType.A1
            question = Question(qtype_m, stem, options, key, points, category, explanation=explanation,
                                images=tuple(images), source_ref=where)
        errs = question_problems(question)
        if errs:
            for f, m in errs:
                bad(f, f"：{m}")
            continue
        if not failed:
            res.questions.append(question)
    yield from drain(res)


def _cdata(s: str) -> str:
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _html(s: str) -> str:
    return escape(s).replace("\n", "<br>")


def write_moodle_xml(questions: Iterable[Question], *, skip_unsupported: bool = False) -> bytes:
    """A1/A2/X/TF. Groups raise :class:`ExportError` unless ``skip_unsupported``."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    bad: list[str] = []
    category = None
    for n, q in enumerate(questions, start=1):
        if q.group is not None:
            bad.append(q.source_ref or q.stem[:30])
            continue
        if q.category != category:
            category = q.category
            out.append('  <question type="category">')
            out.append(f"    <category><text>{escape('$course$/top/' + category if category else '$course$/top')}</text></category>")
            out.append("  </question>")
        files = "".join(
            f'<file name="{escape(img.name or f"image{i}")}" path="/" encoding="base64">{base64.b64encode(img.data).decode()}</file>'
            for i, img in enumerate(q.images) if img.data is not None)
        img_tags = "".join(f'<br><img src="@@PLUGINFILE@@/{escape(img.name or f"image{i}")}">' for i, img in enumerate(q.images) if img.data is not None)
        qtype = "truefalse" if q.type is QuestionType.TF else "multichoice"
        out.append(f'  <question type="{qtype}">')
        out.append(f"    <name><text>Q{n}</text></name>")
        out.append(f'    <questiontext format="html"><text>{_cdata(_html(q.stem) + img_tags)}</text>{files}</questiontext>')
        out.append(f'    <generalfeedback format="html"><text>{_cdata(_html(q.explanation))}</text></generalfeedback>')
        out.append(f"    <defaultgrade>{q.points}</defaultgrade>")
        if q.type is QuestionType.TF:
            t = q.key == ("T",)
            out.append(f'    <answer fraction="{100 if t else 0}" format="moodle_auto_format"><text>true</text></answer>')
            out.append(f'    <answer fraction="{0 if t else 100}" format="moodle_auto_format"><text>false</text></answer>')
        else:
            single = q.type is not QuestionType.X
            out.append(f"    <single>{'true' if single else 'false'}</single>")
            out.append("    <shuffleanswers>true</shuffleanswers>")
            out.append("    <answernumbering>ABCD</answernumbering>")
            for o in q.options:
                if single:
                    frac = "100" if o.label in q.key else "0"
                else:
                    frac = f"{100 / len(q.key):.5f}".rstrip("0").rstrip(".") if o.label in q.key else "-100"
                out.append(f'    <answer fraction="{frac}" format="html"><text>{_cdata(_html(o.text))}</text></answer>')
        out.append("  </question>")
    out.append("</quiz>")
    if bad and not skip_unsupported:
        raise ExportError(f"Moodle XML 不支持共用题干/共用选项题（A3/A4/B1），有 {len(bad)} 道题无法导出", bad)
    return ("\n".join(out) + "\n").encode("utf-8")
