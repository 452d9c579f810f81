#!/usr/bin/env bash
# gemm_calls.sh ATTNPLAN ATTNRUN WORKDIR: the attention GEMM calls (kernel launches on a
# GPU) the cost model prices are the ones the runtime issues. For each plan, attnplan price
# names its critical rank per phase and that rank's scores and P.V calls; attnrun
# --rank-share of that rank with --stats counts the backend GEMM calls it makes; they must
# be equal. The plans cover MHA and GQA (runs of query heads sharing a kv head), each
# scheme's attention extents (head-alltoall's whole heads, qk-allgather's gathered heads),
# score blocks that split sequences and heads (--score-workspace), several query chunks,
# uneven microbatches, and blocks where batching per sequence or per head needs fewer calls.
# The fused attention (OP_ATTENTION, attnrun --attention fused, the default) issues one
# backend call per layer and microbatch (prefill) or step (decode) and no score GEMMs: each
# plan's priced rank also runs fused, and its fused calls must be that count -- or, when
# attnplan price knows --attention (the cost model prices the fused op), the launches its
# "fused attention (PHASE): N launches of rank R" lines give. The score and P.V calls are
# compared on the unfused path (--attention unfused on both sides).
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
# a cost model that prices the fused op takes --attention; one that does not prices the
# materialized path only
price_unfused="" price_fused=""
if "$attnplan" price --help 2>&1 | grep -q -- '--attention'; then
  price_unfused="--attention unfused" price_fused="--attention fused"
fi
# "attnrun: rank R attention GEMM calls: prefill scores S pv P attention A, decode step scores S2 pv P2 attention A2 (...)"
stats_re='s/^attnrun: rank [0-9]* attention GEMM calls: prefill scores \([0-9]*\) pv \([0-9]*\) attention \([0-9]*\), decode step scores \([0-9]*\) pv \([0-9]*\) attention \([0-9]*\) .*/\1 \2 \3 \4 \5 \6/p'
i=0
for entry in "${plans[@]}"; do
  IFS='|' read -r model strategy devices extra <<< "$entry"
  plan=$work/plan-$i.yaml; i=$((i + 1))
  # --batch is the planner's alone; the runtime reads the batch from the plan
  run_extra=$(echo "$extra" | sed -e 's/--batch [0-9]*//')
  # shellcheck disable=SC2086
  mfile=$root/models/$model.yaml; [ -f "$work/$model.yaml" ] && mfile=$work/$model.yaml
  priced=$("$attnplan" price "$topo" "$mfile" --strategy "$strategy" --devices "$devices" $extra $price_unfused \
           -o "$plan") || fail "attnplan price $model $strategy $extra"
  line=$(echo "$priced" | grep '^attention GEMM calls of rank') || { echo "$priced"; fail "no GEMM calls line"; }
  # "attention GEMM calls of rank R: prefill S scores + P P.V; rank R2: decode step S2 + P2 (...)"
  read -r r_pre p_sc p_pv r_dec d_sc d_pv <<< "$(echo "$line" |
    sed -n 's/^attention GEMM calls of rank \([0-9]*\): prefill \([0-9]*\) scores + \([0-9]*\) P.V; rank \([0-9]*\): decode step \([0-9]*\) + \([0-9]*\) .*/\1 \2 \3 \4 \5 \6/p')"
  [ -n "$d_pv" ] || fail "cannot read '$line'"
  for ph in prefill decode; do
    if [ $ph = prefill ]; then rank=$r_pre want="$p_sc $p_pv"; else rank=$r_dec want="$d_sc $d_pv"; fi
    # shellcheck disable=SC2086
    ran=$(timeout 120 "$attnrun" "$plan" --backend cpu --rank-share "$rank" --stats --repeat 1 --warmup 0 \
          --attention unfused $run_extra 2>&1) || { echo "$ran"; fail "attnrun $model $strategy rank $rank"; }
    got=$(echo "$ran" | sed -n "$stats_re")
    [ -n "$got" ] || { echo "$ran"; fail "no --stats line from attnrun"; }
    read -r g_psc g_ppv g_pat g_dsc g_dpv g_dat <<< "$got"
    if [ $ph = prefill ]; then have="$g_psc $g_ppv"; else have="$g_dsc $g_dpv"; fi
    echo "== $model $strategy $extra: $ph rank $rank: priced $want, ran $have (unfused)"
    [ "$have" = "$want" ] || fail "$model $strategy $extra: $ph GEMM calls of rank $rank: priced '$want', ran '$have'"
    [ "${want%% *}" -gt 0 ] || fail "$model $strategy: no calls at all, the comparison says nothing"
    [ "$g_pat $g_dat" = "0 0" ] || fail "$model $strategy: --attention unfused made fused calls ($g_pat, $g_dat)"
  done
  # the fused path: one call per layer and microbatch (decode: per step), no score GEMMs;
  # score-allreduce never fuses
  case $strategy in *score-allreduce*) continue ;; esac
  mb=$(echo "$strategy" | sed -n 's/.*mb=\([0-9]*\).*/\1/p'); [ -n "$mb" ] || mb=1
  pricedf=""
  if [ -n "$price_fused" ]; then
    # shellcheck disable=SC2086
    pricedf=$("$attnplan" price "$topo" "$mfile" --strategy "$strategy" --devices "$devices" $extra $price_fused) ||
      fail "attnplan price $price_fused $model $strategy $extra"
  fi
  for ph in prefill decode; do
    if [ $ph = prefill ]; then rank=$r_pre; else rank=$r_dec; fi
    entry_line=$(grep -E "^  - \{rank: $rank," "$plan") || fail "no rank $rank in $plan"
    read -r l0 l1 <<< "$(echo "$entry_line" | sed -n 's/.* layers: \[\([0-9]*\), \([0-9]*\)\].*/\1 \2/p')"
    read -r b0 b1 <<< "$(echo "$entry_line" | sed -n 's/.* batch: \[\([0-9]*\), \([0-9]*\)\].*/\1 \2/p')"
    rows=$((b1 - b0)); mbr=$mb; [ "$mbr" -gt "$rows" ] && mbr=$rows
    if [ $ph = prefill ]; then want=$(( (l1 - l0) * mbr )); else want=$((l1 - l0)); fi
    what="layers x microbatches"; [ $ph = decode ] && what="layers"
    if [ -n "$pricedf" ]; then
      fl=$(echo "$pricedf" | sed -n "s/^fused attention ($ph): \([0-9]*\) launches of rank \([0-9]*\),.*/\1 \2/p")
      [ -n "$fl" ] || { echo "$pricedf"; fail "$model $strategy: no fused attention ($ph) line from attnplan price"; }
      read -r want frank <<< "$fl"
      rank=$frank what="priced"
    fi
    # shellcheck disable=SC2086
    ran=$(timeout 120 "$attnrun" "$plan" --backend cpu --rank-share "$rank" --stats --repeat 1 --warmup 0 \
          --attention fused $run_extra 2>&1) || { echo "$ran"; fail "attnrun fused $model $strategy rank $rank"; }
    got=$(echo "$ran" | sed -n "$stats_re")
    [ -n "$got" ] || { echo "$ran"; fail "no --stats line from attnrun"; }
    read -r g_psc g_ppv g_pat g_dsc g_dpv g_dat <<< "$got"
    if [ $ph = prefill ]; then have="$g_pat"; gemms="$g_psc $g_ppv"; else have="$g_dat"; gemms="$g_dsc $g_dpv"; fi
    echo "== $model $strategy $extra: $ph rank $rank: fused calls $what $want, ran $have"
    [ "$have" = "$want" ] || fail "$model $strategy $extra: $ph fused attention calls of rank $rank: $what '$want', ran '$have'"
    [ "$want" -gt 0 ] || fail "$model $strategy: no fused calls expected, the comparison says nothing"
    [ "$gemms" = "0 0" ] || fail "$model $strategy: the fused path made score/P.V GEMMs ($gemms)"
  done
