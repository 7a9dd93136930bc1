"""MathML as readable plain text: ``<mfrac><mn>1</mn><mn>6</mn></mfrac>`` -> ``1/6``.

Questions are stored and shown as plain text, so a formula is written the way one types it:
fractions ``a/b`` (parenthesised when a part is compound), powers ``x^2``, indices ``x_1``,
roots ``√x`` / ``3√(x+1)``, fences, limits ``∑_(i=1)^n``. Layout that has no faithful one-line
form (matrices and tables, multiscripts, enclosures, glyphs) raises :class:`MathUnsupported`
so the reader refuses the question by line instead of flattening it into something wrong.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from .errors import UnsupportedFormatError
from .safe_xml import parse_xml

__all__ = ["MathUnsupported", "mathml_to_text", "render_math_in_html"]

# Invisible operators (function application, invisible times/separator/plus) carry no text.
_INVISIBLE = dict.fromkeys(map(ord, "\u2061\u2062\u2063\u2064"), None)
_SIMPLE = re.compile(r"^[\w.′″'°∞πα-ωΑ-Ω]+$")
_REFUSED = {
    "mtable": "矩阵或表格", "mtr": "矩阵或表格", "mtd": "矩阵或表格", "mlabeledtr": "矩阵或表格",
    "mmultiscripts": "多重上下标", "menclose": "带框线的公式", "mglyph": "图形符号", "mlongdiv": "竖式除法",
    "mstack": "竖式运算", "maction": "交互公式",
}
_TRANSPARENT = {"math", "mrow", "mstyle", "mpadded", "merror", "none"}
_LEAVES = {"mi", "mn", "mo", "mtext", "ms"}


class MathUnsupported(ValueError):
    """A formula that cannot be written as one line of text; ``message_zh`` says which part."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].split(":")[-1].lower()


def _wrap(s: str) -> str:
    s = s.strip()
    if len(s) <= 1 or _SIMPLE.match(s) or (s.startswith("(") and s.endswith(")") and s.count("(") == 1):
        return s
    return f"({s})"


def _kids(el: ET.Element) -> list[str]:
    return [_render(c) for c in el]


def _render(el: ET.Element, depth: int = 0) -> str:
    if depth > 60:
        raise MathUnsupported("数学公式嵌套过深")
    name = _local(el.tag)
    if name in _REFUSED:
        raise MathUnsupported(f"数学公式中的{_REFUSED[name]}（{name}）无法转换为文字")
    if name in _LEAVES:
        return "".join(el.itertext()).translate(_INVISIBLE).strip()
    if name == "mspace":
        return " "
    if name == "mphantom":
        return ""
    if name == "semantics":
        first = next(iter(el), None)
        return _render(first, depth + 1) if first is not None else ""
    if name in ("annotation", "annotation-xml"):
        return ""
    parts = [_render(c, depth + 1) for c in el]
    if name in _TRANSPARENT:
        return "".join(parts)
    need = {"mfrac": 2, "msup": 2, "msub": 2, "msubsup": 3, "mroot": 2, "munder": 2, "mover": 2, "munderover": 3}
    if name in need and len(parts) != need[name]:
        raise MathUnsupported(f"数学公式中的 {name} 结构不完整")
    if name == "mfrac":
        return f"{_wrap(parts[0])}/{_wrap(parts[1])}"
    if name == "msup" or name == "mover":
        return f"{_wrap(parts[0])}^{_wrap(parts[1])}"
    if name == "msub" or name == "munder":
        return f"{_wrap(parts[0])}_{_wrap(parts[1])}"
    if name in ("msubsup", "munderover"):
        return f"{_wrap(parts[0])}_{_wrap(parts[1])}^{_wrap(parts[2])}"
    if name == "msqrt":
        return f"√{_wrap(''.join(parts))}"
    if name == "mroot":
        return f"{_wrap(parts[1])}√{_wrap(parts[0])}"
    if name == "mfenced":
        seps = (el.get("separators", ",").replace(" ", "") or "")
        inner = ""
        for i, p in enumerate(parts):
            if i:
                inner += seps[min(i - 1, len(seps) - 1)] if seps else ""
            inner += p
        return f"{el.get('open', '(')}{inner}{el.get('close', ')')}"
    raise MathUnsupported(f"数学公式中的元素 <{name}> 无法识别")


def mathml_to_text(el: ET.Element) -> str:
    """One line of text for a ``<math>`` element; raises :class:`MathUnsupported`."""
    return " ".join(_render(el).split())


_MATH_OPEN = re.compile(r"<(?:\w+:)?math\b", re.IGNORECASE)
_MATH_CLOSE = re.compile(r"</(?:\w+:)?math\s*>", re.IGNORECASE)
_PREFIX = re.compile(r"<(/?)\w+:")
_XML_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _fragment_text(fragment: str) -> str:
    xml = _PREFIX.sub(r"<\1", fragment)
    xml = re.sub(r"\sxmlns(:\w+)?=(\"[^\"]*\"|'[^']*')", "", xml)
    # HTML named entities (&InvisibleTimes; &nbsp; ...) are not XML: resolve them first.
    xml = _ENTITY.sub(lambda m: m.group(0) if m.group(1) in _XML_ENTITIES else
                      html.escape(html.unescape(m.group(0)), quote=False), xml)
    try:
        root = parse_xml(xml.encode("utf-8"), what="数学公式", max_depth=80)
    except UnsupportedFormatError as exc:
        raise MathUnsupported(f"数学公式（MathML）无法解析：{exc.message_zh}") from None
    return mathml_to_text(root)


def render_math_in_html(fragment_html: str) -> str:
    """``fragment_html`` with every ``<math>…</math>`` replaced by its text (HTML-escaped).

    One forward scan (never a backtracking regex): damaged text with thousands of unclosed
    ``<math`` tags costs linear time."""
    if "math" not in fragment_html.lower():
        return fragment_html
    out: list[str] = []
    pos = 0
    while True:
        start = _MATH_OPEN.search(fragment_html, pos)
        if start is None:
            break
        end = _MATH_CLOSE.search(fragment_html, start.end())
        if end is None:
            raise MathUnsupported("数学公式（MathML）缺少结束标签 </math>")
        out.append(fragment_html[pos:start.start()])
        out.append(html.escape(_fragment_text(fragment_html[start.start():end.end()]), quote=False))
        pos = end.end()
    out.append(fragment_html[pos:])
    return "".join(out)
