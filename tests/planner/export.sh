#!/usr/bin/env bash
# export.sh ATTNPLAN ROOT: `attnplan export` writes each engine's exact launch command for
# the plans it expresses (dp x pp x head-wise TP, batch limit, max model length, dtype) and
# refuses, with exit 2 and the part named, what it cannot: m > 1, s > 1, uneven shares,
# dp for trtllm-serve; missing files, unknown engines and bad options exit 2 too.
# The expected lines are written out by hand from llama-3-70b's workload (batch 32,
# seq_len 4096 + 256 decode tokens = 4352, bf16) and the docs cited in cmd_export.c.
set -u
bin=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # want-rc description command...
  local want=$1 what=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if grep -q 'Sanitizer' "$tmp/err"; then
    echo "FAIL: $what: sanitizer report"; grep -m3 'Sanitizer' "$tmp/err"; fail=1
  fi
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, want $want"; sed 's/^/  | /' "$tmp/err" | head -5
    fail=1
  fi
}
has() { # file pattern description
  if ! grep -Eq -- "$2" "$1"; then echo "FAIL: $3: no '$2' in $(basename "$1")"; sed 's/^/  | /' "$1" | head -3; fail=1; fi
}
same() { # want-line description: the one line of $tmp/out is exactly want-line
  if [ "$(cat "$tmp/out")" != "$1" ] || [ "$(wc -l <"$tmp/out")" -ne 1 ]; then
    echo "FAIL: $2:"; echo "  got:  $(cat "$tmp/out")"; echo "  want: $1"; fail=1
  fi
}
topo=$root/topologies/dgx-h100-x2.yaml
model=$root/models/llama-3-70b.yaml
price() { # out strategy [more price options]
  local out=$1 spec=$2
  shift 2
  "$bin" price "$topo" "$model" --strategy "$spec" "$@" -o "$tmp/$out" >/dev/null 2>"$tmp/price.err" ||
    { echo "FAIL: price $spec"; sed 's/^/  | /' "$tmp/price.err" | head -3; fail=1; }
}
price dp2.yaml dp=2,pp=1,n=8,m=1
price pp2.yaml dp=1,pp=2,n=8,m=1
price m2.yaml n=4,m=2,scheme=qk-allgather --devices 8
price s2.yaml s=2,n=8,m=1,cp=ring,weights=replicated

# dp=2: 16 rows per replica
expect 0 "vllm dp=2" "$bin" export "$tmp/dp2.yaml" --engine vllm
same "vllm serve llama-3-70b --tensor-parallel-size 8 --pipeline-parallel-size 1 --data-parallel-size 2 --max-num-seqs 16 --max-model-len 4352 --dtype bfloat16" "vllm dp=2"
expect 0 "sglang dp=2" "$bin" export "$tmp/dp2.yaml" --engine sglang
same "python3 -m sglang.launch_server --model-path llama-3-70b --tp-size 8 --pp-size 1 --dp-size 2 --max-running-requests 16 --context-length 4352 --dtype bfloat16" "sglang dp=2"
expect 2 "trtllm dp=2 (no data-parallel option)" "$bin" export "$tmp/dp2.yaml" --engine trtllm
has "$tmp/err" 'dp=2 data-parallel replicas, which trtllm-serve cannot express' "trtllm dp refusal"
[ -s "$tmp/out" ] && { echo "FAIL: trtllm dp=2 refusal wrote to stdout"; fail=1; }

# pp=2: one replica of all 32 rows
expect 0 "vllm pp=2" "$bin" export "$tmp/pp2.yaml" --engine vllm
same "vllm serve llama-3-70b --tensor-parallel-size 8 --pipeline-parallel-size 2 --data-parallel-size 1 --max-num-seqs 32 --max-model-len 4352 --dtype bfloat16" "vllm pp=2"
expect 0 "sglang pp=2" "$bin" export "$tmp/pp2.yaml" --engine sglang
same "python3 -m sglang.launch_server --model-path llama-3-70b --tp-size 8 --pp-size 2 --dp-size 1 --max-running-requests 32 --context-length 4352 --dtype bfloat16" "sglang pp=2"
expect 0 "trtllm pp=2" "$bin" export "$tmp/pp2.yaml" --engine trtllm
same "trtllm-serve llama-3-70b --tp_size 8 --pp_size 2 --max_batch_size 32 --max_seq_len 4352" "trtllm pp=2"

