#!/usr/bin/env bash
# Run Relapp on its embedded default: SQLite and Celery's filesystem broker
# under var/, demo data loaded, web server + Celery worker and beat.
# Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-true}"
PORT="${PORT:-8000}"
PY=.venv/bin/python
VAR="${RELAPP_VAR_DIR:-var}"

# Every folder the embedded broker uses (see CELERY_BROKER_TRANSPORT_OPTIONS).
mkdir -p "$VAR/celery/broker" "$VAR/celery/control" "$VAR/celery/processed" "$VAR/mail"
if [ -z "${DATABASE_URL:-}" ]; then
  echo "Migrating the SQLite database ($VAR/relapp.sqlite3)…"
else
  echo "Migrating the database…"
fi
"$PY" manage.py migrate --noinput --verbosity 0
# A development key that signs approval attestations (docs/attestations.md),
# made once under var/ unless one is configured.
if [ -z "${ATTESTATION_SIGNING_KEY:-}${ATTESTATION_SIGNING_KEY_FILE:-}" ]; then
  export ATTESTATION_SIGNING_KEY_FILE="$VAR/attestation-signing-key.pem"
  if [ ! -f "$ATTESTATION_SIGNING_KEY_FILE" ]; then
    (umask 077 && "$PY" -c 'import sys; from cryptography.hazmat.primitives import serialization as s; from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey as K; sys.stdout.write(K.generate().private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())' > "$ATTESTATION_SIGNING_KEY_FILE")
  fi
fi
echo "Loading demo data…"
"$PY" manage.py seed_demo

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One process runs the worker and the beat scheduler (-B): only one beat may
# ever run, and the embedded broker needs no other service.
.venv/bin/celery -A relapp worker -B --pool=solo --without-gossip --without-mingle \
  --schedule "$VAR/celery/beat-schedule" --loglevel=INFO --logfile "$VAR/celery/worker.log" &
pids+=($!)

echo "Relapp is starting on http://127.0.0.1:${PORT}/ (sign in as rm / ${DEMO_PASSWORD:-relapp-demo})"
echo "Celery worker and beat log: $VAR/celery/worker.log"
"$PY" manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)
wait -n "${pids[@]}"
