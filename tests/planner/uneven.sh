#!/usr/bin/env bash
# uneven.sh MAKE_UNEVEN ATTNRUN ROOT WORKDIR: plans with uneven shares (heads and MLP columns
# per device, layers per stage, rows per replica), as the planner builds them for mixed
# clusters, run under mpirun and match the unpartitioned float64 reference.
set -uo pipefail
make_uneven=$1 attnrun=$2 root=$3 work=$4
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cat >"$work/mix.yaml" <<'YAML'
name: mix-slow-fast
device_types:
  slow: {peak_flops: {fp16: 312e12, bf16: 312e12, fp32: 19.5e12}, memory_bytes: 40e9, memory_bandwidth: 1.5e12}
  fast: {peak_flops: {fp16: 989e12, bf16: 989e12, fp32: 67e12}, memory_bytes: 80e9, memory_bandwidth: 3.35e12}
node_types:
  s4: {device: slow, devices: 4, fabric: nvswitch, link: {bandwidth: 300e9, latency: 3e-6}, nic: {bandwidth: 25e9, latency: 5e-6}}
  f4: {device: fast, devices: 4, fabric: nvswitch, link: {bandwidth: 450e9, latency: 3e-6}, nic: {bandwidth: 50e9, latency: 5e-6}}
nodes:
  - {type: s4, count: 1}
  - {type: f4, count: 1}
YAML
"$make_uneven" "$work/mix.yaml" "$root/models/small-llama.yaml" "$work" || { echo "FAILED: make_uneven"; exit 1; }
fail=0
for plan in "$work"/uneven-*.yaml; do
  out=$(timeout 120 mpirun -np 8 "$attnrun" "$plan" --check --repeat 1 --warmup 0 2>&1)
  if grep -q "^check: ok" <<<"$out"; then
    echo "ok: $(basename "$plan"): $(echo "$out" | grep 'prefill relative' | sed 's/check: //')"
  else
    echo "FAILED: $plan"; echo "$out" | tail -5; fail=1
  fi
done
exit $fail
