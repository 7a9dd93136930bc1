"""IMS QTI 2.1 ``choiceInteraction`` items (single and multiple response).

Accepts a single ``assessmentItem`` XML file or a content package (zip with
``imsmanifest.xml`` listing ``imsqti_item_xmlv2p1`` resources; images referenced by items are
loaded from the package). The key comes from ``correctResponse``; an item without one (e.g.
scored only by custom response processing) is refused rather than guessed. Items with any
other interaction, several interactions, or another QTI version are refused by name; a QTI 2.2
(or 3.0 / 1.2) package is refused as a whole, never read as 2.1.
"""

from __future__ import annotations

import posixpath
from typing import Iterator
import xml.etree.ElementTree as ET

from ..errors import Problem, UnsupportedFormatError
from ..mathml import MathUnsupported, mathml_to_text
from ..model import OPTION_LABELS, Image, Option, Question, QuestionType
from ..normalise import clean_text, mime_for_name
from ..result import Event, ImportResult, collect, drain
from ..validate import question_problems
from ._safety import SafeZip, parse_xml

__all__ = ["read_qti", "iter_qti", "QTI21_NS"]

QTI21_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
_OTHER_NS = {
    "http://www.imsglobal.org/xsd/imsqti_v2p2": "QTI 2.2",
    "http://www.imsglobal.org/xsd/imsqti_v2p0": "QTI 2.0",
    "http://www.imsglobal.org/xsd/imsqtiasi_v3p0": "QTI 3.0",
}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "ul", "ol"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _flatten(el: ET.Element, skip: set[str], out: list[str], imgs: list[str]) -> None:
    name = _local(el.tag)
    if name in skip:
        return
    if name == "math":
        out.append(mathml_to_text(el))
        return
    if name == "img" and el.get("src"):
        imgs.append(el.get("src", ""))
    if name in _BLOCK:
        out.append("\n")
    if el.text:
        out.append(el.text)
    for child in el:
        _flatten(child, skip, out, imgs)
        if child.tail:
            out.append(child.tail)
    if name in _BLOCK:
        out.append("\n")


def _text(el: ET.Element, skip: set[str] = frozenset()) -> tuple[str, list[str]]:
    parts: list[str] = []
    imgs: list[str] = []
    _flatten(el, set(skip), parts, imgs)
    text = "\n".join(ln for ln in (clean_text(x) for x in "".join(parts).split("\n")) if ln)
    return text, imgs


def _item(root: ET.Element, where: str, line: int | None, res: ImportResult,
          load: "callable | None" = None, base: str = "") -> None:
    title = root.get("title") or root.get("identifier") or ""
    label = f"{where}（“{title}”）"
    kind = ["assessmentItem"]

    def bad(field: str, msg: str) -> None:
        res.problems.append(Problem(line, field, f"{label}：{msg}", kind[0]))

    try:
        _read_item(root, res, bad, kind, load, base, where)
    except MathUnsupported as exc:
        bad("题干", exc.message_zh)


def _key_from_processing(root: ET.Element, rid: str) -> tuple[list[str], str]:
    """The key of an item scored only by ``responseProcessing``: the ``baseValue`` that the one
    branch giving a positive score compares the response with (``<match>`` or ``<member>``).
    Returns ``(key, why_not)``; several scoring branches with different keys are not guessed."""
    rp = root.find(f"{{{QTI21_NS}}}responseProcessing")
    if rp is None:
        return [], ""
    keys: list[list[str]] = []
    for branch in rp.iter():
        if _local(branch.tag) not in ("responseIf", "responseElseIf"):
            continue
        cond = next(iter(branch), None)
        if cond is None or _local(cond.tag) not in ("match", "member"):
            continue
        parts = list(cond)
        if not any(_local(p.tag) == "variable" and p.get("identifier") == rid for p in parts):
            continue
        values: list[str] = []
        for p in parts:
            if _local(p.tag) == "baseValue":
                values.append(clean_text(p.text))
            elif _local(p.tag) in ("multiple", "ordered"):
                values.extend(clean_text(v.text) for v in p if _local(v.tag) == "baseValue")
        values = [v for v in values if v]
        if values and _scores(branch) and sorted(values) not in keys:
            keys.append(sorted(values))
    if len(keys) > 1:
        return [], "评分规则 responseProcessing 中有多个给分条件（答案不唯一），无法确定标准答案"
    return (keys[0] if keys else []), ""


