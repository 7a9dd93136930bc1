"""Builders of honest and hostile upload samples for tests/unit/test_uploads.py (all made in memory)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels(width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """An RGB gradient with some noise: compresses like a photo, not like a flat colour."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width, 1), y * 255 // max(height, 1), (x + y) % 256], axis=-1)
    return np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)


def image(width: int, height: int, mode: str = "RGB", *, seed: int = 0) -> Image.Image:
    return Image.fromarray(pixels(width, height, seed=seed), "RGB").convert(mode)


def jpeg(width: int = 300, height: int = 400, mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    image(width, height, mode).save(out, "JPEG", quality=85, **save)
    return out.getvalue()


def png(width: int = 300, height: int = 400, mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    image(width, height, mode).save(out, "PNG", **save)
    return out.getvalue()


def encode(im: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **save)
    return out.getvalue()


def gif() -> bytes:
    return encode(image(300, 400, "P"), "GIF")


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG whose IHDR claims width x height, with a few hundred bytes of data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_with_size(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to claim width x height."""
    data = bytearray(jpeg(64, 64))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def with_exif_orientation(im: Image.Image, orientation: int, *, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    if gps:  # Beijing: what a phone writes into every photo with location on
        exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    return encode(im, "JPEG", quality=90, exif=exif.tobytes())


def zip_archive(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def docx() -> bytes:
    return zip_archive({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                               b'package/2006/content-types"/>',
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document><w:body><w:p>\xe8\xaf\x81\xe6\x98\x8e</w:p></w:body></w:document>",
    })


def pdf(pages: int = 1, *, open_action: DictionaryObject | None = None, password: str | None = None,
        js: str | None = None, attachment: bytes | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if open_action is not None:
        writer._root_object[NameObject("/OpenAction")] = open_action
    if js is not None:  # a document-level script in the catalog's /Names tree
        tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("init"), action("/JavaScript", JS=js)])})
        writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    if attachment is not None:
        writer.add_attachment("readme.exe", attachment)
    if password is not None:
        writer.encrypt(password)  # RC4: AES would need the cryptography package
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def action(kind: str, **entries: str) -> DictionaryObject:
    act = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        act[NameObject(f"/{key}")] = TextStringObject(value)
    return act


def text_pdf(pages: int = 3) -> bytes:
    """A compressed, text-bearing PDF as a real producer (fpdf2) writes it."""
    from fpdf import FPDF

    doc = FPDF()
    doc.set_font("Helvetica", size=12)
    for n in range(pages):
        doc.add_page()
        doc.multi_cell(0, 8, f"Certificate of continuing medical education, page {n + 1}. " * 20)
    return bytes(doc.output())


def pdf_with_object_stream(catalog_extra: bytes = b"") -> bytes:
    """A PDF 1.5 whose catalog, page tree and page sit compressed in an object stream.

    Whatever ``catalog_extra`` adds to the catalog is invisible in the file's raw bytes.
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    body, offsets = b"", []
    for obj in objects:
        offsets.append(len(body))
        body += obj + b"\n"
    header = b"".join(f"{num} {off} ".encode() for num, off in zip((1, 2, 3), offsets))
    packed = zlib.compress(header + body)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    stm_offset = len(out)
    out += (f"4 0 obj\n<< /Type /ObjStm /N 3 /First {len(header)} /Filter /FlateDecode /Length {len(packed)} >>\n"
            "stream\n").encode() + packed + b"\nendstream\nendobj\n"
    xref_offset = len(out)
    rows = [(0, 0, 65535), (2, 4, 0), (2, 4, 1), (2, 4, 2), (1, stm_offset, 0), (1, xref_offset, 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    out += (f"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length {len(table)} >>\n"
            "stream\n").encode() + table + b"\nendstream\nendobj\n"
    out += f"startxref\n{xref_offset}\n%%EOF\n".encode()
    return bytes(out)
