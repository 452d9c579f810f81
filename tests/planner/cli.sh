#!/usr/bin/env bash
# cli.sh ATTNPLAN ROOT: `attnplan plan` end to end: the README's main command prints the
# choice, the alternatives, the baseline and the reasons; its plan file validates; the
# exhaustive search agrees; bad options and bad files exit 2 (files with FILE:LINE:COL);
# nothing fitting or an unmeetable limit exits 1 with the reason.
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
  if ! grep -Eq -- "$2" "$1"; then echo "FAIL: $3: no '$2' in $(basename "$1")"; fail=1; fi
}
topo=$root/topologies/dgx-h100-x2.yaml
seed=$root/models/seed-dense-4l.yaml

expect 0 "README main command" "$bin" plan "$topo" "$seed" -o "$tmp/plan.yaml"
for p in '^chosen: dp=' 'program \(linear model\)' 're-priced \(cost model\)' 'proven optimal' '^alternatives' \
         '^baseline \(the seed.s TP8 x PP2\): dp=1,pp=2,n=8,m=1' 'why the winner wins' '^rejected: ' 'does not fit: '; do
  has "$tmp/out" "$p" "main command output"
done
chosen=$(grep -m1 '^chosen:' "$tmp/out")
expect 0 "the written plan validates" "$bin" validate "$tmp/plan.yaml"
has "$tmp/plan.yaml" '^proven_optimal: true' "plan file"
has "$tmp/plan.yaml" '^objective: "?throughput' "plan file"
has "$tmp/plan.yaml" '^predicted:' "plan file"

expect 0 "--exhaustive" "$bin" plan "$topo" "$seed" --exhaustive
[ "$(grep -m1 '^chosen:' "$tmp/out")" = "$chosen" ] || { echo "FAIL: --exhaustive chose differently"; fail=1; }
expect 0 "--objective tpot --top 3" "$bin" plan "$topo" "$seed" --objective tpot --top 3
has "$tmp/out" 'linear model.s tpot' "tpot objective"
expect 0 "mixed cluster" "$bin" plan "$root/topologies/mixed-a100-h100.yaml" "$root/models/llama-3-70b.yaml" -o "$tmp/mixed.yaml"
has "$tmp/out" 'distribution: (rows per replica|layers per stage|heads and MLP columns per device)' "mixed cluster balances"
expect 0 "the mixed plan validates" "$bin" validate "$tmp/mixed.yaml"

expect 2 "--max-memory-fraction 0" "$bin" plan "$topo" "$seed" --max-memory-fraction 0
expect 2 "--max-tpot abc" "$bin" plan "$topo" "$seed" --max-tpot abc
expect 2 "--time-limit -1" "$bin" plan "$topo" "$seed" --time-limit -1
expect 2 "--objective speed" "$bin" plan "$topo" "$seed" --objective speed
expect 2 "missing model file" "$bin" plan "$topo" "$tmp/nope.yaml"
printf 'name: m\narch: gpt\nlayers: 2\nheads: 3\nhead_dim: 4\nffn_hidden: 8\nkv_heads: 2\n' >"$tmp/bad.yaml"
expect 2 "inconsistent model" "$bin" plan "$topo" "$tmp/bad.yaml"
has "$tmp/err" 'bad\.yaml:[0-9]+:[0-9]+: ' "inconsistent model says FILE:LINE:COL"

# the serving names of the workload: --isl/--osl are --seq-len/--decode-tokens, --rate is kept
expect 0 "--isl --osl --rate" "$bin" plan "$topo" "$seed" --isl 512 --osl 16 --rate 3.5 -o "$tmp/serving.yaml"
has "$tmp/out" 'batch [0-9]+, seq_len 512, decode_tokens 16,' "--isl/--osl output"
has "$tmp/serving.yaml" 'workload: \{batch: [0-9]+, seq_len: 512, decode_tokens: 16, microbatches: [0-9]+, rate: 3.5\}' "plan file rate"
expect 0 "a plan with a rate validates" "$bin" validate "$tmp/serving.yaml"
expect 0 "--isl equal to --seq-len" "$bin" plan "$topo" "$seed" --isl 512 --seq-len 512
has "$tmp/out" 'seq_len 512,' "--isl = --seq-len"
expect 2 "--isl differs from --seq-len" "$bin" plan "$topo" "$seed" --isl 512 --seq-len 256
has "$tmp/err" '--isl 512 and --seq-len 256 are the same length' "--isl/--seq-len message"
expect 2 "--osl differs from --decode-tokens" "$bin" plan "$topo" "$seed" --osl 1 --decode-tokens 2
expect 2 "--rate 0" "$bin" plan "$topo" "$seed" --rate 0
printf 'name: m\narch: gpt\nlayers: 2\nheads: 4\nhead_dim: 16\nffn_hidden: 128\nworkload:\n  osl: 8\n  decode_tokens: 9\n' >"$tmp/both.yaml"
expect 2 "osl and decode_tokens differ in the file" "$bin" plan "$topo" "$tmp/both.yaml"
has "$tmp/err" 'both\.yaml:8:8: error: .osl. \(8\) and .decode_tokens. \(9\)' "file osl/decode_tokens message"

