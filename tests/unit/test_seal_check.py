"""The body's seal upload is judged by content: real images pass (paper made transparent),
anything else, including damaged files and decompression bombs, is refused with a reason."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from exam_server.results.seals import check_seal
from exam_server.registration.uploads import UploadRejected


def _seal(fmt: str) -> bytes:
    mode, paper = ("RGBA", (0, 0, 0, 0)) if fmt == "PNG" else ("RGB", (255, 255, 255))
    im = Image.new(mode, (240, 240), paper)
    ImageDraw.Draw(im).ellipse((10, 10, 230, 230), outline=(210, 0, 0), width=18)
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


PNG, JPEG = _seal("PNG"), _seal("JPEG")


def test_png_and_jpeg_seals_become_transparent_pngs():
    for data in (PNG, JPEG):
        png, w, h = check_seal(data)
        im = Image.open(io.BytesIO(png))
        assert im.format == "PNG" and im.mode == "RGBA" and (w, h) == (240, 240)
        assert im.getpixel((120, 120))[3] == 0  # the paper in the middle is transparent
        assert im.getpixel((120, 14))[3] == 255  # the red ring is not


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("data,words", [
    (b"", "请选择"), (b"GIF89a" + b"\x00" * 100, "不是图片"), (b"%PDF-1.4", "不是图片"),
    (_png_claiming(50_000, 50_000), "尺寸过大"), (_png_claiming(5000, 1), "尺寸过大"), (_png_claiming(50, 50), "过小"),
    (PNG[:200], "损坏"), (b"x" * (3 * 1024 * 1024), "不能超过"),
])
def test_bad_seals_are_refused_with_a_reason(data, words):
    with pytest.raises(UploadRejected) as err:
        check_seal(data)
    assert words in err.value.message and err.value.field == "seal"


def test_a_blank_image_is_not_a_seal():
    out = io.BytesIO()
    Image.new("RGBA", (200, 200), (0, 0, 0, 0)).save(out, "PNG")
    with pytest.raises(UploadRejected) as err:
        check_seal(out.getvalue())
    assert "空白" in err.value.message


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from([PNG, JPEG]), st.integers(min_value=0, max_value=10**6), st.binary(min_size=1, max_size=16),
       st.booleans())
def test_damaged_seals_are_refused_or_accepted_never_crash(base, where, noise, cut):
    pos = where % len(base)
    data = base[:pos] if cut else base[:pos] + noise + base[pos + len(noise):]
    try:
        check_seal(data)
    except UploadRejected as err:
        assert err.message
