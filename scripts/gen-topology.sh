#!/usr/bin/env bash
# gen-topology.sh NODES [OUT]: write a topology of NODES DGX H100 nodes (8 H100 each, NVSwitch
# inside a node, one 400 Gb/s NDR InfiniBand NIC per GPU) to OUT, or to stdout. The figures
# and their sources are those of topologies/dgx-h100-x2.yaml, and the file written names
# them too; the planner's scale benchmark uses it, e.g. `scripts/gen-topology.sh 1024` for
# 8192 GPUs.
set -euo pipefail

usage() { echo "usage: $0 NODES [OUT]   (NODES: 1..131072 DGX H100 nodes of 8 GPUs)" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
nodes=$1
case $nodes in ''|*[!0-9]*) usage ;; esac
[ ${#nodes} -le 7 ] || usage
nodes=$((10#$nodes))
# The topology schema allows at most 2^20 devices: 131072 nodes of 8.
if [ "$nodes" -lt 1 ] || [ "$nodes" -gt 131072 ]; then usage; fi

emit() {
cat <<YAML
# dgx-h100-x$nodes: $nodes DGX H100 nodes ($((nodes * 8)) H100), written by scripts/gen-topology.sh.
# Same figures and sources as topologies/dgx-h100-x2.yaml:
#   H100 datasheet: NVIDIA H100 Tensor Core GPU datasheet, https://www.nvidia.com/en-us/data-center/h100/
#   DGX H100 user guide: https://docs.nvidia.com/dgx/dgxh100-user-guide/
#   nccl-tests issue 212 (8 x H100, one DGX): https://github.com/NVIDIA/nccl-tests/issues/212
#   nccl-tests issue 290 (H100, one and two nodes): https://github.com/NVIDIA/nccl-tests/issues/290
#   measured: on an H100 80GB HBM3 (132 SMs, 50 MB L2) lent to the attnplan project, 8192^3
#     bf16 GEMM and device copy on random data (no command kept; scripts/gpu-check.sh
#     measures both again)
name: dgx-h100-x$nodes
device_types:
  h100-sxm:
    peak_flops: {fp16: 989e12, bf16: 989e12, fp32: 67e12}   # H100 SXM5 datasheet (dense; fp32 non-tensor-core)
    memory_bytes: 80e9               # 80 GB HBM3 (H100 datasheet)
    memory_bandwidth: 3.35e12        # 3.35 TB/s (H100 datasheet)
    gemm_efficiency: 0.8             # MAMF table (stas00/ml-engineering compute/accelerator/README.md): 794.5 of 989
    memory_efficiency: 0.9           # measured copy ~3.0 of 3.35 TB/s, read + written (lent H100)
    # GEMMs by shape (planner/cost/cost_gemm.c): 132 SMs (datasheet); tile, latency and
    # bandwidth efficiency fitted over bench/published/gemm.tsv (topologies/dgx-h100-x1.yaml)
    sms: 132
    gemm_tile: 64
    gemm_latency: 0.5e-6
    gemm_bandwidth_efficiency: 0.7
YAML
if [ "$nodes" -eq 1 ]; then
cat <<YAML
node_types:
  dgx-h100:
    device: h100-sxm
    devices: 8                       # DGX H100 user guide: 8 H100 on 4 NVSwitch chips
    fabric: nvswitch
    # 450 GB/s per direction (H100 datasheet, NVLink 4); 3 us an estimate (a small NCCL
    # message takes several us inside a node); 0.82 = nccl-tests ring bus bandwidth 370/450
    # (issues 212, 290)
    link: {bandwidth: 450e9, latency: 3e-6, efficiency: 0.82}
nodes:
  - {type: dgx-h100, count: 1}
YAML
else
cat <<YAML
node_types:
  dgx-h100:
    device: h100-sxm
    devices: 8                       # DGX H100 user guide: 8 H100 on 4 NVSwitch chips
    fabric: nvswitch
    # 450 GB/s per direction (H100 datasheet, NVLink 4); 3 us an estimate (a small NCCL
    # message takes several us inside a node); 0.82 = nccl-tests ring bus bandwidth 370/450
    # (issues 212, 290)
    link: {bandwidth: 450e9, latency: 3e-6, efficiency: 0.82}
    # 400 Gb/s NDR per GPU = 50 GB/s (DGX H100 user guide); 0.94 = nccl-tests 46-48/50
    # per GPU across nodes (issue 290); 5 us an estimate (the network's 10 us governs: the
    # loader takes the largest of the NICs' and the network's latency)
    nic: {bandwidth: 50e9, latency: 5e-6, efficiency: 0.94}
nodes:
  - {type: dgx-h100, count: $nodes}
# 10 us: an estimate, the low end of the roughly 10-20 us a small NCCL message takes across
# nodes (likely higher on large fabrics; not measured); 0.94 as the NIC (nccl-tests issue 290)
network: {latency: 10e-6, efficiency: 0.94}
YAML
fi
}

if [ $# -eq 2 ]; then
  emit > "$2"
else
  emit
fi
