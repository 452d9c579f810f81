#!/usr/bin/env bash
# Configures and builds attnplan into build/ (or $ATTN_BUILD_DIR). Extra args go to cmake.
# The compiler's output goes to $build/build.log; on failure its tail is printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
build=${ATTN_BUILD_DIR:-$root/build}
mkdir -p "$build"
log=$build/build.log
echo "attnplan: building in $build (log: $log)" >&2
{
  if [ ! -f "$build/CMakeCache.txt" ] || [ $# -gt 0 ]; then
    cmake -S "$root" -B "$build" "$@"
  fi
  cmake --build "$build" -j "$(nproc)"
} >"$log" 2>&1 || { tail -40 "$log" >&2; echo "attnplan: build failed (full log: $log)" >&2; exit 1; }
