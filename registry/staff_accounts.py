"""Staff accounts (系统管理): created, edited, disabled and re-enabled by whoever manages them.

The admin manages every staff account; an assessment body manages the officers of the institutions
under it and its own invigilators. A new or reset account gets a one-time password, returned once to
be shown once, and must change it at first login like a physician.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .errors import InvalidInput, NotFound, PermissionDenied
from .master_data import ImportRejected, RowProblem
from .models import Account, AssessmentBody, Institution, Region
from .passwords import hash_password
from .roles import ROLE_NAMES_ZH, Role
from .scope import Actor, ensure_role
from .tabular import Row, read_table

STAFF_ROLES = (Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.INVIGILATOR, Role.ADMIN)
# What each staff role is bound to: an institution, an assessment body, a region, or nothing.
ORGANISATION_OF = {Role.INSTITUTION: "institution", Role.BODY: "body", Role.HEALTH_ADMIN: "region",
                   Role.INVIGILATOR: "body", Role.ADMIN: None}
ORGANISATION_WORDS = {"institution": "医疗卫生机构", "body": "考核机构", "region": "地区"}
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{2,31}$")
USERNAME_RULE = "用户名应为 3-32 位字母、数字或 _ . -，以字母开头"
MAX_IMPORT_ROWS = 2000
IMPORT_COLUMNS = ("用户名", "姓名", "角色")
ORGANISATION_COLUMN = "所属单位编码"
# Role column of an import: the Chinese role names, a few everyday ones, or the code.
ROLE_ALIASES: dict[str, Role] = {
    **{ROLE_NAMES_ZH[r]: r for r in STAFF_ROLES}, **{r.value: r for r in STAFF_ROLES},
    "定考负责人": Role.INSTITUTION, "机构定考负责人": Role.INSTITUTION, "卫健委": Role.HEALTH_ADMIN,
    "管理员": Role.ADMIN,
}
_OTP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def one_time_password(length: int = 12) -> str:
    """Random, readable (no 0/O, 1/l/I), and always meeting the password rules (letters and digits)."""
    while True:
        pw = "".join(secrets.choice(_OTP_ALPHABET) for _ in range(length))
        if re.search(r"[A-Za-z]", pw) and re.search(r"\d", pw):
            return pw


def roles_managed_by(actor: Actor) -> tuple[Role, ...]:
    if actor.role is Role.ADMIN:
        return STAFF_ROLES
    if actor.role is Role.BODY:
        return (Role.INSTITUTION, Role.INVIGILATOR)
    return ()


def managed_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Account selecting the staff accounts the actor manages."""
    if actor.role is Role.ADMIN:
        return Account.role != Role.PHYSICIAN
    if actor.role is Role.BODY and actor.body_id is not None:
        own_institutions = select(Institution.id).where(Institution.body_id == actor.body_id)
        return or_(and_(Account.role == Role.INSTITUTION, Account.institution_id.in_(own_institutions)),
                   and_(Account.role == Role.INVIGILATOR, Account.body_id == actor.body_id))
    return false()


@dataclass(frozen=True, slots=True)
class Organisation:
    kind: str
    id: int
    code: str
    name: str
    body_id: int | None = None  # the body an institution is under

    def columns(self) -> dict[str, int | None]:
        return {"institution_id": self.id if self.kind == "institution" else None,
                "body_id": self.id if self.kind == "body" else None,
                "region_id": self.id if self.kind == "region" else None}


class Organisations:
    """Every institution, body and region by code, loaded once (imports look up many rows)."""

    def __init__(self, institutions: list[Institution], bodies: list[AssessmentBody], regions: list[Region]) -> None:
        self.by_kind: dict[str, dict[str, Organisation]] = {
            "institution": {i.code: Organisation("institution", i.id, i.code, i.name, i.body_id) for i in institutions},
            "body": {b.code: Organisation("body", b.id, b.code, b.name) for b in bodies},
            "region": {r.code: Organisation("region", r.id, r.code, r.name) for r in regions},
        }
        self.by_id = {(o.kind, o.id): o for kind in self.by_kind.values() for o in kind.values()}

    @classmethod
    async def load(cls, session: AsyncSession) -> "Organisations":
        return cls(list((await session.scalars(select(Institution).order_by(Institution.code))).all()),
                   list((await session.scalars(select(AssessmentBody).order_by(AssessmentBody.code))).all()),
                   list((await session.scalars(select(Region).order_by(Region.code))).all()))

    def of(self, account: Account) -> Organisation | None:
        kind = ORGANISATION_OF.get(Role(account.role))
        if kind is None:
            return None
        return self.by_id.get((kind, getattr(account, f"{kind}_id")))

    def resolve(self, role: Role, code: str) -> tuple[Organisation | None, str | None]:
        """The organisation a role is bound to, or why the code does not name one."""
        kind = ORGANISATION_OF[role]
        if kind is None:
            return (None, "系统管理员不属于任何单位，请留空") if code else (None, None)
        if not code:
            return None, f"请选择{ROLE_NAMES_ZH[role]}账户所属的{ORGANISATION_WORDS[kind]}"
        found = self.by_kind[kind].get(code)
        if found is None:
            return None, f"{ORGANISATION_WORDS[kind]}“{code[:32]}”不存在"
        return found, None


