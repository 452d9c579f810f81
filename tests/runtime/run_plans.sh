#!/usr/bin/env bash
# run_plans.sh GROUP MAKE_PLAN ATTNRUN WORKDIR: builds the plans of one group with
# make_plan (plan_build_even) for small models written here, runs each under mpirun with
# --check (float64 unpartitioned reference, tolerance 1e-4) and fails on the first plan
# that does not match. Shapes are deliberately not powers of two (heads 6, head_dim 10,
# hidden 60, ffn 50/70, batch 3/5, seq_len 7/9) so uneven shares are exercised. Every
# plan runs with the default attention (fused where the scheme allows it, the --stats line
# must show fused calls then and none for score-allreduce); every other plan runs again
# with --attention unfused and a small query chunk (score blocks), as does the blocks group.
# ATTN_TEST_RUN_ARGS: more attnrun arguments for every run (tests/gpu: --backend cuda on
# the emulated CUDA backend); ATTN_TEST_RUN_EXPECT: a pattern (grep -E) that some line of
# every run's output must match (there: the NCCL emulation's summary, so the NCCL path ran).
set -euo pipefail
group=$1 make_plan=$2 attnrun=$3 work=$4
run_args=${ATTN_TEST_RUN_ARGS:-}
expect() { # OUTPUT: fails unless ATTN_TEST_RUN_EXPECT (when set) matches a line of it
  [ -z "${ATTN_TEST_RUN_EXPECT:-}" ] && return 0
  echo "$1" | grep -E -- "$ATTN_TEST_RUN_EXPECT" || { echo "$1"; echo "FAILED: no line matches $ATTN_TEST_RUN_EXPECT" >&2; exit 1; }
}
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

cat > "$work/gpt.yaml" <<'M'
name: rt-gpt
arch: gpt
layers: 3
heads: 6
head_dim: 10
hidden: 60
ffn_hidden: 70
dtype: fp32
workload: {batch: 5, seq_len: 9, decode_tokens: 3}
M
cat > "$work/llama.yaml" <<'M'
name: rt-llama
arch: llama
layers: 3
heads: 6
kv_heads: 2
head_dim: 10
hidden: 60
ffn_hidden: 50
norm_eps: 1e-6
rope_theta: 500
dtype: fp32
workload: {batch: 3, seq_len: 7, decode_tokens: 2}
M
cat > "$work/llama8.yaml" <<'M'
name: rt-llama8
arch: llama
layers: 2
heads: 8
kv_heads: 2
head_dim: 12
hidden: 96
ffn_hidden: 36
dtype: fp32
workload: {batch: 2, seq_len: 11, decode_tokens: 2}
M

# the model's ends (vocab_size): a tied gpt and an untied llama, and a vocabulary smaller
# than a stage (3 rows over 4 ranks: one rank holds none)
cat > "$work/gpt_lm.yaml" <<'M'
name: rt-gpt-lm
arch: gpt
layers: 2
heads: 6
head_dim: 10
hidden: 60
ffn_hidden: 70
dtype: fp32
vocab_size: 97
tie_word_embeddings: true
workload: {batch: 5, seq_len: 9, decode_tokens: 3}
M
cat > "$work/llama_lm.yaml" <<'M'
name: rt-llama-lm
arch: llama
layers: 3
heads: 6
kv_heads: 2
head_dim: 10
hidden: 60
ffn_hidden: 50
norm_eps: 1e-6
rope_theta: 500
dtype: fp32
vocab_size: 101
workload: {batch: 3, seq_len: 7, decode_tokens: 2}
M
# Qwen2's block: the llama block with q, k and v biases
sed -e 's/rt-llama$/rt-qwen/' -e 's/^dtype: fp32$/dtype: fp32\nqkv_bias: true/' "$work/llama.yaml" > "$work/qwen.yaml"
grep -q '^qkv_bias: true' "$work/qwen.yaml" || { echo "FAILED: qwen.yaml has no qkv_bias" >&2; exit 1; }
# Qwen3's: per-head q and k norms (whole heads only: m = 1)
sed -e 's/rt-llama$/rt-qwen3/' -e 's/^dtype: fp32$/dtype: fp32\nqk_norm: true/' "$work/llama.yaml" > "$work/qwen3.yaml"
grep -q '^qk_norm: true' "$work/qwen3.yaml" || { echo "FAILED: qwen3.yaml has no qk_norm" >&2; exit 1; }
sed -e 's/rt-llama-lm/rt-llama-v3/' -e 's/vocab_size: 101/vocab_size: 3/' "$work/llama_lm.yaml" > "$work/llama_v3.yaml"

