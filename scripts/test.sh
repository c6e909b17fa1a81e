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
command -v rsyslogd >/dev/null || missing+=(rsyslog)
dpkg -s rsyslog-gnutls >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
command -v openssl >/dev/null || missing+=(openssl)
command -v slapd >/dev/null || missing+=(slapd)
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

# The test OpenID Connect provider (tests/oidc, oidc-provider on Node): its
# packages from the lockfile, installed again only when the lockfile changes.
OIDC_DIR="$ROOT/tests/oidc"
if ! cmp -s "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.relapp-installed-lock"; then
  command -v npm >/dev/null || { echo "Node.js 20+ with npm is needed for the OIDC tests." >&2; exit 2; }
  echo "Installing the test OIDC provider's packages (npm ci)…"
  (cd "$OIDC_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.relapp-installed-lock"
fi

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

STATE=$(mktemp -d /tmp/relapp-test.XXXXXX)
chmod 755 "$STATE"
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
while [ "$REDIS_PORT" = "$PG_PORT" ]; do REDIS_PORT=$(free_port); done
SYSLOG_PORT=$(free_port)
while [ "$SYSLOG_PORT" = "$PG_PORT" ] || [ "$SYSLOG_PORT" = "$REDIS_PORT" ]; do SYSLOG_PORT=$(free_port); done
SYSLOG_TLS_PORT=$(free_port)
while [ "$SYSLOG_TLS_PORT" = "$PG_PORT" ] || [ "$SYSLOG_TLS_PORT" = "$REDIS_PORT" ] || [ "$SYSLOG_TLS_PORT" = "$SYSLOG_PORT" ]; do SYSLOG_TLS_PORT=$(free_port); done

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  trap - EXIT INT TERM
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  if [ -n "${SYSLOG_PID:-}" ]; then kill "$SYSLOG_PID" 2>/dev/null || true; wait "$SYSLOG_PID" 2>/dev/null || true; fi
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
# Two database roles, as in production (README, Database roles): the owner
# runs migrations; the runtime role may only INSERT and SELECT on the change
# log (granted after every migrate, audit.roles). Neither is a superuser. The
# suite itself connects as the superuser so tests can play the attacker;
# tests/test_changelog_trust.py connects as the runtime role to prove what it
# cannot do, and tampers as the owner role (RELAPP_TEST_OWNER_ROLE), which owns
# the change log there and drops its triggers as any owner may.
"$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE relapp_owner LOGIN CREATEDB" -c "CREATE ROLE relapp_app LOGIN" >/dev/null
mkdir -p "$STATE/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
  --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log" --dir "$STATE/redis"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
# A private rsyslog receives the change-log stream (RFC 5424 over TCP,
# octet-counted) and writes each message body, one exported entry per line,
# to $STATE/syslog/<APP-NAME>.jsonl: a file `verify_changelog --stream` reads.
# A second input takes the same over TLS with a throwaway self-signed certificate.
mkdir -p "$STATE/syslog"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$STATE/syslog/key.pem" -out "$STATE/syslog/cert.pem" \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
cat >"$STATE/syslog/rsyslog.conf" <<EOF
global(workDirectory="$STATE/syslog" maxMessageSize="1m")
module(load="imtcp")
template(name="relappStreamFile" type="string" string="$STATE/syslog/%app-name%.jsonl")
template(name="relappStreamBody" type="string" string="%msg%\\n")
input(type="imtcp" address="127.0.0.1" port="$SYSLOG_PORT" ruleset="relappStream")
input(type="imtcp" address="127.0.0.1" port="$SYSLOG_TLS_PORT" ruleset="relappStream"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"
  streamDriver.CAFile="$STATE/syslog/cert.pem" streamDriver.CertFile="$STATE/syslog/cert.pem"
  streamDriver.KeyFile="$STATE/syslog/key.pem")
ruleset(name="relappStream") {
  action(type="omfile" dynaFile="relappStreamFile" template="relappStreamBody")
}
EOF
rsyslogd -n -f "$STATE/syslog/rsyslog.conf" -i "$STATE/syslog/rsyslogd.pid" >"$STATE/syslog/rsyslogd.log" 2>&1 &
SYSLOG_PID=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SYSLOG_PORT") 2>/dev/null && break
  sleep 0.1
done
echo "PostgreSQL on 127.0.0.1:$PG_PORT, redis-server on 127.0.0.1:$REDIS_PORT, rsyslogd on 127.0.0.1:$SYSLOG_PORT (TLS :$SYSLOG_TLS_PORT), state in $STATE"

unset DJANGO_SETTINGS_MODULE
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/relapp"
export DATABASE_RUNTIME_ROLE=relapp_app
export RELAPP_TEST_OWNER_ROLE=relapp_owner
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export RELAPP_TEST_REDIS_PORT="$REDIS_PORT"
export RELAPP_TEST_SYSLOG_PORT="$SYSLOG_PORT" RELAPP_TEST_SYSLOG_DIR="$STATE/syslog"
export RELAPP_TEST_SYSLOG_TLS_PORT="$SYSLOG_TLS_PORT" RELAPP_TEST_SYSLOG_CA="$STATE/syslog/cert.pem"
# The cache (DRF throttle history) in its own database: tests empty it, never the broker.
export CACHE_URL="redis://127.0.0.1:$REDIS_PORT/1"
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
