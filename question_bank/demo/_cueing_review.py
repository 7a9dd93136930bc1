"""Pairs of the demo banks that give each other away, beyond each fact's own four questions.

Found by reading (docs/question-formats.md, "The cueing check"): ``CUEING`` holds pairs where the first question
(a 判断 statement or an A1 stem) says, rightly or wrongly, that the second question's answer is,
or includes, one of its options; they are enemies in the demo banks. ``NOT_CUEING`` holds pairs
the cueing check lists that reading found harmless (another subject in the same words); they
stay out of the enemies so the check's precision can be measured, and the demo test allows them
in a paper. Codes: see :mod:`question_bank.demo`.
"""


def _all(tellers: str, told: str, why: str) -> list[tuple[str, str, str]]:
    return [(t, told, why) for t in tellers.split()]


CUEING: dict[str, list[tuple[str, str, str]]] = {
    "医学人文": [
        *_all("RW-030-T RW-030-F1 RW-030-F2", "RW-B1-3", "the retention period of narcotic prescriptions, with an option"),
        *_all("RW-031-T RW-031-F2", "RW-B1-1", "the retention period of ordinary prescriptions, with an option"),
        *_all("RW-032-T RW-032-F2", "RW-B1-4", "the retention period of inpatient records, with an option"),
        ("RW-009-T", "RW-A3-1", "signing medical certificates requires examining in person (the key)"),
        *_all("RW-013-F1", "RW-014-A", "names AIDS a class A disease (a distractor)"),
        *_all("RW-013-F1", "RW-014-T", "both state the class of AIDS"),
        *_all("RW-013-F1", "RW-014-F1", "both state the class of AIDS"),
        *_all("RW-013-F1", "RW-014-F2", "both state the class of AIDS"),
        *_all("RW-013-T RW-013-F1 RW-013-F2 RW-014-T RW-014-F1 RW-014-F2 RW-015-T RW-015-F1 RW-015-F2 "
              "RW-016-T RW-016-F1 RW-016-F2", "RW-X02", "states the class of one of the options"),
        *_all("RW-013-T RW-015-T RW-015-F1 RW-015-F2", "RW-X03", "states the class of one of the options"),
        *_all("RW-027-T RW-027-F1 RW-027-F2 RW-028-T RW-028-F1 RW-028-F2 RW-029-T RW-029-F1 RW-029-F2", "RW-X04",
              "states the paper colour of one of the options"),
        *_all("RW-039-A RW-039-T RW-039-F1 RW-039-F2", "RW-X05", "names three of the principles"),
        *_all("RW-043-T RW-043-F1 RW-043-F2 RW-044-T RW-044-F1 RW-044-F2 RW-045-T RW-045-F1 RW-045-F2", "RW-X06",
              "names one of the model's types"),
    ],
    "临床": [
        *_all("LC-001-T LC-001-F1 LC-001-F2 LC-002-T LC-002-F1", "LC-X01", "names one of the markers as a marker of infarction"),
        *_all("LC-028-A LC-028-T LC-028-F1 LC-028-F2", "LC-X02", "names features of the nephrotic syndrome"),
        *_all("LC-031-T LC-031-F1 LC-031-F2", "LC-X03", "names one of the drugs for organophosphate poisoning"),
        *_all("LC-031-T LC-031-F2", "LC-B1-1", "names a drug for organophosphate poisoning (an option)"),
        *_all("LC-035-T LC-035-F2", "LC-X04", "says which signs come on top of Charcot's triad"),
        ("LC-024-T", "LC-X06", "fasting glucose >= 7.0 mmol/L is a criterion (a key)"),
    ],
    "口腔": [
        *_all("KQ-016-T KQ-016-F1 KQ-016-F2", "KQ-B1-1", "the pathogen of thrush, with an option"),
        ("KQ-017-T", "KQ-B1-2", "the pathogen of herpetic gingivostomatitis (the key)"),
        *_all("KQ-005-T KQ-005-F2", "KQ-B1-3", "the pathogen of caries, with an option"),
        *_all("KQ-036-A KQ-036-T KQ-036-F1 KQ-036-F2", "KQ-B1-3", "its stem says S. mutans causes caries (the key)"),
        *_all("KQ-036-A KQ-036-T KQ-036-F1 KQ-036-F2", "KQ-005-A", "its stem says S. mutans causes caries (the key)"),
        *_all("KQ-006-T KQ-006-F1", "KQ-B1-4", "the pathogen of chronic periodontitis, with an option"),
        *_all("KQ-009-T KQ-009-F1", "KQ-X01", "a feature of acute pulpitis pain (an option)"),
        *_all("KQ-012-T KQ-012-F1 KQ-012-F2", "KQ-X03", "when dry socket pain starts (an option)"),
        *_all("KQ-021-T KQ-021-F1 KQ-021-F2", "KQ-X05", "what leukoplakia is (an option)"),
        *_all("KQ-031-T KQ-031-F1 KQ-031-F2", "KQ-X06", "what fissure sealing is for (an option)"),
        *_all("KQ-032-A KQ-032-T KQ-032-F1 KQ-032-F2", "KQ-X06", "its stem says fluoride prevents caries (an option)"),
        ("KQ-033-T", "KQ-A3-1", "pericoronitis at the lower third molar the case describes (the key)"),
    ],
}

NOT_CUEING: dict[str, list[tuple[str, str, str]]] = {
    "医学人文": [
        *_all("RW-018-T RW-018-F1 RW-018-F2", "RW-017-A", "reporting time for class B/C, not class A diseases"),
    ],
    "临床": [],
    "口腔": [
        *_all("KQ-002-T KQ-002-F1 KQ-002-F2", "KQ-001-A", "the number of permanent, not deciduous teeth"),
        *_all("KQ-039-T KQ-039-F1 KQ-039-F2", "KQ-038-A", "roots of the lower, not the upper first molar"),
        *_all("KQ-038-T KQ-038-F1 KQ-038-F2", "KQ-039-A", "roots of the upper, not the lower first molar"),
    ],
}
