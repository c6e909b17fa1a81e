#!/usr/bin/env bash
# Run the whole test suite against a throwaway PostgreSQL cluster and
# redis-server on free loopback ports. Both are stopped whatever happens.
# Arguments pass through to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PG_BIN=/usr/lib/postgresql/15/bin
missing=()
[ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing missing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Missing system packages. Run this once, then make test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

STATE=$(mktemp -d /tmp/relapp-test.XXXXXX)
chmod 755 "$STATE"
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
while [ "$REDIS_PORT" = "$PG_PORT" ]; do REDIS_PORT=$(free_port); done

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  trap - EXIT INT TERM
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
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
as_pg "$PG_BIN/pg_ctl" -D "$STATE/pg" -l "$STATE/pg/server.log" -w -t 30 \
  -o "-h 127.0.0.1 -p $PG_PORT -k $STATE/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
mkdir -p "$STATE/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
  --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log" --dir "$STATE/redis"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "PostgreSQL on 127.0.0.1:$PG_PORT, redis-server on 127.0.0.1:$REDIS_PORT, state in $STATE"

unset DJANGO_SETTINGS_MODULE
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/relapp"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export RELAPP_TEST_REDIS_PORT="$REDIS_PORT"
export RELAPP_TEST_STATE_DIR="$STATE"
export RELAPP_VAR_DIR="$STATE/var"
export XDG_CONFIG_HOME="$STATE/xdg-config" XDG_CACHE_HOME="$STATE/xdg-cache"
mkdir -p "$RELAPP_VAR_DIR"

# The layer contracts (pyproject.toml) are part of the suite: a new cycle fails it.
"$ROOT/.venv/bin/lint-imports" --no-cache >/dev/null || { "$ROOT/.venv/bin/lint-imports" --no-cache; exit 1; }

set +e
"$ROOT/.venv/bin/pytest" --ds=relapp.settings_test "$@"
status=$?
set -e
exit $status
