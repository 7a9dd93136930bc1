"""Every spreadsheet and archive upload passes one guard before a parser opens it (issue 21): a generated
XLSX bomb (300 MB of sheet XML in a file of a few hundred KB) is refused by the staff-account import as it
was by the question importer, from the zip's directory, with nothing unpacked; and an endpoint that takes
no body refuses one by its headers, before reading it. Both backends.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from exam_server.web.params import check_archive

from ..flows import upload

BOMB_SHEET_MB = 300


@pytest.fixture(scope="module")
def xlsx_bomb() -> bytes:
    """A well-formed XLSX whose one sheet unpacks to 300 MB (rows of the same cell, deflated ~1000:1)."""
    out = io.BytesIO()
    row = b'<row><c t="inlineStr"><is><t>bomb</t></is></c></row>' * 1000
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            written = 0
            while written < BOMB_SHEET_MB * 1024 * 1024:
                sheet.write(row)
                written += len(row)
            sheet.write(b"</sheetData></worksheet>")
    data = out.getvalue()
    assert len(data) < 2 * 1024 * 1024, len(data)
    return data


def test_the_guard_reads_only_the_directory(xlsx_bomb: bytes) -> None:
    from exam_server.web.errors import ApiError

    with pytest.raises(ApiError) as refused:
        check_archive(xlsx_bomb, "账户文件")
    assert refused.value.status == 413 and ("压缩炸弹" in refused.value.message or "过大" in refused.value.message)
    check_archive(b"not a zip at all", "账户文件")  # not an archive: left to the parser


async def test_every_spreadsheet_import_refuses_the_bomb(client, xlsx_bomb: bytes) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    for path in ("/api/v1/admin/staff-accounts/import", "/api/v1/admin/question-banks/import?bank=炸弹",
                 "/api/v1/admin/import-jobs?bank=炸弹"):
        status, body = await upload(client, path, "file", xlsx_bomb, "bomb.xlsx")
        assert status == 413 and body["error"]["code"] == "too_large", (path, body)
        assert "压缩炸弹" in body["error"]["message"] or "过大" in body["error"]["message"], (path, body)
    status, banks = await client.get("/api/v1/admin/question-banks")
    assert all(b["name"] != "炸弹" for b in banks["items"]), banks


async def test_a_body_sent_to_an_endpoint_that_takes_none_is_refused_unread(client, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await make_client()
    await doctor.login_physician(0)
    await doctor.ensure_csrf()
    big = b"x=" + b"y" * (10 * 1024 * 1024)
    for path in ("/api/v1/auth/logout", "/api/v1/messages/read"):
        status, body = await doctor.request("POST", path, data=big,
                                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 413 and body["error"]["code"] == "too_large", (path, status, body)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(4):
            yield b"z" * 1024

    status, body = await doctor.request("POST", "/api/v1/messages/read", data=chunks(),
                                        headers={"Content-Type": "application/octet-stream"})
    assert status == 413, body  # chunked: no length to trust, refused all the same
    # Still logged in: the refused logout did nothing. An empty object, as pages send, is fine.
    assert (await doctor.get("/api/v1/me"))[0] == 200
    status, body = await doctor.post("/api/v1/auth/logout", {})
    assert status == 200, body
    assert (await doctor.get("/api/v1/me"))[0] == 401
