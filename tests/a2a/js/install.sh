#!/usr/bin/env bash
# Installs the pinned A2A JavaScript SDKs (package-lock.json beside this file) with `npm ci` into a
# cache folder named by the lock's hash, once; prints the folder. tests/a2a/test_js_client.py
# finds the same folder; scripts/check runs this before the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hash="$(sha256sum "$here/package-lock.json" | cut -c1-16)"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/max-tools/a2a-js-$hash"
if [ ! -f "$dir/.installed" ]; then
    mkdir -p "$dir"
    cp "$here/package.json" "$here/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$dir/.installed"
fi
echo "$dir"