# the serving metrics from ttft and tpot (docs/metrics.md), checked by hand from the printed
# figures: batch 128 (the seed's), osl 128, 16 devices
expect 0 "price with --osl" "$bin" price "$topo" "$seed" --strategy dp=2,pp=1,n=8,m=1 --osl 128
awk '$1 == "ttft_s" {t = $2} $1 == "tpot_s" {p = $2} $1 == "decode_tokens_per_s" {b = $2 * p}
     $1 == "e2e_latency_s" {e = $2} $1 == "output_tokens_per_s_per_gpu" {g = $2} $1 == "tokens_per_s_per_user" {u = $2}
     function off(x, y) { return x - y > 1e-5 * y || y - x > 1e-5 * y }
     END { if (b < 127.99 || b > 128.01 || off(e, t + 127 * p) || off(g, 128 * 128 / e / 16) || off(u, 1 / p)) {
             printf "ttft %s tpot %s batch %s: e2e %s, per gpu %s, per user %s\n", t, p, b, e, g, u; exit 1 } }' \
  "$tmp/out" || { echo "FAIL: serving metrics of attnplan price"; fail=1; }
# a plan and a measured file written before the serving metrics: read, those shown as absent
expect 0 "compare of files without the serving metrics" "$bin" compare "$root/tests/fuzz/seeds/plan-tiny-llama.yaml" \
  "$root/tests/fuzz/seeds/measured-tiny-llama.yaml" --force
has "$tmp/out" '^  output_tokens_per_s_per_gpu +tokens/s +not in file +not in file +-' "old files in compare"
if grep -qi 'nan' "$tmp/out"; then echo "FAIL: compare of old files prints nan"; fail=1; fi
if [ "$(grep -vc 'measured on plan sha256' "$tmp/err")" != 0 ]; then echo "FAIL: old files draw a message"; fail=1; fi

# serving targets and the throughput-per-gpu objective (the default with a target): the
# margins printed are (target - value) / target of the printed figures
expect 0 "--max-ttft --max-latency" "$bin" plan "$topo" "$seed" --batch 128 --osl 128 --max-ttft 2 --max-latency 3 -o "$tmp/perf.yaml"
has "$tmp/out" '^objective: output tokens/s per GPU \(least e2e latency\).*; ttft <= 2 s; e2e latency <= 3 s' "targets line"
has "$tmp/out" '^  target: ttft [0-9.]+ s <= 2 s \(margin [0-9]+%\)' "ttft margin"
has "$tmp/out" '^  target: e2e latency [0-9.]+ s <= 3 s \(margin [0-9]+%\)' "latency margin"
awk '/^  target: / { v = $(NF-6); t = $(NF-3); m = $NF; gsub(/%\)/, "", m)
       want = 100 * (t - v) / t; if (m - want > 0.6 || want - m > 0.6) { print "margin " m " want " want; bad = 1 } }
     /^  re-priced/ { for (i = 1; i < NF; i++) { if ($i == "ttft") t1 = $(i + 1); if ($i == "tpot") p1 = $(i + 1) } }
     /^  serving: / { e = $4 }
     END { sub(/,/, "", t1); if (bad || e - (t1 + 127 * p1 / 1e3) > 1e-4 * e || (t1 + 127 * p1 / 1e3) - e > 1e-4 * e) {
             print "e2e " e " from ttft " t1 " tpot " p1; exit 1 } }' "$tmp/out" ||
  { echo "FAIL: target margins or e2e latency of attnplan plan"; fail=1; }
