"""Content checks for uploaded files: the registration photo and the proof documents.

Pure functions over bytes (no web framework, no database). A file is judged by its content,
never by its name or the browser's Content-Type. Images are decoded and re-encoded, so what
we store and later serve is pixels we produced ourselves: that defeats polyglots (a JPEG that
is also a ZIP, a page or a script) and drops EXIF with its GPS position. PDFs cannot be
re-encoded faithfully, so they are kept byte for byte and refused instead when they carry
anything active (scripts, launch actions, attachments, multimedia) or are also a ZIP/HTML.

Every refusal is an UploadRejected whose message is Chinese, names the field and says what
is wrong and what is expected; it is shown to the physician as is.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import regex
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

__all__ = [
    "MAX_PROOFS",
    "PHOTO_MAX_BYTES",
    "PROOF_MAX_BYTES",
    "REPORT_MAX",
    "CheckedFile",
    "UploadRejected",
    "check_photo",
    "check_proof",
    "check_proof_count",
    "report_length",
    "sniff",
]

PHOTO_MAX_BYTES = 2 * 1024 * 1024
PROOF_MAX_BYTES = 10 * 1024 * 1024
MAX_PROOFS = 10
REPORT_MAX = 2000

# Decompression-bomb guard, applied to the dimensions in the file header before any pixel is
# decoded: 40 MP of RGB is ~120 MB once decoded. An A4 scan at 600 dpi (4960x7016) fits.
MAX_DECODE_PIXELS = 40_000_000
MAX_DECODE_SIDE = 8000

# The photo is the enrolled face and is printed on the certificate. A 1-inch ID photo is
# 25x35 mm (height/width 1.4), a 2-inch one 35x49 mm (1.4), a phone portrait 4:3 (1.33) and
# 16:9 portrait 1.78; square crops (1.0) are still usable. Landscape (<1.0) is refused: it is
# almost always a rotated or uncropped picture with the face small in it.
PHOTO_MIN_WIDTH = 200
PHOTO_MIN_HEIGHT = 250
PHOTO_MAX_SIDE = 6000
PHOTO_STORED_MAX_SIDE = 1600
PHOTO_MIN_RATIO = 1.0
PHOTO_MAX_RATIO = 1.8
JPEG_QUALITY = 90

PROOF_MIN_SIDE = 100
PROOF_MAX_PAGES = 200

# Progressive JPEGs with thousands of scans make the decoder re-walk the whole image for each
# one (a CPU bomb in a few KB). Real encoders write at most a few dozen scans.
MAX_JPEG_SCANS = 256
# Bytes after the photo's end-of-image marker beyond padding are refused above this many:
# some encoders leave a stray byte or a newline, a payload needs more room.
MAX_JPEG_TRAILER = 64


class UploadRejected(Exception):
    """An upload refused for a reason the physician can act on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """What may be stored: re-encoded images, or the original PDF bytes."""

    data: bytes = field(repr=False)
    mime: str
    extension: str  # without the dot: "jpg", "png" or "pdf"
    width: int | None
    height: int | None
    sha256: str
    pages: int | None


# --- recognising content --------------------------------------------------------------------

_ACCEPTED = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sniff(data: bytes) -> str | None:
    """The MIME type of ``data`` if it is a JPEG, PNG or PDF by its magic bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(_PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _zip_kind(data: bytes) -> str:
    # Office documents are zips; their member names, stored uncompressed in the local headers
    # and in the central directory at the end, say which kind.
    names = data[:64 * 1024] + data[-64 * 1024:]
    for member, kind in ((b"word/document", "Word 文档（DOCX）"), (b"xl/workbook", "Excel 表格（XLSX）"),
                         (b"ppt/presentation", "PowerPoint 演示文稿（PPTX）"),
                         (b"application/vnd.oasis.opendocument", "OpenDocument 文档"),
                         (b"AndroidManifest.xml", "安卓安装包（APK）")):
        if member in names:
            return kind
    return "ZIP 压缩包"


def _describe(data: bytes) -> str | None:
    """A Chinese name for what ``data`` really is, for refusals; None when unknown."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPG 图片"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG 图片"
    if data.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "PDF 文件"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF 图片"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP 图片"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC 图片（苹果手机默认格式）"
        if brand in (b"avif", b"avis"):
            return "AVIF 图片"
        return "视频文件"
    if data[:2] == b"BM":
        return "BMP 图片"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF 图片"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "Office 97-2003 文档（DOC/XLS/PPT）"
    if data.startswith(b"Rar!\x1a\x07"):
        return "RAR 压缩包"
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z 压缩包"
    if data.startswith(b"\x1f\x8b"):
        return "GZIP 压缩包"
    if data[:2] == b"MZ" or data[:4] == b"\x7fELF" or data[:4] in (
            b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "可执行程序"
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"#!"):
        return "脚本文件"
    if b"<svg" in text:
        return "SVG 图像"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "HTML 网页"
    if text.startswith(b"{\\rtf"):
        return "RTF 文档"
    return None


