"""Untrusted XML, parsed safely: defusedxml, a nesting limit, Chinese messages with lines.

defusedxml refuses DTDs, entity declarations and external references wherever they appear in
the document; the nesting limit stops documents nested thousands deep before anything walks
them recursively; every parser failure (an unknown encoding declaration included) becomes an
:class:`~question_bank.errors.UnsupportedFormatError` whose Chinese message names the line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from .errors import UnsupportedFormatError

__all__ = ["MAX_XML_DEPTH", "parse_xml", "iter_children", "xml_error_zh"]

# Real question files nest a few dozen elements deep (HTML tables, MathML); nothing needs 200.
MAX_XML_DEPTH = 200

# Chinese names of expat's error codes (xml.parsers.expat.errors.codes).
_EXPAT_ZH = {
    1: "内存不足", 2: "语法错误", 3: "没有任何元素（文件为空或被截断）", 4: "包含非法字符或格式错误",
    5: "标记未闭合", 6: "字符不完整（文件被截断或编码不符）", 7: "开始标签与结束标签不匹配", 8: "属性重复",
    9: "根元素之后还有多余内容", 10: "非法的参数实体引用", 11: "引用了未定义的实体", 12: "实体递归引用",
    13: "异步实体", 14: "引用了无效的字符编号", 15: "引用了二进制实体", 16: "属性中引用了外部实体",
    17: "XML 声明不在文件开头", 18: "XML 声明的编码无法识别", 19: "XML 声明的编码与文件实际编码不符",
    20: "CDATA 段未闭合", 21: "处理外部实体引用出错", 22: "文档不是独立文档", 27: "使用了未声明的命名空间前缀",
    28: "不能取消声明命名空间前缀", 30: "XML 声明格式错误", 31: "文本声明格式错误", 32: "公共标识符中有非法字符",
    38: "保留前缀 xml 被错误绑定", 39: "保留前缀 xmlns 不能声明", 40: "前缀绑定到了保留的命名空间",
    43: "实体展开超出限制",
}


class _TooDeep(Exception):
    pass


class _DepthLimitedBuilder(ET.TreeBuilder):
    """Builds the tree like ElementTree does, refusing documents nested deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._depth = 0
        self._limit = limit

    def start(self, tag, attrs):  # type: ignore[no-untyped-def]
        self._depth += 1
        if self._depth > self._limit:
            raise _TooDeep()
        return super().start(tag, attrs)

    def end(self, tag):  # type: ignore[no-untyped-def]
        self._depth -= 1
        return super().end(tag)


def xml_error_zh(exc: ET.ParseError) -> str:
    """An expat error in Chinese, with its line and column."""
    code = getattr(exc, "code", None)
    line, col = getattr(exc, "position", (None, None)) or (None, None)
    reason = _EXPAT_ZH.get(code or 0, "格式错误")
    return f"第 {line} 行第 {col + 1 if col is not None else '?'} 列：{reason}" if line else reason


def parse_xml(data: bytes, *, what: str = "XML 文件", max_depth: int = MAX_XML_DEPTH) -> ET.Element:
    """Parse untrusted XML; raise UnsupportedFormatError with a Chinese message for anything wrong."""
    parser = DefusedXMLParser(target=_DepthLimitedBuilder(max_depth), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(data)
        return parser.close()
    except DefusedXmlException:
        raise UnsupportedFormatError(f"{what}包含 DOCTYPE/ENTITY 声明或外部引用，出于安全原因拒绝导入") from None
    except _TooDeep:
        raise UnsupportedFormatError(f"{what}的元素嵌套超过 {max_depth} 层，不是正常的试题文件，拒绝导入") from None
    except ET.ParseError as exc:
        raise UnsupportedFormatError(f"{what}不是格式正确的 XML（{xml_error_zh(exc)}）") from None
    except LookupError as exc:  # an encoding declaration Python does not know
        name = str(exc).rsplit(":", 1)[-1].strip()[:40]
        raise UnsupportedFormatError(f"{what}的 XML 声明使用了无法识别的编码“{name}”，请保存为 UTF-8") from None
    except (ValueError, UnicodeError, RecursionError, MemoryError):
        raise UnsupportedFormatError(f"{what}无法解析（编码或结构损坏）") from None


def iter_children(data: bytes, *, what: str = "XML 文件", max_depth: int = MAX_XML_DEPTH):  # type: ignore[no-untyped-def]
    """Stream the root's children: yields the root element first (still empty), then each
    complete child of the root, which is dropped from the tree once the caller is done with
    it. Memory stays at one child, whatever the file size; errors as in :func:`parse_xml`."""
    import io

    from defusedxml.ElementTree import iterparse

    depth = 0
    root = None
    try:
        for event, el in iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise _TooDeep()
                if root is None:
                    root = el
                    yield el
                continue
            depth -= 1
            if depth == 1:
                yield el
                root.clear()  # type: ignore[union-attr]
    except DefusedXmlException:
        raise UnsupportedFormatError(f"{what}包含 DOCTYPE/ENTITY 声明或外部引用，出于安全原因拒绝导入") from None
    except _TooDeep:
        raise UnsupportedFormatError(f"{what}的元素嵌套超过 {max_depth} 层，不是正常的试题文件，拒绝导入") from None
    except ET.ParseError as exc:
        raise UnsupportedFormatError(f"{what}不是格式正确的 XML（{xml_error_zh(exc)}）") from None
    except LookupError as exc:
        name = str(exc).rsplit(":", 1)[-1].strip()[:40]
        raise UnsupportedFormatError(f"{what}的 XML 声明使用了无法识别的编码“{name}”，请保存为 UTF-8") from None
    except (ValueError, UnicodeError, RecursionError, MemoryError):
        raise UnsupportedFormatError(f"{what}无法解析（编码或结构损坏）") from None
