"""Upload checks: the registration photo, proof documents, proof count and report length."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from PIL.PngImagePlugin import PngInfo

from exam_server.registration.uploads import (
    MAX_PROOFS, PHOTO_MAX_BYTES, PROOF_MAX_BYTES, REPORT_MAX, CheckedFile, UploadRejected, check_photo, check_proof,
    check_proof_count, report_length, sniff,
)

from . import upload_samples as S

SHARED = Path(os.environ.get("DINGKAO_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
FACES = SHARED / "faces"
PHOTO_DAMAGED = "照片文件已损坏或不完整"
SUSPICIOUS = "照片文件包含可疑内容"
ACTIVE = "证明材料 PDF 含有脚本、附件或多媒体等活动内容"


@pytest.fixture(scope="module")
def faces() -> list[dict[str, str]]:
    labels = FACES / "labels.csv"
    if not labels.is_file():
        pytest.skip(f"real face photos not found: {labels} is missing (set DINGKAO_SHARED_DIR to the shared folder)")
    with labels.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def refused(check, data: bytes, **kwargs: str) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        check(data, **kwargs)
    return info.value


def jpeg_markers(data: bytes) -> list[int]:
    """Marker codes of the segments before the first scan (written independently of the module)."""
    found, pos = [], 2
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        found.append(data[pos + 1])
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return found


def assert_clean_jpeg(checked: CheckedFile, size: tuple[int, int]) -> Image.Image:
    data = checked.data
    assert (checked.mime, checked.extension, checked.pages) == ("image/jpeg", "jpg", None)
    assert (checked.width, checked.height) == size
    assert checked.sha256 == hashlib.sha256(data).hexdigest()
    assert data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9")
    markers = jpeg_markers(data)
    assert 0xC0 in markers and 0xC2 not in markers  # baseline, not progressive
    assert [m for m in markers if 0xE0 <= m <= 0xEF or m == 0xFE] == [0xE0]  # JFIF only: no EXIF/ICC/XMP/comment
    for leftover in (b"Exif", b"GPS", b"ICC_PROFILE", b"http://ns.adobe.com", b"PK\x03\x04", b"<script"):
        assert leftover not in data
    with Image.open(io.BytesIO(data)) as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", size)
        assert not im.getexif() and "icc_profile" not in im.info and "comment" not in im.info
        im.load()
        return im.copy()


def with_com_padding(data: bytes, total: int) -> bytes:
    """``data`` grown to exactly ``total`` bytes with harmless COM segments after SOI."""
    need, segments = total - len(data), []
    while need:
        body = min(65533, need - 4)
        if 0 < need - 4 - body < 4:  # leave room for one more whole segment
            body -= 4
        segments.append(b"\xff\xfe" + (body + 2).to_bytes(2, "big") + b"x" * body)
        need -= body + 4
    padded = data[:2] + b"".join(segments) + data[2:]
    assert len(padded) == total
    return padded


# --- sniffing -------------------------------------------------------------------------------


def test_sniff_goes_by_content_only() -> None:
    assert sniff(S.jpeg()) == "image/jpeg"
    assert sniff(S.png()) == "image/png"
    assert sniff(S.pdf()) == "application/pdf"
    for other in (S.gif(), S.docx(), b"", b"\xff\xd8", b"hello %PDF-1.7", b"<html></html>"):
        assert sniff(other) is None


# --- the photo: real photos -------------------------------------------------------------------


def test_real_portrait_photo_comes_back_clean(faces: list[dict[str, str]]) -> None:
    original = (FACES / "identities/df01/1.jpg").read_bytes()
    checked = check_photo(original, filename="照片.jpg")
    clean = assert_clean_jpeg(checked, (757, 1024))
    assert checked.data != original
    with Image.open(io.BytesIO(original)) as im:  # same picture, within JPEG re-encoding error
        diff = np.abs(np.asarray(im.convert("RGB"), dtype=np.int16) - np.asarray(clean, dtype=np.int16))
    assert diff.mean() < 3


def test_real_photo_loses_gps_comment_and_padding(faces: list[dict[str, str]]) -> None:
    with Image.open(FACES / "identities/df02/6.jpg") as im:
        phone = S.with_exif_orientation(im.convert("RGB"), 1, gps=True)
    with Image.open(io.BytesIO(phone)) as im:
        assert im.getexif().get_ifd(0x8825)[1] == "N"
    phone += b"\x00" * 200  # zero padding after EOI, as some cameras write
    checked = check_photo(phone)
    assert_clean_jpeg(checked, (480, 720))
    with Image.open(io.BytesIO(checked.data)) as im:
        assert not im.getexif().get_ifd(0x8825)


def test_every_real_portrait_passes_and_landscape_is_refused(faces: list[dict[str, str]]) -> None:
    """No false alarms on ~200 real photos (polyglot scan, trailer rule, decoding)."""
    passed = refused_landscape = 0
    for row in faces:
        width, height = int(row["width"]), int(row["height"])
        data = (FACES / row["path"]).read_bytes()
        if width >= 200 and height >= 250 and 1.0 <= height / width <= 1.8:
            checked = check_photo(data)
            assert (checked.width, checked.height) == (width, height), row["path"]
            passed += 1
        elif height < width:
            assert "照片须为竖版" in refused(check_photo, data).message, row["path"]
            refused_landscape += 1
        else:
            assert "照片过于狭长" in refused(check_photo, data).message, row["path"]
    assert passed > 100 and refused_landscape > 20


# --- the photo: wrong type, size, damage -------------------------------------------------------


def test_png_renamed_jpg_is_refused_naming_png() -> None:
    exc = refused(check_photo, S.png(), filename="photo.jpg")
    assert exc.field == "photo"
    assert exc.message.startswith("照片须为 JPG 格式，上传的文件实际为 PNG 图片")
    assert "修改扩展名不会改变文件格式" in exc.message
    assert "扩展名" not in refused(check_photo, S.png(), filename="photo.png").message


@pytest.mark.parametrize(("data", "named"), [
    (S.gif(), "GIF 图片"),
    (S.pdf(), "PDF 文件"),
    (S.docx(), "Word 文档（DOCX）"),
    (b"ftyp".rjust(8, b"\x00") + b"heic" + bytes(100), "HEIC 图片"),
    (bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)), "无法识别上传的文件格式"),
])
def test_other_types_are_refused_as_photo(data: bytes, named: str) -> None:
    exc = refused(check_photo, data, filename="photo.jpg")
    assert exc.message.startswith("照片须为 JPG 格式") and named in exc.message


def test_empty_photo_is_refused() -> None:
    assert refused(check_photo, b"").message == "照片文件为空，请重新选择"


def test_photo_size_limit_is_2_mb_inclusive() -> None:
    base = S.jpeg(300, 400)
    assert check_photo(with_com_padding(base, PHOTO_MAX_BYTES)).width == 300
    assert refused(check_photo, with_com_padding(base, PHOTO_MAX_BYTES + 1)).message == "照片不能超过 2 MB"


@pytest.mark.parametrize("cut", [0.6, 0.95])
def test_truncated_jpeg_is_refused(cut: float) -> None:
    data = S.jpeg(300, 400)
    assert refused(check_photo, data[:int(len(data) * cut)]).message.startswith(PHOTO_DAMAGED)


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff\xe0" + b"\x00" * 50,
    b"\xff\xd8\xff" + bytes(np.random.default_rng(2).integers(0, 256, 4000, dtype=np.uint8)),
    S.jpeg(300, 400).replace(b"\xff\xda", b"\xff\xd8", 1),  # structure broken before the image data
])
def test_garbage_after_jpeg_signature_is_refused(data: bytes) -> None:
    assert refused(check_photo, data).message.startswith(PHOTO_DAMAGED)


@pytest.mark.parametrize("bomb", [S.jpeg_with_size(50000, 50000), S.jpeg_with_size(6001, 6001)])
def test_decompression_bomb_is_refused_from_the_header(bomb: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    tracemalloc.start()
    try:
        exc = refused(check_photo, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < 5000 and "照片尺寸过大" in exc.message and "6000 像素" in exc.message
    # Refused from the header: never decoded, little memory (not how fast: that depends on the machine).
    assert peak < 1_000_000 and decoded == []


@pytest.mark.parametrize(("size", "wanted"), [
    ((200, 250), None),
    ((199, 250), "照片尺寸过小（199×250 像素）"),
    ((200, 249), "照片尺寸过小（200×249 像素）"),
    ((120, 160), "宽至少 200 像素、高至少 250 像素"),
    ((300, 300), None),
    ((301, 300), "照片须为竖版（301×300 像素为横版）"),
    ((640, 480), "照片须为竖版"),
    ((250, 450), None),
    ((250, 451), "照片过于狭长（250×451 像素），高宽比应在 1.0 到 1.8 之间"),
])
def test_photo_size_and_proportions(size: tuple[int, int], wanted: str | None) -> None:
    data = S.jpeg(*size)
    if wanted is None:
        assert_clean_jpeg(check_photo(data), size)
    else:
        assert wanted in refused(check_photo, data).message


# --- the photo: EXIF orientation and colour ---------------------------------------------------


def test_exif_rotated_portrait_is_accepted_upright() -> None:
    stored = S.image(400, 300)  # landscape pixels, as a phone sensor writes them
    stored.paste((255, 0, 0), (0, 0, 60, 60))  # a red mark at the stored top-left
    checked = check_photo(S.with_exif_orientation(stored, 6))  # 6: rotate 90° clockwise to view
    upright = assert_clean_jpeg(checked, (300, 400))
    def red(xy: tuple[int, int]) -> bool:
        r, g, b = upright.getpixel(xy)
        return r > 200 and g < 80 and b < 80

    assert red((270, 30)) and not red((30, 30))  # the mark is now at the top-right


def test_exif_rotated_landscape_is_refused() -> None:
    exc = refused(check_photo, S.with_exif_orientation(S.image(300, 400), 8))
    assert "照片须为竖版（400×300 像素为横版）" in exc.message


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_cmyk_and_greyscale_photos_become_rgb(mode: str) -> None:
    data = S.jpeg(300, 400, mode)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == mode
    assert_clean_jpeg(check_photo(data), (300, 400))


def test_progressive_photo_becomes_baseline() -> None:
    data = S.jpeg(300, 400, progressive=True)
    assert 0xC2 in jpeg_markers(data)
    assert_clean_jpeg(check_photo(data), (300, 400))


def test_phone_photo_with_gain_map_image_after_eoi_is_accepted() -> None:
    # MPF: phones store an HDR gain map or depth map as a second JPEG after the first one's EOI.
    mpo = S.encode(S.image(300, 400), "MPO", save_all=True, append_images=[S.image(150, 200, seed=3)])
    assert mpo.count(b"\xff\xd8\xff") >= 2
    checked = check_photo(mpo)
    assert_clean_jpeg(checked, (300, 400))
    assert checked.data.count(b"\xff\xd8") == 1 and b"MPF" not in checked.data


def test_samsung_trailer_is_accepted() -> None:
    sef = b"\x00\x00\x01\x0aImage_UTC_Data1718000000000" + b"\x00" * 60 + b"SEFH" + bytes(40) + b"\x6c\x00\x00\x00SEFT"
    assert_clean_jpeg(check_photo(S.jpeg(300, 400) + sef), (300, 400))


# --- the photo: polyglots and hidden content ---------------------------------------------------


@pytest.mark.parametrize("data", [
    S.jpeg(300, 400) + S.zip_archive({"x.html": b"<b>hi</b>" * 50}),  # JPEG + ZIP
    S.jpeg(300, 400, comment=b"<script>alert(document.cookie)</script>"),  # script in a COM segment
    S.jpeg(300, 400, comment=b"<?php system($_GET['c']); ?>"),
    S.jpeg(300, 400) + b"<HTML><body onload=alert(1)>",  # page after the image
    S.jpeg(300, 400, comment=b"%PDF-1.4 1 0 obj"),  # PDF header inside metadata
    S.jpeg(300, 400) + bytes(np.random.default_rng(4).integers(1, 255, 500, dtype=np.uint8)),  # unexplained tail
])
def test_polyglots_and_hidden_content_are_refused(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()  # each one is a JPEG Pillow would happily decode
    exc = refused(check_photo, data)
    assert exc.field == "photo" and exc.message.startswith(SUSPICIOUS)


def test_harmless_comment_is_stripped_not_refused() -> None:
    checked = check_photo(S.jpeg(300, 400, comment=b"Shot on phone"))
    assert b"Shot on phone" not in checked.data


# --- proofs: PDF ---------------------------------------------------------------------------


@pytest.mark.parametrize(("sample", "pages"), [
    (S.pdf(), 1),
    (S.text_pdf(3), 3),
    (S.pdf(200), 200),
    (S.pdf_with_object_stream(), 1),
    (S.pdf() + b"% PK\x03\x04 in a comment is not a zip\n", 1),  # no end-of-central-directory: not a ZIP
])
def test_valid_pdf_is_kept_byte_for_byte(sample: bytes, pages: int) -> None:
    checked = check_proof(sample, filename="证明.pdf")
    assert checked.data == sample
    assert (checked.mime, checked.extension, checked.pages) == ("application/pdf", "pdf", pages)
    assert (checked.width, checked.height) == (None, None)
    assert checked.sha256 == hashlib.sha256(sample).hexdigest()


def test_encrypted_pdf_is_refused() -> None:
    exc = refused(check_proof, S.pdf(password="secret"))
    assert (exc.field, exc.message) == ("proofs", "证明材料 PDF 已加密，请上传未加密的文件")


@pytest.mark.parametrize("sample", [
    S.pdf(open_action=S.action("/JavaScript", JS="app.alert(1)")),
    S.pdf(js="this.exportDataObject({cName: 'x', nLaunch: 2})"),  # /Names /JavaScript
    S.pdf(open_action=S.action("/Launch", F="cmd.exe")),
    S.pdf(open_action=S.action("/URI", URI="https://example.com/track")),  # opening may only go to a page
    S.pdf(attachment=b"MZ\x90\x00payload"),  # /EmbeddedFiles
    S.pdf(open_action=S.action("/JavaScript", JS="app.alert(1)")).replace(b"/JavaScript", b"/J#61vaScript"),
    S.pdf_with_object_stream(b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>"),
    S.pdf_with_object_stream(b"/Names << /EmbeddedFiles 9 0 R >>"),
    # Objects outside the cross-reference table: pypdf never reads them, a repairing viewer might.
    S.pdf() + b"99 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\)) >>\nendobj\n%%EOF\n",
    S.pdf() + b"99 0 obj\n<< /S /J#61v#61Script /JS (app.alert\\(1\\)) >>\nendobj\n%%EOF\n",
])
def test_pdf_with_active_content_is_refused(sample: bytes) -> None:
    exc = refused(check_proof, sample)
    assert exc.field == "proofs" and exc.message.startswith(ACTIVE)


def test_object_stream_sample_really_hides_the_script() -> None:
    hidden = S.pdf_with_object_stream(b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>")
    assert b"JavaScript" not in hidden and b"app.alert" not in hidden


@pytest.mark.parametrize("tail", [
    S.zip_archive({"evil.jar": b"\xca\xfe\xba\xbe" * 100}),
    b"<html><script>alert(1)</script></html>",
])
def test_pdf_polyglot_is_refused(tail: bytes) -> None:
    exc = refused(check_proof, S.pdf() + tail)
    assert exc.message.startswith("证明材料文件包含可疑内容")


@pytest.mark.parametrize(("sample", "wanted"), [
    (S.pdf(201), "证明材料 PDF 页数过多（201 页），最多 200 页"),
    (S.pdf(0), "证明材料 PDF 没有页面"),
    (S.text_pdf(3)[:1000], "证明材料 PDF 不完整或已损坏"),  # cut short in transfer
    (b"%PDF-1.7\n" + bytes(np.random.default_rng(5).integers(0, 256, 20000, dtype=np.uint8)) + b"\n%%EOF\n",
     "证明材料 PDF 已损坏"),
    (b"\r\nJUNK" + S.pdf(), "证明材料 PDF 文件头不正确"),
])
def test_bad_pdfs_are_refused(sample: bytes, wanted: str) -> None:
    assert refused(check_proof, sample).message.startswith(wanted)


def _raw_pdf(objects: list[bytes]) -> bytes:
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


PAGE_TREE = [b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", b"<< /Type /Page /Parent 2 0 R >>"]


@pytest.mark.parametrize("sample", [
    _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
              b"<< /Type /Page /Parent 2 0 R >>"]),  # page tree that contains itself
    _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 100_000 + b"]" * 100_000 + b" >>", *PAGE_TREE]),
    _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /X " + b"<< /A " * 20_000 + b"1" + b" >>" * 20_000 + b" >>",
              *PAGE_TREE]),
    _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", *PAGE_TREE] + [b"<< /A 1 >>"] * 60_000),  # object flood
    b"%PDF-1.4\n" + b"1 0 obj\n" * 1_000_000 + b"%%EOF\n",
])
def test_pathological_pdfs_are_refused_quickly(sample: bytes) -> None:
    # CPU time, not wall time: the bound is on the work a hostile PDF causes, which a busy machine's
    # other processes do not change (wall time did: 3.9 s on a 2-core box at load 11).
    started = time.process_time()
    exc = refused(check_proof, sample)
    assert time.process_time() - started < 3.0
    assert exc.message.startswith(("证明材料 PDF 已损坏", "证明材料 PDF 结构过于复杂"))


# --- proofs: images --------------------------------------------------------------------------


def test_png_proof_stays_png_without_metadata() -> None:
    info = PngInfo()
    info.add_text("Author", "secret-author-name")
    data = S.png(300, 400, pnginfo=info)
    checked = check_proof(data, filename="scan.png")
    assert (checked.mime, checked.extension, checked.width, checked.height) == ("image/png", "png", 300, 400)
    assert checked.data.startswith(b"\x89PNG") and b"secret-author-name" not in checked.data
    assert checked.sha256 == hashlib.sha256(checked.data).hexdigest()
    with Image.open(io.BytesIO(checked.data)) as im:
        assert (im.format, im.mode) == ("PNG", "RGB")
        assert np.array_equal(np.asarray(im), np.asarray(S.image(300, 400)))  # lossless


def test_jpeg_proof_stays_jpeg_upright_without_exif() -> None:
    checked = check_proof(S.with_exif_orientation(S.image(400, 300), 6, gps=True), filename="a.jpeg")
    assert (checked.mime, checked.extension, checked.width, checked.height) == ("image/jpeg", "jpg", 300, 400)
    with Image.open(io.BytesIO(checked.data)) as im:
        assert im.format == "JPEG" and not im.getexif()
    assert jpeg_markers(checked.data).count(0xE1) == 0


def test_greyscale_jpeg_proof_stays_greyscale() -> None:
    with Image.open(io.BytesIO(check_proof(S.jpeg(300, 400, "L")).data)) as im:
        assert im.mode == "L"


def test_transparent_png_proof_is_flattened_onto_white() -> None:
    rgba = S.image(200, 200, "RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 0))
    with Image.open(io.BytesIO(check_proof(S.encode(rgba, "PNG")).data)) as im:
        assert im.mode == "RGB" and im.getpixel((10, 10)) == (255, 255, 255)


def test_16_bit_png_proof_is_scaled_not_clipped() -> None:
    sixteen = Image.fromarray(np.full((150, 150), 25600, dtype=np.uint16))
    with Image.open(io.BytesIO(check_proof(S.encode(sixteen, "PNG")).data)) as im:
        assert im.mode == "L" and im.getpixel((5, 5)) == 100


@pytest.mark.parametrize("bomb", [S.png_bomb(50000, 50000), S.png_bomb(7000, 6000), S.jpeg_with_size(8001, 100)])
def test_proof_image_bomb_is_refused_from_the_header(bomb: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    exc = refused(check_proof, bomb)
    assert decoded == []  # refused from the header, never decoded
    assert exc.message.startswith("证明材料图片尺寸过大") and "4000 万" in exc.message


@pytest.mark.parametrize("lenient_pillow", [False, True])
def test_damaged_images_are_refused(lenient_pillow: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Some other code in the process may make Pillow lenient; our own structure checks still hold.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient_pillow)
    png, jpeg = S.png(300, 400), S.jpeg(300, 400)
    flipped = bytearray(png)
    flipped[png.index(b"IDAT") + 500] ^= 0x01  # one bit of image data: the chunk CRC no longer matches
    for sample in (png[:len(png) // 2], bytes(flipped), jpeg[:len(jpeg) * 3 // 4]):
        assert refused(check_proof, sample).message.startswith("证明材料图片已损坏或不完整")
    assert refused(check_photo, jpeg[:len(jpeg) * 3 // 4]).message.startswith(PHOTO_DAMAGED)


def test_tiny_proof_image_is_refused() -> None:
    assert "证明材料图片尺寸过小（80×300 像素）" in refused(check_proof, S.png(80, 300)).message
    assert check_proof(S.png(100, 100)).width == 100


# --- proofs: type and size -------------------------------------------------------------------


@pytest.mark.parametrize(("data", "named"), [
    (S.docx(), "上传的文件实际为 Word 文档（DOCX）"),
    (S.zip_archive({"a.txt": b"hello"}), "上传的文件实际为 ZIP 压缩包"),
    (S.gif(), "上传的文件实际为 GIF 图片"),
    (b"<!DOCTYPE html><html><body>proof</body></html>", "上传的文件实际为 HTML 网页"),
    (b"MZ\x90\x00\x03" + bytes(200), "上传的文件实际为可执行程序"),
    (b"\x7fELF\x02\x01\x01" + bytes(200), "上传的文件实际为可执行程序"),
    (b"plain text, not a document", "无法识别上传的文件格式"),
])
def test_other_types_are_refused_as_proof(data: bytes, named: str) -> None:
    exc = refused(check_proof, data, filename="证明.pdf")
    assert exc.field == "proofs"
    assert exc.message.startswith("证明材料须为 PDF、JPG 或 PNG 文件，") and named in exc.message


def test_proof_size_limit_is_10_mb_inclusive() -> None:
    png = S.png(300, 400)
    end = png.rindex(b"IEND") - 4
    filler = PROOF_MAX_BYTES - len(png) - 12  # a private ancillary chunk pads the PNG to exactly 10 MB
    exact = png[:end] + S.png_chunk(b"zzZz", b"x" * filler) + png[end:]
    assert len(exact) == PROOF_MAX_BYTES and len(check_proof(exact).data) < 1_000_000
    assert refused(check_proof, exact + b"\x00").message == "证明材料不能超过 10 MB"
    assert refused(check_proof, b"").message == "证明材料文件为空，请重新选择"


def test_proof_count_stops_at_ten() -> None:
    assert MAX_PROOFS == 10
    check_proof_count(0, 10)
    check_proof_count(9, 1)
    check_proof_count(10, 0)
    for existing, adding in ((10, 1), (0, 11), (7, 4)):
        with pytest.raises(UploadRejected) as info:
            check_proof_count(existing, adding)
        exc = info.value
        assert (exc.field, exc.message, str(exc)) == ("proofs", "证明材料最多 10 份", "证明材料最多 10 份")


def test_checked_file_is_frozen_and_keeps_bytes_out_of_repr() -> None:
    checked = check_proof(S.pdf())
    with pytest.raises(dataclasses.FrozenInstanceError):
        checked.pages = 5  # type: ignore[misc]
    assert "%PDF" not in repr(checked)


# --- the report length -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "length"), [
    ("a" * 2000, 2000),
    ("a" * 2001, 2001),
    ("考" * 2000, 2000),
    ("👨\u200d👩\u200d👧", 1),  # a family joined with zero-width joiners
    ("e\u0301", 1),  # e + combining acute
    ("\r\n", 1),
    ("\n", 1),
    ("第1行\r\n第2行", 7),
    ("🇨🇳", 1),  # a flag is two regional indicators
    ("", 0),
])
def test_report_length_counts_what_the_reader_sees(text: str, length: int) -> None:
    assert report_length(text) == length


def test_report_limit() -> None:
    assert REPORT_MAX == 2000
    assert report_length("医" * REPORT_MAX) <= REPORT_MAX < report_length("医" * REPORT_MAX + "👍🏽")
