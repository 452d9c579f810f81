/* cost.h: the analytic cost model. Prices a plan (every rank's share of the work, so uneven
 * shares on mixed clusters are priced per device) on a topology: per rank, per phase
 * (prefill, one decode step), per op FLOPs, HBM bytes and time (roofline + launch overhead),
 * every collective by alpha-beta with NCCL's bus-bandwidth factors over the links its group
 * crosses (hierarchically when it spans nodes), the pipeline (microbatches, bubble,
 * activation transfers), data-parallel replicas, memory per device, and the metrics of
 * metrics.h. docs/cost-model.md has the formulas and assumptions; docs/metrics.md the
 * metric definitions.
 *
 * Implementation: cost_ops.c (per-op FLOPs/bytes/roofline), cost_comm.c (collectives),
 * cost_rank.c (one rank's ops, collectives and memory), cost.c (assembly: stages,
 * pipeline, replicas, metrics). */
#ifndef ATTN_COST_H
#define ATTN_COST_H
#include <stddef.h>
#include "attn_tiling.h"
#include "calibration_io.h"
#include "metrics.h"
#include "model.h"
#include "plan.h"
#include "report_io.h"
#include "strategy.h"
#include "topology.h"
#ifdef __cplusplus
extern "C" {
#endif

/* ---- calibration: measured figures that override the topology's defaults ---- */

/* Achieved GEMM efficiency (fraction of the dtype's peak) for one shape C[m,n] += A[m,k]B[k,n],
 * measured as a batched call whose `reuse` entries share one B operand (the attention GEMMs of
 * query heads sharing a kv head, attn_gemm_batch's b_shared): reading K once for four heads is
 * faster per GEMM than four fresh reads, so the reuse is part of the key. <= 1: one entry per
 * B (every projection; old files, which have no reuse). */
typedef struct cost_gemm_point {
    double m, n, k;
    double efficiency;
    double reuse;
} cost_gemm_point;

/* The fused attention op measured at one call's shape (calibration_io.h
 * calibration_attention): tq queries, tk keys, head width d_qk, seqs x heads pairs, qpk;
 * efficiency rescaled to the topology's peak like the GEMM table's. */
typedef struct cost_attention_point {
    double tq, tk, d, pairs, qpk;
    double efficiency;
} cost_attention_point;

/* One collective measured on a group of group_size devices crossing link class `link`:
 * time(S) = steps(p) * alpha_s + factor(p) * S / bus_bandwidth, with nccl-tests' conventions
 * (steps and factor: all-reduce 2(p-1) and 2(p-1)/p; the others p-1 and (p-1)/p; send/recv 1). */
#define COST_MAX_COLL_POINTS 32
typedef struct cost_coll_fit {
    attn_coll coll;
    attn_link link;
    int group_size;
    double alpha_s;
    double bus_bandwidth;           /* bytes/s (nccl-tests busbw) */
    /* The measured sizes behind the fit (the file's samples, bytes ascending): at this group
     * size a collective is priced between them (log bytes / log time), beyond them by the
     * fit's shape through the nearest one; none: the fit alone. */
    int n_points;
    double point_bytes[COST_MAX_COLL_POINTS], point_s[COST_MAX_COLL_POINTS];
} cost_coll_fit;

/* The cost model's view of a calibration file (lib/calibration_io.h, which owns the file
 * and its kernel table): what pricing reads, efficiencies rescaled to the topology. */
#define COST_MAX_SYNC_POINTS CALIBRATION_MAX_SYNC_POINTS
typedef struct cost_calibration {
    int n_gemm;
    cost_gemm_point *gemm;          /* interpolated over log(m), log(n), log(k); empty: topology's gemm_efficiency.
                                       A calibrated GEMM is priced at its measured efficiency alone (no
                                       memory roofline): the measurement already includes what bound it */
    int n_attention;
    cost_attention_point *attention; /* the fused op's table, interpolated over log2 of (tq, tk, d, pairs, qpk);
                                        empty: the topology's attention efficiency. A calibrated fused op is
                                        priced at its measured efficiency alone (no memory roofline) */
    double elementwise_bandwidth;   /* bytes/s achieved by norms, activations, residuals; 0: topology default */
    double kernel_bandwidth[CALIBRATION_KERNEL_COUNT]; /* bytes/s per calibration_kernel (bytes as the model
                                                         counts them); 0: elementwise. The softmax's entry is
                                                         not read: softmax_bandwidth prices it */
    double softmax_bandwidth;       /* bytes/s achieved by the softmax kernel; 0: elementwise figure */
    double softmax_decode_bandwidth;/* bytes/s of a decode step's softmax (one query row, nothing masked); 0: softmax */
    double launch_overhead_s;       /* < 0: topology default */
    int n_sync;                     /* points of the synchronization-wait table (0: no wait priced) */
    double sync_work_s[COST_MAX_SYNC_POINTS]; /* independent work per rank before a collective, ascending */
    double sync_wait_s[COST_MAX_SYNC_POINTS]; /* mean extra time the collective then waits for its
                                                 slowest member (back-to-back latency excluded) */
    int n_coll;
    cost_coll_fit *coll;            /* an exact (coll, link, group_size) match wins; else the same
                                       (coll, link) with the nearest group size; else the topology */
    char source[1024];              /* file it came from, for messages */
} cost_calibration;

/* The cost model's view of file (read by cost_calibration_load through lib/calibration_io.c, against the topology priced on:
 * every efficiency times file->rescale, so the measured FLOP/s are what is priced);
 * source names the file in messages. Allocates cal's tables (cost_calibration_free).
 * Returns 0, or -1 out of memory (cal then holds nothing to free). */
int cost_calibration_from(const attn_calibration *file, const char *source, cost_calibration *cal);
/* calibration_load(path, t) into cal; file, when given, receives what the file says (the
 * caller frees it with calibration_free), else it is freed here. 0, or -1 with the
 * errors reported through d (FILE:LINE:COL). */
int cost_calibration_load(const char *path, const attn_topology *t, cost_calibration *cal, attn_calibration *file,
                          attn_diag *d);
void cost_calibration_free(cost_calibration *cal);

/* ---- collectives as NCCL runs them (cost_nccl.c; docs/cost-model.md, "Collectives") ---- */

/* A communication group as NCCL's tuner sees it. A group inside one node or one NVLink
 * domain has nodes = 1 (per_node = ranks). Bandwidths are bytes/s per GPU per direction. */
typedef struct cost_nccl_group {
    int ranks, nodes;
    int per_node, per_node_min;   /* GPUs of the group on its fullest and emptiest node */
    int nvlink;                   /* 1: NVLink between the node's GPUs (NVSwitch, NVLink ring, domain); 0: PCIe */
    double link_bw;               /* line rate of the node fabric (NVLS efficiency is relative to it) */
    double intra_bw;              /* achieved: line rate x link efficiency (a Simple ring's busbw) */
    double nic_bw;                /* achieved per-GPU NIC bandwidth (one NIC per GPU, rail-aligned) */
    unsigned algorithms;          /* bit (1u << coll_algo) per algorithm the fabric offers */
    double nvls_eff, collnet_eff; /* the topology's nccl: figures */
    double launch_s;              /* one kernel launch (the device type's launch_overhead) */
    int single_process;           /* set from cost_nccl_options by cost_collective_choose */
    double latency_scale;         /* likewise */
} cost_nccl_group;

typedef struct cost_nccl_options {
    int algo;                     /* -1: NCCL's choice; else the coll_algo forced (NCCL_ALGO) */
    int proto;                    /* -1, or the coll_proto forced (NCCL_PROTO) */
    int single_process;           /* 1: one process drives all the node's GPUs (nccl-tests -g N);
                                     0: one process per GPU, as attnrun runs */
    double latency_scale;         /* the factor on every latency term: 1 eager; a collective captured
                                     in a CUDA graph pays less (the device type's graph
                                     collective_latency, docs/cost-model.md) */
} cost_nccl_options;
void cost_nccl_options_default(cost_nccl_options *o);

/* Where a collective's price came from, by precedence: a calibration fit, the topology's
 * measured `collectives:` table, the NCCL model; CPU fabrics (shared memory) use alpha-beta. */
typedef enum { COST_COLL_MODEL = 0, COST_COLL_MEASURED, COST_COLL_CALIBRATION, COST_COLL_ALPHA_BETA } cost_coll_source;
const char *cost_coll_source_name(cost_coll_source s);

typedef struct cost_coll_choice {
    coll_algo algo;               /* what NCCL would run (the model's pick, also under the other sources) */
    coll_proto proto;
    double time_s;
    cost_coll_source source;
    int hierarchical;             /* 1: the group spans nodes over the network */
} cost_coll_choice;

/* Time of one algorithm and protocol on group g for S bytes; -1 when NCCL would not run
 * that pair there (not offered by the fabric, not defined for the collective). */
double cost_nccl_time(const cost_nccl_group *g, attn_coll c, coll_algo a, coll_proto p, double S);
/* NCCL's choice: the fastest offered (algorithm, protocol) by cost_nccl_time, within what
 * o forces (o may be NULL). 0, or -1 when nothing forced is available (out then holds
 * the collective's default names and time 0). */
int cost_collective_choose(const cost_nccl_group *g, attn_coll c, double S, const cost_nccl_options *o,
                           cost_coll_choice *out);

/* ---- options ---- */

typedef struct cost_options {
    const cost_calibration *calibration; /* NULL: topology defaults */
    int query_chunk;     /* query rows per attention chunk in prefill; 0: COST_DEFAULT_QUERY_CHUNK */
    int score_bytes;     /* bytes per score element (workspace and score-allreduce); 0: 4 (fp32) */
    double score_workspace; /* budget in bytes for one score block's workspace (attn_tiling.h):
                               sequences and heads are tiled to fit it; 0: ATTN_SCORE_WORKSPACE_DEFAULT */
    int fused_attention; /* 1 (default): the none, qk-allgather and head-alltoall schemes run the fused
                            attention op (OP_ATTENTION, attnrun --attention fused); 0: the materialized
                            scores, softmax and P.V (--attention unfused). score-allreduce is always
                            unfused (its partial scores are summed before the softmax) */
    int decode_first_step; /* 1: the decode step (tpot) is the first one, at context seq_len; 0
                              (default): the mean step over the whole output, contexts seq_len ..
                              seq_len + decode_tokens - 1, as serving benchmarks define TPOT
                              (docs/metrics.md) */
} cost_options;
#define COST_DEFAULT_QUERY_CHUNK 1024
void cost_options_default(cost_options *o);

/* ---- detail: what `attnplan price` prints beside the report ---- */

typedef struct cost_coll_line {
    attn_phase phase;
    attn_op op;                     /* OP_ATTN_COMM, OP_O_PROJ_ALLREDUCE, OP_MLP_ALLREDUCE, OP_PIPE_P2P */
    attn_coll coll;
    attn_group_kind group;
    int group_size;
    attn_link link;                 /* most expensive class crossed */
    int hierarchical;               /* 1: the group spans nodes over the network */
    coll_algo algo;                 /* NCCL's algorithm and protocol for it (cost_collective_choose) */
    coll_proto proto;
    cost_coll_source source;        /* where its time came from */
    double bytes_per_call;          /* S: the buffer size in nccl-tests' convention */
    double calls;                   /* calls in the phase on this rank */
    double time_s;                  /* all calls: the transfer (alpha-beta) */
    double wait_s;                  /* all calls: the wait for the slowest member (cost_sync_wait) */
} cost_coll_line;
#define COST_MAX_COLL_LINES 24

typedef struct cost_detail {
    int microbatches;               /* resolved M (largest replica's) */
    int critical_rank[PHASE_COUNT]; /* slowest rank per phase (prefill: whole prefill) */
    int critical_stage;             /* prefill: stage with the longest time per microbatch */
    double stage_time_s;            /* that stage's time per (largest) microbatch */
    double p2p_time_s;              /* one activation transfer between stages, per microbatch */
    double bubble_s;                /* ttft minus M x the steady-state period */
    double compute_floor_s;         /* max over devices of prefill FLOPs / peak (no efficiency) */
    double hbm_floor_s;             /* max over devices of (weights + KV at context seq_len) / bandwidth */
    double comm_time_s[PHASE_COUNT];/* critical rank's communication time */
    int n_coll;
    cost_coll_line coll[COST_MAX_COLL_LINES]; /* the critical rank's collectives, both phases */
    /* the critical rank's attention score blocks (attn_tiling.h; prefill: its largest
     * microbatch): blocks per query chunk, the largest block's sequences and heads, and
     * its workspace in bytes */
    int score_blocks[PHASE_COUNT], block_seqs[PHASE_COUNT], block_heads[PHASE_COUNT];
    double score_ws_bytes[PHASE_COUNT];
    /* the critical rank's batched GEMM calls (launches) of the attention scores and P.V
     * (attn_tiling.h, attn_gemm_batch) over its layers: prefill all its microbatches, decode
     * one step -- what attnrun --stats counts on that rank */
    double scores_calls[PHASE_COUNT], pv_calls[PHASE_COUNT];
    /* the critical rank's fused attention (0 calls: unfused): launches over its layers (prefill
     * all microbatches, decode one step, the split-KV merges included) and the tiling of its
     * (largest) call */
    double attention_calls[PHASE_COUNT];
    int attention_kv_splits[PHASE_COUNT], attention_q_tile[PHASE_COUNT], attention_k_tile[PHASE_COUNT];
    double attention_tiles[PHASE_COUNT]; /* tiles per (sequence, head) */
    /* decode steps replayed from a CUDA graph on the critical decode rank: 1, and the
     * launch overhead of its step (graph launch and in-graph kernel costs) */
    int graph_decode;
    double decode_launch_s;
    char reason[256];               /* why pricing failed */
} cost_detail;

/* ---- pricing ---- */

/* Prices plan p (its ranks' shares and placement) on t. Allocates out (report_init; the
 * caller frees with report_free) and fills metrics, per-rank per-phase per-op costs and
 * memory; fits/shortfall. detail may be NULL. Returns 0, or -1 with the reason in
 * detail->reason (when detail != NULL) and out left empty. */
int cost_price_plan(const attn_plan *p, const attn_topology *t, const cost_options *o,
                    attn_report *out, cost_detail *detail);

/* Builds the even plan for strategy s (plan_build_even) and prices it into plan->predicted
 * (has_predicted = 1). plan is owned by the caller (plan_free). Returns 0, -1 when the
 * strategy is invalid for the model/topology (reason in err) or pricing fails. */
int cost_price_strategy(const attn_model *m, const attn_topology *t, const attn_strategy *s,
                        const cost_options *o, attn_plan *plan, cost_detail *detail,
                        char *err, size_t errlen);


/* ---- building blocks (exported for the GLPK planner's linearization and the tests) ---- */

/* Roofline time of one kernel on device type dt: max(flops / (peak * eff), bytes / (bw * mem_eff))
 * + launches * launch overhead. A GEMM's eff comes from the calibration table at (gm, gn, gk)
 * when one is given; memory-bound ops use bw_override (bytes/s) when > 0. */
double cost_gemm_time(const attn_device_type *dt, attn_dtype dtype, double gm, double gn, double gk,
                      double launches, const cost_calibration *cal);
double cost_kernel_time(const attn_device_type *dt, attn_dtype dtype, double flops, double bytes,
                        double gemm_eff, double bw_override, double launches, const cost_calibration *cal);
/* A GEMM's shape terms (cost_gemm.c, docs/cost-model.md "GEMMs by shape"): the fraction of
 * the SMs its waves of gemm_tile x gemm_tile output tiles keep busy (1 when the device type
 * states no sms/gemm_tile), and the bandwidth a bandwidth-bound GEMM streams its operands at
 * (gemm_bandwidth_efficiency, else memory_efficiency, of memory_bandwidth). */
double cost_gemm_wave_fraction(const attn_device_type *dt, double gm, double gn);
double cost_gemm_bandwidth(const attn_device_type *dt);
/* The synchronization wait a collective adds after `work_s` seconds of independent work
 * on each member since the previous synchronization: members finish the same work at
 * different times (jitter), and a collective ends when the slowest arrives. The
 * calibration's wait/work ratio, interpolated linearly in log(work) and held constant
 * beyond the table's ends; 0 without a table (docs/cost-model.md, "Synchronization"). */
double cost_sync_wait(const cost_calibration *cal, double work_s);

/* Interpolated GEMM efficiency at a shape (the calibration table), or the device default.
 * cost_gemm_efficiency_reuse: the same for a batched call whose `reuse` entries share one B
 * operand; log2(reuse) is a fourth axis of the interpolation, the query's reuse clamped to
 * the table's range (so a table measured without reuse prices every reuse as 1).
 * cost_gemm_efficiency is reuse 1. */
double cost_gemm_efficiency(const attn_device_type *dt, double gm, double gn, double gk,
                            const cost_calibration *cal);
double cost_gemm_efficiency_reuse(const attn_device_type *dt, double gm, double gn, double gk, double reuse,
                                  const cost_calibration *cal);

/* Time of one collective of S bytes (nccl-tests' buffer size) over the n devices devs[] of t.
 * Groups within one node or one NVLink domain are priced flat on that fabric; groups that
 * span nodes over the network hierarchically. Sets *link and *hierarchical when non-NULL. */
double cost_collective_time(const attn_topology *t, attn_coll c, const int *devs, int n, double S,
                            const cost_calibration *cal, attn_link *link, int *hierarchical);
/* The same with the choice behind it and options (o may be NULL: NCCL's choice, one
 * process per GPU). 0, or -1 on a bad device index or a forced algorithm/protocol that
 * the group does not offer (out->time_s then -1). */
int cost_collective_predict(const attn_topology *t, attn_coll c, const int *devs, int n, double S,
                            const cost_calibration *cal, const cost_nccl_options *o, cost_coll_choice *out);

/* Bytes of the model's ends' weights rank a of plan p holds (cost_ends.c): its vocabulary
 * shard of the embedding (first stage) and of the LM head with the final norm (last stage);
 * 0 without vocab_size. Included in the rank's weights_bytes; a fixed share of them that
 * does not scale with its layers or heads. */
double cost_ends_plan_weight_bytes(const attn_plan *p, const attn_rank_assign *a);

/* The sequence axis' attention work (docs/cost-model.md, "The sequence axis"): the
 * (query, key) pairs with key <= query between queries [qb, qe) and keys [kb, ke), and the
 * pairs of slice seq of s for a sequence of L positions, its queries against the keys up to
 * each of them: zigzag = 1 the slice's two chunks (plan_seq_chunk_range, what plans run),
 * 0 the contiguous split [seq L/s, (seq+1) L/s) (for comparison: the last slice does most). */
double cost_causal_pairs(double qb, double qe, double kb, double ke);
double cost_seq_pairs(int L, int s, int seq, int zigzag);

/* Prefill time of a pipeline: P stages with per-microbatch times stage_s[P], M microbatches,
 * p2p_s per activation transfer between stages:
 *   (M - 1) * max_s max(stage_s[s], p2p_s) + sum_s stage_s[s] + (P - 1) * p2p_s. */
double cost_pipeline_time(int M, int P, const double *stage_s, double p2p_s);

#ifdef __cplusplus
}
#endif
#endif
