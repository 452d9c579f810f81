/* coll.h: the collectives a plan names and NCCL's bus-bandwidth convention for them
 * (nccl-tests doc/PERFORMANCE.md; src/all_reduce.cu, all_gather.cu, ... *GetBw). For p
 * ranks and a buffer of S bytes (all-gather: the gathered buffer; all-to-all: one rank's
 * send buffer), a member sends factor x S bytes and busbw = algbw x factor, with
 *   all-reduce                                   factor 2(p-1)/p, 2(p-1) latency steps
 *   all-gather, reduce-scatter, all-to-all       factor  (p-1)/p,  p-1   latency steps
 *   send/recv                                    factor  1,        1     latency step
 * The cost model prices with it (planner/cost_comm.c, cost_rank.c), the runtime counts the
 * bytes it sends with it (runtime/forward.c) and calibration fits measured times with it
 * (runtime/calibrate_comm.c): written once, so predicted and measured bytes agree by
 * construction. */
#ifndef ATTN_COLL_H
#define ATTN_COLL_H
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { COLL_ALLREDUCE = 0, COLL_ALLGATHER, COLL_REDUCESCATTER, COLL_ALLTOALL, COLL_SENDRECV, COLL_COUNT } attn_coll;
const char *coll_name(attn_coll c);

/* The algorithms and protocols NCCL runs a collective with (NVIDIA/nccl src/include/
 * device.h names them; the cost model's choice among them is planner/cost/cost_nccl.c).
 * COLL_ALGO_P2P is what all-to-all and send/recv run as: grouped point-to-point sends,
 * no ring or tree. Names as NCCL_ALGO / NCCL_PROTO spell them (case-insensitive). */
typedef enum {
    COLL_ALGO_RING = 0,
    COLL_ALGO_TREE,
    COLL_ALGO_NVLS,       /* NVLink SHARP: the NVSwitch reduces and multicasts (H100/H200) */
    COLL_ALGO_NVLS_TREE,  /* NVLS inside each node, a tree over the NICs between nodes */
    COLL_ALGO_COLLNET,    /* in-network reduction (InfiniBand SHARP), CollNet Direct */
    COLL_ALGO_P2P,
    COLL_ALGO_COUNT
} coll_algo;
typedef enum { COLL_PROTO_LL = 0, COLL_PROTO_LL128, COLL_PROTO_SIMPLE, COLL_PROTO_COUNT } coll_proto;
const char *coll_algo_name(coll_algo a);
const char *coll_proto_name(coll_proto p);
/* Parse a name (case-insensitive: "ring", "NVLSTree", "LL128", ...); 0, or -1 unknown. */
int coll_algo_parse(const char *s, coll_algo *a);
int coll_proto_parse(const char *s, coll_proto *p);
/* Parse a collective's name ("allreduce", "all-reduce", "all_reduce" alike); 0 or -1. */
int coll_parse(const char *s, attn_coll *c);

/* Bus factor of collective c over p ranks: bytes a member sends per byte of S, and
 * busbw / algbw. 0 for p <= 1 (a group of one sends nothing). */
double coll_bus_factor(attn_coll c, int p);
/* Latency steps of the ring over p ranks (the alpha term's multiplier); 0 for p <= 1. */
double coll_latency_steps(attn_coll c, int p);

#ifdef __cplusplus
}
#endif
#endif
