#!/usr/bin/env bash
# `make demo`: the whole site on one machine with no external services: SQLite under var/,
# a file-system Celery broker, a worker for both queues, beat, and the development server.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG=true
export SECRET_KEY="${SECRET_KEY:-demo-only-insecure-key-never-use-in-production}"
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
PY=.venv/bin/python
mkdir -p var/broker/queue var/broker/control var/broker/processed

$PY manage.py migrate --no-input
$PY manage.py collectstatic --no-input -v0
$PY manage.py seed_demo --if-empty

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$PY -m celery -A entertainment worker -Q cpu,gpu --concurrency=1 --loglevel=INFO \
    >var/worker.log 2>&1 &
pids+=($!)
$PY -m celery -A entertainment beat --loglevel=INFO >var/beat.log 2>&1 &
pids+=($!)

echo "Encore is starting at http://127.0.0.1:8000  (worker log: var/worker.log; Ctrl-C stops all)"
$PY manage.py runserver 127.0.0.1:8000 &
pids+=($!)
wait -n "${pids[@]}"
