#!/usr/bin/env bash
# Run bench/changelog.py (or the benchmark named first) against a throwaway PostgreSQL 15 cluster on a free
# loopback port (started the way scripts/test.sh does it), then remove it.
# Arguments pass through to the script, e.g. scripts/bench.sh --entries 200000
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PG_BIN=/usr/lib/postgresql/15/bin
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL 15 is missing: apt-get install -y postgresql-15" >&2; exit 2; }
[ -x .venv/bin/python ] || make install

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

STATE=$(mktemp -d /tmp/relapp-bench.XXXXXX)
chmod 755 "$STATE"
PG_PORT=$(free_port)

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  trap - EXIT INT TERM
  as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -eq 0 ]; then
  install -d -o postgres -g postgres "$STATE/pg"
else
  mkdir -p "$STATE/pg"
fi
as_pg "$PG_BIN/initdb" -D "$STATE/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
# fsync off only speeds up the fill; reads, exports and verification are unaffected.
as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -l "$STATE/pg/server.log" -w -t 30 \
  -o "-h 127.0.0.1 -p $PG_PORT -k $STATE/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB -c max_wal_size=4GB" \
  start >/dev/null
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres relapp_bench
echo "PostgreSQL on 127.0.0.1:$PG_PORT, state in $STATE"

unset DJANGO_SETTINGS_MODULE
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/relapp_bench"
export RELAPP_VAR_DIR="$STATE/var"
mkdir -p "$RELAPP_VAR_DIR"
# The first argument may name another benchmark: scripts/bench.sh bench/reminders.py
script="$ROOT/bench/changelog.py"
if [ "${1:-}" != "" ] && [ "${1%.py}" != "$1" ]; then script="$ROOT/$1"; shift; fi
DJANGO_SETTINGS_MODULE=relapp.settings_test "$ROOT/.venv/bin/python" "$script" "$@"
