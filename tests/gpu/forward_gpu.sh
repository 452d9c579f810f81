#!/usr/bin/env bash
# forward_gpu.sh: the whole forward on the CUDA backend against the CPU backend. For small
# one-GPU plans (gpt and llama with GQA; fp32, fp16, bf16 storage; several query chunks)
# both backends run the same plan with the same seeded weights and inputs and dump their
# outputs; compare_dumps checks the GPU's against the CPU's by relative error with a
# bound per storage type, and every fp32 GPU run also passes attnrun --check (float64
# reference, 1e-4). Rank shares of multi-GPU plans (every scheme, a pipeline) run on the
# GPU too: they must finish and write a measured report. Exits 77 without a GPU.
# usage: forward_gpu.sh SRC_ROOT BUILD_DIR
# ATTN_TEST_GPU_BACKEND=cpu runs the "GPU" side on the CPU backend instead: no GPU needed,
# every comparison must then pass; it checks this script's own plumbing (gpu-check.sh
# --cpu-only does so).
set -uo pipefail
src=$1 build=$2
probe=$build/tests/gpu/gpu_probe
attnplan=$build/planner/attnplan attnrun=$build/runtime/attnrun cmp=$build/tests/gpu/compare_dumps
gpu=${ATTN_TEST_GPU_BACKEND:-cuda}
# ATTN_TEST_ATTNRUN_GPU=PATH runs the "GPU" side with that attnrun instead (the emulated
# CUDA backend, tests/gpu/emu: no GPU needed).
gpu_run=${ATTN_TEST_ATTNRUN_GPU:-$attnrun}
if [ "$gpu" = cuda ] && [ -z "${ATTN_TEST_ATTNRUN_GPU:-}" ]; then "$probe" || exit $?; fi   # 77: no GPU, skipped
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

# model NAME BASE DTYPE [key: value ...]: a copy of models/BASE.yaml with another dtype
model() {
  local name=$1 base=$2 dt=$3
  shift 3
  sed -e "s/^name: .*/name: $name/" -e "s/^dtype: .*/dtype: $dt/" "$src/models/$base.yaml" > "$work/$name.yaml"
  for kv in "$@"; do sed -i "s/^\(  *\)${kv%%:*}: .*/\1$kv/" "$work/$name.yaml"; done
}

# check NAME BOUND [attnrun options]: one-GPU plan, CPU vs GPU dumps
check() {
  local name=$1 bound=$2
  shift 2
  local m=$work/$name.yaml plan=$work/$name.plan.yaml
  "$attnplan" price "$src/topologies/single-h100.yaml" "$m" --strategy dp=1,pp=1,n=1,m=1 -o "$plan" > /dev/null ||
    { echo "FAIL $name: attnplan price"; fail=1; return; }
  "$attnrun" "$plan" --backend cpu --repeat 1 --warmup 0 --dump "$work/$name.cpu.st" "$@" > /dev/null ||
    { echo "FAIL $name: CPU run"; fail=1; return; }
  local extra=()
  grep -q "^dtype: fp32" "$m" && extra=(--check)
  if ! "$gpu_run" "$plan" --backend "$gpu" --repeat 1 --warmup 1 --dump "$work/$name.gpu.st" "${extra[@]}" "$@" \
      -o "$work/$name.measured.yaml" > "$work/$name.gpu.log" 2>&1; then
    echo "FAIL $name: GPU run"; cat "$work/$name.gpu.log"; fail=1; return
  fi
  local B L T C
  B=$(sed -n 's/.*batch: \([0-9]*\).*/\1/p' "$m" | head -1)
  L=$(sed -n 's/.*seq_len: \([0-9]*\).*/\1/p' "$m" | head -1)
  T=$(sed -n 's/.*decode_tokens: \([0-9]*\).*/\1/p' "$m" | head -1)
  C=$(sed -n 's/^hidden: \([0-9]*\).*/\1/p' "$m")
  echo "-- $name (B=$B L=$L decode=$T C=$C) $*"
  grep "check" "$work/$name.gpu.log"
  "$cmp" "$work/$name.gpu.st" "$work/$name.cpu.st" "$B" "$L" "$T" "$C" "$bound" || fail=1
}

# share NAME TOPOLOGY DEVICES STRATEGY RANK: a rank share of a multi-GPU plan must run
share() {
  local name=$1 topo=$2 dev=$3 strat=$4 rank=$5 plan=$work/$1.plan.yaml
  "$attnplan" price "$src/topologies/$topo.yaml" "$work/$name.yaml" --strategy "$strat" --devices "$dev" -o "$plan" \
    > /dev/null || { echo "FAIL $name: attnplan price $strat"; fail=1; return; }
  if "$gpu_run" "$plan" --backend "$gpu" --rank-share "$rank" --repeat 1 --warmup 0 -o "$work/$name.m.yaml" \
      > "$work/$name.log" 2>&1 && grep -q "^measured:" "$work/$name.m.yaml"; then
    echo "ok   rank share $rank of $strat ($name)"
  else
    echo "FAIL rank share $rank of $strat ($name)"; cat "$work/$name.log"; fail=1
  fi
}

model gpt32 tiny fp32
model gpt16 tiny fp16
model gptbf tiny bf16
model llama32 tiny-llama fp32
model llama16 tiny-llama fp16
model llamabf tiny-llama bf16
# The emulated backend (ATTN_TEST_ATTNRUN_GPU) runs every CUDA thread as a fiber: smaller
# cases there, the same code paths (several query chunks, every scheme).
long=200 chunk=64 share_base=small-llama
[ -n "${ATTN_TEST_ATTNRUN_GPU:-}" ] && long=40 chunk=16 share_base=tiny-llama
model llamalong16 small-llama fp16 "seq_len: $long" "decode_tokens: 5"
check gpt32 1e-4
check gpt16 2e-2
check gptbf 6e-2
check llama32 1e-4
check llama16 2e-2
check llamabf 6e-2
check llamalong16 2e-2 --query-chunk $chunk

model s_sar $share_base fp16
model s_qka $share_base fp16
model s_a2a $share_base fp16
model s_pp $share_base fp16
model s_gpt tiny fp16
share s_sar dgx-h100-x1 4 dp=1,pp=1,n=2,m=2,scheme=score-allreduce 3
share s_qka dgx-h100-x1 4 dp=1,pp=1,n=2,m=2,scheme=qk-allgather 1
share s_a2a dgx-h100-x1 4 dp=1,pp=1,n=1,m=4,scheme=head-alltoall 2
share s_pp dgx-h100-x1 8 dp=2,pp=2,n=2,m=1 5
share s_gpt dgx-h100-x1 4 dp=1,pp=1,n=2,m=2,scheme=score-allreduce 0
[ $fail = 0 ] && echo "forward_gpu: all passed" || echo "forward_gpu: FAILED"
exit $fail
