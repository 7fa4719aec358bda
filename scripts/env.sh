# Shared variables for the project's scripts. Sourced, not run; expects ROOT.
# When DATABASE_URL / REDIS_URL are set, no local server is started for them.
# Ports: PG_PORT / REDIS_PORT when set, else the ones the set-up chose last time, else defaults.
PG_PORT="${PG_PORT:-$(cat "$ROOT/.local/postgres/port" 2>/dev/null || echo 55432)}"
REDIS_PORT="${REDIS_PORT:-$(cat "$ROOT/.local/redis/port" 2>/dev/null || echo 56379)}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PGUSER_NAME=parcels
PGDATABASE_NAME=parcels
PGDATA_DIR="$ROOT/.local/postgres/data"
PGLOG_DIR="$ROOT/.local/postgres/log"
REDIS_DIR="$ROOT/.local/redis"

if [ -n "${DATABASE_URL:-}" ]; then LOCAL_POSTGRES=0; else LOCAL_POSTGRES=1; fi
if [ -n "${REDIS_URL:-}" ]; then LOCAL_REDIS=0; else LOCAL_REDIS=1; fi

local_urls() {
  if [ "$LOCAL_POSTGRES" = 1 ]; then
    export DATABASE_URL="postgis://$PGUSER_NAME@127.0.0.1:$PG_PORT/$PGDATABASE_NAME"
  fi
  if [ "$LOCAL_REDIS" = 1 ]; then
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  fi
}
local_urls
export PG_PORT REDIS_PORT
