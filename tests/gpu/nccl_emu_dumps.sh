#!/usr/bin/env bash
# nccl_emu_dumps.sh: fp16 and bf16 multi-rank plans on the emulated CUDA backend with
# NCCL emulated over MPI (attnrun_emu under mpirun, --backend cuda: comm_nccl.c's
# bootstrap, splits and every collective it uses) against the CPU backend's single-rank
# run of the same model. Both runs dump their outputs; compare_dumps checks them with
# forward_gpu.sh's bounds (fp16 2e-2, bf16 6e-2), since half-precision plans have no
# --check. Each run must also show (NCCL_DEBUG=INFO summary of tests/gpu/emu/nccl_emu.cpp)
# that the NCCL path ran the collective its scheme needs.
# usage: nccl_emu_dumps.sh MAKE_PLAN ATTNRUN ATTNRUN_EMU COMPARE_DUMPS WORKDIR
set -uo pipefail
make_plan=$1 attnrun=$2 emu=$3 cmp=$4 work=$5
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export NCCL_DEBUG=INFO NCCL_EMU_TIMEOUT=${NCCL_EMU_TIMEOUT:-100}
fail=0

# model NAME ARCH DTYPE: small shapes, not powers of two (head_dim 10 splits 4/3/3 in
# three segments: uneven qk-allgather shares, the grouped-broadcast path)
model() {
  local kv=""
  [ "$2" = llama ] && kv="kv_heads: 2"
  cat > "$work/$1.yaml" <<M
name: $1
arch: $2
layers: 2
heads: 6
${kv}
head_dim: 10
hidden: 60
ffn_hidden: 50
dtype: $3
workload: {batch: 3, seq_len: 7, decode_tokens: 2}
M
  "$make_plan" "$work/$1.yaml" dp=1,pp=1,n=1,m=1 "$work/$1.one.yaml" > /dev/null &&
    "$attnrun" "$work/$1.one.yaml" --backend cpu --warmup 0 --repeat 1 --dump "$work/$1.cpu.st" > /dev/null ||
    { echo "FAIL $1: CPU reference run"; fail=1; }
}

# check MODEL STRATEGY BOUND PATTERN [SED]: the plan under mpirun on the emulated CUDA
# backend; PATTERN (grep -E) must match rank 0's NCCL summary line; SED edits the plan
# first (shares plan_build_even never makes) and must change it
check() {
  local m=$1 strat=$2 bound=$3 pat=$4 edit=${5:-} name=$1-${2//[,=]/_}${5:+-edited}
  local plan=$work/$name.yaml log=$work/$name.log
  "$make_plan" "$work/$m.yaml" "$strat" "$plan" > /dev/null || { echo "FAIL $name: make_plan"; fail=1; return; }
  if [ -n "$edit" ]; then
    cp "$plan" "$plan.orig"
    sed -i -e "$edit" "$plan"
    if cmp -s "$plan" "$plan.orig"; then echo "FAIL $name: the edit '$edit' changed nothing"; fail=1; return; fi
  fi
  local world
  world=$(awk '/^world:/ {print $2}' "$plan")
  if ! timeout 120 mpirun -np "$world" "$emu" "$plan" --backend cuda --warmup 0 --repeat 1 --dump "$work/$name.st" \
      > "$log" 2>&1; then
    echo "FAIL $m $strat: mpirun"; cat "$log"; fail=1; return
  fi
  local line
  line=$(grep '^nccl_emu: rank 0: done:' "$log")
  if ! echo "$line" | grep -Eq "$pat"; then
    echo "FAIL $m $strat: the NCCL summary does not match '$pat':"; cat "$log"; fail=1; return
  fi
  echo "-- $m $strat${edit:+ edited} ($world ranks): ${line#nccl_emu: rank 0: done: }"
  "$cmp" "$work/$name.st" "$work/$m.cpu.st" 3 7 2 60 "$bound" || fail=1
}

model gpt16 gpt fp16
model gptbf gpt bf16
model llama16 llama fp16
model llamabf llama bf16
# tensor parallelism: the all-reduce of the attention and MLP outputs
check gpt16 dp=1,pp=1,n=2,m=1 2e-2 'allreduce [1-9]'
check llamabf dp=1,pp=1,n=3,m=1 6e-2 'allreduce [1-9]'
# score-allreduce: the partial scores, fp32 in every storage type, summed over the
# dimension segments with ncclFloat (the rest of the plan's operations are half/bfloat16)
check llama16 dp=1,pp=1,n=1,m=2,scheme=score-allreduce 2e-2 'allreduce [1-9].*float [1-9].*half [1-9]'
check gptbf dp=1,pp=1,n=2,m=2,scheme=score-allreduce 6e-2 'allreduce [1-9].*float [1-9].*bfloat16 [1-9]'
# qk-allgather with segments 4/3/3: uneven shares, one broadcast per member in a group
check gpt16 dp=1,pp=1,n=1,m=3,scheme=qk-allgather 2e-2 'broadcast [1-9]'
check llamabf dp=1,pp=1,n=1,m=3,scheme=qk-allgather 6e-2 'broadcast [1-9]'
# qk-allgather with equal segments: ncclAllGather
check gptbf dp=1,pp=1,n=1,m=2,scheme=qk-allgather 6e-2 'allgather [1-9]'
# head-alltoall: grouped ncclSend/ncclRecv
check llama16 dp=1,pp=1,n=1,m=2,scheme=head-alltoall 2e-2 'send [1-9].*recv [1-9]'
check gptbf dp=1,pp=1,n=3,m=2,scheme=head-alltoall 6e-2 'send [1-9].*recv [1-9]'
# head-alltoall with uneven head shares (2 and 4 of 6): unequal send and receive counts
check gpt16 dp=1,pp=1,n=1,m=2,scheme=head-alltoall 2e-2 'send [1-9].*recv [1-9]' \
  's/a2a_heads: \[0, 3\]/a2a_heads: [0, 2]/; s/a2a_heads: \[3, 6\]/a2a_heads: [2, 6]/'
# pipelines of two stages: activations by ncclSend/ncclRecv between the stages (rank 0
# is the first stage: it sends)
check gpt16 dp=1,pp=2,n=1,m=1,mb=2 2e-2 'send [1-9]'
check llamabf dp=1,pp=2,n=1,m=2,scheme=score-allreduce,mb=3 6e-2 'allreduce [1-9].*send [1-9]'
[ $fail = 0 ] && echo "nccl_emu_dumps: all passed" || echo "nccl_emu_dumps: FAILED"
exit $fail
