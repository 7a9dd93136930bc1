"""question_bank: question model, import/export formats, paper blueprints, drawing, scoring.

A pure library: plain dataclasses in, plain data out; no web or database code. The web layer
typically does::

    result = read_file(upload_bytes, filename=name)        # never raises for a bad file
    preview = result.preview(limit=20, existing_fingerprints=stored)   # dry run
    if result.ok: store(result.new_questions(stored))       # all-or-nothing

    pool = Pool(questions)                                  # build once, reuse
    require_fillable(blueprint, pool)
    paper = draw_paper(pool, blueprint, seed=attempt_seed, seen=physician_seen_fingerprints)
    send(candidate_view(paper))                             # no keys, no explanations
    report = score_paper(paper, {1: ["B"], 2: ["A", "C"]})
"""

from .blueprint import (
    Blueprint,
    OverduePolicy,
    PaperKind,
    PracticeCategory,
    Section,
    check_pool,
    require_fillable,
)
from .candidate import candidate_view
from .drawing import DrawnGroup, DrawnItem, DrawnPaper, draw_paper, paper_from_record
from .errors import (
    BlueprintError,
    DrawError,
    ExportError,
    ImportFormatError,
    PoolShortfallError,
    Problem,
    QuestionBankError,
    ScoringError,
    Shortfall,
    UnsupportedFormatError,
)
from .formats import (
    FORMATS,
    WRITABLE_FORMATS,
    detect_format,
    images_lost_on_export,
    iter_file,
    read_file,
    read_file_strict,
    write_questions,
)
from .formats.xlsx_template import blank_template
from .model import TF_OPTIONS, Group, Image, Option, Question, QuestionType
from .pool import CountedPool, Pool
from .result import DuplicateInFile, Event, ImportPreview, ImportResult, PreviewBuilder, skipped_report
from .scoring import ItemScore, ScoreReport, score_item, score_paper
from .serialise import question_from_dict, question_to_dict

__all__ = [
    # model
    "Question", "QuestionType", "Option", "Image", "Group", "TF_OPTIONS",
    # import / export
    "FORMATS", "WRITABLE_FORMATS", "detect_format", "read_file", "read_file_strict", "write_questions",
    "images_lost_on_export", "iter_file", "Event",
    "blank_template", "ImportResult", "ImportPreview", "DuplicateInFile", "PreviewBuilder", "skipped_report",
    "question_to_dict", "question_from_dict",
    # papers
    "Blueprint", "Section", "PaperKind", "PracticeCategory", "OverduePolicy", "check_pool", "require_fillable",
    "Pool", "CountedPool", "draw_paper", "paper_from_record", "DrawnPaper", "DrawnItem", "DrawnGroup",
    "score_paper", "score_item", "ScoreReport", "ItemScore", "candidate_view",
    # errors
    "QuestionBankError", "ImportFormatError", "UnsupportedFormatError", "Problem", "BlueprintError",
    "PoolShortfallError", "Shortfall", "DrawError", "ScoringError", "ExportError",
]
