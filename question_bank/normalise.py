"""Text clean-up so files exported from Word, Excel or WPS import as intended.

Full-width/half-width option letters (``Ａ``, ``ａ``), option prefixes inside option cells
(``A、`` ``A．`` ``(A)``), BOMs, ``\\r\\n``, non-breaking and ideographic spaces, zero-width
characters and stray whitespace are handled here and nowhere else. Chinese punctuation inside
stems is left alone (no NFKC: it would turn ``，`` into ``,``).
"""

from __future__ import annotations

import re

from .mathml import render_math_in_html

__all__ = [
    "clean_text",
    "normalise_label",
    "strip_option_prefix",
    "parse_choice_key",
    "parse_true_false",
    "normalise_category",
    "parse_points",
    "parse_difficulty",
    "DIFFICULTY_LABELS",
    "html_to_text",
    "mime_for_name",
]

_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u3000\u2002\u2003\u2009\u202f\u205f\t\u000b\u000c"), " ")
_TRANSLATE = {**_ZERO_WIDTH, **_SPACES}
_MULTI_SPACE = re.compile(r" {2,}")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def clean_text(value: object) -> str:
    """Normalise whitespace of a cell or text block; ``None`` becomes ``""``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value)
    s = value.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATE)
    if " " in s or "\n" in s:
        lines = [_MULTI_SPACE.sub(" ", line).strip() for line in s.split("\n")]
        s = _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip("\n ")
    return s


def _half(ch: str) -> str:
    o = ord(ch)
    if 0xFF01 <= o <= 0xFF5E:
        return chr(o - 0xFEE0)
    return ch


def normalise_label(value: str) -> str:
    """``"Ａ"`` / ``"ａ"`` / ``" a "`` -> ``"A"``."""
    return "".join(_half(c) for c in value.strip()).upper()


_PREFIX_SEP = "、.．。:：)）,，"


def strip_option_prefix(text: str, label: str) -> str:
    """Remove a leading ``A、`` / ``A．`` / ``(A)`` / ``Ａ.`` matching ``label`` from an option."""
    s = text.lstrip()
    if not s:
        return s
    i = 0
    bracket = s[0] in "(（"
    if bracket:
        i = 1
    if i < len(s) and normalise_label(s[i]) == label:
        j = i + 1
        if j < len(s) and (s[j] in _PREFIX_SEP or (bracket and s[j] in ")）")):
            return s[j + 1 :].lstrip()
        if bracket and j < len(s) and s[j] in ")）":
            return s[j + 1 :].lstrip()
    return text.strip()


_KEY_SEPARATORS = re.compile(r"[\s,，、;；/|和及+]+")


def parse_choice_key(value: object) -> tuple[tuple[str, ...], str]:
    """Parse an answer cell such as ``"ABD"``, ``"A,B"``, ``"ａ、ｃ"``.

    Returns ``(labels, bad)``: the sorted distinct labels and any characters that are not
    option letters (empty when the cell is fine)."""
    s = normalise_label(clean_text(value))
    s = _KEY_SEPARATORS.sub("", s)
    labels = sorted({c for c in s if "A" <= c <= "Z"})
    bad = "".join(c for c in s if not ("A" <= c <= "Z"))
    return tuple(labels), bad


# No "A"/"B": a 判断 answer of "A" may mean 对 in one system and the first option in another.
_TRUE = {"T", "TRUE", "对", "正确", "√", "✓", "✔", "是", "Y", "YES", "1"}
_FALSE = {"F", "FALSE", "错", "错误", "×", "✗", "✘", "X", "否", "N", "NO", "0"}


def parse_true_false(value: object) -> bool | None:
    """``对/错/正确/错误/√/×/T/F/TRUE/FALSE/是/否`` -> bool; None when unrecognised."""
    s = normalise_label(clean_text(value))
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


_CATEGORY_SPLIT = re.compile(r"\s*[/／\\＼>＞|｜]\s*")


def normalise_category(value: object) -> str:
    """``" 临床 ／内科 "`` -> ``"临床/内科"``."""
    s = clean_text(value)
    if not s:
        return ""
    return "/".join(p for p in (x.strip() for x in _CATEGORY_SPLIT.split(s)) if p)


def parse_points(value: object) -> float | None:
    """A positive number of points (``"2"``, ``"1.5"``, ``"２分"``); None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
    else:
        s = normalise_label(clean_text(value)).removesuffix("分").strip()
        try:
            v = float(s)
        except ValueError:
            return None
    if not (v > 0) or v > 1000 or v != v:
        return None
    return round(v, 4)


DIFFICULTY_LABELS = {1: "易", 2: "较易", 3: "中", 4: "较难", 5: "难"}
_DIFFICULTY_BY_LABEL = {
    "易": 1, "容易": 1, "简单": 1, "较易": 2, "中": 3, "中等": 3, "一般": 3, "较难": 4, "难": 5, "困难": 5,
}


def parse_difficulty(value: object) -> tuple[int | None, bool]:
    """Returns ``(difficulty, ok)``; an empty cell is ``(None, True)``."""
    if value is None:
        return None, True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        if v.is_integer() and 1 <= v <= 5:
            return int(v), True
        return None, False
    s = normalise_label(clean_text(value))
    if not s:
        return None, True
    if s in _DIFFICULTY_BY_LABEL:
        return _DIFFICULTY_BY_LABEL[s], True
    try:
        v = float(s)
    except ValueError:
        return None, False
    if v.is_integer() and 1 <= v <= 5:
        return int(v), True
    return None, False


class _TextExtractor:
    """HTML -> plain text: block tags become line breaks, entities are decoded, every tag
    (scripts and styles with their content) is dropped; ``<img src>`` values are collected."""

    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol", "table"}

    def __init__(self) -> None:
        from html.parser import HTMLParser

        outer = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                if tag in ("script", "style"):
                    outer.skip += 1
                elif tag in outer.BLOCK:
                    outer.parts.append("\n")
                elif tag == "img":
                    src = dict(attrs).get("src")
                    if src:
                        outer.images.append(src)

            def handle_endtag(self, tag):
                if tag in ("script", "style"):
                    outer.skip = max(0, outer.skip - 1)
                elif tag in outer.BLOCK:
                    outer.parts.append("\n")

            def handle_data(self, data):
                if not outer.skip:
                    outer.parts.append(data)

        self.parts: list[str] = []
        self.images: list[str] = []
        self.skip = 0
        self.parser = P(convert_charrefs=True)


_TAG = re.compile(r"<[^>]*>?")


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Plain text of an HTML fragment and the ``src`` of its images.

    MathML formulas become readable text (``1/6``); one that cannot raises
    :class:`question_bank.mathml.MathUnsupported`, for the reader to refuse by line."""
    if "<" not in html and "&" not in html:
        return clean_text(html), []
    html = render_math_in_html(html)
    ex = _TextExtractor()
    try:
        ex.parser.feed(html)
        ex.parser.close()
    except AssertionError:
        # The standard parser asserts on some damaged declarations ("<![CD  "): the text is
        # then read with its markup dropped.
        import html as html_module

        ex.parts[:] = [html_module.unescape(_TAG.sub("", html))]
    text = "".join(ex.parts)
    lines = [ln for ln in (clean_text(x) for x in text.split("\n"))]
    out = "\n".join(lines)
    out = re.sub(r"\n{2,}", "\n", out).strip()
    return out, ex.images


MIME_BY_EXT = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".svg": "image/svg+xml"}


def mime_for_name(name: str) -> str | None:
    import os

    return MIME_BY_EXT.get(os.path.splitext(name.lower())[1])