case $group in
  tp)     plans="gpt:dp=1,pp=1,n=1,m=1 gpt:dp=1,pp=1,n=2,m=1 gpt:dp=1,pp=1,n=4,m=1 llama:dp=1,pp=1,n=4,m=1 llama:dp=1,pp=1,n=6,m=1 llama8:dp=1,pp=1,n=8,m=1" ;;
  pp_dp)  plans="gpt:dp=1,pp=2,n=1,m=1,mb=3 llama:dp=2,pp=1,n=1,m=1 gpt:dp=1,pp=3,n=2,m=1,mb=2 llama:dp=2,pp=2,n=2,m=1,mb=1 gpt:dp=2,pp=2,n=1,m=2,scheme=score-allreduce,mb=2" ;;
  score)  plans="gpt:dp=1,pp=1,n=1,m=2,scheme=score-allreduce gpt:dp=1,pp=1,n=2,m=3,scheme=score-allreduce llama:dp=1,pp=1,n=2,m=2,scheme=score-allreduce llama8:dp=1,pp=1,n=2,m=4,scheme=score-allreduce" ;;
  qk)     plans="gpt:dp=1,pp=1,n=1,m=3,scheme=qk-allgather gpt:dp=1,pp=1,n=2,m=3,scheme=qk-allgather llama:dp=1,pp=1,n=3,m=2,scheme=qk-allgather llama8:dp=1,pp=2,n=2,m=2,scheme=qk-allgather,mb=2" ;;
  a2a)    plans="gpt:dp=1,pp=1,n=1,m=2,scheme=head-alltoall gpt:dp=1,pp=1,n=2,m=3,scheme=head-alltoall llama:dp=1,pp=1,n=3,m=2,scheme=head-alltoall llama8:dp=1,pp=1,n=2,m=4,scheme=head-alltoall llama8:dp=2,pp=1,n=1,m=4,scheme=head-alltoall" ;;
  uneven) plans="" ;;  # hand-edited plans below
  ends)   plans="gpt_lm:dp=1,pp=1,n=1,m=1 llama_lm:dp=1,pp=1,n=1,m=1 gpt_lm:dp=1,pp=1,n=2,m=1 llama_lm:dp=1,pp=1,n=4,m=1 gpt_lm:dp=1,pp=2,n=1,m=1,mb=2 llama_lm:dp=1,pp=2,n=2,m=1,mb=3 gpt_lm:dp=1,pp=1,n=2,m=2,scheme=score-allreduce llama_lm:dp=2,pp=1,n=1,m=2,scheme=head-alltoall llama_lm:dp=1,pp=3,n=1,m=1,mb=2 llama_v3:dp=1,pp=1,n=2,m=2,scheme=qk-allgather" ;;
  # every scheme with --score-workspace forced small (below) so each query chunk runs in
  # several score blocks, alternately 1K and 2K: a gpt sequence's 6 heads take 6 x 4 x 9
  # pairs x 8 bytes = 1728 bytes, so 2K splits sequences and 1K heads as well
  blocks) plans="gpt:dp=1,pp=1,n=1,m=1 gpt:dp=1,pp=1,n=1,m=2,scheme=score-allreduce llama:dp=1,pp=1,n=1,m=2,scheme=score-allreduce gpt:dp=1,pp=1,n=1,m=3,scheme=qk-allgather llama:dp=1,pp=1,n=2,m=2,scheme=qk-allgather gpt:dp=1,pp=1,n=1,m=2,scheme=head-alltoall llama8:dp=1,pp=1,n=1,m=2,scheme=head-alltoall gpt:dp=1,pp=2,n=1,m=2,scheme=score-allreduce,mb=2" ;;
  # the sequence axis (weights replicated; attention fused only): zigzag chunks of lengths
  # 7, 9 and 11 that 2s does not divide, ring and all-gather, GQA with RoPE, every scheme,
  # pipelines and replicas, the ends, decode steps that grow some slices and not others
  # (3 steps over s=4), on 2, 3, 4, 6 and 8 ranks
  seq)    plans="llama:s=2,n=1,m=1,cp=ring,weights=replicated gpt:s=2,n=1,m=1,cp=allgather,weights=replicated gpt:s=3,n=1,m=1,cp=ring,weights=replicated gpt:s=4,n=1,m=1,cp=ring,weights=replicated llama:s=2,n=2,m=1,cp=allgather,weights=replicated llama:s=3,n=2,m=1,cp=ring,weights=replicated llama8:s=4,n=2,m=1,cp=allgather,weights=replicated llama8:s=2,n=1,m=4,scheme=head-alltoall,cp=ring,weights=replicated gpt:s=2,n=1,m=2,scheme=qk-allgather,cp=allgather,weights=replicated llama:s=2,n=1,m=2,scheme=head-alltoall,cp=allgather,weights=replicated gpt:dp=1,pp=2,s=2,n=1,m=1,cp=ring,weights=replicated,mb=2 llama:dp=2,pp=2,s=2,n=1,m=1,cp=ring,weights=replicated,mb=1 llama:dp=2,pp=1,s=2,n=1,m=1,cp=allgather,weights=replicated gpt_lm:s=2,n=1,m=1,cp=ring,weights=replicated llama_lm:s=3,n=1,m=1,cp=allgather,weights=replicated llama_lm:dp=1,pp=2,s=2,n=2,m=1,cp=ring,weights=replicated,mb=3" ;;
  # the same with the projections and the MLP sharded over all s*n*m ranks of a stage
  # (re-sharding all-to-alls in prefill, all-gathers in decode)
  seq_sharded) plans="llama:s=2,n=1,m=1,cp=ring,weights=sharded gpt:s=3,n=2,m=1,cp=allgather,weights=sharded llama8:s=4,n=2,m=1,cp=ring,weights=sharded llama:s=2,n=1,m=2,scheme=head-alltoall,cp=allgather,weights=sharded gpt:s=2,n=1,m=3,scheme=qk-allgather,cp=ring,weights=sharded gpt:dp=1,pp=2,s=2,n=1,m=1,cp=ring,weights=sharded,mb=2 llama:dp=2,pp=1,s=2,n=1,m=1,cp=allgather,weights=sharded llama_lm:s=2,n=2,m=1,cp=ring,weights=sharded gpt_lm:dp=2,pp=1,s=2,n=1,m=1,cp=allgather,weights=sharded" ;;
  # q, k, v biases (Qwen2) on every way the projections' columns are split; per-head q, k
  # norms (Qwen3) on whole heads
  bias)   plans="qwen:dp=1,pp=1,n=1,m=1 qwen:dp=1,pp=1,n=3,m=1 qwen:dp=1,pp=1,n=1,m=2,scheme=score-allreduce qwen:dp=1,pp=1,n=1,m=2,scheme=qk-allgather qwen:dp=1,pp=1,n=3,m=2,scheme=head-alltoall qwen:dp=1,pp=2,n=1,m=1,mb=2 qwen:s=2,n=1,m=1,cp=ring,weights=replicated qwen:s=2,n=1,m=2,scheme=head-alltoall,cp=allgather,weights=sharded qwen3:dp=1,pp=1,n=1,m=1 qwen3:dp=1,pp=1,n=3,m=1 qwen3:dp=2,pp=2,n=1,m=1,mb=1 qwen3:s=2,n=1,m=1,cp=ring,weights=sharded qwen3:s=3,n=2,m=1,cp=allgather,weights=replicated" ;;
  *) echo "run_plans.sh: unknown group $group" >&2; exit 2 ;;
