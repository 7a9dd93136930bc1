"""Demo banks load, validate, fill their blueprints, survive every export format, and no drawn
paper gives itself away."""

from __future__ import annotations

from collections import Counter

import pytest

from question_bank import Pool, check_pool, draw_paper, read_file, write_questions
from question_bank.cueing import CueItem, find_cues
from question_bank.demo import _cueing_review, demo_banks, demo_blueprints
from question_bank.enemies import enemy_pairs_among, pairs_by_code
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
    assert [(q.code, q.enemies) for q in back.questions] == [(q.code, q.enemies) for q in qs]


def test_every_code_is_unique_and_every_enemy_names_a_question():
    for name, qs in demo_banks().items():
        codes = [q.code for q in qs]
        assert all(codes) and len(set(codes)) == len(codes), name
        assert {c for q in qs for c in q.enemies} <= set(codes), name
        for teller, told, _ in _cueing_review.CUEING[name] + _cueing_review.NOT_CUEING[name]:
            assert {teller, told} <= set(codes), (name, teller, told)


PAPERS = 30  # per bank: bounded by count, not by time


@pytest.mark.parametrize("name", ["医学人文", "临床", "口腔"])
def test_no_drawn_paper_cues_itself(name):  # type: ignore[no-untyped-def]
    """Many papers (as attempts draw them, earlier questions avoided), each run through the cueing
    check: it finds nothing but the pairs reading found harmless, and no pair labelled as cueing
    (a fact's own four questions, the reviewed pairs across facts) is ever in one paper."""
    qs, bp = demo_banks()[name], demo_blueprints()[name]
    pool = Pool(qs)
    assert pool.has_enemies and len(pool.enemies) > len(qs) // 2
    by_fp = {q.fingerprint: q.code for q in qs}
    cueing = {frozenset((by_fp[a], by_fp[b])) for a, b in pairs_by_code(qs)}
    assert {frozenset((a, b)) for a, b, _ in _cueing_review.CUEING[name]} <= cueing
    harmless = {frozenset((a, b)) for a, b, _ in _cueing_review.NOT_CUEING[name]}
    seen: list[str] = []
    for n in range(PAPERS):
        if n % bp.attempts_allowed == 0:
            seen = []  # the next physician
        paper = draw_paper(pool, bp, seed=f"{name}-{n}", seen=seen)
        seen += paper.question_refs()
        codes = [it.question.code for it in paper.items]
        assert len(codes) == bp.question_count
        assert enemy_pairs_among({pool.unit_of(it.question.fingerprint) for it in paper.items}, pool.enemies) == []
        assert not any(frozenset((a, b)) in cueing for i, a in enumerate(codes) for b in codes[i + 1:])
        # The check as the admin runs it on the bank (its word statistics), for this paper's pairs.
        inside = set(codes)
        found = find_cues((CueItem.of(it.question, it.question.code) for it in paper.items),
                          among=[CueItem.of(q, q.code) for q in qs if q.code not in inside])
        pairs = {frozenset((c.teller, c.told)) for c in found if c.teller in inside and c.told in inside}
        assert pairs <= harmless, pairs - harmless
