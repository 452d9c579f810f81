#!/usr/bin/env bash
# compare.sh ATTNPLAN ATTNRUN WORKDIR: the loop price -> run -> compare on cpu-local: the
# table lists every metric and op class; --tolerance decides the exit code; a measured
# report of another plan file is refused (and accepted with --force); a rank-share report
# shows its not-measured entries as such; with a small --score-workspace the cost model
# prices the score blocks attnrun runs; a model with a vocabulary shows its ends' ops
# beside the prediction, with the flops and bytes priced the ones the run counted; a
# pipeline's decode step returns its token ids from the last stage to the first, priced
# and sent (lib/plan.h, PLAN_TOKEN_ID_BYTES).
set -uo pipefail
attnplan=$1 attnrun=$2 work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAILED: $*" >&2; exit 1; }
topo=$root/topologies/cpu-local.yaml model=$root/models/tiny-llama.yaml
"$attnplan" price "$topo" "$model" --strategy dp=1,pp=1,n=1,m=2,scheme=score-allreduce --devices 2 -o "$work/plan.yaml" >/dev/null ||
  fail "attnplan price"
mpirun -np 2 "$attnrun" "$work/plan.yaml" --check --repeat 3 -o "$work/measured.yaml" > "$work/run.log" 2>&1 ||
  { cat "$work/run.log"; fail "attnrun"; }
out=$("$attnplan" compare "$work/plan.yaml" "$work/measured.yaml" --tolerance 1e9); rc=$?
echo "$out"
[ $rc = 0 ] || fail "compare with a huge tolerance exited $rc"
for key in prefill_tokens_per_s ttft_s tpot_s decode_tokens_per_s peak_memory_bytes comm_fraction e2e_latency_s \
           output_tokens_per_s_per_gpu tokens_per_s_per_user compute memory comm \
           attn_comm softmax 'median .*worst'; do
  grep -qE "$key" <<< "$out" || fail "no '$key' in the table"
done
"$attnplan" compare "$work/plan.yaml" "$work/measured.yaml" --tolerance 0 >/dev/null; rc=$?
[ $rc = 1 ] || fail "--tolerance 0 exited $rc, expected 1"
# another plan file (same content plus a comment: another sha256)
{ cat "$work/plan.yaml"; echo "# edited"; } > "$work/plan2.yaml"
"$attnplan" compare "$work/plan2.yaml" "$work/measured.yaml" 2> "$work/err.log" >/dev/null; rc=$?
[ $rc = 2 ] && grep -q "measured on plan sha256" "$work/err.log" || { cat "$work/err.log"; fail "sha256 mismatch not refused ($rc)"; }
"$attnplan" compare "$work/plan2.yaml" "$work/measured.yaml" --force >/dev/null 2>&1 || fail "--force"
# rank share: collectives not measured
"$attnrun" "$work/plan.yaml" --rank-share 1 --repeat 2 -o "$work/share.yaml" >/dev/null || fail "rank share run"
out=$("$attnplan" compare "$work/plan.yaml" "$work/share.yaml"); rc=$?
[ $rc = 0 ] || fail "compare of a rank share exited $rc"
echo "$out" | grep -E "^ +ttft_s" | grep -q "not measured" || fail "rank share ttft not shown as not measured"
echo "$out" | grep -E "^ +attn_comm" | grep -q "not measured" || fail "rank share collectives not shown as not measured"
# score blocks: 8 heads x 12 x 12 pairs x 8 bytes = 9216 bytes a sequence, so 4K splits the
# heads (3 + 3 + 2) of each sequence; the planner's blocks must be the runtime's
priced=$("$attnplan" price "$topo" "$model" --strategy dp=1,pp=1,n=1,m=2,scheme=score-allreduce --devices 2 \
         --score-workspace 4K -o "$work/plan_blocks.yaml") || fail "attnplan price --score-workspace"
ran=$(mpirun -np 2 "$attnrun" "$work/plan_blocks.yaml" --check --repeat 1 --warmup 0 --score-workspace 4K 2>&1) ||
  { echo "$ran"; fail "attnrun --score-workspace"; }