def _scores(branch: ET.Element) -> bool:
    for child in branch:
        if _local(child.tag) == "setOutcomeValue":
            for v in child.iter():
                if _local(v.tag) == "baseValue":
                    try:
                        if float(clean_text(v.text)) > 0:
                            return True
                    except ValueError:
                        pass
    return False


def _read_item(root: ET.Element, res: ImportResult, bad, kind: list[str], load, base: str,  # type: ignore[no-untyped-def]
               where: str) -> None:

    if _local(root.tag) != "assessmentItem":
        bad("题型", f"根元素是 <{_local(root.tag)}>，不是 QTI 试题 <assessmentItem>")
        return
    ns = _ns(root.tag)
    if ns != QTI21_NS:
        bad("版本", f"是 {_OTHER_NS.get(ns, ns or '无命名空间')} 格式，只支持 QTI 2.1")
        return
    body = root.find(f"{{{QTI21_NS}}}itemBody")
    if body is None:
        bad("题干", "缺少 itemBody")
        return
    interactions = [e for e in body.iter() if _local(e.tag).endswith("Interaction")]
    kinds = sorted({_local(e.tag) for e in interactions})
    kind[0] = "、".join(kinds) or "assessmentItem"
    if kinds != ["choiceInteraction"] or len(interactions) != 1:
        if not interactions:
            bad("题型", "没有交互（interaction），不是可作答的试题")
        elif len(interactions) > 1 and kinds == ["choiceInteraction"]:
            bad("题型", f"包含 {len(interactions)} 个 choiceInteraction，只支持每题一个")
        else:
            bad("题型", f"交互类型 {'、'.join(k for k in kinds)} 不支持，只支持 choiceInteraction（单选/多选）")
        return
    ci = interactions[0]
    kind[0] = "choiceInteraction（选择题）"
    rid = ci.get("responseIdentifier", "")
    decl = next((d for d in root.findall(f"{{{QTI21_NS}}}responseDeclaration") if d.get("identifier") == rid), None)
    if decl is None:
        bad("答案", f"找不到 responseDeclaration {rid}")
        return
    correct = [clean_text(v.text) for v in decl.findall(f"{{{QTI21_NS}}}correctResponse/{{{QTI21_NS}}}value")]
    correct = [c for c in correct if c]
    if not correct:
        correct, why_not = _key_from_processing(root, rid)
        if why_not:
            bad("答案", why_not)
            return
    if not correct:
        bad("答案", "没有标准答案：既没有 correctResponse，评分规则 responseProcessing 中也没有给分的 match/member 条件，不导入")
        return
    choices = ci.findall(f"{{{QTI21_NS}}}simpleChoice")
    if len(choices) > len(OPTION_LABELS):
        bad("选项", f"有 {len(choices)} 个选项，最多支持 {len(OPTION_LABELS)} 个")
        return
    ids = [c.get("identifier", "") for c in choices]
    unknown = [c for c in correct if c not in ids]
    if unknown:
        bad("答案", f"标准答案 {'、'.join(unknown)} 不是本题的选项")
        return
    texts = [_text(c) for c in choices]
    pictures = [OPTION_LABELS[i] for i, (t, im) in enumerate(texts) if not t and im]
    if pictures:
        bad("选项", f"选项{'、'.join(pictures)}只有图片，不支持图片选项")
        return
    options = tuple(Option(OPTION_LABELS[i], t) for i, (t, _) in enumerate(texts))
    key = tuple(sorted(OPTION_LABELS[ids.index(c)] for c in set(correct)))
    cardinality = decl.get("cardinality", "single")
    if cardinality not in ("single", "multiple"):
        bad("题型", f"答案基数 {cardinality} 不支持")
        return
    if cardinality == "single" and len(key) > 1:
        bad("答案", "单选题却有多个标准答案")
        return
    qtype = QuestionType.X if len(key) > 1 else QuestionType.A1
    stem_body, imgs = _text(body, {"choiceInteraction"})
    prompt_el = ci.find(f"{{{QTI21_NS}}}prompt")
    prompt = _text(prompt_el)[0] if prompt_el is not None else ""
    stem = "\n".join(x for x in (stem_body, prompt) if x)
    images: list[Image] = []
    for src in imgs:
        mime = mime_for_name(src)
        if mime is None:
            continue
        data = None
        if load is not None:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(base), src))
            try:
                data = load(path)
            except KeyError:
                bad("图片", f"图片 {src} 不在题目包中")
                return
            if len(data) > MAX_IMAGE_BYTES:
                bad("图片", f"图片 {src} 过大")
                return
        images.append(Image(mime, data=data, ref=None if data is not None else src, name=posixpath.basename(src)))
    q = Question(qtype, stem, options, key, images=tuple(images), source_ref=where)
    kind[0] = q.type.label_zh
    errs = question_problems(q)
    if errs:
        for f, m in errs:
            bad(f, m)
        return
    res.questions.append(q)


