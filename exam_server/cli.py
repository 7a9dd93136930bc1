"""The `dingkao` command: serve, demo, migrate, imports, proctoring workers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from pathlib import Path
from typing import NoReturn

from .infra.startup import StartupProblem
from .settings import Settings, SettingsError, load_settings


def _settings(demo: bool = False) -> Settings:
    try:
        return load_settings(demo=demo)
    except SettingsError as exc:
        print(f"配置错误 / setting error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _prepare_storage(settings: Settings, *, migrate_server: bool = False) -> None:
    _directories(settings)
    _ready(settings, migrate_server=migrate_server)


def _directories(settings: Settings) -> None:
    """The embedded database's directory and the storage directory exist and take files, or one line says why not."""
    from .infra.database_ready import sqlite_path
    from .infra.startup import writable_directory

    try:
        if settings.is_sqlite and (path := sqlite_path(settings.database_url)) is not None:
            setting = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "DINGKAO_VAR_DIR"
            writable_directory(path.parent, what="数据目录", setting=setting)
        writable_directory(settings.storage_dir, what="文件存储目录", setting="DINGKAO_STORAGE_DIR")
    except StartupProblem as exc:
        _cannot_start(exc)


def _listen(settings: Settings) -> list[socket.socket]:
    """Bound before anything is printed as ready: a taken port is one line, not a traceback after "ready"."""
    from .infra.startup import listen

    try:
        return listen(settings.host, settings.port)
    except StartupProblem as exc:
        _cannot_start(exc)


def _bound(settings: Settings, sockets: list[socket.socket]) -> Settings:
    """With DINGKAO_PORT=0 the system picked the port: what start-up prints names the real one."""
    return settings if settings.port else settings.with_(port=sockets[0].getsockname()[1])


def _cannot_start(exc: Exception) -> NoReturn:
    print(f"无法启动 / cannot start: {exc}", file=sys.stderr)
    raise SystemExit(2) from None


