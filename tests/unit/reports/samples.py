"""Documents to render in tests: a synthetic photo (solid green, easy to find on a page) and a
red seal with transparency."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image, ImageDraw

from reports import CertificateFacts, Issuer, PaperResult, Physician, ResultFacts, sign, verification_url

GREEN = (0, 170, 80)
RARE_NAME = "龘𠮷䶮"
KEY = b"0" * 32


def photo_jpeg() -> bytes:
    im = Image.new("RGB", (300, 400), GREEN)
    ImageDraw.Draw(im).ellipse((90, 80, 210, 220), fill=(230, 200, 170))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92)
    return out.getvalue()


def seal_png() -> bytes:
    im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((10, 10, 390, 390), outline=(220, 0, 0, 255), width=24)
    d.regular_polygon((200, 200, 80), 5, fill=(220, 0, 0, 255))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def physician(name: str = RARE_NAME, photo: bool = True) -> Physician:
    return Physician(name=name, id_number_masked="1101*****1X", practice_category="临床", practice_scope="内科",
                     institution="北京市朝阳区第一人民医院", photo_jpeg=photo_jpeg() if photo else None)


def facts_for(number: str, name: str = RARE_NAME) -> dict[str, str]:
    return {"number": number, "name": name, "id": "1101*****1X", "category": "临床", "scope": "内科",
            "cycle": "2024—2026年度", "procedure": "一般程序", "result": "合格", "body": "北京市考核办", "issued": "2026-11-30"}


def certificate(*, number: str = "DK2026ABCDEFGH23", seal: bool = True, name: str = RARE_NAME) -> CertificateFacts:
    return CertificateFacts(
        number=number, physician=physician(name), issuer=Issuer(name="北京市考核办", seal_png=seal_png() if seal else None),
        cycle="2024—2026年度", procedure="一般程序", issued_on=dt.date(2026, 11, 30),
        verify_url=verification_url("https://dk.example.cn", number, sign(facts_for(number, name), KEY)),
    )


def notice(*, passed: bool = False) -> ResultFacts:
    return ResultFacts(
        physician=physician(), issuer=Issuer(name="北京市考核办", seal_png=seal_png()), cycle="2024—2026年度",
        procedure="一般程序", passed=passed, work_rating="合格", ethics_rating="合格" if passed else "不合格",
        papers=(PaperResult(title="医学人文测评", score=72.5, pass_mark=60, full_mark=100),
                PaperResult(title="业务水平测评（临床）", waived=True)),
        exemptions=("住培合格",), reasons=() if passed else ("职业道德评定为不合格",),
        review_note=None if passed else "复核维持原结论", issued_on=dt.date(2026, 11, 30),
    )
