#!/usr/bin/env bash
# `make lint`: ruff (style and common bugs), the import contracts (each app imports only the
# apps below it; routing/ imports no Django) and mypy with the Django and DRF stubs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/lint-imports ]; then bash scripts/setup.sh; fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-logo --no-cache
.venv/bin/mypy
