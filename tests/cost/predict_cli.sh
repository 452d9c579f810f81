#!/usr/bin/env bash
# predict_cli.sh ATTNPLAN ROOT: `attnplan predict coll` on shipped topologies: what NCCL
# would run where the fabric decides it (NVLS on H100 NVSwitch nodes, not on A100), and
# every bad usage ending in exit 2 with its message.
set -u
ap=$1
root=$2
fail=0
h1=$root/topologies/dgx-h100-x1.yaml h2=$root/topologies/dgx-h100-x2.yaml a1=$root/topologies/dgx-a100-x1.yaml
expect() { # expect RC PATTERN ARGS...: exit code RC and PATTERN in stdout+stderr
  local rc=$1 pat=$2
  shift 2
  local out
  out=$("$ap" "$@" 2>&1)
  local got=$?
  if [ "$got" -ne "$rc" ] || ! grep -q -F -- "$pat" <<<"$out"; then
    echo "FAIL: attnplan $*: exit $got (want $rc), output: $out (want '$pat')"
    fail=1
  fi
}
expect 0 "algorithm=NVLS protocol=Simple" predict coll --topology "$h1" --op allreduce --ranks 8 --bytes 4G --brief
expect 0 "algorithm=Ring protocol=Simple" predict coll --topology "$a1" --op allreduce --ranks 8 --bytes 4G --brief
expect 0 "protocol=LL " predict coll --topology "$h1" --op allreduce --ranks 8 --bytes 8 --brief
expect 0 "algorithm=NVLSTree" predict coll --topology "$h2" --op all-reduce --ranks 16 --bytes 4G --brief
expect 0 "algorithm=Tree protocol=LL " predict coll --topology "$h2" --op allreduce --ranks 16 --bytes 8 --brief
expect 0 "algorithm=P2P" predict coll --topology "$h2" --op alltoall --ranks 16 --bytes 1M --brief
expect 0 "busbw" predict coll --topology "$h1" --op reducescatter --ranks 4 --bytes 1G
expect 0 "one process per node" predict coll --topology "$h1" --op allgather --ranks 8 --bytes 1M --single-process
expect 0 "usage: attnplan predict coll" predict coll --help
expect 0 "coll" predict --help
expect 2 "--topology is required" predict coll --op allreduce --ranks 8 --bytes 1M
expect 2 "--bytes is required" predict coll --topology "$h1" --op allreduce --ranks 8
expect 2 "bad value 'allsum'" predict coll --topology "$h1" --op allsum --ranks 8 --bytes 1M
expect 2 "bad value 'nvlink'" predict coll --topology "$h1" --op allreduce --ranks 8 --bytes 1M --algo nvlink
expect 2 "bad value 'LL64'" predict coll --topology "$h1" --op allreduce --ranks 8 --bytes 1M --proto LL64
expect 2 "--ranks 7 is not a multiple of --nodes 2" predict coll --topology "$h2" --op allreduce --ranks 7 --nodes 2 --bytes 1M
expect 2 "has 8 GPUs" predict coll --topology "$h1" --op allreduce --ranks 32 --bytes 1M
expect 2 "has 2 nodes" predict coll --topology "$h2" --op allreduce --ranks 12 --nodes 3 --bytes 1M
expect 2 "node 0 has 8" predict coll --topology "$h2" --op allreduce --ranks 32 --nodes 2 --bytes 1M
expect 2 "--bytes: bad value '0'" predict coll --topology "$h1" --op allreduce --ranks 8 --bytes 0
expect 2 "NVLS is not offered" predict coll --topology "$a1" --op allreduce --ranks 8 --bytes 1M --algo nvls
expect 2 "unknown option '--frobnicate'" predict coll --topology "$h1" --op allreduce --ranks 8 --bytes 1M --frobnicate
expect 2 "unknown kind 'gemmm'" predict gemmm
expect 2 "topo_nccl_unknown_algo.yaml:16:22: error: unknown algorithm 'nvlink'" predict coll \
  --topology "$root/tests/lib/bad/topo_nccl_unknown_algo.yaml" --op allreduce --ranks 8 --bytes 1M
[ $fail -eq 0 ] && echo "predict_cli: ok"
exit $fail
