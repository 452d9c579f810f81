#!/usr/bin/env bash
# plan_scale.sh: the planner's scale benchmark (prints times; not a timed test).
# Plans h100-1024 (128 DGX H100 nodes) and a generated 8192-GPU topology (1024 nodes,
# scripts/gen-topology.sh) for Llama-3-70B and GPT-3 175B, each as one whole `attnplan plan`
# process pinned to one core, and prints wall, user+sys CPU and peak memory per run.
# Targets (issue 4): under 2 s for 1024 GPUs and under 15 s for 8192 GPUs, one core, whole
# process. Usage: bench/plan_scale.sh [REPEATS]   (ATTNPLAN=path overrides the binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
repeats=${1:-1}
case $repeats in ''|*[!0-9]*) echo "usage: $0 [REPEATS]" >&2; exit 2 ;; esac
attnplan=${ATTNPLAN:-}
if [ -z "$attnplan" ]; then
  "$root/scripts/attnplan" --version >/dev/null   # builds on first use
  attnplan=${ATTN_BUILD_DIR:-$root/build}/planner/attnplan
fi
[ -x "$attnplan" ] || { echo "plan_scale.sh: no attnplan at $attnplan" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/gen-topology.sh" 1024 "$tmp/dgx-h100-x1024.yaml"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

printf '%-22s %-14s %4s %8s %8s %8s  %s\n' topology model run "wall s" "cpu s" "rss MB" "chosen"
run() { # topology-file model-file
  local topo=$1 model=$2 i
  for ((i = 1; i <= repeats; i++)); do
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$tmp/time" "${pin[@]}" "$attnplan" plan "$topo" "$model" >"$tmp/out" 2>"$tmp/err" || rc=$?
    t1=$(date +%s.%N)
    read -r user sys rss <"$tmp/time"
    local chosen
    chosen=$(grep -m1 '^chosen:' "$tmp/out" | cut -d' ' -f2 || true)
    [ "$rc" -eq 0 ] || chosen="(exit $rc: $(head -c 120 "$tmp/err"))"
    printf '%-22s %-14s %4d %8.2f %8.2f %8.1f  %s\n' "$(basename "$topo" .yaml)" "$(basename "$model" .yaml)" "$i" \
      "$(echo "$t1 - $t0" | bc)" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)" "$chosen"
  done
}
for model in llama-3-70b gpt3-175b; do
  run "$root/topologies/h100-1024.yaml" "$root/models/$model.yaml"
  run "$tmp/dgx-h100-x1024.yaml" "$root/models/$model.yaml"
done
echo "machine: $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg); pinned to ${pin[*]:-no core}"