def _may_bind(actor: Actor, role: Role, org: Organisation | None) -> bool:
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.BODY and org is not None:
        if role is Role.INSTITUTION:
            return org.kind == "institution" and org.body_id == actor.body_id
        if role is Role.INVIGILATOR:
            return org.kind == "body" and org.id == actor.body_id
    return False


def _manages(actor: Actor, account: Account, orgs: Organisations) -> bool:
    if account.role == Role.PHYSICIAN:
        return False
    return Role(account.role) in roles_managed_by(actor) and _may_bind(actor, Role(account.role), orgs.of(account))


def username_problem(username: str) -> str | None:
    return None if USERNAME.match(username) else USERNAME_RULE


def display_name_problem(name: str) -> str | None:
    if not name.strip():
        return "请填写姓名或名称"
    if len(name) > 64:
        return "姓名或名称不能超过 64 个字"
    if any(not ch.isprintable() for ch in name):
        return "姓名或名称含有不可见字符"
    return None


async def _username_taken(session: AsyncSession, username: str) -> bool:
    # Case-insensitively, so "Inst01" cannot pose as "inst01".
    return bool(await session.scalar(select(Account.id).where(func.lower(Account.username) == username.lower())))


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: int
    username: str
    display_name: str
    role: str
    role_name: str
    organisation_code: str | None
    organisation_name: str | None
    is_active: bool
    must_change_password: bool
    phone_bound: bool
    created_at: dt.datetime


def _row(account: Account, orgs: Organisations) -> StaffRow:
    org = orgs.of(account)
    return StaffRow(account.id, account.username or "", account.display_name, account.role,
                    ROLE_NAMES_ZH[Role(account.role)], org.code if org else None, org.name if org else None,
                    account.is_active, account.must_change_password, account.phone_verified_at is not None,
                    account.created_at)


async def list_staff(session: AsyncSession, actor: Actor, *, role: Role | None = None, query: str = "",
                     limit: int = 50, offset: int = 0) -> tuple[int, list[StaffRow]]:
    ensure_role(actor, Role.ADMIN, Role.BODY)
    stmt = select(Account).where(managed_clause(actor))
    if role is not None:
        stmt = stmt.where(Account.role == role)
    if query:
        like = f"%{query.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Account.username.ilike(like), Account.display_name.ilike(like)))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    accounts = (await session.scalars(stmt.order_by(Account.role, Account.username).limit(limit).offset(offset))).all()
    orgs = await Organisations.load(session)
    return total, [_row(a, orgs) for a in accounts]


async def organisation_options(session: AsyncSession, actor: Actor) -> dict[str, list[dict[str, str]]]:
    """For each role the actor may create: the organisations it may bind the account to."""
    ensure_role(actor, Role.ADMIN, Role.BODY)
    orgs = await Organisations.load(session)
    out: dict[str, list[dict[str, str]]] = {}
    for role in roles_managed_by(actor):
        kind = ORGANISATION_OF[role]
        if kind is None:
            out[role.value] = []
            continue
        out[role.value] = [{"code": o.code, "name": o.name} for o in orgs.by_kind[kind].values()
                           if _may_bind(actor, role, o)]
    return out


async def managed_account(session: AsyncSession, actor: Actor, account_id: int) -> tuple[Account, Organisations]:
    """The staff account, if the actor manages it; someone else's answers exactly as a missing one."""
    ensure_role(actor, Role.ADMIN, Role.BODY)
    account = await session.get(Account, account_id)
    if account is None or account.role == Role.PHYSICIAN:
        raise NotFound("账户不存在")
    orgs = await Organisations.load(session)
    if not _manages(actor, account, orgs):
        raise NotFound("账户不存在")
    return account, orgs


def _role(raw: str) -> Role:
    try:
        role = Role(raw)
    except ValueError:
        raise InvalidInput("角色的取值无效", fields={"role": "角色的取值无效"}) from None
    if role not in STAFF_ROLES:
        raise InvalidInput("医师账户由医师信息导入产生，不能在此创建", fields={"role": "请选择工作人员角色"})
    return role


