"""The `dingkao` command: serve, demo, migrate, imports, proctoring workers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from .settings import Settings, SettingsError, load_settings


def _settings(demo: bool = False) -> Settings:
    try:
        return load_settings(demo=demo)
    except SettingsError as exc:
        print(f"配置错误 / setting error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _prepare_storage(settings: Settings) -> None:
    if settings.is_sqlite:
        path = settings.database_url.split(":///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    settings.storage_dir.mkdir(parents=True, exist_ok=True)


def _serve(settings: Settings) -> None:
    from aiohttp import web

    from .app import create_app
    from .request_context import configure_logging

    configure_logging(json_lines=settings.log_json)
    web.run_app(create_app(settings, live_prefix=settings.live_prefix), host=settings.host, port=settings.port, access_log=None,
                print=lambda msg: print(msg, flush=True))


def cmd_migrate(args: argparse.Namespace) -> None:
    from registry.migrate import upgrade

    settings = _settings(demo=True)
    _prepare_storage(settings)
    asyncio.run(upgrade(settings.database_url))
    print("数据库已迁移到最新版本 / database migrated to head")


def cmd_serve(args: argparse.Namespace) -> None:
    _serve(_settings())


def cmd_demo(args: argparse.Namespace) -> None:
    from registry.migrate import upgrade

    from .demo import print_logins, seed_demo
    from .demo_exams import print_exam_logins, seed_exam_demo

    settings = _settings(demo=True)
    # Demo runs on plain http://127.0.0.1, where browsers drop Secure cookies on non-localhost names.
    settings = settings.with_(cookie_secure=False, log_json=False)
    if not os.environ.get("DINGKAO_EXAM_FACE_CHECK"):
        # The demo's exam physicians have no enrolled photo, so the face check is off unless asked for.
        settings = settings.with_(exam_face_check=False)
    _prepare_storage(settings)
    asyncio.run(upgrade(settings.database_url))
    asyncio.run(seed_demo(settings))
    asyncio.run(seed_exam_demo(settings))
    print_logins(settings)
    print_exam_logins(settings)
    _serve(settings)


def _import(args: argparse.Namespace, what: str) -> None:
    from registry import master_data
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError

    settings = _settings(demo=True)
    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        raise SystemExit(2)

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
    from question_bank import read_file
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError

    from . import question_store

    settings = _settings(demo=True)
    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        raise SystemExit(2)
    result = read_file(path)
    if result.problems:
        print(f"文件有误，未导入任何试题（共 {len(result.problems)} 处问题）：", file=sys.stderr)
        for p in result.problems:
            print(f"  {p.message_zh}", file=sys.stderr)
        raise SystemExit(1)

    async def run() -> dict[str, object]:
        engine = make_engine(settings.database_url)
        try:
            if args.dry_run:
                async with make_sessionmaker(engine)() as session:
                    return await question_store.preview_import(session, result, bank_name=args.bank)
            async with make_sessionmaker(engine)() as session, session.begin():
                outcome = await question_store.import_questions(session, args.bank, result, actor_id=None,
                                                                source=path.name)
                return {"created": outcome.created, "duplicates": outcome.duplicates}
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except RegistryError as exc:
        print(f"导入失败：{exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    if args.dry_run:
        print(f"预览（未导入）：共 {report['total']} 道，将新增 {report['would_create']}，重复 {report['would_skip']}")
    else:
        print(f"导入完成：新增 {report['created']}，重复跳过 {report['duplicates']}")


def _export_questions(args: argparse.Namespace) -> None:
    from registry.db import make_engine, make_sessionmaker
    from registry.errors import RegistryError

    from . import question_store

    settings = _settings(demo=True)

    async def run() -> tuple[bytes, str, str]:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                bank = await question_store.require_bank_named(session, args.bank)
                return await question_store.export_bank(session, bank, args.format, actor_id=None)
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


def cmd_proctor_worker(args: argparse.Namespace) -> None:
    import logging

    from proctoring.worker import run_worker

    from .request_context import configure_logging

    settings = _settings(demo=True)
    if not settings.redis_url:
        print("配置错误 / setting error: REDIS_URL: proctoring workers take frames from Redis; set REDIS_URL",
              file=sys.stderr)
        raise SystemExit(2)
    configure_logging(json_lines=settings.log_json, level=logging.INFO)
    run_worker(settings.redis_url, concurrency=args.concurrency)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dingkao", description="医师定期考核在线考试系统")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the web application (production)").set_defaults(func=cmd_serve)
    sub.add_parser("demo", help="migrate, seed demo data and serve on SQLite").set_defaults(func=cmd_demo)
    sub.add_parser("migrate", help="run database migrations").set_defaults(func=cmd_migrate)
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
    p.set_defaults(func=_import_questions)
    p = sub.add_parser("export-questions", help="export a question bank")
    p.add_argument("--bank", required=True, help="bank name")
    p.add_argument("--format", required=True, choices=["xlsx", "csv", "aiken", "gift", "moodle_xml"])
    p.add_argument("-o", "--output", help="output file (default: <bank name>.<ext>)")
    p.set_defaults(func=_export_questions)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
