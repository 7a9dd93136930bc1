"""reports benchmarks: 1,000 certificates as PDF; 100,000 result rows exported to XLSX.

Run: python benchmarks/reports_bench.py
Targets: certificates < 30 s; export < 30 s with peak memory < 500 MB.
Certificates are drawn in one worker process per core (reports.render_certificates(processes=...)).
The export runs in a child process so its peak resident memory is its own.
Last line: {"certificates", "certificates_s", "export_rows", "export_s", "export_peak_mb"}.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from reports import (  # noqa: E402
    RESULT_COLUMNS, CertificateFacts, Issuer, Physician, new_certificate_number, render_certificates,
    sign, verification_url, write_xlsx,
)

N_CERTS = 1_000
N_ROWS = 100_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞宇浩然欣怡子涵梓轩一诺思远晨曦雨桐博文嘉怡佳琪俊杰"
RARE = ["龘", "𠮷", "䶮", "堃", "喆", "赟", "珺", "镕"]


def _photo() -> bytes:
    im = Image.new("RGB", (300, 400), (245, 245, 250))
    d = ImageDraw.Draw(im)
    d.ellipse((90, 80, 210, 220), fill=(210, 170, 140))
    d.rectangle((60, 250, 240, 400), fill=(40, 60, 120))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def _seal() -> bytes:
    im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((10, 10, 390, 390), outline=(210, 20, 20, 230), width=16)
    d.regular_polygon((200, 200, 70), 5, fill=(210, 20, 20, 230))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _name(i: int) -> str:
    given = GIVEN[(i * 7) % len(GIVEN)] + ("" if i % 3 == 0 else GIVEN[(i * 13) % len(GIVEN)])
    if i % 50 == 0:  # one in fifty names holds a rare character
        given = RARE[(i // 50) % len(RARE)] + given[:1]
    return SURNAMES[i % len(SURNAMES)] + given


def bench_certificates() -> tuple[int, float]:
    key = b"k" * 32
    photo, issuer = _photo(), Issuer(name="北京市医师定期考核委员会办公室", seal_png=_seal())
    items = []
    for i in range(N_CERTS):
        number = new_certificate_number(2026)
        p = Physician(name=_name(i), id_number_masked="1101*****1X", practice_category="临床",
                      practice_scope="内科", institution=f"北京市第{i % 40 + 1}人民医院", photo_jpeg=photo)
        facts = {"number": number, "name": p.name, "id": p.id_number_masked, "category": "临床", "scope": "内科",
                 "cycle": "2024—2026年度", "procedure": "一般程序", "result": "合格", "body": issuer.name, "issued": "2026-11-30"}
        items.append(CertificateFacts(number=number, physician=p, issuer=issuer, cycle="2024—2026年度", procedure="一般程序",
                                      issued_on=dt.date(2026, 11, 30),
                                      verify_url=verification_url("https://dingkao.example.cn", number, sign(facts, key))))
    start = time.perf_counter()
    cpu_start = _cpu()
    total = 0
    for _, pdf in render_certificates(items, processes=os.cpu_count() or 1):
        assert pdf.startswith(b"%PDF")
        total += 1
    # CPU seconds (this process and its workers) tell what the wall time means on a busy machine.
    print(f"certificates: {_cpu() - cpu_start:.1f} CPU s on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    return total, time.perf_counter() - start


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rows():
    for i in range(N_ROWS):
        yield {"name": _name(i), "id_number": "1101*****1X", "institution": f"北京市第{i % 40 + 1}人民医院",
               "category": "临床", "scope": "内科", "procedure": "一般程序" if i % 4 else "简易程序",
               "state": "考核合格" if i % 9 else "考核不合格", "work_rating": "合格", "ethics_rating": "合格",
               "result": "合格" if i % 9 else "不合格", "published": True, "certificate": f"DK2026{i:010d}"}


def export_child() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu_start = time.perf_counter(), time.process_time()
        rows = write_xlsx(Path(tmp) / "results.xlsx", [("考核结果", RESULT_COLUMNS, _rows())])
        seconds = time.perf_counter() - start
        print(f"export: {time.process_time() - cpu_start:.1f} CPU s, load {os.getloadavg()[0]:.1f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"export_rows": rows, "export_s": round(seconds, 2), "export_peak_mb": round(peak_mb, 1)}))


def main() -> None:
    logging.disable(logging.WARNING)
    if sys.argv[1:] == ["--export-child"]:
        export_child()
        return
    done = subprocess.run([sys.executable, __file__, "--export-child"], capture_output=True, text=True, check=True)
    print(done.stdout.strip().splitlines()[0])
    export = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"export: {export['export_rows']} rows in {export['export_s']} s, peak {export['export_peak_mb']} MB")
    count, seconds = bench_certificates()
    print(f"certificates: {count} in {seconds:.1f} s ({seconds / count * 1000:.0f} ms each)")
    print(json.dumps({"certificates": count, "certificates_s": round(seconds, 2), **export}))


if __name__ == "__main__":
    main()
