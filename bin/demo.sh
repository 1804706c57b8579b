#!/usr/bin/env bash
# `make demo`: the whole site on one machine with no external services: SQLite under var/,
# a file-system Celery broker, a worker for both queues, beat, and the development server.
# ENCORE_VAR_DIR moves everything var/ holds (database, broker, media, logs) elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG=true
export SECRET_KEY="${SECRET_KEY:-demo-only-insecure-key-never-use-in-production}"
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
VAR="${ENCORE_VAR_DIR:-var}"
PORT="${PORT:-8000}"
PY=.venv/bin/python
mkdir -p "$VAR/broker/queue" "$VAR/broker/control" "$VAR/broker/processed"

$PY manage.py migrate --no-input
$PY manage.py collectstatic --no-input -v0
# The first run loads the demo world and prints the demo log-ins; later runs keep what is there.
$PY manage.py seed_demo --if-empty

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$PY -m celery -A entertainment worker -Q cpu,gpu --concurrency=1 --loglevel=INFO \
    >"$VAR/worker.log" 2>&1 &
pids+=($!)
$PY -m celery -A entertainment beat --loglevel=INFO >"$VAR/beat.log" 2>&1 &
pids+=($!)

# The first start trains all three models on the demo world in the background worker; the site
# serves popular items meanwhile, and /staff/ shows the runs' progress (log in as staff).
$PY manage.py train --if-untrained --trigger demo

echo "Encore is starting at http://127.0.0.1:$PORT  (logs: $VAR/worker.log, $VAR/beat.log; Ctrl-C stops all)"
# No autoreloader: its extra process would outlive a stop.
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"
