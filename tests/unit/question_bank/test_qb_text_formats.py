"""Aiken, GIFT, Moodle XML, QTI: round trips, broken files, refusals and upload safety."""

from __future__ import annotations

import io
import zipfile

import pytest

from question_bank import ExportError, Image, UnsupportedFormatError, detect_format, read_file, write_questions
from question_bank.formats.qti21 import read_qti


def _core(qs):
    """What these formats can express: A1 and A2 are both plain single choice there."""
    return [(q.type.value.replace("A2", "A1"), q.stem, q.options, q.key, q.category, q.explanation, q.fingerprint)
            for q in qs]


@pytest.mark.parametrize("fmt", ["gift", "moodle_xml"])
def test_round_trip_single_multiple_tf(fmt, mixed_questions):
    plain = [q for q in mixed_questions if q.group is None]
    data = write_questions(plain, format=fmt)
    r = read_file(data)
    assert r.format == fmt and r.ok, r.problems
    assert _core(r.questions) == _core(plain)
    assert _core(read_file(write_questions(r.questions, format=fmt)).questions) == _core(plain)


def test_round_trip_escapes_and_newlines():
    from question_bank import Option, Question, QuestionType

    q = Question(QuestionType.A1, "a:b=c~d#e{f}g\\h\n第二行", (Option("A", "x=1"), Option("B", "{y}")), ("B",),
                 category="临床/内科", explanation="见 #3")
    assert _core(read_file(write_questions([q], format="gift")).questions) == _core([q])
    assert _core(read_file(write_questions([q], format="moodle_xml")).questions) == _core([q])


def test_moodle_xml_keeps_embedded_images_and_points():
    from question_bank import Option, Question, QuestionType

    png = b"\x89PNG\r\n\x1a\nfake"
    q = Question(QuestionType.A1, "看图", (Option("A", "甲"), Option("B", "乙")), ("A",), points=2.5,
                 images=(Image("image/png", data=png, name="x.png"),))
    (back,) = read_file(write_questions([q], format="moodle_xml")).questions
    assert back.images[0].data == png and back.points == 2.5


def test_aiken_round_trip_and_refuses_other_types(mixed_questions):
    singles = [q for q in mixed_questions if q.type.value in ("A1", "A2")]
    r = read_file(write_questions(singles, format="aiken"))
    assert r.format == "aiken" and [(q.stem, q.options, q.key) for q in r.questions] == [
        (q.stem, q.options, q.key) for q in singles]
    with pytest.raises(ExportError):
        write_questions(mixed_questions, format="aiken")
    with pytest.raises(ExportError):
        write_questions(mixed_questions, format="gift")
    from question_bank.formats.gift import write_gift

    assert write_gift(mixed_questions, skip_unsupported=True)


@pytest.mark.parametrize("text,message", [
    ("问题一\nA) 甲\nB) 乙\nANSWER: C\n", "第 4 行：答案 C 不在本题的选项中"),
    ("问题一\nA) 甲\nB) 乙\nANSWER: AB\n", "第 4 行：答案 \"AB\" 应为一个选项字母"),
    ("问题一\nA) 甲\nC) 乙\nANSWER: A\n", "第 3 行：选项字母 C 不连续"),
    ("问题一\nA) 甲\nB) 乙\n问题二\nA) 甲\nB) 乙\nANSWER: A\n", "第 4 行：第 1 行开始的题目缺少 “ANSWER:” 行"),
    ("问题一\nA) 甲\nANSWER: A\n", "第 1 行：选项不足"),
])
def test_aiken_broken(text, message):
    r = read_file(text.encode(), format="aiken")
    assert any(p.message_zh.startswith(message) for p in r.problems), r.problems


@pytest.mark.parametrize("text,message", [
    ("Q{=a =b ~%50%c}", "部分得分"),
    ("Q{~a ~b}", "没有正确答案"),
    ("::T::Q{=a ~b", "缺少结束的 }"),
    ("Q{=a ~b ~c ~d ~e ~f ~g ~h ~i}", "最多支持 8 个"),
    ("Q{=a ~a}", "选项B与选项A内容重复"),
])
def test_gift_broken(text, message):
    r = read_file(text.encode(), format="gift")
    assert not r.ok and message in r.problems[0].message_zh and r.problems[0].message_zh.startswith("第 1 行")


def test_moodle_broken_and_unsafe():
    r = read_file(b'<quiz><question type="multichoice"><name><text>n</text></name><questiontext><text>q</text>'
                  b'</questiontext><single>true</single><answer fraction="50"><text>a</text></answer>'
                  b'<answer fraction="0"><text>b</text></answer></question></quiz>')
    assert "部分得分" in r.problems[0].message_zh
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><quiz>&lol2;</quiz>'
    r = read_file(bomb, format="moodle_xml")
    assert r.questions == [] and "DOCTYPE" in r.problems[0].message_zh
    r = read_file(b"<quiz><question", format="moodle_xml")
    assert "不是格式正确的 XML" in r.problems[0].message_zh


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


MANIFEST = b"""<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>
<resource identifier="i1" type="imsqti_item_xmlv2p1" href="items/q1.xml"><file href="items/q1.xml"/></resource>
</resources></manifest>"""
ITEM = b"""<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="q1" title="t">
<responseDeclaration identifier="R" cardinality="single" baseType="identifier"><correctResponse><value>b</value></correctResponse></responseDeclaration>
<itemBody><p>Stem <img src="../img/a.png"/></p><choiceInteraction responseIdentifier="R" maxChoices="1">
<simpleChoice identifier="a">One</simpleChoice><simpleChoice identifier="b">Two</simpleChoice></choiceInteraction></itemBody>
</assessmentItem>"""


def test_qti_package_with_image():
    data = _zip({"imsmanifest.xml": MANIFEST, "items/q1.xml": ITEM, "img/a.png": b"\x89PNGdata"})
    assert detect_format(data) == "qti21"
    r = read_file(data)
    (q,) = r.questions
    assert q.key == ("B",) and q.stem == "Stem" and q.images[0].data == b"\x89PNGdata"


def test_qti_package_guards():
    with pytest.raises(UnsupportedFormatError, match="路径穿越"):
        read_qti(_zip({"imsmanifest.xml": MANIFEST, "../evil.xml": b"x"}))
    with pytest.raises(UnsupportedFormatError, match="压缩"):
        read_qti(_zip({"imsmanifest.xml": MANIFEST, "big.xml": b"\0" * (20 * 1024 * 1024)}))
    r = read_file(_zip({"imsmanifest.xml": MANIFEST}))
    assert "不存在" in r.problems[0].message_zh
    r = read_file(_zip({"imsmanifest.xml": MANIFEST, "items/q1.xml": ITEM.replace(b"choiceInteraction", b"orderInteraction")}))
    assert "orderInteraction" in r.problems[0].message_zh
    v22 = ITEM.replace(b"imsqti_v2p1", b"imsqti_v2p2")
    r = read_file(v22, format="qti21")
    assert "QTI 2.2" in r.problems[0].message_zh


def test_unknown_files_are_refused_clearly():
    for data in (b"\x00\x01binary", b"just some words", _zip({"a.txt": b"x"}), b"<html></html>"):
        r = read_file(data)
        assert r.questions == [] and "无法识别" in r.problems[0].message_zh