esac

i=0
for entry in $plans; do
  model=${entry%%:*} strategy=${entry#*:}
  plan="$work/$group-$i.yaml"; i=$((i + 1))
  "$make_plan" "$work/$model.yaml" "$strategy" "$plan"
  world=$(awk '/^world:/ {print $2}' "$plan")
  # a small query chunk on every other plan exercises the chunked score blocks
  chunk=""; [ $((i % 2)) = 0 ] && chunk="--query-chunk 4"
  if [ "$group" = blocks ]; then
    chunk="--query-chunk 4 --score-workspace 1K"; [ $((i % 2)) = 0 ] && chunk="--query-chunk 4 --score-workspace 2K"
  fi
  modes="fused"; [ -n "$chunk" ] && modes="fused unfused"
  [ "$group" = blocks ] && modes="unfused"
  # the sequence axis: partials over key ranges need the fused op's LSE (attnrun refuses unfused)
  case ",$strategy" in *,s=*) modes="fused" ;; esac
  for mode in $modes; do
    opts="--attention $mode"; [ "$mode" = unfused ] && opts="$opts $chunk"
    echo "== $model $strategy ($world ranks) $opts"
    out=$(timeout 120 mpirun -np "$world" "$attnrun" "$plan" --check --stats --warmup 0 --repeat 1 $opts $run_args 2>&1) || {
      echo "$out"; echo "FAILED: $model $strategy $opts" >&2; exit 1; }
    echo "$out" | grep '^check:'
    expect "$out"
    grep -q '^check: ok' <<< "$out" || { echo "$out"; echo "FAILED: no check line" >&2; exit 1; }
    if [ "$group" = ends ] || { [ "${group%_sharded}" = seq ] && [ "${model%_lm}" != "$model" ]; }; then # the logits were checked, not hidden states
      grep -q '^check: prefill .*last-position logits' <<< "$out" || { echo "$out"; echo "FAILED: no logits checked" >&2; exit 1; }
    elif grep -q 'vocab_size' "$plan"; then # a model without a vocabulary keeps its plan bytes
      echo "FAILED: $plan names a vocabulary" >&2; exit 1
    fi
    calls=$(echo "$out" | sed -n 's/^attnrun: rank 0 attention GEMM calls: prefill scores \([0-9]*\) pv [0-9]* attention \([0-9]*\),.*/\1 \2/p')
    [ -n "$calls" ] || { echo "$out"; echo "FAILED: no --stats line" >&2; exit 1; }
    read -r n_scores n_fused <<< "$calls"
    # the path asked for is the path run: fused calls only, or score GEMMs only
    fusable=1; case $strategy in *score-allreduce*) fusable=0 ;; esac
    case $run_args in *cuda*) fusable=unknown ;; esac  # the CUDA backend may lack the fused op
    if [ "$fusable" != unknown ]; then
      if [ "$mode" = fused ] && [ $fusable = 1 ]; then
        [ "$n_fused" -gt 0 ] && [ "$n_scores" = 0 ] || { echo "$out"; echo "FAILED: $opts did not run fused" >&2; exit 1; }
      else
        [ "$n_fused" = 0 ] && [ "$n_scores" -gt 0 ] || { echo "$out"; echo "FAILED: $opts ran fused" >&2; exit 1; }
      fi
    fi
    if [ "$group" = blocks ]; then # the blocks must really be several
      echo "$out" | grep -E '^attnrun: rank 0 score blocks: prefill ([2-9]|[1-9][0-9]+) per' || { echo "$out"; echo "FAILED: one score block" >&2; exit 1; }
    fi
  done
