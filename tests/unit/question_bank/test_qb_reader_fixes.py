"""Files from other systems that were misread, each written here by hand: the fixed behaviour."""

from __future__ import annotations

import io
import zipfile

import pytest

from question_bank import (
    Image,
    Option,
    Question,
    QuestionType,
    images_lost_on_export,
    read_file,
    write_questions,
)

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _item(body: str, *, decl: str = "", processing: str = "", ident: str = "q1") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="{QTI}" xmlns:m="http://www.w3.org/1998/Math/MathML" identifier="{ident}" title="{ident}"
    adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="{'multiple' if 'multiple' in decl else 'single'}" baseType="identifier">{decl.replace('multiple', '')}</responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody>{body}</itemBody>
  {processing}
</assessmentItem>""".encode()


CHOICES = """<choiceInteraction responseIdentifier="RESPONSE" shuffle="false" maxChoices="{n}">
  <prompt>以下哪项正确</prompt>
  <simpleChoice identifier="c1">甲</simpleChoice><simpleChoice identifier="c2">乙</simpleChoice>
  <simpleChoice identifier="c3">丙</simpleChoice></choiceInteraction>"""


def _scored(cond: str) -> str:
    return f"""<responseProcessing><responseCondition>
  <responseIf>{cond}<setOutcomeValue identifier="SCORE"><baseValue baseType="float">1</baseValue></setOutcomeValue></responseIf>
  <responseElse><setOutcomeValue identifier="SCORE"><baseValue baseType="float">0</baseValue></setOutcomeValue></responseElse>
</responseCondition></responseProcessing>"""


def test_qti21_package_whose_metadata_mentions_qtiv1_is_read_as_21():
    manifest = f"""<?xml version="1.0"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="m">
  <metadata><schema>QTIv1 converted to QTIv2.1 by our exporter</schema><schemaversion>1.0</schemaversion></metadata>
  <organizations/>
  <resources><resource identifier="r1" type="imsqti_item_xmlv2p1" href="q1.xml"><file href="q1.xml"/></resource></resources>
</manifest>""".encode()
    item = _item(CHOICES.format(n=1), decl="<correctResponse><value>c2</value></correctResponse>")
    r = read_file(_zip({"imsmanifest.xml": manifest, "q1.xml": item}), filename="pkg.zip")
    assert r.ok, r.problems
    assert r.questions[0].key == ("B",)


def test_qti_version_is_taken_from_resource_types():
    manifest = b"""<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="m"><resources>
      <resource identifier="r1" type="imsqti_xmlv1p2" href="a.xml"/></resources></manifest>"""
    r = read_file(_zip({"imsmanifest.xml": manifest, "a.xml": b"<questestinterop/>"}))
    assert not r.questions and "QTI 1.x" in r.problems[0].message_zh


@pytest.mark.parametrize("cond,maxc,key", [
    ('<match><variable identifier="RESPONSE"/><baseValue baseType="identifier">c3</baseValue></match>', 1, ("C",)),
    ('<member><baseValue baseType="identifier">c1</baseValue><variable identifier="RESPONSE"/></member>', 1, ("A",)),
    ('<match><variable identifier="RESPONSE"/><multiple><baseValue baseType="identifier">c1</baseValue>'
     '<baseValue baseType="identifier">c3</baseValue></multiple></match>', 0, ("A", "C")),
])
def test_qti_key_only_in_response_processing(cond, maxc, key):
    item = _item(CHOICES.format(n=maxc), decl="multiple" if maxc == 0 else "", processing=_scored(cond))
    r = read_file(item, filename="q.xml")
    assert r.ok, r.problems
    assert r.questions[0].key == key


def test_qti_processing_that_gives_no_points_is_not_a_key():
    cond = '<match><variable identifier="RESPONSE"/><baseValue baseType="identifier">c3</baseValue></match>'
    proc = _scored(cond).replace('baseType="float">1<', 'baseType="float">0<')
    r = read_file(_item(CHOICES.format(n=1), processing=proc), filename="q.xml")
    assert not r.questions and "没有标准答案" in r.problems[0].message_zh


def _moodle(answers: str, text: str = "题干", single: str = "true") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <name><text>题一</text></name>
    <questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>
    <single>{single}</single>
{answers}
  </question>
</quiz>""".encode()


def test_moodle_fraction_outside_the_grade_list_is_refused_by_line():
    answers = """    <answer fraction="33" format="html"><text>甲</text></answer>
    <answer fraction="33" format="html"><text>乙</text></answer>
    <answer fraction="34" format="html"><text>丙</text></answer>
    <answer fraction="-100" format="html"><text>丁</text></answer>"""
    r = read_file(_moodle(answers, single="false"), filename="q.xml")
    assert not r.questions
    assert {p.line_or_row for p in r.problems} == {3}
    assert any('fraction="33"' in p.message_zh and "Moodle 允许" in p.message_zh for p in r.problems)
    ok = answers.replace('"33"', '"33.33333"').replace('"34"', '"33.3333"')
    r = read_file(_moodle(ok, single="false"), filename="q.xml")
    assert r.ok and r.questions[0].key == ("A", "B", "C")


