#!/usr/bin/env bash
# One backup of a deployment: `deploy/backup.sh DIR` writes DIR/dingkao-<UTC time>.dump (pg_dump, custom
# format) and then DIR/dingkao-<UTC time>-files.tar.gz (the storage directory), and keeps the newest
# $DINGKAO_BACKUP_KEEP pairs (default 48). Reads DATABASE_URL and DINGKAO_STORAGE_DIR as the service does
# (dingkao-backup.service loads /etc/dingkao/dingkao.env). The dump comes first: a file newer than the dump
# is harmless after a restore, a row naming a file the copy lacks is not. Prints the two paths.
set -euo pipefail
dest=${1:?usage: backup.sh DIR}
url=${DATABASE_URL:?DATABASE_URL is not set}
url=${url/+asyncpg/}                       # libpq takes postgresql://user@host:port/db as it is
storage=${DINGKAO_STORAGE_DIR:?DINGKAO_STORAGE_DIR is not set}
keep=${DINGKAO_BACKUP_KEEP:-48}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest"
dump="$dest/dingkao-$stamp.dump"
files="$dest/dingkao-$stamp-files.tar.gz"
pg_dump --format=custom --no-owner --file="$dump.part" "$url"
mv "$dump.part" "$dump"
tar -C "$storage" -czf "$files.part" .
mv "$files.part" "$files"
ls -1t "$dest"/dingkao-*.dump | tail -n +"$((keep + 1))" | while read -r old; do
  rm -f -- "$old" "${old%.dump}-files.tar.gz"
done
echo "$dump $files"
