#!/usr/bin/env bash
# `make stop`: stop the project-local PostgreSQL and Redis started by the set-up.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast stop
  else
    "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast stop
  fi
fi
if [ -f "$REDIS_DIR/redis.pid" ]; then
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave 2>/dev/null && echo "redis stopped"
fi
exit 0
