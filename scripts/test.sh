#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds with warnings as
# errors (the CUDA targets too where nvcc exists), runs every ctest, then the unit and MPI
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then a bounded fuzz run.
# Usage: scripts/test.sh [--quick]   (--quick: skip the sanitizer build and the fuzz run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0; [ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

ATTN_WITH_CHROMIUM=1 "$root/scripts/deps.sh"   # chromium renders the HTML report in its test
[ -x "$root/scripts/pydeps.sh" ] && "$root/scripts/pydeps.sh"

step() { printf '\n== %s ==\n' "$*" >&2; }

step "build (warnings are errors)"
build=${ATTN_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DATTN_WERROR=ON -DATTN_CUDA=AUTO >&2
cmake --build "$build" -j "$jobs" >&2

step "tests"
(cd "$build" && ctest --output-on-failure -j "$jobs" -LE fuzz)

if [ $quick = 0 ]; then
  step "unit tests under ASan + UBSan"
  asan=$root/build-asan
  cmake -S "$root" -B "$asan" -DATTN_WERROR=ON -DATTN_SANITIZE=ON -DATTN_CUDA=OFF >&2
  cmake --build "$asan" -j "$jobs" >&2
  (cd "$asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j "$jobs" -L unit -LE "mpi|gpu")
  # The multi-rank runs too, every rank instrumented, without the leak check: Open MPI's
  # own allocations (in plugins it unloads before exit, so no suppression can name them)
  # would fail every run; the single-process tests above check our leaks.
  step "MPI tests under ASan + UBSan (no leak check)"
  (cd "$asan" && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j "$jobs" -L mpi)

  if [ -x "$root/scripts/fuzz.sh" ]; then
    step "fuzz (bounded)"
    "$root/scripts/fuzz.sh" "${ATTN_FUZZ_SECONDS:-120}"
  fi
fi
echo "scripts/test.sh: all passed" >&2
