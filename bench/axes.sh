#!/usr/bin/env bash
# bench/axes.sh: where each axis wins, from the cost model (docs/axes.md). For every model,
# device count, context and batch of the grid, `attnplan plan --all` prices every strategy
# (the even split) and this script prints, per objective (prefill tokens/s; TPOT):
#   best      the best fitting strategy overall and its figure,
#   no-s      the best without the sequence axis (s = 1) and how much better `best` is,
#   no-m      the best without the head-dimension split (m = 1) and how much better `best` is,
#   seed      the best with the seed's m x n split (m > 1, s = 1) and how it compares to best.
# A ratio is best's figure over the other's (throughput) or the other's over best's (TPOT):
# > 1 means best wins by that factor. "-" when no strategy of that kind fits.
# Usage: bench/axes.sh [ATTNPLAN] [--quick]   (ATTNPLAN default build/planner/attnplan;
# --quick: one context and one batch per model, for a smoke run). Prints markdown rows.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
attnplan=${1:-$root/build/planner/attnplan}
quick=0; [ "${2:-}" = "--quick" ] && quick=1
[ -x "$attnplan" ] || { echo "axes.sh: $attnplan is not built" >&2; exit 2; }

# model file, then the device counts: 8 and 16 inside NVLink domains (one DGX H100, the
# 16-GPU NVLink system), 16 over two DGX nodes (InfiniBand between them), 32 and 64 over
# 4 and 8 nodes (the first N GPUs of the 1024-GPU cluster)
models="seed-dense-4l gpt3-175b llama-3-70b llama-3-8b"
systems="dgx-h100-x1:8 nvl-h100-16:16 dgx-h100-x2:16 h100-1024:32 h100-1024:64"
contexts="4096 32768 131072"
batches="1 8 128"
if [ $quick = 1 ]; then contexts="32768"; batches="8"; systems="dgx-h100-x1:8 h100-1024:32"; fi

# stdin: attnplan plan --all output; $1: the metric column (3 prefill tok/s, 5 tpot ms) and
# whether higher is better; prints "best no_s no_m seed" as strategy=value (or -)
pick() {
  awk -v col="$1" -v higher="$2" '
    /^ *[0-9]+  dp=/ {
      s = $2; v = $col + 0
      m = s; sub(/.*,m=/, "", m); sub(/,.*/, "", m)
      seq = (s ~ /,s=[0-9]+/) ? s : ""; sv = 1
      if (seq != "") { sv = s; sub(/.*,s=/, "", sv); sub(/,.*/, "", sv) }
      better = 0
      if (!("best" in got) || (higher ? v > val["best"] : v < val["best"])) { got["best"]; val["best"] = v; str["best"] = s }
      if (sv == 1 && (!("nos" in got) || (higher ? v > val["nos"] : v < val["nos"]))) { got["nos"]; val["nos"] = v; str["nos"] = s }
      if (m == 1 && (!("nom" in got) || (higher ? v > val["nom"] : v < val["nom"]))) { got["nom"]; val["nom"] = v; str["nom"] = s }
      if (m > 1 && sv == 1 && (!("seed" in got) || (higher ? v > val["seed"] : v < val["seed"]))) { got["seed"]; val["seed"] = v; str["seed"] = s }
    }
    END {
      n = split("best nos nom seed", k, " ")
      for (i = 1; i <= n; i++) {
        if (!(k[i] in got)) { printf "- "; continue }
        r = higher ? val["best"] / val[k[i]] : val[k[i]] / val["best"]
        printf "%s=%.6g@%.3f ", str[k[i]], val[k[i]], r
      }
      printf "\n"
    }'
}

fmt() { # "strategy=value@ratio" -> "strategy (value, xratio)"
  local e=$1 unit=$2
  [ "$e" = - ] && { printf -- "-"; return; }
  local s=${e%%=*} rest=${e#*=}
  s=${e%=*@*}; rest=${e##*=}
  local v=${rest%@*} r=${rest#*@}
  s=${s%,mb=*}; s=${s#dp=1,}; s=${s/pp=1,/}; s=${s/,weights=replicated/,rep}; s=${s/,weights=sharded/,shd}
  printf "\`%s\` %s%s ×%s" "$s" "$v" "$unit" "$r"
}

echo "| model | GPUs (system) | context | batch | objective | best | best without s | best without the m split | best seed m×n (s = 1) |"
echo "|---|---|---|---|---|---|---|---|---|"
for model in $models; do
  for sys in $systems; do
    topo=${sys%%:*} n=${sys##*:}
    for L in $contexts; do
      for B in $batches; do
        for obj in throughput tpot; do
          out=$("$attnplan" plan "$root/topologies/$topo.yaml" "$root/models/$model.yaml" --all --devices "$n" \
                 --seq-len "$L" --batch "$B" --decode-tokens 128 --objective "$obj" 2>&1) || true
          if [ $obj = throughput ]; then read -r b s m d <<< "$(pick 3 1 <<< "$out")"; unit=" tok/s"
          else read -r b s m d <<< "$(pick 5 0 <<< "$out")"; unit=" ms"; fi
          echo "| $model | $n ($topo) | $L | $B | $obj | $(fmt "$b" "$unit") | $(fmt "$s" "$unit") | $(fmt "$m" "$unit") | $(fmt "$d" "$unit") |"
        done
      done
    done
  done
done
