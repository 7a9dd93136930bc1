#!/usr/bin/env bash
# Restore drill: `deploy/restore-check.sh DUMP FILES.tar.gz ID_NUMBER` restores the dump into a scratch
# database and the storage copy into a scratch directory, then checks (restore_check.py) that the
# physician with that ID number is there with their registration, their attempts with every answer,
# their certificate with a signature that verifies under DINGKAO_SECRET_KEY, and every file of theirs
# with its checksum. Prints one JSON line; exit 0 when all holds, 1 with the problems otherwise.
# The scratch database is made on $DINGKAO_RESTORE_SERVER (default postgresql://postgres@127.0.0.1:5432,
# a role allowed to create databases) and dropped afterwards, whatever happens.
set -euo pipefail
dump=${1:?usage: restore-check.sh DUMP FILES.tar.gz ID_NUMBER}
files=${2:?usage: restore-check.sh DUMP FILES.tar.gz ID_NUMBER}
id_number=${3:?usage: restore-check.sh DUMP FILES.tar.gz ID_NUMBER}
here=$(cd "$(dirname "$0")" && pwd)
python=${DINGKAO_PYTHON:-$here/../.venv/bin/python}
server=${DINGKAO_RESTORE_SERVER:-postgresql://postgres@127.0.0.1:5432}
scratch="dingkao_restore_check_$(date -u +%Y%m%d%H%M%S)_$$"
work=$(mktemp -d)
cleanup() {
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf -- "$work"
}
trap cleanup EXIT
psql "$server/postgres" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$scratch\"" >/dev/null
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$server/$scratch" "$dump"
mkdir "$work/files"
tar -C "$work/files" -xzf "$files"
"$python" "$here/restore_check.py" --database "$server/$scratch" --storage "$work/files" --id-number "$id_number"
