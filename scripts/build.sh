#!/usr/bin/env bash
# Configures and builds attnplan into build/ (or $ATTN_BUILD_DIR). Extra args go to cmake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
build=${ATTN_BUILD_DIR:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ] || [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" "$@" >&2
fi
cmake --build "$build" -j "$(nproc)" >&2
