#!/usr/bin/env bash
# calibrate_smoke.sh: `attnrun --calibrate --quick` on 1 rank (no MPI) and on 2 ranks
# (mpirun) writes a calibration file that the loader accepts against cpu-local-2, with
# collectives only when there are 2 ranks; a bad option is exit 2 and writes nothing.
# Then `attnplan price --calibration` with that file changes the prediction, and a bad file
# is exit 2 at FILE:LINE:COL.
# usage: calibrate_smoke.sh ATTNRUN TEST_CALIBRATION ATTNPLAN SOURCE_DIR SCRATCH
set -euo pipefail
attnrun=$1 loader=$2 attnplan=$3 src=$4 scratch=$5
rm -rf "$scratch" && mkdir -p "$scratch"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
topo=$src/topologies/cpu-local-2.yaml
fail() { echo "calibrate_smoke: $*" >&2; exit 1; }

"$attnrun" --calibrate --help > "$scratch/help.txt" || fail "--calibrate --help failed"
grep -q -- "--topology" "$scratch/help.txt" || fail "--calibrate --help does not list --topology"

timeout 120 "$attnrun" --calibrate --quick --topology "$topo" --model "$src/models/tiny.yaml" -o "$scratch/one.yaml" \
  > "$scratch/one.txt" 2>&1 || { cat "$scratch/one.txt"; fail "1 rank: attnrun --calibrate failed"; }
"$loader" --load "$scratch/one.yaml" "$topo" || fail "1 rank: the file does not load"
grep -q '^collectives: \[\]' "$scratch/one.yaml" || fail "1 rank: collectives measured without a second rank"
grep -q 'kind: scores' "$scratch/one.yaml" || fail "1 rank: no attention GEMM shapes"

timeout 120 mpirun -np 2 "$attnrun" --calibrate --quick --topology "$topo" --model "$src/models/tiny-llama.yaml" \
  -o "$scratch/two.yaml" > "$scratch/two.txt" 2>&1 || { cat "$scratch/two.txt"; fail "2 ranks: attnrun --calibrate failed"; }
"$loader" --load "$scratch/two.yaml" "$topo" || fail "2 ranks: the file does not load"
for c in allreduce allgather alltoall sendrecv; do
  grep -q "coll: $c" "$scratch/two.yaml" || fail "2 ranks: no $c fit"
  grep -q "^# $c, 2 ranks: fit alpha" "$scratch/two.txt" || fail "2 ranks: no $c table on stdout"
done
grep -q "busbw" "$scratch/two.txt" || fail "2 ranks: the tables have no busbw column"
grep -q '^sync_wait: \[\]' "$scratch/one.yaml" || fail "1 rank: a synchronization wait without a second rank"
[ "$(grep -c '^  - {work: ' "$scratch/two.yaml")" -ge 5 ] || fail "2 ranks: fewer than 5 sync_wait points"
grep -q "^# synchronization wait, 2 ranks" "$scratch/two.txt" || fail "2 ranks: no synchronization table on stdout"

set +e
"$attnrun" --calibrate --topology "$topo" --samples 0 -o "$scratch/bad.yaml" > "$scratch/bad.txt" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "--samples 0: exit $rc, want 2"
[ ! -e "$scratch/bad.yaml" ] || fail "--samples 0 wrote a file"
"$attnrun" --calibrate -o "$scratch/bad.yaml" > "$scratch/bad.txt" 2>&1 && fail "no --topology/--peak accepted"
grep -q "needs --topology" "$scratch/bad.txt" || fail "no --topology: unhelpful message"
ttft() { awk '$1 == "ttft_s" { print $2 }'; }
model=$src/models/tiny-llama.yaml
plain=$("$attnplan" price "$topo" "$model" --strategy n=2 | ttft)
calibrated=$("$attnplan" price "$topo" "$model" --strategy n=2 --calibration "$scratch/two.yaml" | ttft)
[ -n "$plain" ] && [ -n "$calibrated" ] || fail "attnplan price printed no ttft_s"
[ "$plain" != "$calibrated" ] || fail "--calibration did not change the prediction ($plain s)"
set +e
"$attnplan" price "$topo" "$model" --strategy n=2 --calibration "$src/tests/calibration/bad/gemm_kind.yaml" \
  > "$scratch/badcal.txt" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "a bad calibration file: exit $rc, want 2"
grep -q "gemm_kind.yaml:9:30: error: unknown kind 'matmul'" "$scratch/badcal.txt" || fail "a bad calibration file: no FILE:LINE:COL"
echo "calibrate_smoke: ok (ttft_s $plain s without, $calibrated s with the calibration)"
