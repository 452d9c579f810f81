#!/usr/bin/env bash
# cli.sh MAKE_PLAN ATTNRUN WORKDIR: attnrun as one process, without a launcher (the path a
# build without MPI takes): a world-size-1 plan with --check, --dump and -o; the world
# size check; --rank-share (also on a later pipeline stage and with gathered/exchanged
# receive buffers, which it fills with seeded random data); --score-workspace blocks;
# --model identity; usage errors; missing and malformed
# safetensors files (one message naming file and tensor, non-zero exit).
set -uo pipefail
make_plan=$1 attnrun=$2 work=$3
mkdir -p "$work"
fail() { echo "FAILED: $*" >&2; exit 1; }
# expect CODE PATTERN -- command...: exit code and a line of its output matching PATTERN
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$(timeout 60 "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] || { echo "$out"; fail "exit $rc, expected $code: $*"; }
  grep -qE -- "$pattern" <<< "$out" || { echo "$out"; fail "no line matching '$pattern': $*"; }
  echo "ok: exit $rc, '$pattern'"
}

cat > "$work/m.yaml" <<'M'
name: cli-llama
arch: llama
layers: 2
heads: 4
kv_heads: 2
head_dim: 6
hidden: 24
ffn_hidden: 30
dtype: fp32
workload: {batch: 2, seq_len: 5, decode_tokens: 2}
M
sed 's/ffn_hidden: 30/ffn_hidden: 32/' "$work/m.yaml" > "$work/other.yaml"
"$make_plan" "$work/m.yaml" "dp=1,pp=1,n=1,m=1" "$work/p1.yaml" || fail "make_plan"
"$make_plan" "$work/m.yaml" "dp=1,pp=1,n=2,m=2,scheme=score-allreduce" "$work/p4.yaml" || fail "make_plan"
"$make_plan" "$work/m.yaml" "dp=1,pp=2,n=1,m=2,scheme=qk-allgather,mb=2" "$work/p_qk.yaml" || fail "make_plan"
"$make_plan" "$work/m.yaml" "dp=1,pp=2,n=1,m=2,scheme=head-alltoall,mb=1" "$work/p_a2a.yaml" || fail "make_plan"

expect 0 '^check: ok' -- "$attnrun" "$work/p1.yaml" --check --dump "$work/out.safetensors" -o "$work/measured.yaml" --repeat 3 --warmup 1
[ -s "$work/out.safetensors" ] || fail "no dump written"
grep -q '^plan_sha256: ' "$work/measured.yaml" && grep -q 'ttft_s' "$work/measured.yaml" || fail "measured report incomplete"
sha=$(sha256sum "$work/p1.yaml" | cut -d' ' -f1)
grep -q "$sha" "$work/measured.yaml" || fail "measured report does not name the plan's sha256"
expect 0 '^check: ok' -- "$attnrun" "$work/p1.yaml" --check --model "$work/m.yaml" --seed 7 --query-chunk 2
# --backend auto (the default) without a usable GPU falls back to the CPU silently: no
# "CUDA backend: no usable CUDA device" line, which reads as an error, on stderr
err=$(timeout 60 "$attnrun" "$work/p1.yaml" --repeat 1 --warmup 0 2>&1 >/dev/null) || fail "auto backend run"
echo "$err" | grep -q 'CUDA' && { echo "$err"; fail "--backend auto printed a CUDA message"; }
echo "ok: --backend auto is silent"
expect 2 'ffn_hidden: 32 in' -- "$attnrun" "$work/p1.yaml" --model "$work/other.yaml"
expect 2 'needs 4 ranks' -- "$attnrun" "$work/p4.yaml"
expect 0 'rank 3 of 4 alone' -- "$attnrun" "$work/p4.yaml" --rank-share 3 -o "$work/share.yaml"
grep -q 'rank-share 3' "$work/share.yaml" || fail "rank-share report has no note"
expect 2 'plan has ranks 0..3' -- "$attnrun" "$work/p4.yaml" --rank-share 4
expect 0 'rank 3 of 4 alone' -- "$attnrun" "$work/p_qk.yaml" --rank-share 3
expect 0 'rank 2 of 4 alone' -- "$attnrun" "$work/p_a2a.yaml" --rank-share 2
# score blocks in one process: 4 heads x 2 query rows x 5 keys x 8 bytes = 320 bytes a
# sequence; 500 bytes take one sequence a block, 100 one head of one sequence
expect 0 'score blocks: prefill 2 per query chunk \(1 sequence\(s\) x 4 head' -- \
  "$attnrun" "$work/p1.yaml" --attention unfused --query-chunk 2 --score-workspace 500 --repeat 1 --warmup 0
