"""The PDFs: rendered to PNG with pdftoppm (poppler-utils) and looked at, text layer read with
pypdf. The rendered pages are kept under /tmp/dingkao-report-pages for a person to look at."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from reports import (
    NO_SEAL_TEXT, ImageError, UnprintableText, missing_characters, render_certificate, render_certificates,
    render_result_notice,
)

from .samples import GREEN, RARE_NAME, certificate, notice

PAGES = Path("/tmp/dingkao-report-pages")
A4_MM = (210, 297)


def _png(pdf: bytes, name: str, dpi: int = 60) -> Image.Image:
    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm (poppler-utils) is missing: scripts/test.sh installs it")
    PAGES.mkdir(exist_ok=True)
    src = PAGES / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(src), str(PAGES / name)], check=True)
    return Image.open(PAGES / f"{name}.png").convert("RGB")


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _count(img: Image.Image, box_mm: tuple[float, float, float, float], test) -> int:
    w, h = img.size
    x0, y0, x1, y1 = (int(v * (w / A4_MM[0] if i % 2 == 0 else h / A4_MM[1])) for i, v in enumerate(box_mm))
    import numpy as np

    return int(test(np.asarray(img.crop((x0, y0, x1, y1))).astype(int)).sum())


def _green(px):
    return (abs(px[..., 0] - GREEN[0]) < 40) & (abs(px[..., 1] - GREEN[1]) < 40) & (abs(px[..., 2] - GREEN[2]) < 40)


def _red(px):
    return (px[..., 0] > 180) & (px[..., 1] < 90) & (px[..., 2] < 90)


@pytest.fixture(scope="module")
def cert_pdf() -> bytes:
    return render_certificate(certificate())


def test_certificate_is_one_a4_page_with_embedded_fonts(cert_pdf):
    reader = PdfReader(io.BytesIO(cert_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == A4_MM
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    for font in fonts:  # every font is embedded (type 0 with a descendant that has a font file)
        descendant = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"]


def test_certificate_text_layer_holds_rare_name_and_number(cert_pdf):
    text = _text(cert_pdf)
    assert RARE_NAME in text
    assert "DK2026ABCDEFGH23" in text
    for words in ("医师定期考核合格证书", "1101*****1X", "临床", "内科", "2024—2026年度", "一般程序", "北京市考核办", "2026年11月30日"):
        assert words in text
    assert NO_SEAL_TEXT not in text


def test_certificate_page_shows_photo_seal_and_qr(cert_pdf):
    img = _png(cert_pdf, "certificate")
    assert _count(img, (152, 66, 182, 106), _green) > 200  # the photo in its frame
    assert _count(img, (0, 0, 140, 297), _green) == 0  # and nowhere else
    assert _count(img, (138, 196, 188, 244), _red) > 100  # the seal over the body's name
    dark = _count(img, (28, 205, 62, 239), lambda px: px.sum(axis=-1) < 150)
    assert dark > 300  # the QR code's modules


def test_certificate_qr_decodes_to_the_verification_url(cert_pdf):
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    img = _png(cert_pdf, "certificate-qr", dpi=200)
    found, _, _ = cv2.QRCodeDetector().detectAndDecode(np.array(img)[:, :, ::-1])
    assert found == certificate().verify_url


def test_certificate_without_seal_says_it_is_not_valid():
    pdf = render_certificate(certificate(seal=False))
    assert NO_SEAL_TEXT in _text(pdf)
    img = _png(pdf, "certificate-no-seal")
    assert _count(img, (138, 196, 188, 244), _red) == 0
    assert _count(img, (20, 250, 190, 265), _red) > 50  # the warning is printed in red


def test_result_notice_lists_papers_scores_pass_marks_and_exemptions():
    pdf = render_result_notice(notice())
    text = _text(pdf)
    for words in ("医师定期考核结果通知书", RARE_NAME, "医学人文测评", "72.5", "60/100", "业务水平测评（临床）", "免考",
                  "住培合格", "考核结果：不合格", "职业道德评定为不合格", "复核维持原结论"):
        assert words in text, words
    img = _png(pdf, "notice")
    assert _count(img, (158, 42, 188, 82), _green) > 200


def test_batch_renders_many_with_one_font_cut():
    items = [certificate(number=f"DK2026ABCDEFGH{i:02d}", name=n) for i, n in enumerate(["王伟", "欧阳𠮷", "李䶮", "赵龘"])]
    out = list(render_certificates(items, batch=3))
    assert [c.number for c, _ in out] == [c.number for c in items]
    for c, pdf in out:
        assert c.physician.name in _text(pdf)


def test_a_batch_shares_parsed_fonts_and_the_seal_but_each_page_keeps_its_own_photo_and_glyphs():
    # Fonts are parsed once per batch and the seal decoded once; each document must still embed only
    # its own glyphs (another physician's name is not in its text layer) and its own photo.
    from dataclasses import replace

    blue = Image.new("RGB", (300, 400), (20, 40, 200))
    buf = io.BytesIO()
    blue.save(buf, "JPEG", quality=92)
    first = certificate(number="DK2026ABCDEFGH01", name="王龘")
    second = certificate(number="DK2026ABCDEFGH02", name="李𠮷䶮")
    second = replace(second, physician=replace(second.physician, photo_jpeg=buf.getvalue()))
    (_, pdf1), (_, pdf2), (_, pdf3) = render_certificates([first, second, certificate(number="DK2026ABCDEFGH03", name="赵伟")])
    assert "王龘" in _text(pdf1) and "李𠮷䶮" not in _text(pdf1)
    assert "李𠮷䶮" in _text(pdf2) and "王龘" not in _text(pdf2)
    img1, img2, img3 = _png(pdf1, "batch-1"), _png(pdf2, "batch-2"), _png(pdf3, "batch-3")
    photo_box = (152, 66, 182, 106)
    assert _count(img1, photo_box, _green) > 200 and _count(img2, photo_box, _green) == 0
    assert all(_count(img, (138, 196, 188, 244), _red) > 100 for img in (img1, img2, img3))  # the shared seal
    assert len(pdf3) < 60_000  # per-document font subsets, not the whole batch cut


def test_every_drawn_character_is_in_the_cut_fonts(caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="fpdf"):
        render_certificate(certificate())
        render_certificate(certificate(seal=False))
        render_result_notice(notice())
        render_result_notice(notice(passed=True))
    assert not [r for r in caplog.records if "missing" in r.getMessage()]


def test_worker_processes_give_the_same_documents_in_order():
    items = [certificate(number=f"DK2026ABCDEFGH{i:02d}", name=n) for i, n in enumerate(["王伟", "欧阳𠮷", "李䶮"])]
    out = list(render_certificates(items, processes=2))
    assert [c.number for c, _ in out] == [c.number for c in items]
    assert all(c.physician.name in _text(pdf) for c, pdf in out)


def test_characters_no_font_has_are_refused_not_printed_as_boxes():
    assert missing_characters("王伟龘𠮷䶮") == ""
    assert missing_characters("王\U000F0000") == "\U000F0000"  # private use plane
    with pytest.raises(UnprintableText) as err:
        render_certificate(certificate(name="王\U000F0000"))
    assert "U+F0000" in err.value.message_zh


@pytest.mark.parametrize("photo", [b"", b"not an image", b"\xff\xd8\xff" + b"\x00" * 100])
def test_a_broken_photo_is_a_clear_error(photo):
    from dataclasses import replace

    c = certificate()
    bad = replace(c, physician=replace(c.physician, photo_jpeg=photo or b"x"))
    with pytest.raises(ImageError) as err:
        render_certificate(bad)
    assert "照片" in err.value.message_zh


def test_without_a_photo_the_box_says_so_in_printable_text():
    # Every drawn text must be in the cut fonts: a page a font lacks glyphs for is refused, so
    # the placeholder text is part of the fixed text too.
    from dataclasses import replace

    from .samples import physician

    c = replace(certificate(), physician=physician(photo=False))
    assert "（无照片）" in _text(render_certificate(c))
    n = replace(notice(), physician=physician(photo=False))
    assert "（无照片）" in _text(render_result_notice(n))
