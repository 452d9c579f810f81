#!/usr/bin/env bash
# cli_all_pairs.sh ATTNPLAN SRCDIR [timed]: `attnplan plan --all` and `attnplan price`
# (with the top-ranked strategy) on every shipped model x topology pair: exit 0 (or 1 from
# plan --all when nothing fits), no crash, a plan file written. With `timed` (not under
# sanitizers) each run must also stay under 1 s (h100-1024's --all under 10 s); without it
# (sanitizer builds, 10-50x slower) h100-1024 is run with one model only. Prints the
# slowest runs.
set -u
bin=$1 src=$2 timed=${3:-}
fail=0 n=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
for topo in "$src"/topologies/*.yaml; do
  for model in "$src"/models/*.yaml "$src"/models/*.json; do
    [ -e "$model" ] || continue
    if [ -z "$timed" ]; then
      case $topo in *h100-1024*) case $model in *seed-dense-2l*) ;; *) continue ;; esac ;; esac
    fi
    n=$((n + 1))
    limit=1
    case $topo in *h100-1024*) limit=10 ;; esac
    t0=$(now)
    "$bin" plan "$topo" "$model" --all >"$tmp/out" 2>"$tmp/err"
    rc=$?
    t1=$(now)
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
      echo "FAIL plan --all $topo $model: exit $rc"; cat "$tmp/err"; fail=1; continue
    fi
    if [ $rc -eq 1 ] && ! grep -q "0 fit" "$tmp/out"; then
      echo "FAIL plan --all $topo $model: exit 1 although some strategy fits"; fail=1
    fi
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -n "$timed" ] && awk -v e="$el" -v l="$limit" 'BEGIN { exit !(e > l) }'; then
      echo "FAIL plan --all $topo $model took ${el}s"; fail=1
    fi
    echo "$el plan --all $(basename "$topo") $(basename "$model")" >>"$tmp/times"
    spec=$(awk '$1 == "1" && $2 ~ /^dp=/ {print $2; exit}' "$tmp/out")
    [ -n "$spec" ] || continue
    t0=$(now)
    "$bin" price "$topo" "$model" --strategy "$spec" -o "$tmp/plan.yaml" >"$tmp/pout" 2>"$tmp/err"
    rc=$?
    t1=$(now)
    if [ $rc -ne 0 ]; then echo "FAIL price $topo $model $spec: exit $rc"; cat "$tmp/err"; fail=1; continue; fi
    grep -q "^metrics" "$tmp/pout" || { echo "FAIL price $topo $model: no metrics"; fail=1; }
    [ -s "$tmp/plan.yaml" ] || { echo "FAIL price $topo $model: no plan written"; fail=1; }
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -n "$timed" ] && awk -v e="$el" 'BEGIN { exit !(e > 1) }'; then
      echo "FAIL price $topo $model took ${el}s"; fail=1
    fi
    echo "$el price $(basename "$topo") $(basename "$model") $spec" >>"$tmp/times"
  done
done
echo "$n model x topology pairs; slowest runs (s):"
sort -rn "$tmp/times" | head -5
exit $fail
