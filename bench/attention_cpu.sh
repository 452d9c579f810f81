#!/usr/bin/env bash
# bench/attention_cpu.sh: the fused attention (attnrun --attention fused) against the
# materialized one (--attention unfused: score blocks, softmax, P.V) on the CPU backend,
# one rank and one OpenBLAS thread, the same plans interleaved in one run: each round runs
# every model both ways (the order alternating between rounds, so a drift of the machine's
# speed does not favour one side), and the ratio unfused / fused of each round is taken
# side by side. Prints, per model, the median ratio over the rounds with its min and max
# for ttft and tpot and for the attention core's op time per phase (scores + softmax + pv
# unfused, attention fused; the measured report's op times). A ratio above 1: fused is
# faster. Results: docs/attention.md.
#
# The models are the shapes issue 13 measures the CPU runtime at (no published model;
# ffn sizes chosen): llama of 2 layers, 8 heads over 2 kv heads, head_dim 64, context 4096,
# batch 1; gpt and llama of 4 layers, hidden 512, ffn 2048, batch 4, context 512.
#
# usage: bench/attention_cpu.sh [--rounds N] [--repeat N] [--models "llama4k gpt512 llama512"] [--build DIR] [--out DIR]
# env: ATTNPLAN, ATTNRUN (binaries; default BUILD/planner/attnplan, BUILD/runtime/attnrun)
# Exit: 0 done, 2 bad usage or a failed run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build rounds=3 repeat=3 models="llama4k gpt512 llama512" out=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "attention_cpu.sh: error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$rounds$repeat" in *[!0-9]*|"") echo "attention_cpu.sh: error: --rounds and --repeat take counts" >&2; exit 2 ;; esac
attnplan=${ATTNPLAN:-$build/planner/attnplan} attnrun=${ATTNRUN:-$build/runtime/attnrun}
for b in "$attnplan" "$attnrun"; do
  [ -x "$b" ] || { echo "attention_cpu.sh: error: $b not built (scripts/build.sh)" >&2; exit 2; }
done
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"

model_file() { # NAME -> writes $out/NAME.yaml
  case $1 in
    llama4k) cat > "$out/$1.yaml" <<'M'
name: bench-llama4k
arch: llama
layers: 2
heads: 8
kv_heads: 2
head_dim: 64
hidden: 512
ffn_hidden: 1536
norm_eps: 1e-5
rope_theta: 500000
dtype: fp32
workload: {batch: 1, seq_len: 4096, decode_tokens: 8}
M
    ;;
    gpt512) cat > "$out/$1.yaml" <<'M'
name: bench-gpt512
arch: gpt
layers: 4
heads: 8
head_dim: 64
hidden: 512
ffn_hidden: 2048
dtype: fp32
workload: {batch: 4, seq_len: 512, decode_tokens: 8}
M
    ;;
    llama512) cat > "$out/$1.yaml" <<'M'
name: bench-llama512
arch: llama
layers: 4
heads: 8
kv_heads: 2
head_dim: 64
hidden: 512
ffn_hidden: 2048
norm_eps: 1e-5
rope_theta: 500000
dtype: fp32
workload: {batch: 4, seq_len: 512, decode_tokens: 8}
M
    ;;
    *) echo "attention_cpu.sh: error: unknown model '$1' (llama4k, gpt512, llama512)" >&2; exit 2 ;;
  esac
}

# ttft tpot attention-core-prefill attention-core-decode of a measured report
figures() {
  awk '
    /^    ttft_s:/ && !t { t = $2 }
    /^    tpot_s:/ && !p { p = $2 }
    /^        prefill:/ { ph = "pre" } /^        decode:/ { ph = "dec" }
    /^          (scores|softmax|pv|attention):/ { v = $2; gsub(/[\[,]/, "", v); core[ph] += v }
    END { printf "%s %s %.9g %.9g\n", t, p, core["pre"], core["dec"] }' "$1"
}

for m in $models; do
  model_file "$m"
  "$attnplan" price "$root/topologies/cpu-local.yaml" "$out/$m.yaml" --strategy dp=1,pp=1,n=1,m=1 --devices 1 \
    -o "$out/$m-plan.yaml" > /dev/null || { echo "attention_cpu.sh: error: attnplan price $m failed" >&2; exit 2; }
done
echo "attention_cpu.sh: $rounds round(s), each attnrun the median of $repeat timed runs after 1 warm-up; one rank, one thread; in $out"
for r in $(seq 1 "$rounds"); do
  order="fused unfused"; [ $((r % 2)) = 0 ] && order="unfused fused"
  for m in $models; do
    for mode in $order; do
      "$attnrun" "$out/$m-plan.yaml" --backend cpu --threads 1 --repeat "$repeat" --warmup 1 --attention "$mode" \
        -o "$out/$m-$mode-$r.yaml" > "$out/$m-$mode-$r.log" 2>&1 ||
        { cat "$out/$m-$mode-$r.log"; echo "attention_cpu.sh: error: attnrun $m --attention $mode failed" >&2; exit 2; }
      echo "round $r $m $mode: $(figures "$out/$m-$mode-$r.yaml")"
    done
  done
done

echo
printf "%-9s %-24s %-24s %-24s %-24s\n" model "ttft unfused/fused" "tpot unfused/fused" "attn core prefill" "attn core decode"
for m in $models; do
  for r in $(seq 1 "$rounds"); do
    echo "$(figures "$out/$m-unfused-$r.yaml") $(figures "$out/$m-fused-$r.yaml")"
  done | awk -v m="$m" '
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    { n++; for (k = 1; k <= 4; k++) { x = $(k + 4) > 0 ? $k / $(k + 4) : 0; r[k, n] = x } }
    END {
      printf "%-9s", m
      for (k = 1; k <= 4; k++) {
        lo = hi = r[k, 1]; for (i = 1; i <= n; i++) { v[i] = r[k, i]; if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
        printf " %-24s", sprintf("%.2fx (%.2f..%.2f)", med(v, n), lo, hi)
      }
      printf "\n"
    }'
done
echo "(median over $rounds rounds, min..max in parentheses; > 1: the fused attention is faster)"