MATH = '<math xmlns="http://www.w3.org/1998/Math/MathML"><mfrac><mn>1</mn><mn>6</mn></mfrac></math>'


def test_mathml_becomes_readable_text_in_moodle_stem_and_option():
    answers = f"""    <answer fraction="100" format="html"><text><![CDATA[{MATH}]]></text></answer>
    <answer fraction="0" format="html"><text><![CDATA[<math><msup><mn>6</mn><mn>2</mn></msup></math>]]></text></answer>"""
    r = read_file(_moodle(answers, text=f"<p>掷一枚骰子得到 6 点的概率是</p><p>{MATH}？</p>"), filename="q.xml")
    assert r.ok, r.problems
    q = r.questions[0]
    assert q.stem == "掷一枚骰子得到 6 点的概率是\n1/6？"
    assert [o.text for o in q.options] == ["1/6", "6^2"]


def test_mathml_that_cannot_be_one_line_is_refused_by_line():
    table = "<math><mtable><mtr><mtd><mn>1</mn></mtd><mtd><mn>0</mn></mtd></mtr></mtable></math>"
    answers = """    <answer fraction="100" format="html"><text>甲</text></answer>
    <answer fraction="0" format="html"><text>乙</text></answer>"""
    r = read_file(_moodle(answers, text=f"矩阵 {table} 的秩是"), filename="q.xml")
    assert not r.questions and r.problems[0].line_or_row == 3 and "矩阵" in r.problems[0].message_zh


def test_mathml_in_qti_item():
    body = (f'<p>概率是 <m:math><m:mfrac><m:mrow><m:mi>n</m:mi><m:mo>+</m:mo><m:mn>1</m:mn></m:mrow>'
            f'<m:mn>6</m:mn></m:mfrac></m:math></p>' + CHOICES.format(n=1))
    r = read_file(_item(body, decl="<correctResponse><value>c1</value></correctResponse>"), filename="q.xml")
    assert r.ok and r.questions[0].stem.startswith("概率是 (n+1)/6")


@pytest.mark.parametrize("answer", ["A", "B", "ａ"])
def test_true_false_row_with_a_or_b_is_refused_with_row_and_allowed_values(answer):
    csv = f"题型,题干,答案\n判断,医师定期考核每三年一次。,对\n判断,甲类传染病只有鼠疫。,{answer}\n".encode()
    r = read_file(csv, filename="t.csv")
    assert [p.line_or_row for p in r.problems] == [3]
    msg = r.problems[0].message_zh
    assert msg.startswith("第 3 行") and f'"{answer}"' in msg and "对 或 错" in msg and "√/×" in msg


def test_true_false_row_with_a_in_xlsx_is_refused_too():
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["题型", "题干", "答案"])
    ws.append(["判断", "艾滋病属于乙类传染病。", "A"])
    buf = io.BytesIO()
    wb.save(buf)
    r = read_file(buf.getvalue(), filename="t.xlsx")
    assert not r.questions and r.problems[0].line_or_row == 2 and "对 或 错" in r.problems[0].message_zh


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20


def _pictured(data: bytes | None = PNG, ref: str | None = None) -> Question:
    return Question(QuestionType.A1, "图中所示的体征是", (Option("A", "杵状指"), Option("B", "匙状甲")), ("A",),
                    images=(Image("image/png", data=data, ref=ref, name="a.png"),))


def test_fingerprint_covers_images():
    bare = Question(QuestionType.A1, "图中所示的体征是", (Option("A", "杵状指"), Option("B", "匙状甲")), ("A",))
    assert _pictured().fingerprint != bare.fingerprint
    assert _pictured().fingerprint != _pictured(PNG + b"x").fingerprint
    assert _pictured().fingerprint == _pictured().fingerprint
    assert _pictured(None, "https://example.org/a.png").fingerprint not in (bare.fingerprint, _pictured().fingerprint)


def test_export_that_drops_images_is_named_and_reimport_is_not_a_duplicate():
    qs = [_pictured().with_id("7")]
    assert images_lost_on_export(qs, format="gift") == qs
    assert images_lost_on_export(qs, format="moodle_xml") == []
    assert images_lost_on_export([_pictured(None, "https://example.org/a.png")], format="moodle_xml")
    back = read_file(write_questions(qs, format="gift"), format="gift").questions[0]
    assert back.images == () and back.fingerprint != qs[0].fingerprint
    again = read_file(write_questions(qs, format="moodle_xml"), format="moodle_xml").questions[0]
    assert again.fingerprint == qs[0].fingerprint


