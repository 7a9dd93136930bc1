"""Demo banks load, validate, fill their blueprints and survive every export format."""

from __future__ import annotations

from collections import Counter

from question_bank import Pool, check_pool, draw_paper, read_file, write_questions
from question_bank.demo import demo_banks, demo_blueprints
from question_bank.validate import question_problems


def test_demo_banks_are_big_valid_distinct_and_mixed():
    banks = demo_banks()
    assert set(banks) == {"医学人文", "临床", "口腔"}
    for name, qs in banks.items():
        assert len(qs) >= 150, name
        assert len({q.fingerprint for q in qs}) == len(qs), name
        assert all(not question_problems(q) for q in qs), name
        types = Counter(q.type.value for q in qs)
        assert {"A1", "X", "TF", "A3", "B1"} <= set(types), (name, types)
    assert {q.category for q in banks["医学人文"]} == {"医学人文/法律法规", "医学人文/医学伦理", "医学人文/医患沟通"}


def test_demo_blueprints_fill_and_draw_distinct_papers():
    banks, bps = demo_banks(), demo_blueprints()
    for name, bp in bps.items():
        bp.validate()
        pool = Pool(banks[name])
        assert check_pool(bp, pool) == [], name
        a = draw_paper(pool, bp, seed=1)
        b = draw_paper(pool, bp, seed=2, seen=a.question_refs())
        assert len(a.items) == bp.question_count and a.question_refs() != b.question_refs()
    assert bps["医学人文"].total_points == 100 and bps["医学人文"].attempts_allowed == 3


def test_demo_bank_xlsx_round_trip():
    qs = demo_banks()["口腔"]
    back = read_file(write_questions(qs, format="xlsx"))
    assert back.ok and [q.fingerprint for q in back.questions] == [q.fingerprint for q in qs]
