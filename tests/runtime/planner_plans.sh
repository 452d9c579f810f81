#!/usr/bin/env bash
# planner_plans.sh ATTNPLAN ATTNRUN WORKDIR: plans the planner writes for cpu-local run under
# mpirun and match the unpartitioned reference: `attnplan plan` (its chosen plan) and
# `attnplan price -o` for each intra-head scheme, for the shipped tiny gpt and llama models.
set -uo pipefail
attnplan=$1 attnrun=$2 work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAILED: $*" >&2; exit 1; }
topo=$root/topologies/cpu-local.yaml
run_check() {
  local plan=$1 world out
  world=$(awk '/^world:/ {print $2}' "$plan")
  out=$(timeout 120 mpirun -np "$world" "$attnrun" "$plan" --check --repeat 1 --warmup 0 2>&1) || { echo "$out"; fail "$plan"; }
  grep -q '^check: ok' <<< "$out" || { echo "$out"; fail "$plan: no check line"; }
  echo "ok: $(basename "$plan") ($world ranks): $(echo "$out" | grep 'prefill relative' | sed 's/check: //')"
}
for model in tiny tiny-llama; do
  "$attnplan" plan "$topo" "$root/models/$model.yaml" -o "$work/$model-best.yaml" >/dev/null || fail "attnplan plan $model"
  run_check "$work/$model-best.yaml"
  for spec in "n=2,m=2,scheme=score-allreduce:4" "n=1,m=4,scheme=qk-allgather:4" "n=2,m=2,scheme=head-alltoall:4" "dp=2,n=1,m=4,scheme=head-alltoall:8" \
              "pp=2,n=2,m=2,scheme=qk-allgather:8"; do
    strategy=${spec%%:*} devices=${spec##*:}
    plan="$work/$model-${strategy//[=,]/_}.yaml"
    "$attnplan" price "$topo" "$root/models/$model.yaml" --strategy "$strategy" --devices "$devices" -o "$plan" >/dev/null ||
      fail "attnplan price $model $strategy"
    run_check "$plan"
  done
done
echo "planner_plans.sh: all passed"