_VERSION_TYPES = (("imsqti_item_xmlv2p1", "QTI 2.1"), ("imsqti_test_xmlv2p1", "QTI 2.1"),
                  ("imsqti_item_xmlv2p2", "QTI 2.2"), ("imsqti_test_xmlv2p2", "QTI 2.2"),
                  ("imsqti_item_xmlv2p0", "QTI 2.0"), ("imsqti_xmlv1p2", "QTI 1.x"), ("imsqti_xmlv1p1", "QTI 1.x"),
                  ("imsqti_item_xmlv3p0", "QTI 3.0"), ("imsqti_test_xmlv3p0", "QTI 3.0"), ("imsqti_xmlv3p0", "QTI 3.0"))


def _version_of(resource_type: str) -> str | None:
    t = resource_type.strip().lower()
    for prefix, name in _VERSION_TYPES:
        if t.startswith(prefix):
            return name
    return None


def read_qti(data: bytes) -> ImportResult:
    return collect("qti21", iter_qti(data))


def iter_qti(data: bytes) -> Iterator[Event]:
    res = ImportResult(format="qti21")
    if data[:4] != b"PK\x03\x04":
        root = parse_xml(data, what="QTI 文件")
        if _local(root.tag) == "manifest":
            raise UnsupportedFormatError("这是题目包的 imsmanifest.xml，请上传整个 zip 题目包")
        _item(root, "试题文件", None, res)
        yield from drain(res)
        return
    z = SafeZip(data, what="QTI 题目包")
    if not z.has("imsmanifest.xml"):
        raise UnsupportedFormatError("QTI 题目包中没有 imsmanifest.xml")
    manifest = z.read("imsmanifest.xml")
    mroot = parse_xml(manifest, what="imsmanifest.xml")
    resources = [r for r in mroot.iter() if _local(r.tag) == "resource"]
    items = [r for r in resources if r.get("type", "").startswith("imsqti_item_xmlv2p1")]
    others = sorted({_version_of(r.get("type", "")) for r in resources} - {None, "QTI 2.1"})  # type: ignore[arg-type]
    if not items:
        # The version comes from the resource types (and the items' namespaces), never from
        # free text such as metadata that happens to mention "QTIv1".
        if others:
            raise UnsupportedFormatError(f"这是 {'、'.join(others)} 题目包，只支持 QTI 2.1，未导入任何试题")  # type: ignore[arg-type]
        raise UnsupportedFormatError("imsmanifest.xml 中没有 QTI 2.1 试题（imsqti_item_xmlv2p1）资源")
    for r in resources:
        version = _version_of(r.get("type", ""))
        if version not in (None, "QTI 2.1"):
            res.problems.append(Problem(None, "版本", f"题目包中的 {r.get('href', '') or r.get('identifier', '')}："
                                                      f"是 {version} 资源，只支持 QTI 2.1", version or ""))
    for r in items:
        yield from drain(res)
        href = r.get("href", "")
        where = f"题目包中的 {href}"
        try:
            raw = z.read(href)
        except KeyError:
            res.problems.append(Problem(None, "文件", f"{where}：清单中列出的文件不存在", "assessmentItem"))
            continue
        try:
            root = parse_xml(raw, what=where)
        except UnsupportedFormatError as exc:
            # One damaged item spoils that item, not the package.
            res.problems.extend(Problem(p.line_or_row, p.field, p.message_zh, "assessmentItem") for p in exc.problems)
            continue
        _item(root, where, None, res, load=z.read, base=href)
    yield from drain(res)