done
# the sequence axis (s > 1) runs fused only: its fused calls per phase, priced and run
# (allgather: one per chunk; ring: one per visible query chunk x key chunk over the passes)
if [ -n "$price_fused" ]; then
  for entry in "tiny-llama|s=2,n=1,m=1,cp=ring,weights=replicated|2|" "tiny|s=4,n=1,m=1,cp=ring,weights=sharded|4|--batch 3" \
               "tiny-llama|s=2,n=2,m=1,cp=allgather,weights=replicated|4|" "tiny|pp=2,s=2,n=1,m=1,cp=ring,weights=replicated,mb=2|4|--batch 4"; do
    IFS='|' read -r model strategy devices extra <<< "$entry"
    plan=$work/plan-$i.yaml; i=$((i + 1))
    # shellcheck disable=SC2086
    pricedf=$("$attnplan" price "$topo" "$root/models/$model.yaml" --strategy "$strategy" --devices "$devices" $extra \
              $price_fused -o "$plan") || fail "attnplan price $model $strategy $extra"
    for ph in prefill decode; do
      fl=$(echo "$pricedf" | sed -n "s/^fused attention ($ph): \([0-9]*\) launches of rank \([0-9]*\),.*/\1 \2/p")
      [ -n "$fl" ] || { echo "$pricedf"; fail "$model $strategy: no fused attention ($ph) line from attnplan price"; }
      read -r want rank <<< "$fl"
      ran=$(timeout 120 "$attnrun" "$plan" --backend cpu --rank-share "$rank" --stats --repeat 1 --warmup 0 2>&1) ||
        { echo "$ran"; fail "attnrun $model $strategy rank $rank"; }
      got=$(echo "$ran" | sed -n "$stats_re")
      [ -n "$got" ] || { echo "$ran"; fail "no --stats line from attnrun"; }
      read -r g_psc g_ppv g_pat g_dsc g_dpv g_dat <<< "$got"
      if [ $ph = prefill ]; then have="$g_pat"; else have="$g_dat"; fi
      echo "== $model $strategy $extra: $ph rank $rank: fused calls priced $want, ran $have"
      [ "$have" = "$want" ] || fail "$model $strategy $extra: $ph fused attention calls of rank $rank: priced '$want', ran '$have'"
      [ "$want" -gt 0 ] || fail "$model $strategy: no fused calls priced, the comparison says nothing"
    done
  done
fi
echo "gemm_calls.sh: the runtime issues the attention GEMM calls (and fused calls) the cost model prices"
