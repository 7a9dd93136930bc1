"""Demo data for `dingkao demo`: organisations, one account per role, physicians, the current cycle."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import math

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import master_data
from registry.codes import DEFAULT_EXEMPTION_CONDITIONS
from registry.db import make_engine, make_sessionmaker, utcnow
from registry.idcard import check_digit
from registry.models import (Account, AssessmentBody, Cycle, Department, ExemptionCondition, HealthAdministration,
                             Institution, Physician, Region, Registration)
from registry.passwords import hash_password
from registry.roles import ROLE_NAMES_ZH, Role
from registry.staff_accounts import Organisations
from registry.states import STATE_WORDS, State

from ..settings import Settings

STAFF_PASSWORD = "Dingkao2026"


def demo_id_number(area: str, born: dt.date, seq: int) -> str:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


INSTITUTIONS = [
    ("INST001", "滨海市第一人民医院", "120101", "滨海市和平区", "BODY01", "滨海市医师定期考核中心"),
    ("INST002", "滨海市口腔医院", "120101", "滨海市和平区", "BODY01", "滨海市医师定期考核中心"),
    ("INST003", "临江县中医医院", "120225", "滨海市临江县", "BODY02", "临江县医师定期考核办公室"),
]
# Every institution needs departments: a physician picks one in step 2 of registration.
DEPARTMENTS = {"INST001": ["内科", "外科", "妇产科", "儿科", "急诊科"], "INST002": ["口腔科"],
               "INST003": ["内科", "针灸科", "康复科"]}

PHYSICIANS = [
    # name, born, seq, institution, category, scope, qualification, practice, first practice
    ("张晓明", dt.date(1985, 3, 12), 13, "INST001", "临床", "内科", "2008", dt.date(2009, 7, 1)),
    ("李欣欣", dt.date(1992, 2, 22), 28, "INST001", "临床", "外科", "2015", dt.date(2016, 9, 1)),
    ("王建国", dt.date(1970, 11, 5), 57, "INST001", "临床", "儿科", "1994", dt.date(1995, 8, 1)),
    ("赵丽", dt.date(1988, 6, 30), 42, "INST001", "临床", "妇产科", "2012", dt.date(2013, 3, 1)),
    ("陈晨", dt.date(1995, 1, 18), 64, "INST002", "口腔", "口腔", "2019", dt.date(2020, 1, 1)),
    ("刘洋", dt.date(1983, 9, 9), 75, "INST002", "口腔", "口腔", "2007", dt.date(2008, 10, 1)),
    ("孙海燕", dt.date(1979, 4, 2), 86, "INST003", "中医", "中医", "2003", dt.date(2004, 6, 1)),
]


def physicians_csv(rows: list[tuple] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(master_data.PHYSICIAN_COLUMNS) + ["执业范围", "首次执业日期"])
    for name, born, seq, inst, cat, scope, year, start in (PHYSICIANS if rows is None else rows):
        number = demo_id_number("120101", born, seq)
        writer.writerow([name, "居民身份证", number, f"{year}{number[-8:]}", f"1{year}{number[-9:]}", inst, cat,
                         scope, start.isoformat()])
    return out.getvalue().encode("utf-8-sig")


def institutions_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(master_data.INSTITUTION_COLUMNS)
    writer.writerows(INSTITUTIONS)
    return out.getvalue().encode("utf-8-sig")


STAFF = [
    # username, display name, role, institution code, body code, region code
    ("inst01", "滨海一院定考负责人", Role.INSTITUTION, "INST001", None, None),
    ("inst02", "滨海口腔定考负责人", Role.INSTITUTION, "INST002", None, None),
    ("inst03", "临江中医定考负责人", Role.INSTITUTION, "INST003", None, None),
    ("body01", "滨海市考核中心", Role.BODY, None, "BODY01", None),
    ("body02", "临江县考核办", Role.BODY, None, "BODY02", None),
    ("health01", "和平区卫生健康委", Role.HEALTH_ADMIN, None, None, "120101"),
    ("proctor01", "监考员王老师", Role.INVIGILATOR, None, "BODY01", None),
    ("admin", "系统管理员", Role.ADMIN, None, None, None),
]

BODY_CONTACTS = {
    "BODY01": "电话 022-23456789（工作日 8:30—17:00），滨海市和平区南京路 88 号 3 楼",
    "BODY02": "电话 022-29876543（工作日 9:00—17:00），临江县人民路 12 号",
}


async def seed_demo(settings: Settings) -> bool:
    """Seed once; returns False when the demo data is already there."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if await session.scalar(select(Account).where(Account.username == "admin")):
                await _add_missing_departments(session)
                return False
            await master_data.import_institutions(session, "demo-institutions.csv", institutions_csv(), actor_id=None)
            await master_data.import_physicians(session, "demo-physicians.csv", physicians_csv(), actor_id=None,
                                                initial_password=settings.initial_password)
            insts = {i.code: i for i in (await session.scalars(select(Institution))).all()}
            for code, names in DEPARTMENTS.items():
                session.add_all(Department(institution_id=insts[code].id, name=n) for n in names)
            regions = {r.code: r for r in (await session.scalars(select(Region))).all()}
            session.add(HealthAdministration(name="滨海市和平区卫生健康委员会", region_id=regions["120101"].id))
            bodies = {i.body.code: i.body for i in insts.values()}
            for code, contact in BODY_CONTACTS.items():
                bodies[code].contact = contact
            today = dt.date.today()
            start_year = today.year - (today.year - 2024) % 3
            session.add(Cycle(name=f"{start_year}—{start_year + 2} 年度", starts_on=dt.date(start_year, 1, 1),
                              ends_on=dt.date(start_year + 2, 12, 31), is_current=True))
            session.add_all(ExemptionCondition(code=c, name=n) for c, n in DEFAULT_EXEMPTION_CONDITIONS)
            staff_hash = hash_password(STAFF_PASSWORD)
            for username, display, role, inst, body, region in STAFF:
                session.add(Account(
                    role=role, username=username, display_name=display, password_hash=staff_hash,
                    must_change_password=False, phone="13800000000", phone_verified_at=utcnow(),
                    institution_id=insts[inst].id if inst else None, body_id=bodies[body].id if body else None,
                    region_id=regions[region].id if region else None))
            await session.flush()
            await _seed_seal(session, settings, bodies["BODY01"])
        from .banks import seed_question_banks

        await seed_question_banks(settings)
        return True
    finally:
        await engine.dispose()


