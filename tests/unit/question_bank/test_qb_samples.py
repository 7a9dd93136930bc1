"""Every real sample file in ../shared/qbank_samples: imported where supported, refused clearly
otherwise, never misread. GIFT results are compared with the GIFT-grammar-PEG.js twins."""

from __future__ import annotations

import json

import pytest

from question_bank import QuestionType, read_file
from question_bank.normalise import clean_text, html_to_text

GIFT_PEG = "gift/GIFT-grammar-PEG.js"


def _types(result):
    return [q.type.value for q in result.questions]


def _ws(s: str) -> str:
    return " ".join(s.split())


def _twin_text(t: dict) -> str:
    """The peer's text, normalised the way we normalise ours (HTML to text, whitespace: the
    peer joins plain-text lines with a space where we keep the line break)."""
    text = t["text"]
    return _ws(html_to_text(text)[0] if t["format"] == "html" else clean_text(text))


def test_every_sample_is_read_without_crashing(samples):
    files = [p for p in samples.rglob("*") if p.is_file() and p.suffix != ".json" and p.name != "README.md"]
    assert len(files) > 60
    for p in files:
        r = read_file(p)
        assert r.questions or r.problems, p
        for prob in r.problems:
            assert prob.message_zh and any("\u4e00" <= c <= "\u9fff" for c in prob.message_zh), (p, prob)


def test_gift_twins_mc_and_tf(samples):
    twins = sorted((samples / GIFT_PEG).glob("*.json"))
    assert len(twins) > 40
    compared = 0
    for twin in twins:
        expected = json.loads(twin.read_text(encoding="utf-8"))
        r = read_file(twin.with_suffix(".gift"))
        wanted = [e for e in expected if e["type"] in ("MC", "TF")]
        refused = [e for e in expected if e["type"] not in ("MC", "TF", "Category")]
        assert len(r.questions) == len(wanted), (twin.name, _types(r), [e["type"] for e in expected])
        assert len(r.problems) == (len(refused) or (0 if wanted else 1)), (twin.name, r.problems)
        for q, e in zip(r.questions, wanted):
            assert _ws(q.stem) == _twin_text(e["stem"]), twin.name
            if e["type"] == "TF":
                assert q.type is QuestionType.TF and q.key == ("T" if e["isTrue"] else "F",)
            else:
                texts = [_twin_text(c["text"]) for c in e["choices"]]
                assert [_ws(o.text) for o in q.options] == texts, twin.name
                correct = sorted(o.label for o, c in zip(q.options, e["choices"])
                                 if c["isCorrect"] or (c["weight"] or 0) > 0)
                assert list(q.key) == correct, twin.name
                assert q.type is (QuestionType.X if len(correct) > 1 else QuestionType.A1)
            compared += 1
    assert compared >= 30


def test_gift_refusals_name_line_and_kind(samples):
    r = read_file(samples / "gift/moodle/questions.gift.txt")
    assert _types(r) == ["A1", "X", "TF", "TF"]
    msgs = [p.message_zh for p in r.problems]
    assert msgs[0].startswith("第 2 行：") and "问答题" in msgs[0]
    assert any("匹配题" in m for m in msgs) and any("数值题" in m for m in msgs) and any("简答题" in m for m in msgs)
    assert any(m.startswith("第 41 行") and "判断题" in m for m in msgs)  # trailing junk after }
    x = r.questions[1]
    assert [o.text for o in x.options] == ["yellow", "red", "off-beige", "blue"] and x.key == ("A", "C")
    r = read_file(samples / "gift/GIFT-grammar-PEG.js/categorySpecialCharacter.gift")
    assert r.questions == [] and r.problems[0].message_zh == "文件中没有任何试题"
    r = read_file(samples / "gift/GIFT-grammar-PEG.js/description1.gift")
    assert "说明文字" in r.problems[0].message_zh and r.questions[0].stem == "True or false?"


def test_gift_qas_editor(samples):
    d = samples / "gift/QAS-Editor"
    assert _types(read_file(d / "multichoice.gift")) == ["X", "A1", "A1", "X"]
    tf = read_file(d / "true_false.gift")
    # Two of them show a picture stored in the Moodle course (@@PLUGINFILE@@), which GIFT cannot carry.
    assert _types(tf) == ["TF"] * 2
    assert [p.line_or_row for p in tf.problems] == [10, 12]
    assert all("@@PLUGINFILE@@" in p.message_zh and "moodlewhich.jpg" in p.message_zh for p in tf.problems)
    assert read_file(d / "missing_words.gift").questions[0].stem == "Moodle costs _____ to download from moodle.org."
    for name, word in [("essay.gift", "问答题"), ("matching.gift", "匹配题"), ("numericals.gift", "数值题"),
                       ("shorts.gift", "简答题")]:
        r = read_file(d / name)
        assert r.questions == [] and r.problems and all(word in p.message_zh for p in r.problems), name