async def create_staff(session: AsyncSession, actor: Actor, *, username: str, display_name: str, role: str,
                       organisation: str = "", request_id: str | None = None) -> tuple[Account, str]:
    """A new staff account and its one-time password (shown once, never stored in clear)."""
    ensure_role(actor, Role.ADMIN, Role.BODY)
    the_role = _role(role)
    if the_role not in roles_managed_by(actor):
        raise PermissionDenied(f"无权创建{ROLE_NAMES_ZH[the_role]}账户")
    username, display_name, organisation = username.strip(), display_name.strip(), organisation.strip()
    problems: dict[str, str] = {}
    if p := username_problem(username):
        problems["username"] = p
    elif await _username_taken(session, username):
        problems["username"] = f"用户名“{username}”已被使用"
    if p := display_name_problem(display_name):
        problems["display_name"] = p
    orgs = await Organisations.load(session)
    org, org_problem = orgs.resolve(the_role, organisation)
    if org_problem:
        problems["organisation"] = org_problem
    elif not _may_bind(actor, the_role, org):
        raise PermissionDenied("只能为本考核机构及其下属机构创建账户")
    if problems:
        raise InvalidInput("；".join(problems.values()), fields=problems)
    password = one_time_password()
    account = Account(role=the_role, username=username, display_name=display_name,
                      password_hash=await asyncio.to_thread(hash_password, password), must_change_password=True,
                      is_active=True, **(org.columns() if org else {}))
    session.add(account)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="create_account", entity="account", entity_id=account.id,
                 detail={"username": username, "role": the_role.value, "organisation": org.code if org else None},
                 request_id=request_id)
    return account, password


async def edit_staff(session: AsyncSession, actor: Actor, account_id: int, *, display_name: str,
                     organisation: str = "", request_id: str | None = None) -> Account:
    """Rename an account or bind it to another organisation of the same kind; the role stays."""
    account, orgs = await managed_account(session, actor, account_id)
    display_name, organisation = display_name.strip(), organisation.strip()
    problems: dict[str, str] = {}
    if p := display_name_problem(display_name):
        problems["display_name"] = p
    role = Role(account.role)
    org, org_problem = orgs.resolve(role, organisation)
    if org_problem:
        problems["organisation"] = org_problem
    elif not _may_bind(actor, role, org):
        raise PermissionDenied("只能把账户调整到本考核机构的下属机构")
    if problems:
        raise InvalidInput("；".join(problems.values()), fields=problems)
    before = orgs.of(account)
    changes: dict[str, Any] = {}
    if account.display_name != display_name:
        changes["display_name"] = [account.display_name, display_name]
        account.display_name = display_name
    if (before.code if before else None) != (org.code if org else None):
        changes["organisation"] = [before.code if before else None, org.code if org else None]
        for column, value in (org.columns() if org else {}).items():
            setattr(account, column, value)
    if changes:
        audit.record(session, actor_id=actor.account_id, action="edit_account", entity="account",
                     entity_id=account.id, detail=changes, request_id=request_id)
    return account


async def set_active(session: AsyncSession, actor: Actor, account_id: int, *, active: bool,
                     request_id: str | None = None) -> Account:
    account, _ = await managed_account(session, actor, account_id)
    if account.is_active == active:
        return account
    if not active:
        if account.id == actor.account_id:
            raise InvalidInput("不能停用自己的账户")
        if account.role == Role.ADMIN:
            others = await session.scalar(select(func.count()).select_from(Account).where(
                Account.role == Role.ADMIN, Account.is_active.is_(True), Account.id != account.id))
            if not others:
                raise InvalidInput("这是最后一个启用的系统管理员账户，不能停用")
        account.password_version += 1  # ends its open sessions at once
    account.is_active = active
    audit.record(session, actor_id=actor.account_id, action="enable_account" if active else "disable_account",
                 entity="account", entity_id=account.id, request_id=request_id)
    return account


async def reset_staff_password(session: AsyncSession, actor: Actor, account_id: int, *,
                               request_id: str | None = None) -> tuple[Account, str]:
    account, _ = await managed_account(session, actor, account_id)
    if account.id == actor.account_id:
        raise InvalidInput("请在“修改密码”中修改自己的密码")
    password = one_time_password()
    account.password_hash = await asyncio.to_thread(hash_password, password)
    account.must_change_password = True
    account.password_version += 1
    audit.record(session, actor_id=actor.account_id, action="reset_password", entity="account",
                 entity_id=account.id, request_id=request_id)
    return account, password


async def record_unlock(session: AsyncSession, actor: Actor, account_id: int, *,
                        request_id: str | None = None) -> Account:
    """Scope-check and audit lifting a login lock; the caller clears the lock in live state."""
    account, _ = await managed_account(session, actor, account_id)
    audit.record(session, actor_id=actor.account_id, action="unlock_account", entity="account",
                 entity_id=account.id, request_id=request_id)
    return account


