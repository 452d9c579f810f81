#!/usr/bin/env bash
# graph_decode.sh: decode steps replayed from a recorded CUDA graph (docs/cuda-graphs.md)
# against the same steps launched op by op, on the emulated CUDA backend (attnrun_emu):
# the same plan, weights and inputs with --decode-graph off and on, both dumping prefill
# and decode outputs, which must be equal byte for byte (the emulation's GEMM adds the
# masked keys' exact zeros in order, so padding the attention to the whole cache changes
# no bit). Each graph run must say (--stats) that its steps were graph launches, and the
# eager one that it was eager. Decode runs 5 steps, so 4 of them are replays with a growing
# context. Without MPI argument: one-rank plans (label unit); with "mpi": two-rank plans of
# the schemes whose collectives are recorded in the graph (NCCL emulated over MPI), and
# NCCL_DEBUG's summary must show operations recorded into graphs.
# The attention runs unfused: the fused op has no step-slot variant yet (forward_graph.c).
# usage: graph_decode.sh MAKE_PLAN ATTNRUN_EMU WORKDIR [mpi]
set -uo pipefail
make_plan=$1 emu=$2 work=$3 mode=${4:-one}
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export NCCL_EMU_TIMEOUT=${NCCL_EMU_TIMEOUT:-100}
fail=0

# model NAME ARCH DTYPE: small shapes, not powers of two
model() {
  local kv=""
  [ "$2" = llama ] && kv="kv_heads: 2"
  cat > "$work/$1.yaml" <<M
name: $1
arch: $2
layers: 2
heads: 4
${kv}
head_dim: 12
hidden: 48
ffn_hidden: 40
dtype: $3
workload: {batch: 3, seq_len: 6, decode_tokens: 5}
M
}

# check MODEL STRATEGY [attnrun options]
check() {
  local m=$1 strat=$2
  shift 2
  local name=$m-${strat//[,=]/_}$(echo "$*" | tr -c 'a-z0-9' _)
  local plan=$work/$name.plan.yaml
  "$make_plan" "$work/$m.yaml" "$strat" "$plan" > /dev/null || { echo "FAIL $name: make_plan"; fail=1; return; }
  local world launch=()
  world=$(awk '/^world:/ {print $2}' "$plan")
  [ "$world" -gt 1 ] && launch=(timeout 200 mpirun -np "$world")
  local g
  for g in off on; do
    if ! NCCL_DEBUG=INFO "${launch[@]}" "$emu" "$plan" --backend cuda --attention unfused --warmup 1 --repeat 1 --stats --decode-graph $g \
        --dump "$work/$name.$g.st" "$@" > "$work/$name.$g.log" 2>&1; then
      echo "FAIL $name: --decode-graph $g run"; cat "$work/$name.$g.log"; fail=1; return
    fi
  done
  if ! grep -q "decode step: 1 graph launch of [1-9]" "$work/$name.on.log"; then
    echo "FAIL $name: the graph run's steps were not graph launches:"; cat "$work/$name.on.log"; fail=1; return
  fi
  if ! grep -q "decode step: eager" "$work/$name.off.log"; then
    echo "FAIL $name: the eager run was not eager:"; cat "$work/$name.off.log"; fail=1; return
  fi
  if [ "$world" -gt 1 ] && ! grep -Eq "^nccl_emu: rank 0: done: .*recorded into graphs [1-9]" "$work/$name.on.log"; then
    echo "FAIL $name: no NCCL operation was recorded into the graph:"; cat "$work/$name.on.log"; fail=1; return
  fi
  if ! cmp -s "$work/$name.off.st" "$work/$name.on.st"; then
    echo "FAIL $name: graph-replayed decode differs from eager decode"; fail=1; return
  fi
  echo "ok   $m $strat $* ($world rank(s)): $(grep -o 'decode step: 1 graph launch of [0-9]* recorded nodes' "$work/$name.on.log" | head -1), outputs bitwise equal"
}

model llama16 llama fp16
model gptbf gpt bf16
model llama32 llama fp32
if [ "$mode" = mpi ]; then
  check llama16 dp=1,pp=1,n=1,m=2,scheme=head-alltoall
  check gptbf dp=1,pp=1,n=1,m=2,scheme=qk-allgather
  check llama16 dp=1,pp=1,n=1,m=2,scheme=score-allreduce
  check gptbf dp=1,pp=1,n=2,m=1
  check llama16 dp=1,pp=2,n=1,m=1
else
  check llama16 dp=1,pp=1,n=1,m=1
  check gptbf dp=1,pp=1,n=1,m=1
  check llama32 dp=1,pp=1,n=1,m=1 --check
  # score blocks: the decode attention split over sequences x heads (one row each)
  check llama16 dp=1,pp=1,n=1,m=1 --score-workspace 200
fi
[ $fail = 0 ] && echo "graph_decode: all passed" || echo "graph_decode: FAILED"
exit $fail
