#!/usr/bin/env bash
# `make lint`: ruff (style and common bugs) and mypy with the Django and DRF stubs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/ruff ]; then bash scripts/setup.sh; fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
