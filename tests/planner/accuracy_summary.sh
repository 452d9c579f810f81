#!/usr/bin/env bash
# accuracy_summary.sh ROOT: bench/accuracy_summary.awk (the figures bench/accuracy.sh
# prints, docs/accuracy.md "Repeatability and drift") on a made-up sweep whose answers
# are known: the measured launch is the median one, the noise floor the launches' spread
# around the others' median, and the drift correction scales by the median probe prefill
# of a window around the launch against the reference probes, so one slow probe moves the
# corrected figure with window 0 and not with window 1; the exit code says whether the
# targets are met.
set -u
root=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
# reference probes (prefill 1.0 s; their decode figures are not used), then one probe per
# launch in the order they ran: A's second launch had a probe twice as slow
printf 'ref\tbefore1\t1.0\t0.001\nref\tbefore2\t1.0\t0.001\nref\tafter1\t1.0\t0.003\n' > "$work/probes.tsv"
printf 'A\t1\t1.0\t0.001\nB\t1\t1.0\t0.001\nA\t2\t2.0\t0.009\nB\t2\t1.0\t0.001\nA\t3\t1.0\t0.001\nB\t3\t1.0\t0.001\n' >> "$work/probes.tsv"
# TAG MODEL SPEC WORLD METRIC LAUNCH PREDICTED MEASURED OTHERS: A (long, 20 ms) predicted
# exactly at its median launch, B (short) 25% over three equal launches
{
  printf 'A\tm1\tdp=1,pp=1,n=2,m=1\t2\tttft_s\t%s\t0.020\t%s\t1\n' 1 0.019 2 0.020 3 0.021
  printf 'B\tm1\tdp=2,pp=1,n=1,m=1\t2\tttft_s\t%s\t0.005\t%s\t1\n' 1 0.004 2 0.004 3 0.004
} > "$work/launches.tsv"
run() { awk -f "$root/bench/accuracy_summary.awk" -v results="$work/r.tsv" -v load=x -v have_ref=3 -v window="$1" \
          "$work/probes.tsv" "$work/launches.tsv"; }
out=$(run 0); rc=$?
echo "$out"
line=$(grep -E '^m1 +dp=1,pp=1,n=2,m=1 +ttft_s' <<< "$out")
# measured 0.020 (the median launch, 2), raw error 0, its own probe 2x the reference: +100%
# corrected; noise floor (|0.019/0.0205-1| + |0.020/0.020-1| + |0.021/0.0195-1|)/3 = 5.0%
[[ $line =~ \+0\.0%\ +\+100\.0%\ +5\.0% ]] || fail "window 0, plan A: '$line'"
grep -qE '^m1 +dp=2,pp=1,n=1,m=1 +ttft_s .* \+25\.0% +\+25\.0% +0\.0%' <<< "$out" || fail "plan B"
grep -q 'reference the probes around the calibration: ttft_s 1 s' <<< "$out" || fail "reference"
grep -q 'targets .*: NOT met' <<< "$out" && [ $rc = 1 ] || fail "window 0: targets should fail (rc $rc)"
out=$(run 1); rc=$?
line=$(grep -E '^m1 +dp=1,pp=1,n=2,m=1 +ttft_s' <<< "$out")
# the window's median (1.0, 2.0, 1.0) is the reference: the slow probe is outvoted
[[ $line =~ \+0\.0%\ +\+0\.0%\ +5\.0% ]] || fail "window 1, plan A: '$line'"
grep -qE '^ttft_s +long +1 +0\.00% +0\.00% +5\.00%' <<< "$out" || fail "window 1: long class"
grep -q 'targets .*: met' <<< "$out" && [ $rc = 0 ] || fail "window 1: targets should be met (rc $rc)"
# the results file: one line per plan and metric, the class last
[ "$(wc -l < "$work/r.tsv")" = 2 ] && [ "$(cut -f12 "$work/r.tsv" | tr '\n' ' ')" = "long short " ] ||
  fail "results file: $(cat "$work/r.tsv")"
echo "accuracy_summary.sh: all passed"
