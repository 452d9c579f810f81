#!/usr/bin/env bash
# errors_mpi.sh MAKE_PLAN ATTNRUN WORKDIR: under mpirun with 4 ranks, a bad weights or input
# file makes every rank exit non-zero with one message naming the file and tensor, and
# never hangs (each run has a timeout); a wrong world size is a clear error.
set -uo pipefail
make_plan=$1 attnrun=$2 work=$3
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAILED: $*" >&2; exit 1; }
cat > "$work/m.yaml" <<'M'
name: err-gpt
arch: gpt
layers: 2
heads: 4
head_dim: 6
hidden: 24
ffn_hidden: 20
dtype: fp32
workload: {batch: 2, seq_len: 5, decode_tokens: 1}
M
"$make_plan" "$work/m.yaml" "dp=1,pp=2,n=2,m=1" "$work/p4.yaml" || fail make_plan
mpirun -np 4 "$attnrun" "$work/p4.yaml" --dump "$work/out.safetensors" --repeat 1 --warmup 0 >/dev/null 2>&1 || fail "dump run"
head -c 300 "$work/out.safetensors" > "$work/trunc.safetensors"
run() { # expect a non-zero exit within the timeout and exactly one message matching $1
  local pattern=$1; shift
  local out rc
  out=$(timeout 60 mpirun -np 4 "$attnrun" "$work/p4.yaml" "$@" 2>&1); rc=$?
  [ $rc = 124 ] && fail "hang: $*"
  [ $rc != 0 ] || fail "exit 0: $*"
  n=$(echo "$out" | grep -cE -- "$pattern")
  [ "$n" = 1 ] || { echo "$out"; fail "expected one message matching '$pattern', got $n: $*"; }
  echo "ok: exit $rc, one message '$pattern'"
}
run "out.safetensors: tensor 'model.layers.[0-9].(input_layernorm|post_attention_layernorm).weight' is missing" --weights "$work/out.safetensors"
run "trunc.safetensors: .*(truncated|malformed)" --input "$work/trunc.safetensors"
run "missing.safetensors: cannot open" --weights "$work/missing.safetensors"
out=$(timeout 60 mpirun -np 2 "$attnrun" "$work/p4.yaml" 2>&1); rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "needs 4 ranks" <<< "$out" || { echo "$out"; fail "world size mismatch"; }
echo "ok: world size mismatch"
echo "errors_mpi.sh: all passed"