# --model-path, quoted for the shell; -o writes the same line and leaves no temporary file
expect 0 "--model-path with a quote -o" "$bin" export "$tmp/pp2.yaml" --engine trtllm --model-path "/ckpt/it's 70b" -o "$tmp/cmd.sh"
[ -s "$tmp/out" ] && { echo "FAIL: -o also wrote to stdout"; fail=1; }
cp "$tmp/cmd.sh" "$tmp/out"
same "trtllm-serve '/ckpt/it'\\''s 70b' --tp_size 8 --pp_size 2 --max_batch_size 32 --max_seq_len 4352" "--model-path quoted"
# the shell reads the quoted word back as the path given
word=$(bash -c 'set -- '"$(sed 's/^trtllm-serve //; s/ --tp_size.*//' "$tmp/cmd.sh")"'; echo "$1"')
[ "$word" = "/ckpt/it's 70b" ] || { echo "FAIL: the shell reads the model path as '$word'"; fail=1; }
ls "$tmp" | grep -q 'cmd.sh.tmp' && { echo "FAIL: -o left a temporary file"; fail=1; }
expect 0 "--model-path plain" "$bin" export "$tmp/dp2.yaml" --engine vllm --model-path meta-llama/Meta-Llama-3-70B
has "$tmp/out" '^vllm serve meta-llama/Meta-Llama-3-70B --tensor-parallel-size 8 ' "plain model path"

# refusals, naming the part
for e in vllm sglang trtllm; do
  expect 2 "$e m=2" "$bin" export "$tmp/m2.yaml" --engine $e
  has "$tmp/err" "splits each head's dimension over m=2 \\(scheme qk-allgather\\), which $e cannot express" "$e m refusal"
  expect 2 "$e s=2" "$bin" export "$tmp/s2.yaml" --engine $e
  has "$tmp/err" "splits the sequence axis over s=2 \\(cp=ring, weights=replicated\\), which $e cannot express" "$e s refusal"
done
# uneven heads: rank 0 gives head 7 (and its share of kv head 0) to rank 1; still a valid plan
sed -e '/rank: 0,/s/heads: \[0, 8\], kv_heads: \[0, 1\]/heads: [0, 7], kv_heads: [0, 1]/' \
    -e '/rank: 0,/s/a2a_heads: \[0, 8\]/a2a_heads: [0, 7]/' \
    -e '/rank: 1,/s/heads: \[8, 16\], kv_heads: \[1, 2\]/heads: [7, 16], kv_heads: [0, 2]/' \
    -e '/rank: 1,/s/a2a_heads: \[8, 16\]/a2a_heads: [7, 16]/' "$tmp/pp2.yaml" >"$tmp/uneven.yaml"
cmp -s "$tmp/pp2.yaml" "$tmp/uneven.yaml" && { echo "FAIL: the sed made no uneven plan"; fail=1; }
expect 0 "the uneven plan validates" "$bin" validate "$tmp/uneven.yaml"
expect 2 "vllm uneven heads" "$bin" export "$tmp/uneven.yaml" --engine vllm
has "$tmp/err" 'uneven shares: rank 0 holds heads \[0, 7\) where the even split of its strategy holds \[0, 8\)' "uneven refusal"
# uneven batch rows over the replicas: 17 + 15 instead of 16 + 16
sed -e 's/batch: \[0, 16\]/batch: [0, 17]/' -e 's/batch: \[16, 32\]/batch: [17, 32]/' "$tmp/dp2.yaml" >"$tmp/rows.yaml"
expect 0 "the uneven-rows plan validates" "$bin" validate "$tmp/rows.yaml"
expect 2 "sglang uneven rows" "$bin" export "$tmp/rows.yaml" --engine sglang
has "$tmp/err" 'rank 0 holds batch rows \[0, 17\) where the even split of its strategy holds \[0, 16\)' "uneven rows refusal"

# bad usage and bad files
expect 2 "missing plan file" "$bin" export "$tmp/nope.yaml" --engine vllm
has "$tmp/err" 'nope\.yaml' "missing file message"
expect 2 "unknown engine" "$bin" export "$tmp/dp2.yaml" --engine tgi
has "$tmp/err" "^attnplan export: error: --engine: bad value 'tgi'" "unknown engine message"
expect 2 "no engine" "$bin" export "$tmp/dp2.yaml"
expect 2 "no plan" "$bin" export --engine vllm
expect 2 "unknown option" "$bin" export "$tmp/dp2.yaml" --engine vllm --tp 8
expect 2 "two plans" "$bin" export "$tmp/dp2.yaml" "$tmp/pp2.yaml" --engine vllm
printf 'plan_version: 1\nmodel: {name: x}\n' >"$tmp/bad.yaml"
expect 2 "a broken plan file" "$bin" export "$tmp/bad.yaml" --engine vllm
has "$tmp/err" 'bad\.yaml:[0-9]+:[0-9]+: ' "broken plan says FILE:LINE:COL"
expect 1 "-o into a missing directory" "$bin" export "$tmp/dp2.yaml" --engine vllm -o "$tmp/no/such/dir/cmd.sh"
expect 0 "--help" "$bin" export --help
has "$tmp/out" '^usage: attnplan export PLAN --engine vllm\|sglang\|trtllm' "help"

[ $fail -eq 0 ] && echo "export: all checks passed"
exit $fail
