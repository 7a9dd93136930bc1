"""Reports: result notices and certificates (PDF), certificate verification codes, statistics,
SVG charts and XLSX exports. A pure library: plain data in, bytes or rows out.

- documents: :func:`render_certificate`, :func:`render_certificates`, :func:`render_result_notice`,
  :func:`render_result_notices` from :class:`CertificateFacts` / :class:`ResultFacts`;
- verification: :func:`new_certificate_number`, :func:`sign`, :func:`judge`, :func:`verification_url`;
- statistics: :func:`counts_by_state`, :func:`pass_rates`, :func:`score_distribution`,
  :func:`cycle_progress`, :func:`question_statistics`;
- charts: :func:`bar_chart`, :func:`histogram`, :func:`line_chart` (SVG text);
- exports: :func:`write_xlsx` with :class:`Column` sets.
"""

from reports.charts import bar_chart, histogram, line_chart
from reports.errors import ImageError, ReportError, TokenError, UnprintableText
from reports.exports import ATTEMPT_COLUMNS, QUESTION_COLUMNS, RESULT_COLUMNS, REVIEW_COLUMNS, Column, XlsxWriter, write_xlsx
from reports.facts import CertificateFacts, Issuer, PaperResult, Physician, ResultFacts
from reports.fonts import DocumentFonts, missing_characters
from reports.pdf import (
    NO_SEAL_TEXT,
    render_certificate,
    render_certificates,
    render_result_notice,
    render_result_notices,
)
from reports.statistics import (
    AnswerRow,
    PaperScoreRow,
    QuestionStat,
    Rate,
    ResultRow,
    counts_by_state,
    cycle_progress,
    paper_pass_rates,
    pass_rates,
    question_statistics,
    score_distribution,
)
from reports.verification import (
    REVOCATION_CATEGORIES,
    SIGNED_FIELDS,
    Status,
    Verdict,
    derive_key,
    judge,
    mask_name,
    new_certificate_number,
    normalise_number,
    parse_verification_input,
    sign,
    signature_ok,
    verification_url,
)

__all__ = [
    "ATTEMPT_COLUMNS", "NO_SEAL_TEXT", "QUESTION_COLUMNS", "RESULT_COLUMNS", "REVIEW_COLUMNS", "SIGNED_FIELDS",
    "REVOCATION_CATEGORIES",
    "AnswerRow", "CertificateFacts", "Column", "DocumentFonts", "ImageError", "Issuer", "PaperResult",
    "PaperScoreRow", "Physician", "QuestionStat", "Rate", "ReportError", "ResultFacts", "ResultRow", "Status",
    "TokenError", "UnprintableText", "Verdict", "bar_chart", "counts_by_state", "cycle_progress", "derive_key",
    "histogram", "judge", "line_chart", "mask_name", "missing_characters", "new_certificate_number",
    "normalise_number", "paper_pass_rates", "parse_verification_input", "pass_rates", "question_statistics",
    "render_certificate", "render_certificates", "render_result_notice", "render_result_notices",
    "score_distribution", "sign", "signature_ok", "verification_url", "write_xlsx", "XlsxWriter",
]
