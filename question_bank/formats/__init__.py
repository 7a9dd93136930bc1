"""Import/export formats and format detection.

Every reader takes the file's bytes and returns an :class:`~question_bank.result.ImportResult`;
every writer takes questions and returns bytes. :func:`read_file` detects the format (content
first, then file name) and never raises for a bad file: problems come back in the result.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
import logging
from typing import Callable, Iterable, Iterator

from ..errors import ImportFormatError, Problem, UnsupportedFormatError
from ..model import Question
from ..result import Event, ImportResult, collect
from ._safety import MAX_RATIO, MAX_UPLOAD_BYTES, SafeZip

__all__ = ["SafeZip", "MAX_RATIO", "FORMATS", "WRITABLE_FORMATS", "detect_format", "iter_file", "read_file", "read_file_strict", "write_questions",
           "images_lost_on_export"]

FORMATS = ("xlsx", "csv", "aiken", "gift", "moodle_xml", "qti21", "text")
WRITABLE_FORMATS = ("xlsx", "csv", "aiken", "gift", "moodle_xml")

_log = logging.getLogger(__name__)
_FORMAT_ZH = {"xlsx": "XLSX 模板", "csv": "CSV 模板", "aiken": "Aiken", "gift": "GIFT", "moodle_xml": "Moodle XML",
              "qti21": "QTI 2.1", "text": "纯文本"}
_EXT = {".xlsx": "xlsx", ".csv": "csv", ".aiken": "aiken", ".gift": "gift", ".xml": "moodle_xml", ".zip": "qti21"}
_AIKEN_ANSWER = re.compile(r"^\s*ANSWER\s*[:：]\s*[A-Za-z]\s*$", re.MULTILINE)
_GIFT_HINT = re.compile(r"(\$CATEGORY\s*:|^\s*::.+?::|\{[^{}]*[=~][^{}]*\}|\{\s*(T|F|TRUE|FALSE)\s*\})", re.MULTILINE)
_COMMENT = re.compile(rb"<!--.*?(-->|$)", re.DOTALL)
_ROOT = re.compile(rb"<(?![?!])([\w.-]+:)?([\w.-]+)")
_TEXT_KEY = re.compile(r"^\s*\[([A-Ha-h]+|对|错|√|×|正确|错误)\]", re.MULTILINE)


def detect_format(data: bytes, *, filename: str | None = None) -> str:
    """Guess the format from content (then extension); raise UnsupportedFormatError."""
    head = data[:4096]
    if head.startswith(b"PK\x03\x04"):
        from ._safety import SafeZip

        z = SafeZip(data, max_member_bytes=1 << 30, max_total_bytes=1 << 31)  # names only; readers apply limits
        if z.has("[Content_Types].xml") and any(n.startswith("xl/") for n in z.names()):
            return "xlsx"
        if z.has("imsmanifest.xml"):
            return "qti21"
        raise UnsupportedFormatError("无法识别的 zip 文件：既不是 XLSX，也不是含 imsmanifest.xml 的 QTI 题目包")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        # The root element's name, past the declaration, comments and any DOCTYPE (a long
        # comment must not hide the root, nor a DTD: the reader then refuses the DTD).
        window = _COMMENT.sub(b"", data[: 256 * 1024])
        root = _ROOT.search(window)
        name = root.group(2) if root else b""
        if name == b"quiz":
            return "moodle_xml"
        if name in (b"assessmentItem", b"manifest"):
            return "qti21"
        raise UnsupportedFormatError("无法识别的 XML 文件：既不是 Moodle XML（<quiz>）也不是 QTI 2.1 试题（<assessmentItem>）")
    from .csv_template import decode_text

    text = decode_text(data[: 256 * 1024])
    first_lines = text[:2000].split("\n", 12)[:12]
    if any("题型" in l and "题干" in l for l in first_lines):
        return "csv"
    if any("题目类型" in l for l in first_lines):
        return "csv"  # the one-row-per-option layout (题目类型 / 是否正确项), read by the CSV reader
    if _AIKEN_ANSWER.search(text):
        return "aiken"
    if _GIFT_HINT.search(text):
        return "gift"
    if _TEXT_KEY.search(text):
        return "text"
    if filename:
        ext = os.path.splitext(filename)[1].lower()
        if ext in _EXT:
            return _EXT[ext]
    raise UnsupportedFormatError("无法识别文件格式：支持 XLSX/CSV 模板、Aiken、GIFT、Moodle XML、QTI 2.1 和纯文本试题")


# format -> (module, whole-file reader, event iterator); modules are imported on first use.
_FORMATS = {
    "xlsx": ("xlsx_template", "read_xlsx", "iter_xlsx"),
    "csv": ("csv_template", "read_csv", "iter_csv"),
    "aiken": ("aiken", "read_aiken", "iter_aiken"),
    "gift": ("gift", "read_gift", "iter_gift"),
    "moodle_xml": ("moodle_xml", "read_moodle_xml", "iter_moodle_xml"),
    "qti21": ("qti21", "read_qti", "iter_qti"),
    "text": ("plain_text", "read_text", "iter_text"),
}


def _format_function(fmt: str, which: int) -> Callable[[bytes], object]:
    if fmt not in _FORMATS:
        raise UnsupportedFormatError(f"不支持的格式 {fmt}")
    module = importlib.import_module(f".{_FORMATS[fmt][0]}", __name__)
    return getattr(module, _FORMATS[fmt][which])


def _reader(fmt: str) -> Callable[[bytes], ImportResult]:
    return _format_function(fmt, 1)  # type: ignore[return-value]


def _iterator(fmt: str) -> Callable[[bytes], Iterator[Event]]:
    return _format_function(fmt, 2)  # type: ignore[return-value]


def _guarded(fmt: str, events: Iterator[Event]) -> Iterator[Event]:
    """A reader's events; whatever it raises becomes a whole-file problem, never a traceback."""
    seen_any = False
    try:
        for e in events:
            seen_any = True
            yield e
    except ImportFormatError as exc:
        seen_any = True
        yield from (p if p.whole_file else Problem(p.line_or_row, p.field, p.message_zh, p.item_type, True)
                    for p in exc.problems)
    except RecursionError:
        seen_any = True
        yield Problem(None, "文件", "文件结构嵌套过深，无法读取", whole_file=True)
    except MemoryError:
        seen_any = True
        yield Problem(None, "文件", "文件内容过于庞大，无法读取", whole_file=True)
    except Exception as exc:  # noqa: BLE001 - last line of defence: a damaged file never ends in a traceback
        seen_any = True
        _log.warning("reader %s failed on a damaged file: %r", fmt, exc)
        yield Problem(None, "文件", f"文件已损坏或格式不符，无法读取（{_FORMAT_ZH.get(fmt, '未知格式')}）", whole_file=True)
    if not seen_any:
        yield Problem(None, "文件", "文件中没有任何试题", whole_file=True)