async def _seed_seal(session: AsyncSession, settings: Settings, body: AssessmentBody) -> None:
    """A drawn seal for BODY01, so its passes can be published with valid certificates; BODY02 is left
    without one, so the demo also shows how publication refuses then."""
    from PIL import Image, ImageDraw

    from ..infra.storage import LocalFileStorage
    from ..results.models import BodySeal
    from ..results.seals import check_seal

    im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.ellipse((12, 12, 388, 388), outline=(200, 16, 16, 255), width=18)
    star = [(200 + r * math.cos(math.radians(-90 + 36 * i)), 200 + r * math.sin(math.radians(-90 + 36 * i)))
            for i, r in enumerate([90, 36] * 5)]
    draw.polygon(star, fill=(200, 16, 16, 255))
    raw = io.BytesIO()
    im.save(raw, "PNG")
    png, width, height = check_seal(raw.getvalue())
    key = await LocalFileStorage(settings.storage_dir).put(png, prefix="seals")
    officer = await session.scalar(select(Account.id).where(Account.body_id == body.id, Account.role == Role.BODY))
    session.add(BodySeal(body_id=body.id, storage_key=key, sha256=hashlib.sha256(png).hexdigest(), width=width,
                         height=height, uploaded_by=officer))


async def _add_missing_departments(session: AsyncSession) -> None:
    """Demo databases seeded before every institution had departments get them now."""
    for code, names in DEPARTMENTS.items():
        inst = await session.scalar(select(Institution).where(Institution.code == code))
        if inst is not None and not await session.scalar(select(Department.id).where(
                Department.institution_id == inst.id).limit(1)):
            session.add_all(Department(institution_id=inst.id, name=n) for n in names)


async def demo_logins(settings: Settings) -> list[str]:
    """Every seeded login with its institution and where it stands now (lists mask ID numbers)."""
    engine = make_engine(settings.database_url)
    lines = [f"医师（证件号码 + 初始密码 {settings.initial_password}；首次登录须改密并绑定手机，验证码见 /demo/sms）："]
    try:
        async with make_sessionmaker(engine)() as session:
            cycle = await session.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
            for name, born, seq, *_ in PHYSICIANS:
                number = demo_id_number("120101", born, seq)
                row = (await session.execute(
                    select(Physician, Account).join(Account, Account.physician_id == Physician.id)
                    .where(Physician.id_number == number))).first()
                if row is None:
                    continue
                physician, account = row
                reg = await session.scalar(select(Registration).where(
                    Registration.physician_id == physician.id, Registration.cycle_id == (cycle.id if cycle else -1)))
                stage = STATE_WORDS[State(reg.state) if reg else State.NOT_OPENED]
                if account.must_change_password:
                    stage += "，尚未首次登录"
                lines.append(f"  {name:<4} {number}  {physician.institution.name}  {stage}")
            lines.append(f"工作人员（用户名 + 密码 {STAFF_PASSWORD}，已改过的以新密码为准）：")
            orgs = await Organisations.load(session)
            for username, display, role, inst, body, region in STAFF:
                kind, code = next(((k, c) for k, c in (("institution", inst), ("body", body), ("region", region))
                                   if c), ("", ""))
                found = orgs.by_kind[kind].get(code) if kind else None
                org = found.name if found else (code or "全部")
                lines.append(f"  {username:<10} {ROLE_NAMES_ZH[role]:<8} {display}（{org}）")
    finally:
        await engine.dispose()
    return lines


def print_logins(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}/login"
    print(f"\n定考通演示系统已就绪 / Dingkao demo is ready: {url}\n")
    for line in asyncio.run(demo_logins(settings)):
        print(line)
    print("同一台电脑在演示模式下获取验证码不受每小时 5 次的限制（生产环境仍限制每个网络地址）。")
    print(flush=True)
