#!/usr/bin/env bash
# collectives_check.sh [ATTNPLAN] [TABLE]: prices every row of collectives.tsv (public
# nccl-tests figures, each with its source) with `attnplan predict coll` and prints, per
# row, the published and predicted figure, NCCL's algorithm/protocol as the model picks it,
# and the error; then the MAPE and the worst row, and last one machine-readable line
#   kind=collective n=N mape=PCT% worst=PCT% beyond25=K worst_row=SOURCE  target: ...: met|NOT met
# (bench/published.sh reads it). A row whose note starts "not compared:" is listed with
# that reason and left out of the MAPE. It only prices: no GPU, a second or two, runs in CI.
# ATTNPLAN: the binary (default: $ATTN_BUILD_DIR/planner/attnplan, else scripts/attnplan).
# Exit 0 when every row was priced, 1 when one could not be (the row says why), 2 usage.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
attnplan=${1:-}
table=${2:-$here/collectives.tsv}
if [ -z "$attnplan" ]; then
  if [ -x "${ATTN_BUILD_DIR:-$root/build}/planner/attnplan" ]; then attnplan=${ATTN_BUILD_DIR:-$root/build}/planner/attnplan
  else attnplan=$root/scripts/attnplan; fi
fi
[ -r "$table" ] || { echo "collectives_check.sh: cannot read $table" >&2; exit 2; }

fail=0
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
printf '%-38s %-9s %4s %3s %12s %-10s %-10s %10s %10s %8s  %s\n' source op rank node bytes metric algo published predicted error chosen
while IFS=$'\t' read -r source hardware nccl mode op ranks nodes bytes algo metric value topology note; do
  case $source in ''|'#'*|source) continue ;; esac
  case $note in 'not compared:'*) printf '%-38s %-9s %4s %3s %12s %s\n' "$source" "$op" "$ranks" "$nodes" "$bytes" "$note"; continue ;; esac
  args=(predict coll --topology "$root/topologies/$topology.yaml" --op "$op" --ranks "$ranks" --nodes "$nodes"
        --bytes "$bytes" --brief)
  [ "$algo" != default ] && args+=(--algo "$algo")
  [ "$mode" = single ] && args+=(--single-process)
  if ! out=$("$attnplan" "${args[@]}" 2>&1); then
    echo "FAIL $source $op $ranks ranks $bytes bytes: $out"
    fail=1
    continue
  fi
  # algorithm=X protocol=Y source=Z time_s=T algbw=A busbw=B
  chosen=$(sed -n 's/.*algorithm=\([^ ]*\) protocol=\([^ ]*\).*/\1\/\2/p' <<<"$out")
  case $metric in
    busbw_GBps) pred=$(sed -n 's/.*busbw=\([^ ]*\).*/\1/p' <<<"$out"); pred=$(awk -v v="$pred" 'BEGIN{printf "%.6g", v/1e9}') ;;
    time_us) pred=$(sed -n 's/.*time_s=\([^ ]*\).*/\1/p' <<<"$out"); pred=$(awk -v v="$pred" 'BEGIN{printf "%.6g", v*1e6}') ;;
    *) echo "FAIL $source: unknown metric '$metric'"; fail=1; continue ;;
  esac
  err=$(awk -v p="$pred" -v m="$value" 'BEGIN{printf "%.2f", 100*(p-m)/m}')
  printf '%-38s %-9s %4s %3s %12s %-10s %-10s %10s %10s %7s%%  %s\n' "$source" "$op" "$ranks" "$nodes" "$bytes" "$metric" \
    "$algo" "$value" "$pred" "$err" "$chosen"
  printf '%s\t%s\n' "$err" "$source $op ${ranks}r ${bytes}B" >>"$rows"
done <"$table"

awk -F'\t' '{e = $1 < 0 ? -$1 : $1; s += e; n++; if (e > 25) o++; if (e > w) { w = e; wr = $2 } }
  END { if (n == 0) { print "no rows priced"; print "kind=collective n=0 mape=nan worst=nan"; exit }
        printf "\n%d rows: MAPE %.1f%%, worst %.1f%% (%s)\n", n, s / n, w, wr
        gsub(/ /, "_", wr)
        printf "kind=collective n=%d mape=%.1f%% worst=%.1f%% beyond25=%d worst_row=%s  target: mape <= 10%%, none beyond 25%%: %s\n",
               n, s / n, w, o + 0, wr, (s / n <= 10 && o == 0) ? "met" : "NOT met" }' "$rows"
exit $fail