def iter_file(data: bytes, *, format: str | None = None, filename: str | None = None) -> tuple[str, Iterator[Event]]:
    """``(format, events)``: the file's questions and problems as they are read, for files too
    large to hold every question at once. Never raises for a bad file: an unreadable one
    yields whole-file problems."""
    fmt = format
    try:
        if fmt is None:
            fmt = detect_format(data, filename=filename)
        events = _iterator(fmt)(data)
    except ImportFormatError as exc:
        return fmt or "unknown", iter(list(exc.problems))
    return fmt, _guarded(fmt, events)


def read_file(
    source: str | os.PathLike[str] | bytes,
    *,
    format: str | None = None,
    filename: str | None = None,
) -> ImportResult:
    """Read questions from a path or bytes. Never raises for a bad file: a file that is not
    readable at all (or holds no question) yields an ImportResult with one problem."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        p = Path(source)
        filename = filename or p.name
        if p.stat().st_size > MAX_UPLOAD_BYTES:
            return ImportResult(format or "unknown", problems=UnsupportedFormatError("文件过大").problems)
        data = p.read_bytes()
    fmt, events = iter_file(data, format=format, filename=filename)
    result = collect(fmt, events)
    if not result.questions and not result.problems:
        result.problems.append(Problem(None, "文件", "文件中没有任何试题", whole_file=True))
    return result


def read_file_strict(source: str | os.PathLike[str] | bytes, *, format: str | None = None,
                     filename: str | None = None) -> list[Question]:
    """Like :func:`read_file` but returns the questions or raises ImportFormatError."""
    return read_file(source, format=format, filename=filename).raise_for_problems()


def write_questions(questions: Iterable[Question], *, format: str) -> bytes:
    """Export in one of :data:`WRITABLE_FORMATS`."""
    qs = list(questions)
    if format == "xlsx":
        from .xlsx_template import write_xlsx

        return write_xlsx(qs)
    if format == "csv":
        from .csv_template import write_csv

        return write_csv(qs)
    if format == "aiken":
        from .aiken import write_aiken

        return write_aiken(qs)
    if format == "gift":
        from .gift import write_gift

        return write_gift(qs)
    if format == "moodle_xml":
        from .moodle_xml import write_moodle_xml

        return write_moodle_xml(qs)
    raise UnsupportedFormatError(f"不支持导出为 {format}（可选：{'、'.join(WRITABLE_FORMATS)}）")


# Formats with no place for pictures at all; Moodle XML embeds pictures it has the bytes of.
_NO_IMAGES = frozenset({"xlsx", "csv", "aiken", "gift"})


def images_lost_on_export(questions: Iterable[Question], *, format: str) -> list[Question]:
    """The questions whose pictures ``format`` would drop (say so before exporting: a re-import
    of the file would bring the questions back without them, as new questions)."""
    out = []
    for q in questions:
        images = list(q.images) + (list(q.group.images) if q.group is not None else [])
        if not images:
            continue
        if format in _NO_IMAGES or any(img.data is None for img in images):
            out.append(q)
    return out