@dataclass(frozen=True, slots=True)
class ImportedAccount:
    row: int
    account: Account
    password: str


@dataclass(frozen=True, slots=True)
class PlannedAccount:
    row: int
    username: str
    display_name: str
    role: Role
    organisation: Organisation | None


def check_import_rows(rows: list[Row], orgs: Organisations, taken: set[str]) -> tuple[list[PlannedAccount], list[RowProblem]]:
    """The accounts a file describes, or every problem by row and column (`taken`: lower-cased usernames)."""
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    planned: list[PlannedAccount] = []
    for row in rows:
        v = row.values
        before = len(problems)
        username, display_name = v.get("用户名", ""), v.get("姓名", "")
        if p := username_problem(username):
            problems.append(RowProblem(row.number, "用户名", "不能为空" if not username else p))
        elif username.lower() in taken:
            problems.append(RowProblem(row.number, "用户名", f"“{username}”已被使用"))
        elif username.lower() in seen:
            problems.append(RowProblem(row.number, "用户名", f"与第 {seen[username.lower()]} 行重复"))
        else:
            seen[username.lower()] = row.number
        if p := display_name_problem(display_name):
            problems.append(RowProblem(row.number, "姓名", p))
        role = ROLE_ALIASES.get(v.get("角色", ""))
        org = None
        if role is None:
            problems.append(RowProblem(row.number, "角色", "不能为空" if not v.get("角色") else
                                       f"“{v['角色'][:16]}”不是工作人员角色（{'、'.join(ROLE_NAMES_ZH[r] for r in STAFF_ROLES)}）"))
        else:
            org, p = orgs.resolve(role, v.get(ORGANISATION_COLUMN, ""))
            if p:
                problems.append(RowProblem(row.number, ORGANISATION_COLUMN, p))
        if len(problems) == before and role is not None:
            planned.append(PlannedAccount(row.number, username, display_name, role, org))
    return planned, problems


async def import_staff(session: AsyncSession, actor: Actor, name: str, data: bytes, *,
                       request_id: str | None = None) -> list[ImportedAccount]:
    """All-or-nothing: every bad row is reported by row and column, and nothing is written."""
    ensure_role(actor, Role.ADMIN)
    rows = read_table(name, data, required=IMPORT_COLUMNS)
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"一次最多导入 {MAX_IMPORT_ROWS} 个账户")
    if not rows:
        raise InvalidInput("文件中没有账户")
    orgs = await Organisations.load(session)
    taken = {u.lower() for u in (await session.scalars(select(Account.username).where(
        Account.username.is_not(None)))).all() if u}
    planned, problems = check_import_rows(rows, orgs, taken)
    if problems:
        raise ImportRejected(problems)
    passwords = [one_time_password() for _ in planned]
    # Argon2 is deliberately slow; hash off the event loop.
    hashes = await asyncio.to_thread(lambda: [hash_password(p) for p in passwords])
    created: list[ImportedAccount] = []
    for plan, password, hashed in zip(planned, passwords, hashes):
        account = Account(role=plan.role, username=plan.username, display_name=plan.display_name,
                          password_hash=hashed, must_change_password=True, is_active=True,
                          **(plan.organisation.columns() if plan.organisation else {}))
        session.add(account)
        created.append(ImportedAccount(plan.row, account, password))
    await session.flush()
    for item in created:
        audit.record(session, actor_id=actor.account_id, action="create_account", entity="account",
                     entity_id=item.account.id, detail={"username": item.account.username, "role": item.account.role,
                                                        "import": name[:128]}, request_id=request_id)
    return created


async def create_admin_from_console(session: AsyncSession, *, username: str,
                                    display_name: str = "系统管理员") -> tuple[Account, str]:
    """`dingkao create-admin`: the first admin of a new deployment (whoever runs it holds the database)."""
    username, display_name = username.strip(), display_name.strip()
    if p := username_problem(username):
        raise InvalidInput(p, fields={"username": p})
    if await _username_taken(session, username):
        raise InvalidInput(f"用户名“{username}”已被使用", fields={"username": f"用户名“{username}”已被使用"})
    if p := display_name_problem(display_name):
        raise InvalidInput(p, fields={"display_name": p})
    password = one_time_password()
    account = Account(role=Role.ADMIN, username=username, display_name=display_name,
                      password_hash=await asyncio.to_thread(hash_password, password), must_change_password=True,
                      is_active=True)
    session.add(account)
    await session.flush()
    audit.record(session, actor_id=None, action="create_account", entity="account", entity_id=account.id,
                 detail={"username": username, "role": Role.ADMIN.value, "via": "console"})
    return account, password
