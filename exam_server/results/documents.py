"""Building the PDFs a user downloads: gathers the facts (results.py), the photo and the seal,
and renders with the reports library off the event loop."""

from __future__ import annotations

import asyncio
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import reports
from registry.models import Institution, Registration, StoredFile

from ..infra.storage import FileStorage
from .models import Certificate
from .seals import seal_png
from .services import gather_result_facts


async def photo_of(session: AsyncSession, storage: FileStorage, reg: Registration) -> bytes | None:
    file_id = ((reg.data or {}).get("basic") or {}).get("photo_file_id")
    record = await session.get(StoredFile, file_id) if isinstance(file_id, int) else None
    if record is None or record.registration_id != reg.id or record.kind != "photo":
        return None
    return await storage.get(record.storage_key)


async def notice_pdf(session: AsyncSession, storage: FileStorage, reg: Registration) -> bytes:
    body_id = reg.physician.institution.body_id
    facts = await gather_result_facts(session, reg, photo=await photo_of(session, storage, reg),
                                      seal=await seal_png(session, storage, body_id))
    return await asyncio.to_thread(reports.render_result_notice, facts)


async def certificate_facts(session: AsyncSession, storage: FileStorage, cert: Certificate, *, base_url: str,
                            seal: bytes | None = None, with_seal: bool = True) -> reports.CertificateFacts:
    import datetime as dt

    reg = await session.get(Registration, cert.registration_id)
    assert reg is not None
    if with_seal and seal is None:
        seal = await seal_png(session, storage, cert.body_id)
    f = cert.facts
    return reports.CertificateFacts(
        number=cert.number,
        physician=reports.Physician(name=f["name"], id_number_masked=f["id"], practice_category=f["category"],
                                    practice_scope=f["scope"], institution=reg.physician.institution.name,
                                    photo_jpeg=await photo_of(session, storage, reg)),
        issuer=reports.Issuer(name=f["body"], seal_png=seal), cycle=f["cycle"], procedure=f["procedure"],
        issued_on=dt.date.fromisoformat(f["issued"]),
        verify_url=reports.verification_url(base_url, cert.number, cert.signature),
    )


async def certificate_pdf(session: AsyncSession, storage: FileStorage, cert: Certificate, *, base_url: str) -> bytes:
    facts = await certificate_facts(session, storage, cert, base_url=base_url)
    return await asyncio.to_thread(reports.render_certificate, facts)


Progress = Callable[[str, int, int], None]  # (stage: "gathering" / "rendering", done, total)


async def current_certificates(session: AsyncSession, institution_id: int) -> Sequence[Certificate]:
    return (await session.scalars(
        select(Certificate).where(Certificate.institution_id == institution_id, Certificate.revoked_at.is_(None))
        .order_by(Certificate.number))).all()


async def certificates_zip(session: AsyncSession, storage: FileStorage, institution: Institution, *,
                           base_url: str, progress: Progress | None = None) -> tuple[str, int]:
    """A ZIP of the institution's current certificates, written to a temporary file (the caller
    streams and deletes it); returns (path, count). Fonts are cut once per batch of the renderer.
    ``progress`` hears each certificate gathered and each one drawn (it is called from a worker
    thread while drawing, so it must only record)."""
    certs = await current_certificates(session, institution.id)
    seal = await seal_png(session, storage, institution.body_id)
    total = len(certs)
    items = []
    for c in certs:
        items.append(await certificate_facts(session, storage, c, base_url=base_url, seal=seal))
        if progress:
            progress("gathering", len(items), total)
    fd, path = tempfile.mkstemp(prefix="dingkao-certs-", suffix=".zip")
    os.close(fd)

    def write() -> None:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:  # PDFs are compressed already
            for done, (facts, pdf) in enumerate(reports.render_certificates(items), start=1):
                zf.writestr(f"{facts.number}-{facts.physician.name}.pdf", pdf)
                if progress:
                    progress("rendering", done, total)

    try:
        await asyncio.to_thread(write)
    except BaseException:
        os.unlink(path)
        raise
    return path, len(items)