def _ready(settings: Settings, *, migrate_server: bool = False) -> None:
    """The embedded database is created and migrated on first use; otherwise one line says what is wrong."""
    from .infra.database_ready import DatabaseNotReady, ensure_database

    try:
        created = asyncio.run(ensure_database(settings.database_url, migrate_server=migrate_server))
    except DatabaseNotReady as exc:
        print(f"数据库错误 / database error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if created:
        print("数据库已创建并迁移到最新版本 / database created and migrated to head", file=sys.stderr)


def _serve(settings: Settings, sockets: list[socket.socket]) -> None:
    from aiohttp import web

    from .app import create_app
    from .web.request_context import configure_logging

    configure_logging(json_lines=settings.log_json)
    hashing = os.environ.get("DINGKAO_PASSWORD_HASHING", "default")
    if hashing != "default":
        logging.getLogger("dingkao").warning("DINGKAO_PASSWORD_HASHING=%s：口令散列强度仅适用于测试，生产环境请删除此设置", hashing)
    app = create_app(settings, live_prefix=settings.live_prefix)
    _quieter_gc()
    web.run_app(app, sock=sockets, access_log=None, print=lambda msg: print(msg, flush=True))


def _quieter_gc() -> None:
    """Fewer, shorter collector pauses in a long-running server: what is loaded by now (modules,
    ORM mappers, templates) lives for good and is left out of collections, and the young
    generation is collected less often. Measured with 5,000 candidates (benchmarks/exam_load.py):
    save p99 176-313 ms before, 114-148 ms after."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def cmd_migrate(args: argparse.Namespace) -> None:
    from .infra.migrate import upgrade

    from .infra.database_ready import current_revision, sqlite_path, unreachable, DatabaseNotReady

    settings = _settings(demo=True)
    _directories(settings)
    try:
        asyncio.run(current_revision(settings.database_url))  # reachable? (one line if not)
        try:
            asyncio.run(upgrade(settings.database_url))
        except Exception as exc:
            raise unreachable(settings.database_url, exc) from None
    except DatabaseNotReady as exc:
        print(f"数据库错误 / database error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print("数据库已迁移到最新版本 / database migrated to head")


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings()
    _directories(settings)
    sockets = _listen(settings)
    settings = _bound(settings, sockets)
    _ready(settings)
    _serve(settings, sockets)


def cmd_demo(args: argparse.Namespace) -> None:
    from .demo.seed import print_logins, seed_demo
    from .demo.exams import print_exam_logins, seed_exam_demo

    settings = _settings(demo=True)
    # Demo runs on plain http://127.0.0.1, where browsers drop Secure cookies on non-localhost names.
    settings = settings.with_(cookie_secure=False, log_json=False)
    if not os.environ.get("DINGKAO_EXAM_FACE_CHECK"):
        # The demo's exam physicians have no enrolled photo, so the face check is off unless asked for.
        settings = settings.with_(exam_face_check=False)
    _directories(settings)
    sockets = _listen(settings)
    settings = _bound(settings, sockets)
    _ready(settings, migrate_server=True)
    asyncio.run(seed_demo(settings))
    asyncio.run(seed_exam_demo(settings))
    print_logins(settings)
    print_exam_logins(settings)
    _serve(settings, sockets)


def _import(args: argparse.Namespace, what: str) -> None:
    from registry import master_data
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError

    settings = _settings(demo=True)
    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        raise SystemExit(2)
    _prepare_storage(settings)

    async def run() -> master_data.ImportReport:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                if what == "physicians":
                    return await master_data.import_physicians(
                        session, path.name, path.read_bytes(), actor_id=None, initial_password=settings.initial_password)
                return await master_data.import_institutions(session, path.name, path.read_bytes(), actor_id=None)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except RegistryError as exc:
        problems = getattr(exc, "problems", None)
        if problems:
            print(f"导入失败，未导入任何数据（共 {len(problems)} 处问题）：", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
        else:
            print(f"导入失败：{exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"导入完成：新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}")


def _import_questions(args: argparse.Namespace) -> None:
    """The same two steps as the page's import jobs (read, then store), with progress on stderr."""
    from question_bank.formats._safety import MAX_UPLOAD_BYTES
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError

    from .banks import import_jobs, question_store
    from .infra.livestate import make_live_state
    from .infra.storage import LocalFileStorage

    settings = _settings(demo=True)
    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        raise SystemExit(2)
    _prepare_storage(settings)
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        print(f"文件过大：超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB", file=sys.stderr)
        raise SystemExit(2)
    tty = sys.stderr.isatty()

    def show(state: dict[str, object]) -> None:
        if state["stage"] == "previewing":
            line = f"正在读取：已读取 {state['read']} 道，发现问题 {state['problems']} 处"
        else:
            line = f"正在导入：已存入 {state['read']} / {state['total']} 道"
        print(("\r" if tty else "") + line, end="" if tty else "\n", file=sys.stderr, flush=True)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        live = make_live_state(settings.redis_url, prefix=settings.live_prefix)
        storage = LocalFileStorage(settings.storage_dir)
        sm = make_sessionmaker(engine)
        job_id = None
        try:
            job_id = await import_jobs.create_job(sm, storage, data=path.read_bytes(), filename=path.name,
                                                  bank_name=args.bank, actor_id=None)
            view = await import_jobs.run_preview(sm, storage, live, job_id, listener=show)
            if tty:
                print(file=sys.stderr)
            p = view.preview or {}
            if view.state != "previewed":
                print(f"读取失败：{view.message}", file=sys.stderr)
                return 1
            problems = p.get("problems", [])
            if view.problem_count:
                print(f"文件中有 {view.problem_count} 处问题：", file=sys.stderr)
                for item in problems:
                    print(f"  {item['message']}", file=sys.stderr)
                if view.problem_count > len(problems):
                    print(f"  ……另有 {view.problem_count - len(problems)} 处，见问题清单", file=sys.stderr)
                if args.report:
                    data, _ = await import_jobs.skipped_csv(sm, storage, job_id)
                    Path(args.report).write_bytes(data)
                    print(f"问题清单已写入 {args.report}", file=sys.stderr)
            cueing = p.get("cueing") or {}
            listed = cueing.get("pairs", [])
            if cueing.get("note"):
                print(f"提示检查：{cueing['note']}", file=sys.stderr)
            if listed:
                print(f"提示检查：发现 {cueing['total']} 对可能互相提示的试题"
                      + ("（--confirm-cueing 在导入时把列出的全部设为互斥题）" if not args.confirm_cueing else ""),
                      file=sys.stderr)
                for pair in listed[:10]:
                    t, d = pair["teller"], pair["told"]
                    print(f"  {t['where']}「{t['stem']}」{pair['reason']}：{d['where']}「{d['stem']}」", file=sys.stderr)
                if len(listed) > 10:
                    print(f"  ……另有 {cueing['total'] - 10} 对，见题库页的“提示检查”", file=sys.stderr)
            if args.dry_run:
                await import_jobs.request_cancel(sm, live, job_id)
                print(f"预览（未导入）：共 {p['total']} 道，将新增 {p['would_create']}，重复 {p['would_skip']}"
                      + (f"，有问题 {view.problem_count} 处" if view.problem_count else ""))
                return 0 if not view.problem_count else 1
            try:
                chosen = [(x["teller"]["fingerprint"], x["told"]["fingerprint"]) for x in listed] if args.confirm_cueing else []
                await import_jobs.start_import(sm, live, job_id, skip_unsupported=args.skip_unsupported,
                                               enemy_pairs=chosen)
            except RegistryError as exc:
                await import_jobs.request_cancel(sm, live, job_id)
                hint = "" if args.skip_unsupported or not p.get("can_skip") else "（可加 --skip-unsupported 跳过有问题的试题，导入其余）"
                print(f"未导入任何试题：{exc.message}{hint}", file=sys.stderr)
                return 1
            view = await import_jobs.run_import(sm, storage, live, job_id, listener=show)
            if tty:
                print(file=sys.stderr)
            if view.state != "done":
                print(f"导入失败：{view.message}", file=sys.stderr)
                return 1
            o = view.outcome or {}
            skipped = f"，跳过有问题的试题（{o['skipped']} 处问题）" if o.get("skipped") else ""
            enemies = f"，新增互斥题 {o['enemies']} 对" if o.get("enemies") else ""
            print(f"导入完成：新增 {o['created']}，重复跳过 {o['duplicates']}{enemies}{skipped}")
            return 0
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("\n已取消，未导入任何试题", file=sys.stderr)
            return 130
        except RegistryError as exc:
            print(f"导入失败：{exc.message}", file=sys.stderr)
            return 1
        finally:
            await live.close()
            await engine.dispose()

    try:
        code = asyncio.run(run())
    except KeyboardInterrupt:
        print("\n已取消，未导入任何试题", file=sys.stderr)
        code = 130
    if code:
        raise SystemExit(code)


def _export_questions(args: argparse.Namespace) -> None:
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError

    from .banks import question_store

    settings = _settings(demo=True)
    _prepare_storage(settings)

    async def run() -> tuple[bytes, str, str]:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                bank = await question_store.require_bank_named(session, args.bank)
                try:
                    return await question_store.export_bank(session, bank, args.format, actor_id=None,
                                                            drop_images=args.drop_images)
                except question_store.ImagesWouldBeLost as exc:
                    print(f"导出未完成：{exc.message}（加 --drop-images 确认）", file=sys.stderr)
                    raise SystemExit(1) from None
        finally:
            await engine.dispose()

    try:
        data, name, _ = asyncio.run(run())
    except RegistryError as exc:
        print(f"导出失败：{exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    out = Path(args.output or name)
    out.write_bytes(data)
    print(f"已导出到 {out}（{len(data)} 字节）")


def cmd_create_admin(args: argparse.Namespace) -> None:
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError
    from registry.staff_accounts import create_admin_from_console

    settings = _settings(demo=True)
    _prepare_storage(settings)

    async def run() -> str:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                _, password = await create_admin_from_console(session, username=args.username,
                                                              display_name=args.name)
                return password
        finally:
            await engine.dispose()

    try:
        password = asyncio.run(run())
    except RegistryError as exc:
        print(f"创建失败：{exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"已创建系统管理员 {args.username}，一次性密码：{password}（仅显示这一次，首次登录须修改）")


def cmd_proctor_worker(args: argparse.Namespace) -> None:
    import logging

    from proctoring.worker import run_worker

    from .proctor.analyzer import queue_prefix
    from .web.request_context import configure_logging

    settings = _settings(demo=True)
    if not settings.redis_url:
        print("配置错误 / setting error: REDIS_URL: proctoring workers take frames from Redis; set REDIS_URL",
              file=sys.stderr)
        raise SystemExit(2)
    configure_logging(json_lines=settings.log_json, level=logging.INFO)
    run_worker(settings.redis_url, key_prefix=queue_prefix(settings.live_prefix), concurrency=args.concurrency)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dingkao", description="医师定期考核在线考试系统")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the web application (production)").set_defaults(func=cmd_serve)
    sub.add_parser("demo", help="migrate, seed demo data and serve on SQLite").set_defaults(func=cmd_demo)
    sub.add_parser("migrate", help="run database migrations").set_defaults(func=cmd_migrate)
    p = sub.add_parser("create-admin", help="create a system admin account; prints its one-time password once")
    p.add_argument("username")
    p.add_argument("--name", default="系统管理员", help="display name")
    p.set_defaults(func=cmd_create_admin)
    p = sub.add_parser("proctor-worker", help="analyse queued webcam frames from Redis (any number, any host)")
    p.add_argument("--concurrency", type=int, default=None, help="analysis processes (default: one per core)")
    p.set_defaults(func=cmd_proctor_worker)
    p = sub.add_parser("import-physicians", help="import physicians' master data (CSV or XLSX)")
    p.add_argument("file")
    p.set_defaults(func=lambda a: _import(a, "physicians"))
    p = sub.add_parser("import-institutions", help="import institutions (CSV or XLSX)")
    p.add_argument("file")
    p.set_defaults(func=lambda a: _import(a, "institutions"))
    p = sub.add_parser("import-questions", help="import questions into a bank (XLSX/CSV template, Aiken, GIFT, ...)")
    p.add_argument("file")
    p.add_argument("--bank", required=True, help="bank name (created if missing)")
    p.add_argument("--dry-run", action="store_true", help="check and preview only, store nothing")
    p.add_argument("--skip-unsupported", action="store_true",
                   help="import the questions without problems and skip the others (default: all or nothing)")
    p.add_argument("--report", help="write the list of problems / skipped questions (CSV: line, type, reason) here")
    p.add_argument("--confirm-cueing", action="store_true",
                   help="store every pair the cueing check lists as enemies (互斥题) with the import")
    p.set_defaults(func=_import_questions)
    p = sub.add_parser("export-questions", help="export a question bank")
    p.add_argument("--bank", required=True, help="bank name")
    p.add_argument("--format", required=True, choices=["xlsx", "csv", "aiken", "gift", "moodle_xml"])
    p.add_argument("-o", "--output", help="output file (default: <bank name>.<ext>)")
    p.add_argument("--drop-images", action="store_true",
                   help="export even though the format drops the pictures of some questions (listed otherwise)")
    p.set_defaults(func=_export_questions)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
