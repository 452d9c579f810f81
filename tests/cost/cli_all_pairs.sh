#!/usr/bin/env bash
# cli_all_pairs.sh ATTNPLAN SRCDIR [timed]: `attnplan plan --all` and `attnplan price`
# (with the top-ranked strategy) on every shipped model x topology pair: exit 0 (or 1 from
# plan --all when nothing fits), no crash, a plan file written. With `timed` (not under
# sanitizers) each run must also stay under 1 s of CPU time (user + system; wall time
# depends on the machine's load) and h100-1024's --all under 10 s; without it
# (sanitizer builds, 10-50x slower) h100-1024 is run with one model only. Prints the
# slowest runs.
set -u
bin=$1 src=$2 timed=${3:-}
fail=0 n=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
TIMEFORMAT='%3U %3S'
# run OUT ERR CMD...: runs CMD, sets rc and cpu (user + system seconds)
run() {
  local out=$1 err=$2
  shift 2
  { time "$@" >"$out" 2>"$err"; } 2>"$tmp/time"
  rc=$?
  cpu=$(awk '{ printf "%.3f", $1 + $2 }' "$tmp/time")
}
for topo in "$src"/topologies/*.yaml; do
  for model in "$src"/models/*.yaml "$src"/models/*.json; do
    [ -e "$model" ] || continue
    if [ -z "$timed" ]; then
      case $topo in *h100-1024*) case $model in *seed-dense-2l*) ;; *) continue ;; esac ;; esac
    fi
    n=$((n + 1))
    limit=1
    case $topo in *h100-1024*) limit=10 ;; esac
    run "$tmp/out" "$tmp/err" "$bin" plan "$topo" "$model" --all
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
      echo "FAIL plan --all $topo $model: exit $rc"; cat "$tmp/err"; fail=1; continue
    fi
    if [ $rc -eq 1 ] && ! grep -q "0 fit" "$tmp/out"; then
      echo "FAIL plan --all $topo $model: exit 1 although some strategy fits"; fail=1
    fi
    if [ -n "$timed" ] && awk -v e="$cpu" -v l="$limit" 'BEGIN { exit !(e > l) }'; then
      echo "FAIL plan --all $topo $model took ${cpu}s of CPU"; fail=1
    fi
    echo "$cpu plan --all $(basename "$topo") $(basename "$model")" >>"$tmp/times"
    spec=$(awk '$1 == "1" && $2 ~ /^dp=/ {print $2; exit}' "$tmp/out")
    [ -n "$spec" ] || continue
    run "$tmp/pout" "$tmp/err" "$bin" price "$topo" "$model" --strategy "$spec" -o "$tmp/plan.yaml"
    if [ $rc -ne 0 ]; then echo "FAIL price $topo $model $spec: exit $rc"; cat "$tmp/err"; fail=1; continue; fi
    grep -q "^metrics" "$tmp/pout" || { echo "FAIL price $topo $model: no metrics"; fail=1; }
    [ -s "$tmp/plan.yaml" ] || { echo "FAIL price $topo $model: no plan written"; fail=1; }
    if [ -n "$timed" ] && awk -v e="$cpu" 'BEGIN { exit !(e > 1) }'; then
      echo "FAIL price $topo $model took ${cpu}s of CPU"; fail=1
    fi
    echo "$cpu price $(basename "$topo") $(basename "$model") $spec" >>"$tmp/times"
  done
done
echo "$n model x topology pairs; slowest runs (CPU s):"
sort -rn "$tmp/times" | head -5
exit $fail
