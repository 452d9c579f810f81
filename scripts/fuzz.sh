#!/usr/bin/env bash
# fuzz.sh [SECONDS]: fuzzes every input-file loader (tests/fuzz/fuzz_loaders.c) with
# libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer for SECONDS (default 60).
# Builds into build-fuzz/ (or $ATTN_FUZZ_BUILD_DIR) with clang; the corpus starts from
# models/, topologies/, tests/lib/bad/ and tests/fuzz/seeds/ (plans written by attnplan
# price/plan for the tiny models) and grows in build-fuzz/corpus. Crash inputs
# are written to build-fuzz/artifacts/. Exit 0 when nothing was found, 1 otherwise,
# 2 on bad usage, 77 when clang is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
case $seconds in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
if ! command -v clang >/dev/null; then
  echo "fuzz.sh: clang is not installed; skipping" >&2
  exit 77
fi
build=${ATTN_FUZZ_BUILD_DIR:-$root/build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S "$root" -B "$build" -DATTN_FUZZ=ON -DATTN_CUDA=OFF -DATTN_MPI=OFF >&2
fi
cmake --build "$build" --target fuzz_loaders -j "$(nproc)" >&2
corpus=$build/corpus
artifacts=$build/artifacts
mkdir -p "$corpus" "$artifacts"
cp -f "$root"/models/* "$root"/topologies/* "$root"/tests/lib/bad/* "$root"/tests/fuzz/seeds/* "$corpus"/ 2>/dev/null || true
rm -f "$corpus/expected.txt"
# -rss_limit_mb bounds memory; -timeout flags any input that takes over 10 s (a hang).
set +e
"$build/tests/fuzz/fuzz_loaders" "$corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: the fuzzer found a problem (exit $rc); inputs are in $artifacts" >&2
  exit 1
fi
echo "fuzz.sh: no crash, leak or hang in $seconds s" >&2
