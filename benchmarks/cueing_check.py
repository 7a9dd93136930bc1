"""How well the cueing check finds the pairs that give each other away in the demo banks.

    .venv/bin/python benchmarks/cueing_check.py            # precision and recall, JSON on the last line
    .venv/bin/python benchmarks/cueing_check.py --review   # pairs to read: unreviewed check hits and loose candidates

The truth is labelled by reading (docs/question-formats.md, "The cueing check"): every two questions built on one
fact (its A1 question and its three statements: they state the same subject with its answer or
another option), plus the pairs across facts listed in ``question_bank.demo._cueing_review.CUEING``.
``--review`` prints, for reading, the pairs the check lists that are neither, and the pairs a
looser filter finds (a 判断/A1 stem sharing two of another stem's three rarest character pairs,
or one and one of its options), so pairs the check misses are read too.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from question_bank import Question, QuestionType  # noqa: E402
from question_bank.cueing import CueItem, _bigrams, find_cues, normalise_for_cues  # noqa: E402
from question_bank.demo import _cueing_review as review  # noqa: E402
from question_bank.demo import demo_banks  # noqa: E402

_FACT = re.compile(r"^([A-Z]+-\d{3})-(A|T|F1|F2)$")


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def truth(questions: list[Question], bank: str) -> set[tuple[str, str]]:
    """Every two questions of one fact, and the reviewed cueing pairs across facts."""
    facts: dict[str, list[str]] = {}
    for q in questions:
        m = _FACT.match(q.code)
        if m:
            facts.setdefault(m.group(1), []).append(q.code)
    out = {pair(a, b) for codes in facts.values() for i, a in enumerate(codes) for b in codes[i + 1:]}
    out.update(pair(a, b) for a, b, _ in review.CUEING.get(bank, ()))
    return out


def found(questions: list[Question]) -> set[tuple[str, str]]:
    return {pair(c.teller, c.told) for c in find_cues(CueItem.of(q, q.code) for q in questions)}


def loose(questions: list[Question]) -> set[tuple[str, str]]:
    """A filter looser than the check, for reading: a 判断/A1 stem that shares two of another
    stem's three rarest character pairs (its subject, whatever the wording), or one of them and
    one of its options."""
    stems = [normalise_for_cues(q.stem) for q in questions]
    grams = [_bigrams(s) for s in stems]
    df: dict[str, int] = {}
    for g in grams:
        for b in g:
            df[b] = df.get(b, 0) + 1
    rare = [set(sorted(g, key=lambda b: (df[b], b))[:3]) for g in grams]
    out: set[tuple[str, str]] = set()
    for t, tq in enumerate(questions):
        if tq.type not in (QuestionType.TF, QuestionType.A1):
            continue
        for d, dq in enumerate(questions):
            if d == t or not grams[d] or (tq.group_key and tq.group_key == dq.group_key):
                continue
            shared = len(rare[d] & grams[t])
            options = [normalise_for_cues(o.text) for o in dq.choices] if dq.type is not QuestionType.TF else []
            if shared >= 2 or (shared >= 1 and any(len(o) >= 2 and o in stems[t] for o in options)):
                out.add(pair(tq.code, dq.code))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--review", action="store_true", help="print the pairs still to read")
    args = parser.parse_args()
    banks = demo_banks()
    figures: dict[str, dict[str, float | int]] = {}
    tp_all = fp_all = fn_all = 0
    across_true = across_found = across_hits = 0
    started = time.perf_counter()
    for name, qs in banks.items():
        by_code = {q.code: q for q in qs}
        true = truth(qs, name)
        hits = found(qs)
        harmless = {pair(a, b) for a, b, _ in review.NOT_CUEING.get(name, ())}
        tp, fp, fn = len(hits & true), len(hits - true), len(true - hits)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        same_fact = truth(qs, "")
        across_true += len(true - same_fact)
        across_found += len((true - same_fact) & hits)
        across_hits += len(hits - same_fact)
        figures[name] = {"questions": len(qs), "labelled_pairs": len(true), "found": len(hits), "true_positives": tp,
                         "false_positives": fp, "missed": fn,
                         "precision": round(tp / len(hits), 3) if hits else 1.0,
                         "recall": round(tp / len(true), 3) if true else 1.0}
        if args.review:
            def show(p: tuple[str, str]) -> str:
                return " | ".join(f"{c} {by_code[c].type.value} {by_code[c].stem} "
                                  f"[{'/'.join(o.text for o in by_code[c].choices) if by_code[c].type is not QuestionType.TF else by_code[c].key[0]}]"
                                  for c in p)
            facts_only = truth(qs, "")
            print(f"== {name}: check hits not labelled and not reviewed harmless")
            for p in sorted(hits - true - harmless):
                print("  ", show(p))
            print(f"== {name}: labelled pairs across facts the check misses")
            for p in sorted(true - facts_only - hits):
                print("  ", show(p))
            print(f"== {name}: loose candidates across facts, not yet reviewed")
            reviewed = true | harmless
            for p in sorted(loose(qs) - facts_only - reviewed - hits):
                print("  ", show(p))
    precision = tp_all / (tp_all + fp_all) if tp_all + fp_all else 1.0
    recall = tp_all / (tp_all + fn_all) if tp_all + fn_all else 1.0
    # Pairs across facts are worded apart (an X, A3 or B1 question against a fact's statements):
    # the hard part, so they get their own figures.
    across = {"labelled": across_true, "found": across_found, "listed": across_hits,
              "precision": round(across_found / across_hits, 3) if across_hits else 1.0,
              "recall": round(across_found / across_true, 3) if across_true else 1.0}
    print(json.dumps({"banks": figures, "across_facts": across, "precision": round(precision, 3),
                      "recall": round(recall, 3), "seconds": round(time.perf_counter() - started, 2)},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