expect 0 '^check: ok' -- "$attnrun" "$work/p1.yaml" --attention unfused --check --query-chunk 2 --score-workspace 100 --repeat 1 --warmup 0
expect 2 'score-workspace: bad value' -- "$attnrun" "$work/p1.yaml" --score-workspace 1.5G
expect 2 "attention: bad value 'flash'" -- "$attnrun" "$work/p1.yaml" --attention flash
expect 0 '^check: ok' -- "$attnrun" "$work/p1.yaml" --attention fused --check --repeat 1 --warmup 0
expect 2 'no --check' -- "$attnrun" "$work/p4.yaml" --rank-share 0 --check
expect 2 'unknown option' -- "$attnrun" "$work/p1.yaml" --frobnicate
expect 2 'needs a value' -- "$attnrun" "$work/p1.yaml" --repeat
expect 2 'no plan file' -- "$attnrun"
expect 0 'usage' -- "$attnrun" --help

# files: missing, not safetensors, truncated, a missing tensor, a wrong shape
expect 2 "nope.safetensors: cannot open" -- "$attnrun" "$work/p1.yaml" --weights "$work/nope.safetensors"
printf 'this is not a safetensors file at all' > "$work/garbage.safetensors"
expect 2 "garbage.safetensors: malformed" -- "$attnrun" "$work/p1.yaml" --weights "$work/garbage.safetensors"
head -c 200 "$work/out.safetensors" > "$work/truncated.safetensors"
expect 2 "truncated.safetensors: .*(truncated|malformed)" -- "$attnrun" "$work/p1.yaml" --input "$work/truncated.safetensors"
expect 2 "out.safetensors: tensor 'model.layers.0.input_layernorm.weight' is missing" -- \
  "$attnrun" "$work/p1.yaml" --weights "$work/out.safetensors"
# the dump's hidden_states [2, 5, 24] is a valid input; decode_output is not named
# decode_hidden_states, so that tensor is missing
expect 2 "tensor 'decode_hidden_states' is missing" -- "$attnrun" "$work/p1.yaml" --input "$work/out.safetensors"
"$make_plan" "$work/other.yaml" "dp=1,pp=1,n=1,m=1" "$work/p_other.yaml" || fail "make_plan"
sed 's/seq_len: 5/seq_len: 4/' "$work/m.yaml" > "$work/short.yaml"
"$make_plan" "$work/short.yaml" "dp=1,pp=1,n=1,m=1" "$work/p_short.yaml" || fail "make_plan"
"$attnrun" "$work/p_short.yaml" --dump "$work/short.safetensors" --repeat 1 --warmup 0 >/dev/null || fail "short dump"
expect 2 "short.safetensors: tensor 'hidden_states' has shape \[2, 4, 24\], expected \[2, 5, 24\]" -- \
  "$attnrun" "$work/p1.yaml" --input "$work/short.safetensors"
# the sequence axis: its attention runs fused only; one rank of an s=2 plan runs alone
# (--rank-share: the ring's, the all-gather's and the re-sharding's transfers skipped)
"$make_plan" "$work/m.yaml" "s=2,n=1,m=1,cp=ring,weights=sharded" "$work/p_sharded.yaml" || fail "make_plan"
"$make_plan" "$work/m.yaml" "s=2,n=1,m=1,cp=ring,weights=replicated" "$work/p_ring.yaml" || fail "make_plan"
"$make_plan" "$work/m.yaml" "s=2,n=1,m=1,cp=allgather,weights=replicated" "$work/p_ag.yaml" || fail "make_plan"
expect 0 'rank 1 of 2 alone .*local prefill' -- "$attnrun" "$work/p_sharded.yaml" --rank-share 1 --repeat 1 --warmup 0
expect 2 "splits sequences \(s=2\): its attention runs fused only, and --attention unfused was asked for" -- \
  "$attnrun" "$work/p_ring.yaml" --rank-share 1 --attention unfused
expect 0 'rank 1 of 2 alone .*local prefill' -- "$attnrun" "$work/p_ring.yaml" --rank-share 1 --repeat 1 --warmup 0
expect 0 'rank 0 of 2 alone .*local prefill' -- "$attnrun" "$work/p_ag.yaml" --rank-share 0 --repeat 1 --warmup 0
echo "cli.sh: all passed"
