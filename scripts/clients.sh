#!/bin/sh
# Installs the npm packages of the client tests (tests/clients/package-lock.json) with `npm ci`,
# so every run uses exactly the locked versions. Skipped when they are installed already from
# the same lock file. Used by `make integration` and `make check`.
set -eu
cd "$(dirname "$0")/../tests/clients"
if ! command -v npm >/dev/null 2>&1; then
    echo "clients: npm is missing (scripts/deps.sh installs it)" >&2
    exit 1
fi
stamp=node_modules/.ensign-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
    exit 0
fi
echo "clients: npm ci in tests/clients"
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
