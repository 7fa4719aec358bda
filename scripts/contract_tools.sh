#!/usr/bin/env bash
# The TypeScript tools of the API contract test (tests/contract/test_typescript.py):
# openapi-typescript and tsc at the versions of tests/contract/ts/package-lock.json, installed
# with `npm ci` into .local/contract-ts/ (ignored by git), again only when the lock changes.
# Run by scripts/setup.sh with WITH_TEST_TOOLS=1 (`make test`, CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SOURCE=tests/contract/ts
TOOLS=.local/contract-ts
lock_hash="$(cat "$SOURCE/package.json" "$SOURCE/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$TOOLS/.lock.sha256" 2>/dev/null)" = "$lock_hash" ] && [ -x "$TOOLS/node_modules/.bin/tsc" ]; then
  exit 0
fi
printf '\033[1m==> %s\033[0m\n' "Installing the TypeScript contract tools (npm ci)"
rm -rf "$TOOLS"
mkdir -p "$TOOLS"
cp "$SOURCE/package.json" "$SOURCE/package-lock.json" "$TOOLS/"
npm ci --prefix "$TOOLS" --no-audit --no-fund --loglevel=error
echo "$lock_hash" > "$TOOLS/.lock.sha256"