has "$tmp/perf.yaml" '^objective: "?throughput-per-gpu' "plan file objective"
expect 0 "a throughput-per-gpu plan validates" "$bin" validate "$tmp/perf.yaml"
# the seed's best per GPU (dp=8,n=2, ttft 0.411 s) misses a 0.4 s ttft; dp=16 (0.374 s) meets it
expect 0 "throughput-per-gpu without targets" "$bin" plan "$topo" "$seed" --osl 128 --objective throughput-per-gpu
has "$tmp/out" '^chosen: dp=8,pp=1,n=2,m=1' "the unconstrained serving choice"
expect 0 "--max-ttft that binds" "$bin" plan "$topo" "$seed" --batch 128 --osl 128 --max-ttft 0.4
has "$tmp/out" '^chosen: dp=16,pp=1,n=1,m=1' "the choice under --max-ttft 0.4"
has "$tmp/out" '^  target: ttft 0\.3743 s <= 0\.4 s \(margin 6%\)' "the binding ttft's margin"
expect 0 "--max-tpot with --objective throughput" "$bin" plan "$topo" "$seed" --batch 128 --max-tpot 1 --objective throughput
has "$tmp/out" '^objective: prefill throughput' "a named objective stays"
# the batch as a decision: a target and no --batch sweep 1, 2, 4, ... until nothing meets
# the targets (here ttft <= 2 s: 512 does, 1024 does not) and keep the most per GPU
expect 0 "batch sweep" "$bin" plan "$topo" "$seed" --osl 128 --max-ttft 2
has "$tmp/out" '^  batch 1024: no plan meets the targets; the sweep stops' "sweep stop"
has "$tmp/out" '^chosen batch: 512 \(32 per replica over dp=16\)' "sweep choice"
has "$tmp/out" ': batch 512, seq_len 10000, decode_tokens 128,' "the chosen batch's header"
awk '/^  batch [0-9]+: [0-9.e+]+ output/ { b = $2; sub(/:/, "", b); if (b != want) bad = 1; want *= 2
       if ($3 + 0 > best) { best = $3 + 0; bb = b } }
     /^chosen batch: / { c = $3 }
     /^  serving: / { g = $6 }
     BEGIN { want = 1 }
     END { if (bad || c != bb || g != best) { print "batches: best " bb " (" best "), chosen " c ", final " g; exit 1 } }' \
  "$tmp/out" || { echo "FAIL: the batch sweep's choice is not its best line"; fail=1; }
expect 0 "--batch given: no sweep" "$bin" plan "$topo" "$seed" --osl 128 --max-ttft 2 --batch 64
if grep -q '^chosen batch' "$tmp/out"; then echo "FAIL: swept with --batch given"; fail=1; fi

expect 1 "unmeetable --max-ttft" "$bin" plan "$topo" "$seed" --max-ttft 1e-6
has "$tmp/err" 'no plan meets the targets \(--max-ttft' "ttft target message"
has "$tmp/out" 'violates --max-ttft: ttft ' "ttft target rejection"
expect 1 "unmeetable --max-latency" "$bin" plan "$topo" "$seed" --max-latency 1e-6
has "$tmp/out" 'violates --max-latency: e2e latency ' "latency target rejection"
expect 2 "--max-ttft abc" "$bin" plan "$topo" "$seed" --max-ttft abc
expect 2 "--max-latency 0" "$bin" plan "$topo" "$seed" --max-latency 0

expect 1 "nothing fits" "$bin" plan "$root/topologies/single-h100.yaml" "$seed"
has "$tmp/err" 'GB over on its fullest device' "no-fit message"
has "$tmp/err" 'to make it fit: ' "no-fit advice"
expect 1 "unmeetable --max-tpot" "$bin" plan "$topo" "$seed" --max-tpot 1e-9
has "$tmp/err" 'max-tpot' "limit message"

# the sequence axis: --all lists s > 1 strategies with their cp and weights, and s = 1 ones
# without either
cpu=$root/topologies/cpu-local.yaml
expect 0 "--all with the sequence axis" "$bin" plan "$cpu" "$root/models/tiny-llama.yaml" --all
for p in ' dp=[0-9]+,pp=[0-9]+,s=2,n=[0-9]+,m=[0-9]+(,scheme=[a-z-]+)?,cp=ring,weights=sharded' \
         ' dp=[0-9]+,pp=[0-9]+,s=4,n=[0-9]+,m=[0-9]+(,scheme=[a-z-]+)?,cp=allgather,weights=replicated' \
         ' dp=[0-9]+,pp=[0-9]+,n=[0-9]+,m=[0-9]+,mb=[0-9]+ '; do
  has "$tmp/out" "$p" "--all"