def test_aiken_sample(samples):
    r = read_file(samples / "aiken/moodle/questions.aiken.txt")
    assert r.format == "aiken" and r.ok
    q1, q2 = r.questions
    assert q1.key == ("B",) and q1.options[1].text == "Martin Dougiamas"
    assert q2.stem.endswith('<html class="cool"> & images:') and q2.key == ("A",)


def test_moodle_xml_samples(samples):
    d = samples / "moodlexml"
    r = read_file(d / "moodle/nested_categories_with_questions.xml")
    assert [q.category for q in r.questions] == ["Iota", "Iota/Kappa", "Iota/Kappa/Lambda", "Iota/Mu"]
    assert all(q.type is QuestionType.TF and q.key == ("T",) for q in r.questions)
    assert len(r.problems) == 1 and "Kappa Essay Question" in r.problems[0].message_zh and "essay" in r.problems[0].message_zh
    r = read_file(d / "moodle/sample_questions_with_old_image_tag.xml")
    (mc,) = r.questions
    assert mc.key == ("C",) and [o.text for o in mc.options] == ["wrong answer", "another wrong answer", "right answer"]
    assert mc.images[0].mime == "image/png" and mc.images[0].data.startswith(b"\x89PNG")
    assert "cloze" in r.problems[0].message_zh
    r = read_file(d / "moodle/html_chars_in_idnumbers.xml")
    assert r.ok and r.questions[0].category == "Alpha"
    tf = read_file(d / "QAS-Editor/truefalse.xml")
    assert tf.ok and tf.questions[0].key == ("F",)  # fraction="100" is on "false" in the file
    img = tf.questions[0].images[0]
    assert img.name == "moodlewhich.jpg" and img.mime == "image/jpeg" and img.data[:2] == b"\xff\xd8"
    for p in (d / "QAS-Editor").glob("*.xml"):
        if p.name == "truefalse.xml":
            continue
        r = read_file(p)
        assert r.questions == [] and len(r.problems) == 1 and "不支持" in r.problems[0].message_zh, p.name


def test_qti_samples(samples):
    d = samples / "qti21/qti-sdk"
    r = read_file(d / "items__2_1__choice.xml")
    (q,) = r.questions
    assert q.type is QuestionType.A1 and q.key == ("A",) and q.stem.endswith("What does it say?")
    assert q.images[0].ref == "images/sign.png"
    r = read_file(d / "items__2_1__choice_multiple.xml")
    assert r.questions[0].type is QuestionType.X and r.questions[0].key == ("A", "D")
    assert [o.text for o in r.questions[0].options][:2] == ["Hydrogen", "Helium"]
    assert read_file(d / "items__2_1__choice_fixed.xml").ok
    r = read_file(d / "items__2_1__choice_multiple_chocolade.xml")
    assert r.questions == [] and "答案不唯一" in r.problems[0].message_zh
    r = read_file(d / "tests__interaction_mix_sachsen__Choicemultiple_2014410822.xml")
    assert r.questions[0].key == ("B", "D")
    r = read_file(d / "tests__interaction_mix_sachsen__Choicesingle_853928446.xml")
    assert r.questions == [] and "只有图片" in r.problems[0].message_zh
    r = read_file(d / "tests__interaction_mix_sachsen__Choicetruefalse_176040516.xml")
    assert r.questions[0].key == ("A",) and r.questions[0].options[0].text == "Richtig"


def test_qti22_package_refused_whole(samples):
    r = read_file(samples / "qti21/QAS-Editor/qti2v2_package.zip")
    assert r.questions == [] and len(r.problems) == 1 and "QTI 2.2" in r.problems[0].message_zh


def test_chinese_samples(samples):
    # One row per option (云帆's template): title row, header, instruction row, then the question.
    r = read_file(samples / "cn_excel_csv/yf-exam-lite/试题导入模板_reconstructed.csv")
    assert r.problems == [] and _types(r) == ["X"]
    q = r.questions[0]
    assert [o.text for o in q.options] == ["数字：2", "数字：3", "数字：6"] and q.key == ("A", "C")
    assert q.stem == "找出以下可以被2整除的数（多选）" and q.explanation == "最基本的数学题，不做过多解析"
    r = read_file(samples / "cn_excel_csv/xmky-exam/txtEg_text_import_example.txt")
    assert r.format == "text"
    assert _types(r) == ["A1", "X", "TF", "TF"]
    assert r.questions[1].key == ("A", "B") and r.questions[1].points == 3
    assert [o.text for o in r.questions[0].options] == ["单选题的A选项", "单选题的B选项", "单选题的C选项", "单选题的D选项"]
    assert [p.line_or_row for p in r.problems] == [20, 23, 40, 43]
    assert "填空题不支持" in r.problems[0].message_zh and "问答题" in r.problems[2].message_zh
