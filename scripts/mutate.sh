#!/usr/bin/env bash
# Mutation testing (`make mutate`) of the approval rules, the lifecycle, the
# permissions and the change-log chain: mutmut breaks them one change at a
# time and runs the tests that cover each change; a mutant that no test
# notices "survives". What is mutated and which tests run are set in
# pyproject.toml, [tool.mutmut].
#
# Like scripts/test.sh, it starts a throwaway PostgreSQL cluster and
# redis-server on free loopback ports and stops them whatever happens. Every
# run starts from a fresh ./mutants (mutmut keeps earlier verdicts otherwise,
# so a new test would not re-test an old survivor). Arguments pass through to
# `mutmut run`, e.g. mutant names to run only those:
#   make mutate ARGS='approvals.rules.x_deploy_reasons*'
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
START=$(date +%s)

PG_BIN=/usr/lib/postgresql/15/bin
missing=()
[ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Missing system packages. Run this once, then make mutate again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

STATE=$(mktemp -d /tmp/relapp-mutate.XXXXXX)
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

rm -rf mutants
# One mutant at a time: every test run shares the one test database
# (--reuse-db in pyproject.toml), and two at once would block each other on
# the change log's chain lock and on unique rows, failing tests that are
# fine and counting mutants as killed that were not.
set +e
"$ROOT/.venv/bin/mutmut" run --max-children 1 "$@"
status=$?
set -e

# Per file: killed / total. Only `killed` counts; a timeout or a crash is
# listed but is not a test noticing the change.
"$ROOT/.venv/bin/mutmut" results --all true | "$ROOT/.venv/bin/python" -c '
import collections, sys

counts = collections.defaultdict(collections.Counter)
survivors = []
for line in sys.stdin:
    name, _, status = line.strip().rpartition(": ")
    if not name:
        continue
    module = name.split(".x")[0]
    counts[module][status] += 1
    if status != "killed":
        survivors.append(f"  {status:<10} {name}")
print()
print("Not killed (see one with: .venv/bin/mutmut show NAME):")
print("\n".join(survivors) or "  none")
print()
row = "{:<22} {:>6} / {:<5} {:>6}  {}"
print(row.format("module", "killed", "total", "score", "other"))
all_killed = all_total = 0
for module, by_status in sorted(counts.items()):
    killed, total = by_status["killed"], sum(by_status.values())
    other = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()) if s != "killed")
    print(row.format(module, killed, total, format(killed / total, ".1%"), other))
    all_killed += killed
    all_total += total
if all_total:
    print(row.format("all", all_killed, all_total, format(all_killed / all_total, ".1%"), ""))
'
echo "make mutate took $(($(date +%s) - START)) s"
exit $status