def _wrong_type(data: bytes, filename: str, wanted: tuple[str, ...]) -> str:
    """The second half of a wrong-type refusal: what the file really is, if we know."""
    what = _describe(data)
    if what is None:
        return "无法识别上传的文件格式"
    spacer = " " if what[0].isascii() else ""  # a space between Chinese and Latin text
    # A physician who renamed photo.png to photo.jpg believes it is a JPG: say why it is not.
    renamed = "." in filename and filename.lower().rsplit(".", 1)[-1] in wanted
    return f"上传的文件实际为{spacer}{what}" + ("，修改扩展名不会改变文件格式" if renamed else "")


# --- JPEG and PNG structure, read without decoding pixels -----------------------------------

# Frame headers carrying the dimensions: SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# In entropy-coded data 0xFF is followed by a stuffed 0x00 or a restart marker; anything else
# starts the next marker.
_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")


@dataclass(slots=True)
class _JpegLayout:
    width: int
    height: int
    end: int  # offset just past the EOI marker
    segments: list[tuple[int, int]]  # marker segments (metadata, tables), not entropy-coded data


def _walk_jpeg(data: bytes, start: int = 0) -> _JpegLayout:
    """Follow the JPEG stream at ``start`` segment by segment to its EOI; ValueError if malformed."""
    if data[start:start + 2] != b"\xff\xd8":
        raise ValueError("no SOI")
    pos, n = start + 2, len(data)
    size: tuple[int, int] | None = None
    scans = 0
    segments: list[tuple[int, int]] = []
    while True:
        if pos >= n or data[pos] != 0xFF:
            raise ValueError("marker expected")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise ValueError("truncated")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            if size is None or scans == 0:
                raise ValueError("no image data")
            return _JpegLayout(size[0], size[1], pos, segments)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # standalone markers
        if marker in (0x00, 0xD8):
            raise ValueError("unexpected marker")
        if pos + 2 > n:
            raise ValueError("truncated")
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > n:
            raise ValueError("bad segment length")
        segments.append((pos - 2, pos + length))
        if marker in _SOF_MARKERS:
            if size is not None or length < 8:
                raise ValueError("bad or repeated frame header")
            height, width = struct.unpack(">HH", data[pos + 3:pos + 7])
            if not width or not height:  # height 0 means "defined later by DNL": not supported
                raise ValueError("zero dimension")
            size = (width, height)
        pos += length
        if marker == 0xDA:
            scans += 1
            if size is None or scans > MAX_JPEG_SCANS:
                raise ValueError("scan without frame, or too many scans")
            found = _MARKER_AFTER_SCAN.search(data, pos)
            if found is None:
                raise ValueError("truncated scan")
            pos = found.start()


def _walk_png(data: bytes) -> tuple[int, int]:
    """IHDR dimensions after checking every chunk's length and CRC up to IEND; ValueError if not."""
    view = memoryview(data)
    pos, n = len(_PNG_SIGNATURE), len(data)
    size: tuple[int, int] | None = None
    while True:
        if pos + 12 > n:
            raise ValueError("truncated")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > n:
            raise ValueError("truncated chunk")
        if zlib.crc32(view[pos + 4:end - 4]) != int.from_bytes(data[end - 4:end], "big"):
            raise ValueError("bad CRC")
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise ValueError("IHDR must come first")
            width, height = struct.unpack(">II", data[pos + 8:pos + 16])
            if not width or not height:
                raise ValueError("zero dimension")
            size = (width, height)
        if kind == b"IEND":
            return size
        pos = end


