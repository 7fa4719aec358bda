#!/usr/bin/env bash
# Set-up shared by `make run` and `make test`: system packages, the virtualenv, a local PostGIS
# cluster and Redis (unless DATABASE_URL / REDIS_URL point elsewhere), the database and its
# migrations. Idempotent: a second run reuses what is there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- system packages --------------------------------------------------------------------------
SYSTEM_PACKAGES=(postgresql-15 postgresql-15-postgis-3 gdal-bin libgeos-c1v5 proj-bin redis-server)
# The dashboard's base map: vector tiles from the OSM extract (see "base map tiles" below).
SYSTEM_PACKAGES+=(tilemaker)
# The test suite also validates docker-compose.yml (Debian has Compose v1 where the v2 plugin is
# not installed).
if [ "${WITH_TEST_TOOLS:-0}" = 1 ]; then SYSTEM_PACKAGES+=(docker-compose chromium fonts-dejavu-core); fi
# ...and checks the API's TypeScript types with Node and npm (Debian's, unless a Node with its
# own npm is already installed).
if [ "${WITH_TEST_TOOLS:-0}" = 1 ] && ! { command -v node && command -v npm; } >/dev/null; then
  SYSTEM_PACKAGES+=(nodejs npm)
fi
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing system packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})"
  fi
  log "Installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python virtualenv ------------------------------------------------------------------------
# Python 3.12: the road engine's bindings (osrm-bindings) are built for it only. PYTHON, else
# python3.12 on the PATH, else a 3.12 installed by pyenv.
is_312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }
find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.12 python3; do
    if [ -n "$candidate" ] && is_312 "$candidate"; then echo "$candidate"; return 0; fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in "$(pyenv root)"/versions/3.12*/bin/python3.12; do
      if [ -x "$candidate" ] && is_312 "$candidate"; then echo "$candidate"; return 0; fi
    done
  fi
  return 1
}
PYTHON="$(find_python)" || die "Python 3.12 is required (install it, or set PYTHON to its interpreter)"
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
  log "Replacing .venv, made with another Python"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  log "Creating .venv"
  "$PYTHON" -m venv .venv
fi
req_hash="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$req_hash" ]; then
  log "Installing Python requirements"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$req_hash" > .venv/.requirements.sha256
fi

# The TypeScript side of the API contract test: npm ci, again only when its lock changes.
if [ "${WITH_TEST_TOOLS:-0}" = 1 ]; then bash scripts/contract_tools.sh; fi

# --- road network -----------------------------------------------------------------------------
# The bundled extract (or ROAD_EXTRACT, a deployment's own .osm.pbf) prepared for OSRM's car
# profile once, under .local/osrm/, and reused until the extract or the profile changes.
ROAD_EXTRACT="${ROAD_EXTRACT:-fixtures/osm/monaco-region.osm.pbf}"
log "Preparing the road network from $ROAD_EXTRACT (once)"
OSRM_DATA_PATH="$(.venv/bin/python -m routing.roads prepare "$ROAD_EXTRACT" .local/osrm)"

# --- PostgreSQL + PostGIS ---------------------------------------------------------------------
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A free port from $1 upwards: another program may already hold the default one.
free_port() {
  local port=$1
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

if [ "$LOCAL_POSTGRES" = 1 ]; then
  mkdir -p "$PGDATA_DIR" "$PGLOG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses root: the cluster belongs to the postgres user, which must be able to
    # reach the project folder (traverse only, no read).
    chown postgres:postgres "$PGDATA_DIR" "$PGLOG_DIR"
    chmod 700 "$PGDATA_DIR"
    dir="$ROOT"
    while [ "$dir" != "/" ]; do
      if ! runuser -u postgres -- test -x "$dir"; then
        log "Letting the postgres user traverse $dir"
        chmod o+x "$dir"
      fi
      dir="$(dirname "$dir")"
    done
  fi
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    log "Creating the PostgreSQL cluster in .local/"
    as_postgres "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$PGUSER_NAME" --auth=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null
    # Loopback only, no Unix socket: this cluster is for this project on this machine.
    cat >> "$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_buffers = 256MB
max_connections = 200
CONF
  fi
  if as_postgres "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    if port_in_use "$PG_PORT"; then
      PG_PORT="$(free_port "$PG_PORT")"
      log "The PostgreSQL port is taken by another program: using $PG_PORT"
    fi
    echo "$PG_PORT" > "$ROOT/.local/postgres/port"
    log "Starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_postgres "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGLOG_DIR/postgres.log" -w -t 60 \
      -o "-p $PG_PORT" start >/dev/null
  fi
  if ! "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PGUSER_NAME" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE_NAME'" | grep -q 1; then
    log "Creating database $PGDATABASE_NAME"
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PGUSER_NAME" "$PGDATABASE_NAME"
  fi
  PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PGUSER_NAME" -d "$PGDATABASE_NAME" \
    -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
fi

# --- Redis ------------------------------------------------------------------------------------
if [ "$LOCAL_REDIS" = 1 ]; then
  mkdir -p "$REDIS_DIR"
  if [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    log "Redis already running on 127.0.0.1:$REDIS_PORT"
  else
    if port_in_use "$REDIS_PORT"; then
      REDIS_PORT="$(free_port "$REDIS_PORT")"
      log "The Redis port is taken by another program: using $REDIS_PORT"
    fi
    echo "$REDIS_PORT" > "$REDIS_DIR/port"
    log "Starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" --daemonize yes \
      --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
      --appendonly yes --protected-mode yes
    deadline=$((SECONDS + 30))
    until redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
      [ $SECONDS -lt $deadline ] || die "Redis did not start (see $REDIS_DIR/redis.log)"
      sleep 0.2
    done
  fi
fi

# Record where the local servers are, so that `manage.py`, Celery and the tests find them.
local_urls
mkdir -p .local
{
  echo "# Written by scripts/setup.sh: where this checkout's servers are."
  echo "DATABASE_URL=$DATABASE_URL"
  echo "REDIS_URL=$REDIS_URL"
  echo "OSRM_DATA=$OSRM_DATA_PATH"
} > .local/env

# --- schema -----------------------------------------------------------------------------------
log "Applying migrations"
.venv/bin/python manage.py migrate --noinput -v 0

# --- base map tiles ---------------------------------------------------------------------------
# The dashboard's map: vector tiles of the roads' extract (or MAP_EXTRACT) made by tilemaker into
# one PMTiles file under .local/map/, once; made again only when the extract, the tile config or
# the tools change (a hash stamp beside the file, backend/analytics/tilebuild.py).
# (manage.py prepare_map does the same from the settings' MAP_EXTRACT and MAP_TILES_FILE.)
.venv/bin/python -m backend.analytics.tilebuild "${MAP_EXTRACT:-$ROAD_EXTRACT}" \
  "${MAP_TILES_FILE:-.local/map/base.pmtiles}"
