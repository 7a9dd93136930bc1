"""The plain data the documents are made from. The caller (exam_server) gathers it; nothing here
reads a database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Physician:
    name: str
    id_number_masked: str  # masked by the caller (registry.idcard.mask_id_number)
    practice_category: str
    practice_scope: str
    institution: str
    photo_jpeg: bytes | None = None  # the registration photo, a JPEG checked on upload


@dataclass(frozen=True, kw_only=True)
class Issuer:
    """The assessment body that issues the document."""

    name: str
    seal_png: bytes | None = None  # without a seal a certificate is marked not valid


@dataclass(frozen=True, kw_only=True)
class PaperResult:
    """One paper's outcome: a score against the pass mark, or waived by an exemption."""

    title: str
    score: float | None = None
    pass_mark: float | None = None
    full_mark: float | None = None
    waived: bool = False

    @property
    def outcome(self) -> str:
        if self.waived:
            return "免考"
        if self.score is None:
            return "未参加"
        return "合格" if self.pass_mark is not None and self.score >= self.pass_mark else "不合格"


@dataclass(frozen=True, kw_only=True)
class ResultFacts:
    """What a result notice says."""

    physician: Physician
    issuer: Issuer
    cycle: str
    procedure: str  # 一般程序 / 简易程序
    passed: bool
    work_rating: str | None = None  # 合格 / 不合格
    ethics_rating: str | None = None
    papers: tuple[PaperResult, ...] = ()
    exemptions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # why 不合格, in words
    review_note: str | None = None  # the outcome of a 复核申请, when there was one
    certificate_number: str | None = None
    issued_on: dt.date = field(default_factory=dt.date.today)

    @property
    def result_text(self) -> str:
        return "合格" if self.passed else "不合格"


@dataclass(frozen=True, kw_only=True)
class CertificateFacts:
    """What a certificate says, plus where its QR code points."""

    number: str
    physician: Physician
    issuer: Issuer
    cycle: str
    procedure: str
    issued_on: dt.date
    verify_url: str