done
if [ "$group" = uneven ]; then
  # shares plan_build_even never makes (the planner's balanced plans do): one rank with
  # 1 head and the whole MLP, the other 5 heads and no MLP column; dimension segments of
  # 2 and 8 (score-allreduce) and 7 and 3 (qk-allgather) of 10
  "$make_plan" "$work/gpt.yaml" "dp=1,pp=1,n=2,m=1" "$work/u1.yaml"
  sed -i -e 's/heads: \[0, 3\], kv_heads: \[0, 3\]/heads: [0, 1], kv_heads: [0, 1]/' -e 's/a2a_heads: \[0, 3\]/a2a_heads: [0, 1]/' \
         -e 's/heads: \[3, 6\], kv_heads: \[3, 6\]/heads: [1, 6], kv_heads: [1, 6]/' -e 's/a2a_heads: \[3, 6\]/a2a_heads: [1, 6]/' \
         -e 's/mlp: \[0, 35\]/mlp: [0, 70]/' -e 's/mlp: \[35, 70\]/mlp: [70, 70]/' "$work/u1.yaml"
  "$make_plan" "$work/gpt.yaml" "dp=1,pp=1,n=1,m=2,scheme=score-allreduce" "$work/u2.yaml"
  sed -i -e 's/dims: \[\[0, 5\]\]/dims: [[0, 2]]/' -e 's/dims: \[\[5, 10\]\]/dims: [[2, 10]]/' "$work/u2.yaml"
  "$make_plan" "$work/gpt.yaml" "dp=1,pp=1,n=1,m=2,scheme=qk-allgather" "$work/u3.yaml"
  sed -i -e 's/dims: \[\[0, 5\]\]/dims: [[0, 7]]/' -e 's/dims: \[\[5, 10\]\]/dims: [[7, 10]]/' "$work/u3.yaml"
  for plan in u1 u2 u3; do
    grep -q 'mlp: \[70, 70\]\|dims: \[\[2, 10\]\]\|dims: \[\[7, 10\]\]' "$work/$plan.yaml" || { echo "FAILED: $plan not edited" >&2; exit 1; }
    out=$(timeout 120 mpirun -np 2 "$attnrun" "$work/$plan.yaml" --check --warmup 0 --repeat 1 $run_args 2>&1) || {
      echo "$out"; echo "FAILED: uneven $plan" >&2; exit 1; }
    echo "== uneven $plan"; echo "$out" | grep '^check:'
    expect "$out"
  done
fi
echo "run_plans.sh $group: all plans match the reference"
