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
.venv/bin/python manage.py seed_demo | tee .local/run/demo-accounts.txt

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
    Dashboard   $BASE_URL/manager/      (managers; data from the simulated evening)
    API docs    $BASE_URL/api/docs/
    API schema  $BASE_URL/api/schema/
    Admin       $BASE_URL/admin/        (ops@demo.example)
    Health      $BASE_URL/healthz
  Demo logins (password: demo-parcels-2026) are listed above and in .local/run/demo-accounts.txt.

  Simulating yesterday's evening at the demo stores through the whole system (its own clock
  and Celery worker), so that the dashboard has data; the Celery worker and beat of this
  service start when it is done (a few minutes), so that they do not act on the simulated
  evening in real time. Press Ctrl-C to stop.

MSG

# Yesterday evening at the demo stores, simulated in the background; its KPI table prints here.
SIM_DAY="$(date -d yesterday +%F)"
.venv/bin/python manage.py simulate --date "$SIM_DAY" --from 17:00 --to 20:00 --speed 0 \
  --seed 1 > .local/run/simulation.txt 2> .local/run/simulation.log &
simulation=$!
pids+=($simulation)
if wait "$simulation"; then
  printf '\n  Simulated evening of %s (KPIs from backend/analytics, as on the dashboard):\n\n' \
    "$SIM_DAY"
  cat .local/run/simulation.txt
else
  echo "The simulation failed: see .local/run/simulation.log"
fi

PYTHON="$ROOT/.venv/bin/python" sh scripts/worker.sh --concurrency 2 --hostname "worker@%h" &
pids+=($!)
.venv/bin/celery -A backend.config beat --loglevel INFO \
  --schedule .local/run/celerybeat-schedule --pidfile "" &
pids+=($!)
printf '\n  Celery worker and beat started. Press Ctrl-C to stop.\n\n'

# Keep serving until Ctrl-C or until the API, the worker or beat stops.
wait -n "${pids[0]}" "${pids[2]}" "${pids[3]}" || true
echo "A process exited; stopping the rest."