grep -q '^check: ok' <<< "$ran" || { echo "$ran"; fail "blocks: no check ok"; }
p_blocks=$(echo "$priced" | sed -n 's/^score blocks (prefill): \([0-9]*\) per query chunk of \([0-9]*\) sequence(s) x \([0-9]*\) head.*/\1 \2 \3/p')
r_blocks=$(echo "$ran" | sed -n 's/^attnrun: rank 0 score blocks: prefill \([0-9]*\) per query chunk (\([0-9]*\) sequence(s) x \([0-9]*\) head.*/\1 \2 \3/p')
echo "score blocks: priced '$p_blocks', run '$r_blocks'"
[ "$p_blocks" = "6 1 3" ] && [ "$r_blocks" = "$p_blocks" ] || fail "score blocks priced '$p_blocks', run '$r_blocks'"
# the model's ends (tiny-llama-lm, vocabulary 1000 over TP2): every end op in the table,
# and each op's flops and comm bytes (the 2nd and 3rd of [time, flops, bytes]; compute ops'
# bytes are not measured) as the plan predicts them
lm=$root/models/tiny-llama-lm.yaml
"$attnplan" price "$topo" "$lm" --strategy dp=1,pp=1,n=2,m=1 --devices 2 -o "$work/plan_lm.yaml" >/dev/null || fail "price lm"
mpirun -np 2 "$attnrun" "$work/plan_lm.yaml" --check --repeat 1 --warmup 0 -o "$work/measured_lm.yaml" > "$work/run_lm.log" 2>&1 ||
  { cat "$work/run_lm.log"; fail "attnrun lm"; }
grep -q '^check: prefill .*last-position logits' "$work/run_lm.log" || { cat "$work/run_lm.log"; fail "lm: no logits checked"; }
out=$("$attnplan" compare "$work/plan_lm.yaml" "$work/measured_lm.yaml" --tolerance 1e9) || fail "compare lm"
for key in embed embed_comm final_norm lm_head lm_head_comm; do
  grep -qE "^ +$key +s " <<< "$out" || fail "no '$key' in the lm table"
done
for op in lm_head embed_comm lm_head_comm; do
  want=$(grep -E "^ +$op: " "$work/plan_lm.yaml" | sed 's/.*\[[^,]*, \([^,]*\), \([^]]*\)\]/\1 \2/')
  got=$(grep -E "^ +$op: " "$work/measured_lm.yaml" | sed 's/.*\[[^,]*, \([^,]*\), \([^]]*\)\]/\1 \2/')
  [ "$op" = lm_head ] && { want=$(echo "$want" | awk '{print $1}'); got=$(echo "$got" | awk '{print $1}'); }
  echo "$op: predicted flops/bytes '$(echo $want)', measured '$(echo $got)'"
  [ -n "$want" ] && [ "$(echo $want)" = "$(echo $got)" ] || fail "$op: predicted '$want', measured '$got'"
done
echo "$out" | grep -E "^ +lm_head +s " | head -1 | awk '{exit !($3 > 0 && $4 > 0)}' || fail "lm_head not priced and measured"
# pipeline decode: the cost model counts what each rank sends, attnrun what it sends and
# receives, so with pp = 2 every rank's decode pipe_p2p bytes are the first stage's
# hidden-state send plus the last stage's token ids (B x 4 bytes); without the return
# attnrun would count the first alone, and the cost model would price no return
"$attnplan" price "$topo" "$model" --strategy dp=1,pp=2,n=1,m=1 --devices 2 --batch 3 -o "$work/plan_pp.yaml" >/dev/null ||
  fail "attnplan price pp"
mpirun -np 2 "$attnrun" "$work/plan_pp.yaml" --check --repeat 1 --warmup 0 -o "$work/measured_pp.yaml" > "$work/run_pp.log" 2>&1 ||
  { cat "$work/run_pp.log"; fail "attnrun pp"; }
dec_p2p_bytes() { # FILE: the decode pipe_p2p bytes of every rank, in rank order
  awk '/^ +decode:$/ { d = 1; next } /^ +prefill:$/ { d = 0 } d && /^ +pipe_p2p: / { gsub(/[],]/, ""); print $NF; d = 0 }' "$1"
}
pred=$(dec_p2p_bytes "$work/plan_pp.yaml"); meas=$(dec_p2p_bytes "$work/measured_pp.yaml")
hidden=$(awk '/^hidden:/ { print $2 }' "$model")
first=$(echo "$pred" | sed -n 1p) last=$(echo "$pred" | sed -n 2p)
echo "pipeline decode pipe_p2p bytes: predicted sends '$(echo $pred)', measured sends + receives '$(echo $meas)'"
[ "$first" = $((3 * hidden * 4)) ] && [ "$last" = $((3 * 4)) ] || fail "pp decode: predicted sends '$first' '$last'"
[ "$(echo $meas)" = "$((first + last)) $((first + last))" ] || fail "pp decode: measured '$meas', want $((first + last)) on both ranks"
echo "compare.sh: all passed"
