#!/usr/bin/env bash
# `make lint`: ruff (style and common bugs), the import contracts (each app imports only the
# apps below it; routing/ imports no Django), mypy with the Django and DRF stubs, and pip-audit
# over the pinned requirements (a known vulnerability fails; an unreachable vulnerability service
# is reported as NOT AUDITED and fails only with AUDIT_STRICT=1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/lint-imports ] || [ ! -x .venv/bin/pip-audit ]; then bash scripts/setup.sh; fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-logo --no-cache
.venv/bin/mypy
.venv/bin/python scripts/audit_deps.py
