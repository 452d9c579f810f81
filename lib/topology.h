/* topology.h: a GPU cluster as a hierarchy the cost model can price:
 * device types -> node types (devices per node, intra-node fabric, NICs) -> nodes,
 * optional NVLink domains spanning several nodes, and the inter-node network.
 * The loader flattens it into a device table (global device index -> node, domain).
 * All bandwidths are bytes/s per device per direction; latencies in seconds. */
#ifndef ATTN_TOPOLOGY_H
#define ATTN_TOPOLOGY_H
#include "coll.h" /* coll_algo: the algorithms a fabric offers NCCL */
#include "diag.h"
#include "link.h" /* attn_link: the link classes, what a group of devices must cross */
#include "model.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FABRIC_NVSWITCH = 0, FABRIC_NVLINK_RING = 1, FABRIC_PCIE = 2, FABRIC_SHARED_MEMORY = 3 } attn_fabric;
const char *topology_fabric_name(attn_fabric f);

typedef struct attn_device_type {
    char name[64];
    double peak_flops[DTYPE_COUNT]; /* dense FLOP/s per dtype */
    double memory_bytes;            /* capacity */
    double memory_bandwidth;        /* bytes/s */
    double gemm_efficiency;         /* achieved fraction of peak for large GEMMs (default 0.75) */
    double memory_efficiency;       /* achieved fraction of bandwidth (default 0.85) */
    double launch_overhead_s;       /* fixed cost per kernel/op (default 5e-6) */
    /* The GEMM's shape (planner/cost/cost_gemm.c; each 0 when the file leaves it out, and
     * then the GEMM is the plain roofline above): */
    int sms;                        /* streaming multiprocessors (datasheet); with gemm_tile: waves */
    int gemm_tile;                  /* output tile side one SM computes at a time (fitted) */
    double gemm_latency_s;          /* fixed time of one GEMM kernel beyond launch_overhead */
    double gemm_bandwidth_efficiency; /* achieved fraction of bandwidth of a bandwidth-bound GEMM */
    /* The fused attention kernel (optional `attention:` map; docs/cost-model.md, "Fused
     * attention"): which tile rule of lib/attn_tiling.h its kernels follow, the parallel
     * units that rule fills, and the fraction of the dtype's peak the kernel reaches. */
    int attention_gpu;              /* 1: ATTN_FUSED_GPU (kernel: gpu); 0: ATTN_FUSED_CPU (default) */
    int attention_units;            /* SMs (units:); 0: the rule's default */
    double attention_efficiency;    /* efficiency:; 0 when absent: gemm_efficiency prices it */
    /* Decode steps replayed from a CUDA graph (optional `graph:` map): present on a device
     * type whose runtime captures the step once and replays it. */
    int graph;                      /* 1: the map is present */
    double graph_launch_s;          /* launch: one graph launch (a whole step) */
    double graph_kernel_s;          /* kernel: each kernel node's cost inside the graph */
    double graph_coll_latency_scale;/* collective_latency: factor on a captured collective's alpha */
} attn_device_type;

typedef struct attn_link_spec {
    double bandwidth;               /* bytes/s per device per direction (datasheet) */
    double latency;                 /* seconds per message (alpha) */
    double efficiency;              /* achieved bus bandwidth / bandwidth (default 0.8) */
} attn_link_spec;

typedef struct attn_node_type {
    char name[64];
    int device_type;                /* index into dev_types */
    int devices;                    /* devices per node */
    attn_fabric fabric;
    attn_link_spec link;            /* intra-node fabric */
    attn_link_spec nic;             /* per-device NIC to the network */
} attn_node_type;

typedef struct attn_device {
    int node;                       /* node index */
    int local;                      /* index inside its node */
    int node_type, device_type;
    int domain;                     /* NVLink domain index (a node is its own domain if none) */
} attn_device;

/* What the fabric offers NCCL (the `nccl:` block, docs/topologies.md "Collectives"):
 * which algorithms, and the figures the NVLS and CollNet models need. Without the block:
 * ring, tree and point-to-point only. */
typedef struct attn_nccl_spec {
    unsigned algorithms;            /* bit (1u << coll_algo) per algorithm offered */
    double nvls_efficiency;         /* NVLS all-reduce: per-GPU traffic S(1 + 1/q) moves at link
                                       bandwidth x this (required when nvls or nvlstree is offered) */
    double collnet_efficiency;      /* CollNet: the NIC's achieved share into the switch's reduction */
} attn_nccl_spec;
#define TOPOLOGY_NCCL_DEFAULT ((1u << COLL_ALGO_RING) | (1u << COLL_ALGO_TREE) | (1u << COLL_ALGO_P2P))

/* One measured collective (the optional `collectives:` table): time of `coll` over
 * `ranks` GPUs on `nodes` nodes for a buffer of `bytes` (nccl-tests' size convention). */
typedef struct attn_coll_measured {
    attn_coll coll;
    int ranks, nodes;
    double bytes, time_s;
} attn_coll_measured;

typedef struct attn_topology {
    char name[128];
    int n_dev_types;  attn_device_type *dev_types;
    int n_node_types; attn_node_type *node_types;
    int n_nodes;      int *node_type_of;      /* per node */
    int n_devices;    attn_device *devices;   /* flattened, node-major */
    int domain_nodes;                         /* nodes per multi-node NVLink domain; 1 = none */
    attn_link_spec domain_link;               /* bandwidth inside such a domain across nodes */
    attn_link_spec network;                   /* latency/efficiency of the inter-node network;
                                                 bandwidth is the NIC's of each node type */
    attn_nccl_spec nccl;
    int n_coll_measured;
    attn_coll_measured *coll_measured;        /* sorted by (coll, ranks, nodes, bytes) */
    char path[1024];
    char sha256[65];
} attn_topology;

int topology_load(const char *path, attn_topology *t, attn_diag *d);
/* The same from memory (name in messages and t->path; t->sha256 of the buffer);
 * topology_load reads the file and calls this. On failure t holds nothing to free. */
int topology_load_buffer(const char *buf, size_t len, const char *name, attn_topology *t, attn_diag *d);
void topology_free(attn_topology *t);
/* Restrict to the first n devices (attnplan --devices N); returns -1 if n is out of range. */
int topology_truncate(attn_topology *t, int n);
/* The most expensive link class a set of devices crosses. */
attn_link topology_group_link(const attn_topology *t, const int *devs, int n);
/* The link spec that applies to a pair in class l (for LINK_NETWORK: min NIC of the two nodes). */
attn_link_spec topology_link_spec(const attn_topology *t, attn_link l, int dev_a, int dev_b);
/* 1 if every node is of one type. */
int topology_homogeneous(const attn_topology *t);

#ifdef __cplusplus
}
#endif
#endif
