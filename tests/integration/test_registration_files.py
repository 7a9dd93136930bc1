"""Proof documents for the registration tests, made here rather than copied in."""

from __future__ import annotations

import io


def pdf_bytes(n: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=f"Proof document {n}")
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()


def test_pdf_fixture_is_a_pdf() -> None:
    assert pdf_bytes(1).startswith(b"%PDF-")
