#!/usr/bin/env bash
# Installs everything the tests need (Python deps from the lock, Debian's chromium for browser
# tests, poppler-utils for PDF rendering, nginx for the reverse-proxy test) and runs the whole suite. Needs PostgreSQL and Redis running (.ci/run starts them).
set -euo pipefail
cd "$(dirname "$0")/.."

# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (it is on the CI machine) every worker,
# `dingkao` subprocess and demo server would otherwise compile each module it imports from source,
# about 4 s of CPU per process.
# scripts/uv.py installs uv first when this Python has none (into ./.uv/, also on an externally managed one).
python3 scripts/uv.py sync --frozen --quiet --compile-bytecode
.venv/bin/python -m compileall -q -j 0 exam_server proctoring question_bank registry reports tests >/dev/null

# The import contracts (the layers in pyproject.toml's [tool.importlinter]) before any test runs.
.venv/bin/lint-imports --no-cache

# pdftoppm (poppler-utils) renders the certificate and notice PDFs to PNG in the reports tests; nginx runs
# deploy/nginx/dingkao.conf in front of two servers (tests/e2e/test_reverse_proxy.py runs its own nginx,
# unprivileged ports and its own prefix; the package's system service, if the system starts one, is not used).
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
    || ! command -v pdftoppm >/dev/null 2>&1 || ! [ -x /usr/sbin/nginx ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk poppler-utils nginx >/dev/null
fi

# Spread over worker processes, a test module per worker at a time (its module fixtures stay whole),
# in collection order so the long browser modules start first;
# the browser tests mostly wait, so four workers keep two cores busy (about 13-14 min on a fresh clone).
# DINGKAO_TEST_WORKERS=0 runs in one process.
exec .venv/bin/pytest -n "${DINGKAO_TEST_WORKERS:-4}" --dist loadscope --no-loadscope-reorder "$@"
