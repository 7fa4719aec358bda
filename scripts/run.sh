#!/usr/bin/env bash
# `make run`: set up, then serve the API (gunicorn), a Celery worker and Celery beat until Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-backend.config.settings.dev}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
BASE_URL="http://$HOST:$PORT"
mkdir -p .local/run

.venv/bin/python manage.py collectstatic --noinput -v 0

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the API, the worker and beat (the database and Redis keep running: make stop)."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  exit 0
}
trap stop_all INT TERM EXIT

.venv/bin/gunicorn backend.config.wsgi:application --bind "$HOST:$PORT" --workers 2 \
  --access-logfile - --graceful-timeout 10 &
pids+=($!)
.venv/bin/celery -A backend.config worker -Q matching,notifications,default --concurrency 2 \
  --loglevel INFO --hostname "worker@%h" &
pids+=($!)
.venv/bin/celery -A backend.config beat --loglevel INFO \
  --schedule .local/run/celerybeat-schedule --pidfile "" &
pids+=($!)

deadline=$((SECONDS + 60))
until curl -fsS "$BASE_URL/healthz" >/dev/null 2>&1; do
  if [ $SECONDS -ge $deadline ]; then
    echo "The API did not become healthy; /healthz says:"; curl -sS "$BASE_URL/healthz" || true
    break
  fi
  sleep 0.5
done

cat <<MSG

  Parcel delivery backend is up.
    Health      $BASE_URL/healthz
    API docs    $BASE_URL/api/docs/
    API schema  $BASE_URL/api/schema/
    Admin       $BASE_URL/admin/
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}" || true
echo "A process exited; stopping the rest."
