#!/usr/bin/env bash
# price_nofit.sh BIN ROOT: `attnplan price -o` on a strategy that does not fit still prices
# and reports the shortfall, but writes no plan file (validate and attnrun would refuse it)
# and exits 1; on a strategy that fits it writes one that validates.
set -u
bin=$1 root=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
topo=$root/topologies/dgx-h100-x2.yaml model=$root/models/seed-dense-4l.yaml
"$bin" price "$topo" "$model" --strategy dp=1,pp=1,n=1,m=16,scheme=qk-allgather -o "$tmp/nofit.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
fail=0
[ $rc -eq 1 ] || { echo "FAIL: exit $rc for a plan that does not fit (want 1)"; fail=1; }
grep -q "DOES NOT FIT" "$tmp/out" || { echo "FAIL: no shortfall reported"; fail=1; }
grep -q "not written: the plan does not fit" "$tmp/err" || { echo "FAIL: no 'not written' message"; cat "$tmp/err"; fail=1; }
[ ! -e "$tmp/nofit.yaml" ] || { echo "FAIL: a plan file was written"; fail=1; }
"$bin" price "$topo" "$model" --strategy dp=1,pp=2,n=8,m=1 -o "$tmp/fit.yaml" >/dev/null 2>"$tmp/err2" ||
  { echo "FAIL: a fitting plan was refused"; cat "$tmp/err2"; fail=1; }
"$bin" validate "$tmp/fit.yaml" >/dev/null || { echo "FAIL: the written plan does not validate"; fail=1; }
[ $fail -eq 0 ] && echo "price_nofit: ok"
exit $fail
