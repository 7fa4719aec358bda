# Shared variables for the project's scripts. Sourced, not run.
# When DATABASE_URL / REDIS_URL are set, no local server is started for them.
PG_PORT="${PG_PORT:-55432}"
REDIS_PORT="${REDIS_PORT:-56379}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PGUSER_NAME=parcels
PGDATABASE_NAME=parcels
PGDATA_DIR="$ROOT/.local/postgres/data"
PGLOG_DIR="$ROOT/.local/postgres/log"
REDIS_DIR="$ROOT/.local/redis"

if [ -n "${DATABASE_URL:-}" ]; then LOCAL_POSTGRES=0; else
  LOCAL_POSTGRES=1
  export DATABASE_URL="postgis://$PGUSER_NAME@127.0.0.1:$PG_PORT/$PGDATABASE_NAME"
fi
if [ -n "${REDIS_URL:-}" ]; then LOCAL_REDIS=0; else
  LOCAL_REDIS=1
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
export PG_PORT REDIS_PORT
