"""Check a restored copy of Dingkao (deploy/restore-check.sh runs it on a scratch database and directory).

For the physician with the given ID number: the record, its account and registration, every attempt
with its answers (a submitted attempt without answers is reported), the certificate with a signature
that verifies under DINGKAO_SECRET_KEY (a copy restored next to another key would print every
certificate as altered), and every stored file of theirs present with its SHA-256. One JSON line on
stdout; exit 1 with the problems on stderr when anything is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg

from reports.verification import derive_key, signature_ok


async def check(database: str, storage: Path, id_number: str, secret: str) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    conn = await asyncpg.connect(database)
    try:
        physician = await conn.fetchrow("SELECT id, name FROM physicians WHERE id_number = $1", id_number)
        if physician is None:
            return {}, [f"no physician with ID number {id_number}"]
        pid = physician["id"]
        accounts = [r["id"] for r in await conn.fetch("SELECT id FROM accounts WHERE physician_id = $1", pid)]
        registrations = await conn.fetch("SELECT id, state FROM registrations WHERE physician_id = $1 ORDER BY id", pid)
        attempts = await conn.fetch(
            "SELECT a.id, a.state, a.score, a.passed, count(x.item_number) AS answers FROM exam_attempts a"
            " LEFT JOIN exam_answers x ON x.attempt_id = a.id WHERE a.physician_id = $1 GROUP BY a.id ORDER BY a.id", pid)
        certificates = await conn.fetch(
            "SELECT number, facts, signature, revoked_at FROM certificates WHERE physician_id = $1 ORDER BY id", pid)
        files = await conn.fetch(
            "SELECT storage_key, sha256, size FROM stored_files WHERE owner_account_id = ANY($1::int[])"
            " OR registration_id = ANY($2::int[]) ORDER BY id", accounts, [r["id"] for r in registrations])
    finally:
        await conn.close()

    if not accounts:
        problems.append("the physician has no account")
    if not registrations:
        problems.append("the physician has no registration")
    if not attempts:
        problems.append("the physician has no exam attempts")
    for a in attempts:
        if a["state"] != "in_progress" and a["answers"] == 0:
            problems.append(f"attempt {a['id']} ({a['state']}) has no answers")
    key = derive_key(secret) if secret else None
    verified = []
    for c in certificates:
        facts = c["facts"] if isinstance(c["facts"], dict) else json.loads(c["facts"])
        ok = key is not None and signature_ok(facts, c["signature"], key)
        verified.append({"number": c["number"], "signature_ok": ok, "revoked": c["revoked_at"] is not None})
        if key is None:
            problems.append("DINGKAO_SECRET_KEY is not set: certificates cannot be verified")
        elif not ok:
            problems.append(f"certificate {c['number']} does not verify under this DINGKAO_SECRET_KEY")
    if not any(not v["revoked"] for v in verified):
        problems.append("the physician has no valid certificate")
    for f in files:
        path = storage / f["storage_key"]
        if not path.is_file():
            problems.append(f"file {f['storage_key']} is missing from the storage copy")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != f["sha256"]:
            problems.append(f"file {f['storage_key']} differs from its checksum")
    summary = {
        "physician": physician["name"], "registrations": [r["state"] for r in registrations],
        "attempts": [{"id": a["id"], "state": a["state"], "score": a["score"], "passed": a["passed"],
                      "answers": a["answers"]} for a in attempts],
        "answers": sum(a["answers"] for a in attempts), "certificates": verified, "files": len(files),
    }
    return summary, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgresql://... of the restored copy")
    parser.add_argument("--storage", required=True, type=Path, help="the restored storage directory")
    parser.add_argument("--id-number", required=True)
    args = parser.parse_args()
    summary, problems = asyncio.run(check(args.database, args.storage, args.id_number,
                                          os.environ.get("DINGKAO_SECRET_KEY", "")))
    summary["ok"] = not problems
    print(json.dumps(summary, ensure_ascii=False, default=str))
    for p in problems:
        print(f"restore check: {p}", file=sys.stderr)
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
