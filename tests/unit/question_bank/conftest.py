"""Fixtures for question_bank unit tests (the shared sample files are read in place)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from question_bank import Group, Option, Question, QuestionType, TF_OPTIONS


def shared_dir() -> Path:
    env = os.environ.get("DINGKAO_SHARED_DIR")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parents[3] / ".." / "shared").resolve()


@pytest.fixture(scope="session")
def samples() -> Path:
    d = shared_dir() / "qbank_samples"
    if not d.is_dir():
        pytest.skip(f"sample question files not found at {d} (set DINGKAO_SHARED_DIR)")
    return d


def opts(*texts: str) -> tuple[Option, ...]:
    return tuple(Option("ABCDEFGH"[i], t) for i, t in enumerate(texts))


@pytest.fixture
def mixed_questions() -> list[Question]:
    a3 = Group("G1", QuestionType.A3, "女，30岁。发热、咳嗽3天，右下肺湿啰音。")
    b1 = Group("G2", QuestionType.B1, "", opts("青霉素", "红霉素", "甲硝唑", "异烟肼", "氟康唑"))
    return [
        Question(QuestionType.A1, "医师定期考核的周期是", opts("一年", "两年", "三年", "四年", "五年"), ("C",), 2,
                 "医学人文/法律法规", 2, "医师法第四十二条"),
        Question(QuestionType.A2, "男，60岁。胸痛2小时，心电图ST段抬高。最可能的诊断是",
                 opts("急性心肌梗死", "胃炎", "气胸", "肋软骨炎", "带状疱疹"), ("A",), 1, "临床/内科"),
        Question(QuestionType.X, "医师定期考核的内容包括", opts("业务水平", "工作成绩", "职业道德", "论文数量"),
                 ("A", "B", "C"), 2, "医学人文/法律法规", 3, "解析：三项"),
        Question(QuestionType.TF, "甲类传染病包括鼠疫和霍乱。", TF_OPTIONS, ("T",), 1, "医学人文/法律法规"),
        Question(QuestionType.TF, "艾滋病属于丙类传染病。", TF_OPTIONS, ("F",), 1, "医学人文/法律法规"),
        Question(QuestionType.A3, "最可能的病原体是", opts("肺炎链球菌", "结核分枝杆菌", "白色念珠菌", "大肠埃希菌"),
                 ("A",), 2, "临床/内科", group=a3),
        Question(QuestionType.A3, "首选的检查是", opts("胸部X线", "头颅CT", "胃镜", "肌电图"), ("A",), 2, "临床/内科", group=a3),
        Question(QuestionType.B1, "治疗肺结核", (), ("D",), 1, "临床/内科", group=b1),
        Question(QuestionType.B1, "治疗阴道毛滴虫病", (), ("C",), 1, "临床/内科", group=b1),
    ]
