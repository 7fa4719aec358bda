#!/usr/bin/env bash
# `make test`: set up, then run the whole suite against the real PostGIS and Redis.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WITH_TEST_TOOLS=1 bash scripts/setup.sh
source scripts/env.sh
export DJANGO_SETTINGS_MODULE=backend.config.settings.test
exec .venv/bin/python -m pytest "$@"