done
if grep -E ' s=[0-9]+,' "$tmp/out" | grep -Eqv 'cp=(ring|allgather),weights=(replicated|sharded)'; then
  echo "FAIL: --all lists an s > 1 strategy without its cp and weights"; fail=1
fi
if grep -E 'scheme=score-allreduce' "$tmp/out" | grep -q ' s=[0-9]'; then
  echo "FAIL: --all offers score-allreduce with s > 1 (plan_seq_supported refuses it)"; fail=1
fi
# --pareto: a front (faster per user, less per GPU, strictly, row by row), powers-of-two
# batches, and with --max-tpot no point slower per user than the target allows
expect 0 "--pareto" "$bin" plan "$root/topologies/dgx-h100-x1.yaml" "$root/models/llama-3-8b.yaml" --isl 1024 --osl 128 --pareto
has "$tmp/out" '^[0-9]+ points on the front of [0-9]+ priced' "--pareto"
awk '/^ *[0-9.e+]+ +[0-9.e+]+ +[0-9]+ +[0-9.e+]+  dp=/ { n++; if (n > 1 && !($1 < u && $2 > g)) bad = 1; u = $1; g = $2;
       b = $3; while (b > 1 && b % 2 == 0) b /= 2; if (b != 1) bad = 1 }
     END { exit (n >= 3 && !bad) ? 0 : 1 }' "$tmp/out" || { echo "FAIL: --pareto: not a front of >= 3 points on powers of two"; cat "$tmp/out"; fail=1; }
expect 0 "--pareto --max-tpot" "$bin" plan "$root/topologies/dgx-h100-x1.yaml" "$root/models/llama-3-8b.yaml" --isl 1024 --osl 128 \
  --pareto --max-tpot 0.002
awk '/^ *[0-9.e+]+ +[0-9.e+]+ +[0-9]+ +[0-9.e+]+  dp=/ { n++; if ($1 < 500) bad = 1 } END { exit (n >= 1 && !bad) ? 0 : 1 }' "$tmp/out" ||
  { echo "FAIL: --pareto --max-tpot 0.002: a point under 500 tokens/s per user"; cat "$tmp/out"; fail=1; }
# --disaggregate: the KV bytes of a batch by hand (16 x 2048 positions x 2 x 80 layers x 8
# kv heads x 128 x 2 bytes = 10.74 GB), every split's served rate the least of its three,
# a rate above it exits 1, a mixed cluster and a topology too small exit 2
x2=$root/topologies/dgx-h100-x2.yaml l70=$root/models/llama-3-70b.yaml
expect 0 "--disaggregate" "$bin" plan "$x2" "$l70" --isl 2048 --osl 256 --batch 16 --disaggregate --max-tpot 0.05 --rate 2
has "$tmp/out" '^chosen: prefill pool 8 devices, dp=' "--disaggregate"
has "$tmp/out" 'KV transfer per batch: 10\.74 GB in' "--disaggregate KV bytes"
has "$tmp/out" 'rate: 2 requests/s <= the' "--disaggregate rate margin"
awk '/^ +[0-9]+ +[0-9]+ +[0-9.e+]+ +[0-9.e+]+ +[0-9.e+]+ +[0-9.e+]+  dp=/ { n++; m = $3; if ($4 < m) m = $4; if ($5 < m) m = $5;
       if ($6 != m) bad = 1 } END { exit (n >= 1 && !bad) ? 0 : 1 }' "$tmp/out" ||
  { echo "FAIL: --disaggregate: a split's served rate is not the least of its three"; cat "$tmp/out"; fail=1; }
expect 1 "--disaggregate over the rate" "$bin" plan "$x2" "$l70" --isl 2048 --osl 256 --batch 16 --disaggregate --rate 100
has "$tmp/out" 'rate: 100 requests/s EXCEEDS' "--disaggregate over the rate"
expect 2 "--disaggregate on a mixed cluster" "$bin" plan "$root/topologies/mixed-a100-h100.yaml" "$l70" --disaggregate
has "$tmp/err" 'needs one node type' "--disaggregate on a mixed cluster"
expect 2 "--disaggregate on one device" "$bin" plan "$root/topologies/single-h100.yaml" "$root/models/llama-3-8b.yaml" --disaggregate
has "$tmp/err" 'needs at least two devices' "--disaggregate on one device"
[ $fail -eq 0 ] && echo "cli.sh: all checks passed"
exit $fail
