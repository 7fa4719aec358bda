#!/bin/sh
# The Celery worker, as every environment starts it: it consumes every queue the app declares.
# Arguments are added to the worker's (pool, concurrency, name, a quieter --loglevel); PYTHON is
# the interpreter to run it with.
set -eu
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m celery -A backend.config worker --loglevel INFO "$@"
