#!/usr/bin/env bash
# predict_cli.sh ATTNPLAN ROOT: `attnplan predict` prices what it is asked and refuses bad
# usage with exit 2: the kinds, missing and bad options, an unknown device type, a bad topology
# (FILE:LINE:COL), and the figures it prints agree with the formulas they state.
set -u
bin=$1
root=$2
t=$root/topologies/dgx-h100-x1.yaml
fail=0
expect() { # CODE NAME CMD...
  local code=$1 name=$2
  shift 2
  out=$("$@" 2>&1)
  local rc=$?
  if [ $rc -ne "$code" ]; then
    echo "FAIL $name: exit $rc, expected $code: $out"
    fail=1
  fi
}
expect 0 "gemm" "$bin" predict gemm --topology "$t" --device h100-sxm --m 4096 --n 4096 --k 4096
grep -q '^time_s=[0-9.e+-]* rate=[0-9.e+-]* unit=TFLOP/s$' <<<"$out" || { echo "FAIL gemm line: $out"; fail=1; }
# 1 x 4096 x 4096 bf16 is bandwidth-bound: its operand bytes over its time are
# gemm_bandwidth_efficiency x bandwidth less the latency and launch, i.e. below 0.7 x 3.35 TB/s
expect 0 "gemm skinny" "$bin" predict gemm --topology "$t" --device h100-sxm --m 1 --n 4096 --k 4096
grep -q 'bandwidth-bound' <<<"$out" || { echo "FAIL skinny GEMM not bandwidth-bound: $out"; fail=1; }
ts=$(sed -n 's/^time_s=\([^ ]*\) .*/\1/p' <<<"$out")
awk -v t="$ts" 'BEGIN { b = 2 * (4096 + 4096 * 4096 + 4096); exit !(t > b / (0.7 * 3.35e12) && t < b / (0.7 * 3.35e12) + 6e-6) }' ||
  { echo "FAIL skinny GEMM time $ts not bytes / (0.7 x 3.35e12) + 5.5 us"; fail=1; }
expect 0 "copy" "$bin" predict copy --topology "$t" --device h100-sxm --bytes 1G
grep -q '^time_s=.* unit=GB/s$' <<<"$out" || { echo "FAIL copy line: $out"; fail=1; }
expect 0 "triad" "$bin" predict triad --topology "$t" --device h100-sxm --bytes 3221225472
expect 0 "help" "$bin" predict --help
expect 2 "no kind" "$bin" predict
expect 2 "unknown kind" "$bin" predict fft --topology "$t" --device h100-sxm
expect 2 "gemm without k" "$bin" predict gemm --topology "$t" --device h100-sxm --m 1 --n 1
expect 2 "gemm bad m" "$bin" predict gemm --topology "$t" --device h100-sxm --m 0 --n 1 --k 1
expect 2 "gemm bad dtype" "$bin" predict gemm --topology "$t" --device h100-sxm --m 1 --n 1 --k 1 --dtype int8
expect 2 "no device" "$bin" predict copy --topology "$t" --bytes 1000
expect 2 "unknown device" "$bin" predict copy --topology "$t" --device a100 --bytes 1000
grep -q "not a device type of .*(it has: h100-sxm)" <<<"$out" || { echo "FAIL unknown device message: $out"; fail=1; }
expect 2 "no bytes" "$bin" predict copy --topology "$t" --device h100-sxm
expect 2 "unknown option" "$bin" predict copy --topology "$t" --device h100-sxm --bytes 10 --fast
expect 2 "bad topology" "$bin" predict copy --topology "$root/tests/lib/bad/topo_gemm_tile_without_sms.yaml" --device gpu --bytes 10
grep -q "topo_gemm_tile_without_sms.yaml:7:16: error:" <<<"$out" || { echo "FAIL bad topology message: $out"; fail=1; }
[ $fail -eq 0 ] && echo "predict CLI ok"
exit $fail