def _guard_dimensions(width: int, height: int, field: str, label: str, max_side: int) -> None:
    if max(width, height) > max_side or width * height > MAX_DECODE_PIXELS:
        raise UploadRejected(field, f"{label}尺寸过大（{width}×{height} 像素），长边不能超过 {max_side} 像素、"
                                    f"总像素不能超过 {MAX_DECODE_PIXELS // 10_000} 万")


def _decode(data: bytes, formats: tuple[str, ...], size: tuple[int, int], field: str,
            damaged: str) -> Image.Image:
    """Fully decode the first frame, after Pillow's own header agrees with ours."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as im:
            # Pillow re-reads the header; checking its size before load() is the same guard as
            # Image.MAX_IMAGE_PIXELS, without lowering that process-wide global for everyone.
            if im.format not in formats or im.size != size:
                raise ValueError(f"{im.format} {im.size} disagrees with header {size}")
            im.load()
            return im
    except Exception:  # any decoder failure: truncated, corrupt, unsupported variant, memory
        raise UploadRejected(field, damaged) from None


def _orient(im: Image.Image) -> None:
    # Phones store portraits as landscape pixels plus an EXIF rotation; apply it before
    # judging proportions, since the re-encoded file will carry no EXIF.
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:  # unreadable EXIF: keep the pixels as stored rather than refuse
        pass


def _encode(im: Image.Image, fmt: str) -> bytes:
    im.info.clear()  # Pillow carries comment, ICC profile and transparency over from info
    out = io.BytesIO()
    if fmt == "JPEG":
        # Baseline, no EXIF/ICC/comment: only what the encoder writes itself (JFIF APP0).
        im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
    else:
        im.save(out, "PNG", optimize=False)
    return out.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    """L or RGB pixels; transparent parts become white paper."""
    if im.mode in ("1", "L") and "transparency" not in im.info:
        return im.convert("L")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        paper = Image.new("RGB", rgba.size, "white")
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    if im.mode.startswith("I"):  # 16-bit greyscale: Pillow's convert("L") clips, scale instead
        return Image.fromarray(np.clip(np.asarray(im, dtype=np.int64) >> 8, 0, 255).astype(np.uint8))
    return im if im.mode == "RGB" else im.convert("RGB")


def _checked(data: bytes, mime: str, width: int | None, height: int | None,
             pages: int | None = None) -> CheckedFile:
    return CheckedFile(data=data, mime=mime, extension=_ACCEPTED[mime], width=width, height=height,
                       sha256=hashlib.sha256(data).hexdigest(), pages=pages)


# --- the photo -------------------------------------------------------------------------------

# Markup and script openers (case-insensitive, as browsers read them), each followed by a
# delimiter so that a random match inside compressed data is practically impossible.
_MARKUP = re.compile(rb"<(?:html|script)[\s/>]|<\?php\s", re.IGNORECASE)
# Binary signatures of formats a JPEG or PDF must not also be.
_ZIP_LOCAL, _ZIP_END = b"PK\x03\x04", b"PK\x05\x06"


def _photo_is_suspicious(data: bytes, layout: _JpegLayout) -> bool:
    """True for a payload hidden in the photo: after its end, in metadata, or markup anywhere.

    The re-encoded photo would be clean regardless; refusing as well keeps a deliberately
    crafted file from being accepted silently (and makes the attempt visible). Binary
    signatures (ZIP, PDF) are looked for outside the entropy-coded image data only: in there a
    given 4-byte pattern turns up by chance in about one honest 2 MB photo in two thousand.
    """
    if _MARKUP.search(data):
        return True
    outside = [data[a:b] for a, b in layout.segments]
    pos = layout.end
    # Phones append legitimate extra JPEG streams after the main image (MPF: HDR gain maps,
    # depth maps); walk those as JPEGs too, so only their metadata is searched.
    for _ in range(8):
        if not data.startswith(b"\xff\xd8\xff", pos):
            break
        try:
            extra = _walk_jpeg(data, pos)
        except ValueError:
            break
        outside.extend(data[a:b] for a, b in extra.segments)
        pos = extra.end
    trailer = data[pos:]
    outside.append(trailer)
    probe = b"".join(outside)
    if _ZIP_LOCAL in probe or b"%PDF-" in probe:
        return True
    # Samsung cameras append a small "SEF" trailer ending in SEFT; anything else substantial
    # after the image (a ZIP, a video, a script) is refused.
    return len(trailer.strip(b"\x00\xff \t\r\n")) > MAX_JPEG_TRAILER and not trailer.endswith(b"SEFT")


def check_photo(data: bytes, *, filename: str = "") -> CheckedFile:
    """Validate the ID photo and return it re-encoded as a clean baseline RGB JPEG.

    ``filename`` is only used to explain a refusal; the content decides. The face check
    (exactly one face) is the caller's, on the returned bytes.
    """
    if not data:
        raise UploadRejected("photo", "照片文件为空，请重新选择")
    if len(data) > PHOTO_MAX_BYTES:
        raise UploadRejected("photo", "照片不能超过 2 MB")
    if sniff(data) != "image/jpeg":
        raise UploadRejected("photo", f"照片须为 JPG 格式，{_wrong_type(data, filename, ('jpg', 'jpeg'))}")
    damaged = "照片文件已损坏或不完整，请重新拍摄或导出后上传"
    try:
        layout = _walk_jpeg(data)
    except ValueError:
        raise UploadRejected("photo", damaged) from None
    if _photo_is_suspicious(data, layout):
        raise UploadRejected("photo", "照片文件包含可疑内容，请用相机或手机重新导出 JPG 照片后上传")
    _guard_dimensions(layout.width, layout.height, "photo", "照片", PHOTO_MAX_SIDE)

    im = _decode(data, ("JPEG", "MPO"), (layout.width, layout.height), "photo", damaged)
    _orient(im)
    width, height = im.size
    if width < PHOTO_MIN_WIDTH or height < PHOTO_MIN_HEIGHT:
        raise UploadRejected("photo", f"照片尺寸过小（{width}×{height} 像素），"
                                      f"宽至少 {PHOTO_MIN_WIDTH} 像素、高至少 {PHOTO_MIN_HEIGHT} 像素")
    ratio = height / width
    if ratio < PHOTO_MIN_RATIO:
        raise UploadRejected("photo", f"照片须为竖版（{width}×{height} 像素为横版），"
                                      "请上传高度不小于宽度的证件照，如一寸照 25×35 mm")
    if ratio > PHOTO_MAX_RATIO:
        raise UploadRejected("photo", f"照片过于狭长（{width}×{height} 像素），"
                                      "高宽比应在 1.0 到 1.8 之间，如一寸照 25×35 mm")
    rgb = im if im.mode == "RGB" else im.convert("RGB")  # CMYK and greyscale too
    # An ID photo needs no more; it keeps the stored photo small and face detection fast.
    rgb.thumbnail((PHOTO_STORED_MAX_SIDE, PHOTO_STORED_MAX_SIDE))
    return _checked(_encode(rgb, "JPEG"), "image/jpeg", *rgb.size)


# --- proofs ----------------------------------------------------------------------------------

_PROOF_DAMAGED_PDF = "证明材料 PDF 已损坏，请重新导出后上传"
_PROOF_ACTIVE = "证明材料 PDF 含有脚本、附件或多媒体等活动内容，请另存或打印为普通 PDF 后上传"

# Raw names of active content. Case-sensitive: PDF names are. "/JS" is too short to search
# for in compressed bytes without false alarms; the object walk below finds it.
_ACTIVE_NAMES = re.compile(rb"/(?:JavaScript|Launch|EmbeddedFile|RichMedia)")
# Names written with #xx escapes (/J#61vaScript) to slip past a plain byte search.
_ESCAPED_NAME = re.compile(rb"/(?:[^\x00\t\n\x0c\r ()<>\[\]{}/%#]|#[0-9A-Fa-f]{2})*"
                           rb"#[0-9A-Fa-f]{2}(?:[^\x00\t\n\x0c\r ()<>\[\]{}/%#]|#[0-9A-Fa-f]{2})*")
_ACTIVE_PREFIXES = (b"/JavaScript", b"/Launch", b"/EmbeddedFile", b"/RichMedia")
# XFA forms carry their own scripts; /EF is a file specification's embedded file.
_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/RichMediaContent",
                          "/RichMediaSettings", "/XFA"})
_ACTIVE_TYPES = frozenset({"/JavaScript", "/Launch", "/RichMedia", "/RichMediaExecute", "/EmbeddedFile",
                           "/FileAttachment"})
# A 200-page text-heavy PDF has a few thousand objects; each costs ~20 us of pypdf parsing, so
# this caps the walk near one second.
_PDF_MAX_OBJECTS = 50_000
_PDF_MAX_NESTING = 64


def _raw_active(data: bytes) -> bool:
    if _ACTIVE_NAMES.search(data):
        return True
    for m in _ESCAPED_NAME.finditer(data):
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda h: bytes([int(h.group(1), 16)]), m.group())
        if name.startswith(_ACTIVE_PREFIXES):
            return True
    return False


def _pdf_objects(reader: PdfReader) -> Iterator[Any]:
    """Every indirect object, including those compressed in object streams (hidden from _raw_active)."""
    refs = [(gen, num) for gen, entries in reader.xref.items() for num in entries]
    refs += [(0, num) for num in reader.xref_objStm]
    if len(refs) > _PDF_MAX_OBJECTS:
        raise UploadRejected("proofs", "证明材料 PDF 结构过于复杂，请另存或打印为普通 PDF 后上传")
    for gen, num in refs:
        yield reader.get_object(IndirectObject(num, gen, reader))


def _dict_is_active(obj: DictionaryObject) -> bool:
    if _ACTIVE_KEYS.intersection(obj.keys()):
        return True
    for key in ("/S", "/Type", "/Subtype"):
        value = obj.get(key)
        if isinstance(value, IndirectObject):
            value = value.get_object()
        if isinstance(value, str) and value in _ACTIVE_TYPES:
            return True
    return False


def _structure_active(reader: PdfReader) -> bool:
    root = reader.root_object
    # Opening the document may only go to a page: no script, URI, launch or form action.
    opening = root.get("/OpenAction")
    opening = opening.get_object() if opening is not None else None
    if isinstance(opening, DictionaryObject) and opening.get("/S") != "/GoTo":
        return True
    names = root.get("/Names")
    names = names.get_object() if names is not None else None
    if isinstance(names, DictionaryObject) and ("/JavaScript" in names or "/EmbeddedFiles" in names):
        return True
    for obj in _pdf_objects(reader):
        # Direct children of each object, depth-first; indirect ones are visited on their own.
        stack = [(obj, 0)]
        while stack:
            item, depth = stack.pop()
            if depth > _PDF_MAX_NESTING:
                raise ValueError("nesting too deep")
            children: Iterable[Any]
            if isinstance(item, DictionaryObject):
                if _dict_is_active(item):
                    return True
                children = item.values()
            elif isinstance(item, ArrayObject):
                children = item
            else:
                continue
            stack.extend((child, depth + 1) for child in children if not isinstance(child, IndirectObject))
    return False


def _check_pdf(data: bytes) -> CheckedFile:
    # A file that is a PDF and also a ZIP or a page would be one thing to the reviewer's viewer
    # and another to a browser or unzip. A ZIP needs both its local header and its end record;
    # requiring both keeps chance matches in compressed streams (one 4-byte pattern turns up in
    # about one honest 10 MB PDF in four hundred) from refusing honest files.
    if (_ZIP_LOCAL in data and _ZIP_END in data) or _MARKUP.search(data):
        raise UploadRejected("proofs", "证明材料文件包含可疑内容（同时是压缩包或网页），请重新导出 PDF 后上传")
    if b"%%EOF" not in data[-1024:]:  # cut short in transfer; Acrobat looks in the last 1 KB too
        raise UploadRejected("proofs", "证明材料 PDF 不完整或已损坏，请重新导出后上传")
    if _raw_active(data):
        raise UploadRejected("proofs", _PROOF_ACTIVE)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
        # An encrypted PDF's objects cannot be read without the password: refused below.
        pages, active = (0, False) if encrypted else (len(reader.pages), _structure_active(reader))
    except UploadRejected:
        raise
    except Exception:  # pypdf on hostile input: any parser error, recursion, memory
        raise UploadRejected("proofs", _PROOF_DAMAGED_PDF) from None
    if encrypted:
        raise UploadRejected("proofs", "证明材料 PDF 已加密，请上传未加密的文件")
    if active:
        raise UploadRejected("proofs", _PROOF_ACTIVE)
    if pages < 1:
        raise UploadRejected("proofs", "证明材料 PDF 没有页面")
    if pages > PROOF_MAX_PAGES:
        raise UploadRejected("proofs", f"证明材料 PDF 页数过多（{pages} 页），最多 {PROOF_MAX_PAGES} 页")
    return _checked(data, "application/pdf", None, None, pages)


def _check_proof_image(data: bytes, mime: str) -> CheckedFile:
    label = "证明材料图片"
    damaged = f"{label}已损坏或不完整，请重新拍摄或导出后上传"
    try:
        width, height = _walk_png(data) if mime == "image/png" else _jpeg_size(data)
    except ValueError:
        raise UploadRejected("proofs", damaged) from None
    _guard_dimensions(width, height, "proofs", label, MAX_DECODE_SIDE)
    formats = ("PNG",) if mime == "image/png" else ("JPEG", "MPO")
    im = _decode(data, formats, (width, height), "proofs", damaged)
    _orient(im)
    if min(im.size) < PROOF_MIN_SIDE:
        raise UploadRejected("proofs", f"{label}尺寸过小（{im.width}×{im.height} 像素），"
                                       f"宽和高都至少 {PROOF_MIN_SIDE} 像素，请上传清晰的图片")
    clean = _flatten(im)
    encoded = _encode(clean, "PNG" if mime == "image/png" else "JPEG")
    return _checked(encoded, mime, clean.width, clean.height)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    layout = _walk_jpeg(data)
    return layout.width, layout.height


def check_proof(data: bytes, *, filename: str = "") -> CheckedFile:
    """Validate one proof document: a PDF kept as is, or a JPEG/PNG re-encoded in its format.

    ``filename`` is only used to explain a refusal; the content decides.
    """
    if not data:
        raise UploadRejected("proofs", "证明材料文件为空，请重新选择")
    if len(data) > PROOF_MAX_BYTES:
        raise UploadRejected("proofs", "证明材料不能超过 10 MB")
    mime = sniff(data)
    if mime is None:
        what = _describe(data)
        if what == "PDF 文件":  # %PDF- after leading junk: viewers differ on such files
            raise UploadRejected("proofs", "证明材料 PDF 文件头不正确，请重新导出后上传")
        raise UploadRejected("proofs", "证明材料须为 PDF、JPG 或 PNG 文件，"
                                       + _wrong_type(data, filename, ("pdf", "jpg", "jpeg", "png")))
    if mime == "application/pdf":
        return _check_pdf(data)
    return _check_proof_image(data, mime)


def check_proof_count(existing: int, adding: int) -> None:
    """Refuse when ``existing`` proofs plus ``adding`` new ones exceed MAX_PROOFS."""
    if existing + adding > MAX_PROOFS:
        raise UploadRejected("proofs", f"证明材料最多 {MAX_PROOFS} 份")


# --- the personal report -------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")


def report_length(text: str) -> int:
    """Characters as the physician sees them: grapheme clusters, a CRLF line break counting one.

    An emoji family joined with ZWJ, a letter with a combining accent and a CJK character each
    count 1: the count matches what the physician sees, not how the text is encoded.
    """
    # \X already keeps CR LF together; normalising first keeps that independent of the regex rules.
    return len(_GRAPHEME.findall(text.replace("\r\n", "\n")))
