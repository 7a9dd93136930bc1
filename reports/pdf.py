"""Result notices (考核结果通知书) and certificates (合格证书) as A4 PDFs, drawn with fpdf2.

Fonts are embedded (see :mod:`reports.fonts`), the photo is placed as the JPEG it was stored as,
the seal as a PNG with transparency over the issuing body's name, and the QR code as vector
squares, so the page prints sharp at any resolution. A batch shares one font cut.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

import segno
from fpdf import FPDF
from fpdf.enums import Align
from PIL import Image, UnidentifiedImageError

from reports.errors import ImageError, UnprintableText
from reports.facts import CertificateFacts, Physician, ResultFacts
from reports.fonts import FAMILY, DocumentFonts
from reports.textwrap_zh import wrap

A4_W, A4_H = 210.0, 297.0
INK = (30, 30, 30)
RED = (180, 20, 20)
FRAME = (150, 40, 30)
NO_SEAL_TEXT = "未加盖考核机构印章，本证书无效"
T = TypeVar("T")


def _date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _physician_texts(p: Physician) -> list[str]:
    return [p.name, p.id_number_masked, p.practice_category, p.practice_scope, p.institution]


def certificate_texts(c: CertificateFacts) -> list[str]:
    return [*_physician_texts(c.physician), c.number, c.issuer.name, c.cycle, c.procedure, _date(c.issued_on), _CERT_FIXED]


def notice_texts(r: ResultFacts) -> list[str]:
    texts = [*_physician_texts(r.physician), r.issuer.name, r.cycle, r.procedure, _date(r.issued_on), _NOTICE_FIXED]
    texts += [p.title for p in r.papers] + [f"{p.score}{p.pass_mark}{p.full_mark}" for p in r.papers]
    texts += list(r.exemptions) + list(r.reasons) + [r.review_note or "", r.certificate_number or ""]
    texts += [r.work_rating or "", r.ethics_rating or ""]
    return texts


_CERT_FIXED = (
    "医师定期考核合格证书证书编号姓名证件号码工作单位执业类别执业范围考核周期考核程序考核结果合格"
    "兹证明该医师参加医师定期考核，经考核合格，特发此证。签发机构扫码查验证书真伪或在查验页面输入证书编号"
    + NO_SEAL_TEXT
    + "无照片（）：:.-/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*年月日　"
)
# Everything the certificate sets in bold (title, labels, the no-seal warning): the bold cut holds
# only these characters; _Page.done() refuses a page whose text a cut font lacked.
_CERT_BOLD = "医师定期考核合格证书姓名证件号码工作单位执业类别执业范围考核周期考核程序考核结果：" + NO_SEAL_TEXT
_NOTICE_FIXED = (
    "医师定期考核结果通知书医师：你参加的医师定期考核结果如下姓名证件号码工作单位执业类别执业范围考核周期"
    "考核程序工作成绩职业道德评定免考试卷成绩合格分满分结论未参加不合格无暂无笔试成绩记录考核结果原因复核结论"
    "合格证书编号特此通知。签发机构未加盖印章无照片、，；（）：:.-/*0123456789年月日项　"
)


def _check_image(data: bytes, what: str, formats: set[str]) -> io.BytesIO:
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in formats:
                raise ImageError(f"{what}不是有效的图片")
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{what}不是有效的图片") from exc
    return io.BytesIO(data)


class _Page(FPDF):
    def __init__(self, fonts: DocumentFonts, title: str, text: str, images: dict[str, dict] | None = None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        # Images decoded once per batch (the seal is the same on every page of a batch): fpdf2
        # would otherwise split the seal's alpha channel and deflate it again for each document.
        self._batch_images = {} if images is None else images
        self.set_auto_page_break(False)
        self.set_margins(20, 20, 20)
        self.set_title(title)
        self.set_creator("Dingkao 定考通")
        fonts.install(self, text)
        self.add_page()
        self.set_text_color(*INK)

    def done(self) -> bytes:
        pdf = bytes(self.output())
        lacking = {chr(c) for font in self.fonts.values() for c in getattr(font, "missing_glyphs", ())}
        if lacking:  # a glyph missing from a cut font would print as an empty box
            raise UnprintableText("".join(sorted(lacking)))
        return pdf

    def frame(self) -> None:
        self.set_draw_color(*FRAME)
        self.set_line_width(1.2)
        self.rect(10, 10, A4_W - 20, A4_H - 20)
        self.set_line_width(0.3)
        self.rect(13, 13, A4_W - 26, A4_H - 26)

    def centered(self, y: float, text: str, size: float, style: str = "", color=INK) -> None:
        self.set_font(FAMILY, style, size)
        self.set_text_color(*color)
        self.set_xy(15, y)
        self.cell(A4_W - 30, size * 0.5, text, align=Align.C)
        self.set_text_color(*INK)

    def paragraph(self, x: float, y: float, w: float, line: float, text: str, *, size: float, style: str = "", align=Align.L) -> float:
        """Draw wrapped text; returns the y below it."""
        self.set_font(FAMILY, style, size)
        for part in wrap(text, w, self.get_string_width):
            self.set_xy(x, y)
            self.cell(w, line, part, align=align)
            y += line
        return y

    def field_rows(self, x: float, y: float, label_w: float, value_w: float, rows: Sequence[tuple[str, str]], size: float = 12) -> float:
        line = size * 0.55
        for label, value in rows:
            self.set_xy(x, y)
            self.set_font(FAMILY, "B", size)
            self.cell(label_w, line, label + "：")
            y = self.paragraph(x + label_w, y, value_w, line, value or "—", size=size) + line * 0.45
        return y

    def photo(self, data: bytes | None, x: float, y: float) -> None:
        w, h = 30.0, 40.0
        self.set_draw_color(120, 120, 120)
        self.set_line_width(0.2)
        self.rect(x, y, w, h)
        if data:
            self.batch_image(data, "照片", {"JPEG", "PNG"}, x=x, y=y, w=w, h=h)
        else:
            self.set_font(FAMILY, "", 9)
            self.set_xy(x, y + h / 2 - 3)
            self.cell(w, 6, "（无照片）", align=Align.C)

    def batch_image(self, data: bytes, what: str, formats: set[str], **place: float) -> None:
        # fpdf2 names an in-memory image by the MD5 of its stripped bytes and reuses the decoded
        # info when the name is already in the document's cache; we seed that cache from the batch.
        name = hashlib.md5(data.strip(), usedforsecurity=False).hexdigest()
        shared = self._batch_images.get(name)
        if shared is None:
            stream = _check_image(data, what, formats)
        else:
            stream = io.BytesIO(data)
            if name not in self.image_cache.images:
                info = type(shared)(shared)
                info.update(i=len(self.image_cache.images) + 1, usages=0, iccp_i=None)
                self.image_cache.images[name] = info
        self.image(stream, keep_aspect_ratio=True, **place)
        if shared is None and not self.image_cache.images[name].get("iccp"):  # ICC profiles are numbered per document
            self._batch_images[name] = self.image_cache.images[name]

    def issuer_block(self, name: str, date: str, seal: bytes | None, y: float) -> None:
        end = self.paragraph(95, y, 95, 7, name, size=13, align=Align.R)
        self.set_xy(95, end + 2)
        self.cell(95, 7, date, align=Align.R)
        if seal:
            # The seal overlaps the body's name and the date, as a stamped paper does.
            self.batch_image(seal, "印章", {"PNG"}, x=142, y=y - 16, w=42, h=42)

    def qr(self, url: str, x: float, y: float, size: float) -> None:
        code = segno.make(url, error="m", micro=False, boost_error=False, mask=2)  # a fixed mask: choosing the best one costs 0.1 s a page in pure Python
        matrix = code.matrix
        n = len(matrix)
        quiet = 2
        module = size / (n + 2 * quiet)
        self.set_fill_color(255, 255, 255)
        self.rect(x, y, size, size, style="F")
        self.set_fill_color(0, 0, 0)
        # One filled path of rectangles (one per run of dark modules), written as a single content
        # operation: drawing each run through FPDF.rect cost more than the rest of the page.
        k, top = self.k, self.h
        parts = []
        for r, row in enumerate(matrix):
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    rx, ry = x + (quiet + start) * module, y + (quiet + r) * module
                    parts.append(f"{rx * k:.2f} {(top - ry) * k:.2f} {(c - start) * module * k:.2f} {-module * 1.02 * k:.2f} re")
                else:
                    c += 1
        if parts:
            self._out(" ".join(parts) + " f")


def _certificate(c: CertificateFacts, fonts: DocumentFonts, images: dict[str, dict] | None = None) -> bytes:
    p = c.physician
    pdf = _Page(fonts, f"医师定期考核合格证书 {c.number}", "".join(certificate_texts(c)), images)
    pdf.frame()
    pdf.centered(32, "医师定期考核合格证书", 28, "B", FRAME)
    pdf.centered(50, f"证书编号：{c.number}", 11)
    pdf.photo(p.photo_jpeg, 152, 66)
    rows = [
        ("姓名", p.name),
        ("证件号码", p.id_number_masked),
        ("工作单位", p.institution),
        ("执业类别", p.practice_category),
        ("执业范围", p.practice_scope),
        ("考核周期", c.cycle),
        ("考核程序", c.procedure),
        ("考核结果", "合格"),
    ]
    y = pdf.field_rows(30, 68, 26, 92, rows, size=13)
    pdf.paragraph(30, max(y, 118) + 8, 150, 9, f"　　兹证明该医师参加{c.cycle}医师定期考核，经考核合格，特发此证。", size=14)
    pdf.issuer_block(c.issuer.name, _date(c.issued_on), c.issuer.seal_png, 214)
    pdf.qr(c.verify_url, 28, 205, 34)
    pdf.paragraph(20, 240, 50, 4.5, "扫码查验证书真伪\n或在查验页面输入证书编号", size=8.5, align=Align.C)
    if not c.issuer.seal_png:
        pdf.centered(258, NO_SEAL_TEXT, 18, "B", RED)
    return pdf.done()


def _notice(r: ResultFacts, fonts: DocumentFonts, images: dict[str, dict] | None = None) -> bytes:
    p = r.physician
    pdf = _Page(fonts, f"医师定期考核结果通知书 {p.name}", "".join(notice_texts(r)), images)
    pdf.frame()
    pdf.centered(28, "医师定期考核结果通知书", 24, "B")
    pdf.photo(p.photo_jpeg, 158, 42)
    pdf.set_font(FAMILY, "B", 13)
    pdf.set_xy(25, 46)
    pdf.cell(120, 8, f"{p.name} 医师：")
    pdf.paragraph(25, 56, 128, 7, f"　　你参加的{r.cycle}医师定期考核（{r.procedure}）结果如下。", size=12)
    rows = [
        ("证件号码", p.id_number_masked),
        ("工作单位", p.institution),
        ("执业类别", p.practice_category),
        ("执业范围", p.practice_scope),
        ("考核程序", r.procedure),
        ("工作成绩评定", r.work_rating or "—"),
        ("职业道德评定", r.ethics_rating or "—"),
        ("免考", "、".join(r.exemptions) or "无"),
    ]
    y = pdf.field_rows(25, 76, 32, 96, rows, size=11)
    y = max(y, 86) + 3
    # Papers: one row each; the engine supplies scores, exemptions show as 免考.
    pdf.set_font(FAMILY, "B", 11)
    widths = (74, 26, 26, 34)
    pdf.set_xy(25, y)
    pdf.set_fill_color(238, 238, 238)
    for w, head in zip(widths, ("试卷", "成绩", "合格分", "结论")):
        pdf.cell(w, 8, head, border=1, align=Align.C, fill=True)
    y += 8
    pdf.set_font(FAMILY, "", 11)
    papers = list(r.papers) or None
    if papers is None:
        pdf.set_xy(25, y)
        pdf.cell(sum(widths), 8, "暂无笔试成绩记录", border=1, align=Align.C)
        y += 8
    for paper in papers or ():
        pdf.set_xy(25, y)
        cells = (
            paper.title,
            "—" if paper.score is None else f"{paper.score:g}",
            "—" if paper.pass_mark is None else f"{paper.pass_mark:g}" + (f"/{paper.full_mark:g}" if paper.full_mark else ""),
            paper.outcome,
        )
        for w, text in zip(widths, cells):
            pdf.cell(w, 8, text, border=1, align=Align.C)
        y += 8
        if y > 200:
            break
    y += 6
    pdf.set_xy(25, y)
    pdf.set_font(FAMILY, "B", 15)
    pdf.set_text_color(*(INK if r.passed else RED))
    pdf.cell(160, 9, f"考核结果：{r.result_text}")
    pdf.set_text_color(*INK)
    y += 11
    pdf.set_font(FAMILY, "", 11)
    extra = []
    if r.reasons:
        extra.append("原因：" + "；".join(r.reasons))
    if r.review_note:
        extra.append("复核结论：" + r.review_note)
    if r.certificate_number:
        extra.append(f"合格证书编号：{r.certificate_number}")
    for text in extra:
        y = pdf.paragraph(25, y, 160, 6.5, text, size=11) + 2
    pdf.set_xy(25, max(y, 200) + 4)
    pdf.cell(160, 7, "　　特此通知。")
    pdf.issuer_block(r.issuer.name, _date(r.issued_on), r.issuer.seal_png, 232)
    return pdf.done()


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _render_chunk(chunk: list[CertificateFacts]) -> list[bytes]:
    with DocumentFonts((t for c in chunk for t in certificate_texts(c)), bold_texts=[_CERT_BOLD]) as fonts:
        images: dict[str, dict] = {}
        return [_certificate(c, fonts, images) for c in chunk]


def render_certificates(
    items: Iterable[CertificateFacts], *, batch: int = 500, processes: int = 1
) -> Iterator[tuple[CertificateFacts, bytes]]:
    """Certificates in order; fonts are cut once per ``batch`` documents. With ``processes`` > 1
    the batches are drawn in that many worker processes (page drawing is CPU-bound Python)."""
    if processes <= 1:
        for chunk in _chunks(items, batch):
            for c, pdf in zip(chunk, _render_chunk(chunk)):
                yield c, pdf
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    everything = list(items)
    size = max(1, min(batch, -(-len(everything) // processes)))
    chunks = list(_chunks(everything, size))
    with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        for chunk, pdfs in zip(chunks, pool.map(_render_chunk, chunks)):
            yield from zip(chunk, pdfs)


def render_result_notices(items: Iterable[ResultFacts], *, batch: int = 500) -> Iterator[tuple[ResultFacts, bytes]]:
    for chunk in _chunks(items, batch):
        with DocumentFonts(t for r in chunk for t in notice_texts(r)) as fonts:
            images: dict[str, dict] = {}
            for r in chunk:
                yield r, _notice(r, fonts, images)


def render_certificate(c: CertificateFacts) -> bytes:
    return next(render_certificates([c]))[1]


def render_result_notice(r: ResultFacts) -> bytes:
    return next(render_result_notices([r]))[1]
