#!/usr/bin/env bash
# gemm_calls.sh ATTNPLAN ATTNRUN WORKDIR: the attention GEMM calls (kernel launches on a
# GPU) the cost model prices are the ones the runtime issues. For each plan, attnplan price
# names its critical rank per phase and that rank's scores and P.V calls; attnrun
# --rank-share of that rank with --stats counts the backend GEMM calls it makes; they must
# be equal. The plans cover MHA and GQA (runs of query heads sharing a kv head), each
# scheme's attention extents (head-alltoall's whole heads, qk-allgather's gathered heads),
# score blocks that split sequences and heads (--score-workspace), several query chunks,
# uneven microbatches, and blocks where batching per sequence or per head needs fewer calls.
# One process per run (--rank-share): no MPI needed.
set -uo pipefail
attnplan=$1 attnrun=$2 work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
fail() { echo "FAILED: $*" >&2; exit 1; }
topo=$root/topologies/cpu-local.yaml
# 6 query heads on 2 kv heads: with n=3 the middle rank's heads 2, 3 use both kv heads, two
# runs per sequence, and the extra launch makes it the critical rank
cat > "$work/llama6.yaml" <<'M'
name: rt-llama6
arch: llama
layers: 3
heads: 6
kv_heads: 2
head_dim: 10
hidden: 60
ffn_hidden: 50
dtype: fp32
workload: {batch: 3, seq_len: 7, decode_tokens: 2}
M

# model|strategy|devices|extra price/run options (query chunk, score workspace, batch)
plans=(
  "tiny|dp=1,pp=1,n=2,m=1|2|"
  "small|dp=1,pp=1,n=1,m=2,scheme=score-allreduce|2|--batch 16 --query-chunk 64 --score-workspace 1M"
  "small|dp=1,pp=1,n=2,m=1|2|--batch 3 --query-chunk 100 --score-workspace 64K"
  "tiny-llama|dp=1,pp=2,n=2,m=1,mb=2|4|--batch 5 --query-chunk 5"
  "tiny-llama|dp=1,pp=1,n=1,m=4,scheme=head-alltoall|4|--batch 3"
  "tiny-llama|dp=1,pp=1,n=1,m=2,scheme=qk-allgather|2|--batch 7 --query-chunk 4 --score-workspace 2K"
  "small-llama|dp=1,pp=1,n=1,m=1|1|--batch 9 --query-chunk 128 --score-workspace 600K"
  "llama6|dp=1,pp=1,n=3,m=1|3|--batch 1"
  "llama6|dp=1,pp=1,n=3,m=1|3|--query-chunk 3"
)
i=0
for entry in "${plans[@]}"; do
  IFS='|' read -r model strategy devices extra <<< "$entry"
  plan=$work/plan-$i.yaml; i=$((i + 1))
  # --batch is the planner's alone; the runtime reads the batch from the plan
  run_extra=$(echo "$extra" | sed -e 's/--batch [0-9]*//')
  # shellcheck disable=SC2086
  mfile=$root/models/$model.yaml; [ -f "$work/$model.yaml" ] && mfile=$work/$model.yaml
  # the unfused attention: the one that issues the GEMM calls compared here
  priced=$("$attnplan" price "$topo" "$mfile" --strategy "$strategy" --devices "$devices" $extra --attention unfused \
           -o "$plan") || fail "attnplan price $model $strategy $extra"
  line=$(echo "$priced" | grep '^attention GEMM calls of rank') || { echo "$priced"; fail "no GEMM calls line"; }
  # "attention GEMM calls of rank R: prefill S scores + P P.V; rank R2: decode step S2 + P2 (...)"
  read -r r_pre p_sc p_pv r_dec d_sc d_pv <<< "$(echo "$line" |
    sed -n 's/^attention GEMM calls of rank \([0-9]*\): prefill \([0-9]*\) scores + \([0-9]*\) P.V; rank \([0-9]*\): decode step \([0-9]*\) + \([0-9]*\) .*/\1 \2 \3 \4 \5 \6/p')"
  [ -n "$d_pv" ] || fail "cannot read '$line'"
  for ph in prefill decode; do
    if [ $ph = prefill ]; then rank=$r_pre want="$p_sc $p_pv"; else rank=$r_dec want="$d_sc $d_pv"; fi
    # shellcheck disable=SC2086
    ran=$(timeout 120 "$attnrun" "$plan" --backend cpu --rank-share "$rank" --stats --repeat 1 --warmup 0 $run_extra 2>&1) ||
      { echo "$ran"; fail "attnrun $model $strategy rank $rank"; }
    got=$(echo "$ran" | sed -n "s/^attnrun: rank $rank attention GEMM calls: prefill scores \([0-9]*\) pv \([0-9]*\), decode step scores \([0-9]*\) pv \([0-9]*\) .*/\1 \2 \3 \4/p")
    [ -n "$got" ] || { echo "$ran"; fail "no --stats line from attnrun"; }
    read -r g_psc g_ppv g_dsc g_dpv <<< "$got"
    if [ $ph = prefill ]; then have="$g_psc $g_ppv"; else have="$g_dsc $g_dpv"; fi
    echo "== $model $strategy $extra: $ph rank $rank: priced $want, ran $have"
    [ "$have" = "$want" ] || fail "$model $strategy $extra: $ph GEMM calls of rank $rank: priced '$want', ran '$have'"
    [ "${want%% *}" -gt 0 ] || fail "$model $strategy: no calls at all, the comparison says nothing"
  done
done
echo "gemm_calls.sh: the runtime issues the attention GEMM calls the cost model prices"