def test_gift_pluginfile_reference_is_refused_by_line():
    gift = ('// 图片题\n\n::Q1::[html]下图是 <img src\\="@@PLUGINFILE@@/ecg.png"> 哪种心律？{=房颤 ~窦性心律}\n\n'
            '::Q2::普通题{=甲 ~乙}\n').encode()
    r = read_file(gift, filename="a.gift")
    assert len(r.questions) == 1 and r.problems[0].line_or_row == 3 and "ecg.png" in r.problems[0].message_zh


def test_moodle_pluginfile_without_its_file_is_refused():
    answers = """    <answer fraction="100" format="html"><text>甲</text></answer>
    <answer fraction="0" format="html"><text>乙</text></answer>"""
    r = read_file(_moodle(answers, text='看图 <img src="@@PLUGINFILE@@/x.png">'), filename="q.xml")
    assert not r.questions and "x.png" in r.problems[0].message_zh and r.problems[0].line_or_row == 3


def test_aiken_errors_at_their_lines_all_of_them():
    text = ("\n\n医师法施行日期\nA) 2021\nB) 2022\nANSWER: E\n\n"
            "第二题\nA) 甲\nC) 乙\nANSWER: A\n\n"
            "第三题\nA) 甲\nB) 乙\n第四题\nA) 甲\nB) 乙\nANSWER: B\n\n"
            "第五题\nA) 甲\nB) 乙\nANSWER: AB\n").encode()
    r = read_file(text, format="aiken")
    assert [p.line_or_row for p in r.problems] == [6, 10, 16, 24]
    assert r.problems[0].message_zh.startswith("第 6 行：答案 E 不在本题的选项中")
    assert [q.stem for q in r.questions] == ["第四题"]


@pytest.mark.parametrize("data,name,words", [
    (b'<?xml version="1.0" encoding="x-klingon"?><quiz/>', "a.xml", ["编码", "x-klingon"]),
    (b"<quiz>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</quiz>", "a.xml", ["嵌套"]),
    (b"<quiz><!-- " + b"x" * 6000 + b' --></quiz><!DOCTYPE quiz [<!ENTITY e "x">]>', "a.xml", ["第 1 行"]),
    (b'<!-- ' + b"x" * 6000 + b' --><!DOCTYPE quiz [<!ENTITY e "x">]><quiz>&e;</quiz>', "a.xml", ["DOCTYPE"]),
    (b"<quiz><question type='truefalse'></quiz>", "a.xml", ["第 1 行", "不匹配"]),
])
def test_hostile_or_broken_xml_gets_a_chinese_message(data, name, words):
    r = read_file(data, filename=name)
    assert not r.questions and r.problems
    msg = r.problems[0].message_zh
    assert all(w in msg for w in words), msg
    assert "mismatched" not in msg and "Error" not in msg


def _xlsx() -> bytes:
    return write_questions([Question(QuestionType.A1, f"题 {i}", (Option("A", "甲"), Option("B", "乙")), ("A",))
                            for i in range(50)], format="xlsx")


def test_damaged_xlsx_and_zip_get_a_message_not_a_traceback():
    good = _xlsx()
    z = zipfile.ZipFile(io.BytesIO(good))
    info = z.getinfo("xl/worksheets/sheet1.xml")
    # flip a byte inside the compressed worksheet (bad CRC or broken deflate stream)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    flipped = bytearray(good)
    flipped[start + info.compress_size // 2] ^= 0xFF
    r = read_file(bytes(flipped), filename="a.xlsx")
    assert not r.questions and "损坏" in r.problems[0].message_zh
    # a truncated archive, and a central directory pointing before the file start
    for bad in (good[: len(good) // 2], good.replace(b"PK\x01\x02", b"PK\x01\x03", 1)):
        r = read_file(bad, filename="a.xlsx")
        assert not r.questions and r.problems and r.problems[0].whole_file
    qti = _zip({"imsmanifest.xml": b"<manifest/>"})
    r = read_file(qti[:-30], filename="a.zip")
    assert r.problems and "zip" in r.problems[0].message_zh


def test_xlsx_with_an_entity_after_a_long_comment_is_refused():
    """The hand-written sniffing looked at the first 4 KB only; defusedxml reads the whole part."""
    import openpyxl

    assert openpyxl.DEFUSEDXML  # openpyxl parses every part through defusedxml
    src = zipfile.ZipFile(io.BytesIO(_xlsx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, rest = data.partition(b"?>")
                data = (head + b"?><!-- " + b"x" * 6000 + b' --><!DOCTYPE worksheet [<!ENTITY e "boom">]>' + rest)
                data = data.replace(b"<t>", b"<t>&e;", 1) if b"<t>" in data else data
            out.writestr(info, data)
    r = read_file(buf.getvalue(), filename="a.xlsx")
    assert not r.questions and r.problems and ("实体" in r.problems[0].message_zh or "DTD" in r.problems[0].message_zh)
