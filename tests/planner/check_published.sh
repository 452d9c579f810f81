#!/usr/bin/env bash
# check_published.sh ATTNPLAN ROOT: bench/published.sh runs, exits 0, and prints every row of
# bench/published/*.tsv: a priced row with a numeric prediction and error, a row of role none
# with its reason; and one summary line per kind (collectives: passed on or said absent). It
# does not check the targets (the script prints whether they are met): pricing is the model's
# business, this test guards the table and the script.
set -u
attnplan=$1
root=$2
out=$(ATTNPLAN=$attnplan "$root/bench/published.sh" 2>&1)
rc=$?
fail=0
if [ $rc -ne 0 ]; then
  echo "FAIL published.sh exited $rc"
  fail=1
fi
rows=0
for f in "$root"/bench/published/gemm.tsv "$root"/bench/published/bandwidth.tsv "$root"/bench/published/e2e.tsv; do
  while IFS=$'\t' read -r id role _rest; do
    case $id in ''|'#'*|id) continue ;; esac
    rows=$((rows + 1))
    line=$(awk -v id="$id" '$1 == id' <<<"$out")
    if [ -z "$line" ]; then
      echo "FAIL row $id of $(basename "$f") not printed"
      fail=1
    elif [ "$role" = none ]; then
      grep -q "not compared" <<<"$line" || { echo "FAIL row $id (role none) prints no reason: $line"; fail=1; }
    elif ! awk '{ e = $NF; sub(/%$/, "", e); exit !($4 + 0 > 0 && e ~ /^[-+][0-9.]+$/) }' <<<"$line"; then
      echo "FAIL row $id: no numeric prediction and error: $line"
      fail=1
    fi
  done <"$f"
done
for kind in gemm bandwidth e2e; do
  grep -q "^kind=$kind n=[1-9][0-9]* mape=[0-9.]*% .*target: .*: \(met\|NOT met\)$" <<<"$out" ||
    { echo "FAIL no summary line for $kind"; fail=1; }
done
grep -q '^kind=collective' <<<"$out" || { echo "FAIL no collective line"; fail=1; }
[ $rows -ge 40 ] || { echo "FAIL only $rows rows in the tables"; fail=1; }
echo "$rows published rows printed"
exit $fail
