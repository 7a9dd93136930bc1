"""Thousands of damaged files through every reader: nothing escapes, nothing hangs, memory stays small.

Seeds are the shared sample files (read in place from ../shared/qbank_samples) plus an XLSX,
a CSV and a QTI package written here; each is mutated many times (bytes flipped, cut short,
chunks repeated, dropped or spliced from another seed, nesting and encodings forced), and
hypothesis adds text built from each format's own tokens. Every reader is called directly:
the only exception allowed out of a reader is ``ImportFormatError`` (which ``read_file`` turns
into problems), and every message must be Chinese.
"""

from __future__ import annotations

import io
import random
import signal
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from question_bank import ImportFormatError, Option, Question, QuestionType, read_file, write_questions
from question_bank.formats import _reader, detect_format

READERS = ("xlsx", "csv", "aiken", "gift", "moodle_xml", "qti21", "text")
# A reader that loops forever is caught by a CPU-time alarm (ITIMER_PROF: this process's own CPU
# seconds, which other processes on a busy machine do not eat into). Readers take milliseconds of
# CPU per file; the bound is a safety net for a hang, never a speed requirement.
PER_FILE_CPU_SECONDS = 30
PEAK_BYTES = 64 * 1024 * 1024


class _Hang(Exception):
    pass


def _alarm(signum, frame):  # type: ignore[no-untyped-def]
    raise _Hang()


def _seeds(samples: Path | None) -> list[tuple[str, bytes]]:
    out = [] if samples is None else [
        (p.name, p.read_bytes()) for p in sorted(samples.rglob("*"))
        if p.is_file() and p.suffix != ".json" and p.name != "README.md" and p.stat().st_size < 100_000]
    qs = [Question(QuestionType.A1, f"第 {i} 题", (Option("A", "甲"), Option("B", "乙")), ("A",), category="临床/内科")
          for i in range(30)]
    for fmt, name in (("xlsx", "made.xlsx"), ("csv", "made.csv"), ("gift", "made.gift"), ("aiken", "made.txt"),
                      ("moodle_xml", "made.xml")):
        out.append((name, write_questions(qs, format=fmt)))
    item = (b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="i" title="t">'
            b'<responseDeclaration identifier="R" cardinality="single" baseType="identifier"><correctResponse>'
            b'<value>a</value></correctResponse></responseDeclaration><itemBody><choiceInteraction responseIdentifier="R">'
            b'<simpleChoice identifier="a">x</simpleChoice><simpleChoice identifier="b">y</simpleChoice>'
            b'</choiceInteraction></itemBody></assessmentItem>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("imsmanifest.xml", b'<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>'
                   b'<resource identifier="r" type="imsqti_item_xmlv2p1" href="i.xml"/></resources></manifest>')
        z.writestr("i.xml", item)
    out.append(("made.zip", buf.getvalue()))
    return out


def _mutate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(9)
    if not b:
        return bytes(rng.randbytes(rng.randrange(1, 64)))
    if kind == 0:  # flip bytes
        for _ in range(rng.randrange(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # cut short
        del b[rng.randrange(len(b)):]
    elif kind == 2:  # repeat a chunk
        i = rng.randrange(len(b))
        b[i:i] = b[i:i + rng.randrange(1, 2000)] * rng.randrange(2, 50)
    elif kind == 3:  # drop a chunk
        i = rng.randrange(len(b))
        del b[i:i + rng.randrange(1, 500)]
    elif kind == 4:  # splice another seed in
        i = rng.randrange(len(b))
        j = rng.randrange(max(len(other), 1))
        b[i:i] = other[j:j + rng.randrange(1, 3000)]
    elif kind == 5:  # random bytes over a region
        i = rng.randrange(len(b))
        n = rng.randrange(1, 64)
        b[i:i + n] = rng.randbytes(n)
    elif kind == 6:  # deep nesting / many braces
        i = rng.randrange(len(b))
        tok = rng.choice([b"<a>", b"{", b"[", b"<m:mrow>", b"<math><mfrac>", b"::", b"\\"])
        b[i:i] = tok * rng.randrange(100, 5000)
    elif kind == 7:  # an encoding declaration nobody knows, or a BOM that lies
        b[0:0] = rng.choice([b'<?xml version="1.0" encoding="x-nope"?>', b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf",
                             b'<?xml version="1.0" encoding="utf-16"?>'])
    else:  # a zip member's header damaged (CRC, sizes, offsets)
        k = bytes(b).find(b"PK\x01\x02") if rng.random() < 0.5 else bytes(b).find(b"PK\x03\x04")
        if k >= 0:
            for off in rng.sample(range(4, 46), 4):
                if k + off < len(b):
                    b[k + off] = rng.randrange(256)
        else:
            b[rng.randrange(len(b))] = 0
    return bytes(b)


def _check(fmt: str, data: bytes) -> None:
    signal.setitimer(signal.ITIMER_PROF, PER_FILE_CPU_SECONDS)
    try:
        try:
            result = _reader(fmt)(data)
        except ImportFormatError as exc:
            problems = exc.problems
        else:
            problems = result.problems
    except _Hang:
        pytest.fail(f"{fmt} reader hung on a damaged file of {len(data)} bytes")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    for p in problems:
        assert any("\u4e00" <= c <= "\u9fff" for c in p.message_zh), (fmt, p)


def test_thousands_of_damaged_files_through_every_reader():
    # The shared samples when present (../shared/qbank_samples), and files written here in any case.
    import os

    shared = os.environ.get("DINGKAO_SHARED_DIR") or str(Path(__file__).resolve().parents[3] / ".." / "shared")
    found = Path(shared).resolve() / "qbank_samples"
    seeds = _seeds(found if found.is_dir() else None)
    rng = random.Random(20261130)
    old = signal.signal(signal.SIGPROF, _alarm)
    count = 0
    try:
        for round_ in range(16):
            for name, data in seeds:
                other = rng.choice(seeds)[1]
                mutant = _mutate(rng, data, other)
                # the format a detector would pick, plus one reader chosen at random
                try:
                    fmts = {detect_format(mutant, filename=name)}
                except ImportFormatError:
                    fmts = set()
                fmts.add(READERS[(round_ + count) % len(READERS)])
                for fmt in fmts:
                    # Memory is traced on every 10th file (tracing slows reading tenfold).
                    traced = count % 10 == 0
                    if traced:
                        tracemalloc.start()
                    _check(fmt, mutant)
                    if traced:
                        peak = tracemalloc.get_traced_memory()[1]
                        tracemalloc.stop()
                        assert peak < PEAK_BYTES + 40 * len(mutant), (fmt, name, peak)
                    count += 1
                r = read_file(mutant, filename=name)  # the public entry point never raises either
                assert r.questions or r.problems
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGPROF, old)
    # The work is bounded by count (16 rounds over every seed), never by a time budget.
    assert count >= (2000 if found.is_dir() else 300), count


_TOKENS = {
    "gift": ["::", "{", "}", "=", "~", "%50%", "%-100%", "#", "####", "\\", "->", "$CATEGORY:", "[html]", "//", "\n\n",
             "T", "FALSE", "<img src=\"@@PLUGINFILE@@/a.png\">", "<math><mfrac>", "甲", " "],
    "aiken": ["A) ", "B. ", "Ａ、", "ANSWER: ", "ANSWER:", "A", "Z", "\n", "\n\n", "题干", " ", "：", "\r"],
    "text": ["1.", "A.", "B。", "[", "]", "[AB]", "[对]", "[3分]", "[解析]", "___", "\n", "\n\n", "题", "√"],
    "csv": ["题型", "题干", "选项A", "答案", "共用题干组号", "共用题干", "共用选项", "B1", "A3", "判断", "X", ",", "\t",
            "\n", "\"", "G1", "A", "对", "1e400", "nan", "-1"],
    "moodle_xml": ["<quiz>", "</quiz>", "<question type=\"multichoice\">", "</question>", "<answer fraction=\"100\">",
                   "<answer fraction=\"33\">", "</answer>", "<text>", "</text>", "<![CDATA[", "]]>", "<single>false</single>",
                   "<math>", "<mfrac>", "<mn>1</mn>", "</mfrac>", "</math>", "&amp;", "&e;", "<file name=\"a.png\" encoding=\"base64\">"],
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(_TOKENS)), data=st.data())
def test_token_soup_never_escapes_a_reader(fmt, data):
    parts = data.draw(st.lists(st.sampled_from(_TOKENS[fmt]) | st.text(max_size=8), max_size=60))
    raw = "".join(parts)
    enc = data.draw(st.sampled_from(["utf-8", "gb18030", "utf-16"]))
    try:
        blob = raw.encode(enc)
    except UnicodeEncodeError:
        blob = raw.encode("utf-8", "surrogatepass")
    _check(fmt, blob)
