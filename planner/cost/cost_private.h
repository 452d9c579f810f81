/* cost_private.h: what cost.c, cost_rank.c, cost_ops.c and cost_comm.c share and nobody
 * else needs: the shape of one rank's work in one layer, the geometry of a communication
 * group, and the pricing context of one plan. */
#ifndef ATTN_COST_PRIVATE_H
#define ATTN_COST_PRIVATE_H
#include "cost.h"

/* One rank's work in one layer for one microbatch (prefill) or one step (decode).
 * "Local" quantities are the rank's dimension-split share before the attention core;
 * "att_" quantities are what the attention core works on under the scheme. */
typedef struct cost_shape {
    attn_phase phase;
    attn_arch arch;
    attn_dtype dtype;
    int elem_bytes;         /* model dtype */
    int score_bytes;        /* score workspace and score-allreduce element */
    double rows;            /* sequences in this microbatch / step */
    double q_len;           /* query positions per sequence: seq_len (prefill) or 1 (decode) */
    double tokens;          /* rows * q_len */
    double score_pairs;     /* query-key pairs per sequence and head actually computed */
    double key_reads;       /* key positions read per sequence and kv head, summed over chunks */
    double chunks;          /* attention chunks (query-row blocks) */
    double score_blocks;    /* sequence x head blocks per chunk (attn_tiling.h): chunks x score_blocks
                               launches of scores/softmax/pv and score collectives */
    double gemm_calls;      /* batched GEMM calls of scores per chunk over all blocks
                               (attn_tiling_gemm_calls, as the runtime issues them): chunks x
                               gemm_calls launches of scores and of P.V */
    double gemm_reuse;      /* the largest block's calls: entries per shared K/V head
                               (attn_gemm_batch's b_shared), the calibration table's reuse key */
    double score_ws;        /* bytes of the largest block's scores and probabilities */
    int block_seqs, block_heads; /* the largest block's extents */
    double chunk_rows;      /* query rows of the largest chunk (GEMM shape) */
    double hidden;
    double q_heads, kv_heads, dims;     /* local: heads of the group, their kv heads, dims per head */
    double att_heads, att_kv_heads;     /* in the attention core */
    double att_qk_dims, att_v_dims;     /* width of q.k and of p.v per head in the core */
    double cache_kv_heads, cache_k_dims, cache_v_dims; /* what the KV cache holds per layer */
    double mlp_cols;        /* ffn columns */
    /* The token-wise parts (norms, projections, residuals, MLP) and the sequence axis.
     * s = 1 (and weights replicated): tok_tokens = tokens and the projection columns are
     * the rank's heads x dims. weights sharded: the residual is whole on every rank of the
     * stage, so tok_tokens is the stage's tokens (rows x L, or rows in decode), and the
     * projections compute the slice's 1/s of the block's columns (plan_seq_proj_range). */
    double tok_tokens;      /* tokens of the token-wise ops */
    double q_cols, kv_cols; /* output columns of the q projection, of k (and of v) */
    int qkv_bias;           /* the model's q, k, v biases: one rank-1 GEMM each (the runtime's) */
    int qk_norm;            /* the model's per-head q and k RMSNorms (whole heads: m = 1) */
    double o_cols;          /* input columns of the o projection (row-parallel) */
    int s, seq;             /* sequence slices of the stage and this rank's slice (s = 1: none) */
    attn_cp cp;             /* s > 1: prefill's way to the other slices' K/V */
    int sharded;            /* s > 1 with weights sharded */
    double seq_max_pos;     /* s > 1: prefill positions of the fullest slice (collective buffers) */
    double merge_parts;     /* decode with s > 1: the (O, LSE) partials merged locally (s), else 0 */
    /* The fused attention core (OP_ATTENTION, cost_attention.c) when fused = 1: one call per
     * layer over the rows x att_heads pairs, q_len queries against fa_keys keys, tiled by
     * the shared rule (attn_fused_plan) on the device's kernel. */
    int fused;
    attn_fused_tiling fa;
    double fa_keys;         /* Tk of the call: L (prefill), L + 1 (decode); s > 1 prefill: of a typical call */
    double fa_q_key;        /* > 0: the calibration lookup's Tq, one call's (s > 1 prefill: a zigzag
                               chunk's rows); 0: q_len */
    double fa_calls;        /* calls per layer (0 or 1: one; s > 1 prefill: one per query chunk and pass) */
    int fa_gpu, fa_units;   /* the device's tile rule and its parallel units */
    int qpk;                /* query heads per kv head */
    /* A decode step replayed from a CUDA graph (the device type's `graph:`): each kernel
     * costs launch_s (graph_kernel_s) instead of the eager launch overhead; < 0: eager. */
    double launch_s;
} cost_shape;

/* cost_attention.c: the fused attention op of shape sh (sh->fused): FLOPs, HBM bytes
 * and launches per layer (time left 0: cost_ops.c prices the roofline). */
void cost_attention_work(const cost_shape *sh, attn_op_cost *w, double *launches);
/* The fused kernel's efficiency (fraction of the dtype's peak) for shape sh: the
 * calibration's attention table interpolated at the call's shape when it has one, else
 * the device type's attention_efficiency, else its gemm_efficiency. *calibrated set to 1
 * when the table answered (the measured time then already includes what bound it: no
 * memory roofline). */
double cost_attention_efficiency(const attn_device_type *dt, const cost_calibration *cal, const cost_shape *sh,
                                 int *calibrated);
/* The fused attention's own workspace in bytes (LSE and the split-KV partials). */
double cost_attention_workspace(const cost_shape *sh);

/* Fills the compute and memory ops of one layer (comm ops and pipe_p2p left zero);
 * launch_total_s (may be NULL) receives the layer's launch overhead. */
void cost_layer_ops(const cost_shape *sh, const attn_device_type *dt, const cost_calibration *cal,
                    attn_op_cost op[OP_COUNT], double *launch_total_s);
/* cost_gemm.c: one GEMM kernel by its shape, launches excluded:
 * max(flops / (peak * eff * cost_gemm_wave_fraction), bytes / cost_gemm_bandwidth) + gemm_latency. */
double cost_gemm_kernel_time(const attn_device_type *dt, double peak, double eff, double gm, double gn,
                             double flops, double bytes);
/* Weight bytes of one layer held by a rank with this shape. */
double cost_layer_weight_bytes(const cost_shape *sh);

/* cost_ops.c: a GEMM C[gm,gn] = A[gm,gk] B[gk,gn] in dtype, its flops, bytes and time
 * (cost_gemm_time's). */
attn_op_cost cost_gemm_cost(const attn_device_type *dt, attn_dtype dtype, double gm, double gn, double gk, double launches,
                            const cost_calibration *cal);

/* A communication group as the alpha-beta model sees it. */
typedef struct cost_comm_geom {
    int n;                  /* devices */
    attn_link link;         /* most expensive class crossed */
    int nodes;              /* distinct nodes */
    int min_per_node, max_per_node;
    attn_link_spec flat;    /* the spec of `link` (worst pair) */
    attn_link_spec intra;   /* node fabric, worst node (hierarchical groups) */
    attn_link_spec inter;   /* network, worst NIC pair (hierarchical groups) */
    int nccl;               /* 1: a GPU fabric, priced as NCCL runs it; 0: CPU (alpha-beta) */
    cost_nccl_group ng;     /* the group as NCCL's tuner sees it (nccl = 1) */
    const attn_topology *topo; /* its measured `collectives:` table */
} cost_comm_geom;

/* 0 ok, -1 on a device index out of range or no memory. */
int cost_comm_geom_build(const attn_topology *t, const int *devs, int n, cost_comm_geom *g);
/* Time of one collective of S bytes by precedence calibration > the topology's measured
 * table > the NCCL model (alpha-beta on CPU fabrics); choice (may be NULL) receives what
 * was chosen and from where. o may be NULL (NCCL's choice, one process per GPU). */
double cost_comm_time(const cost_comm_geom *g, attn_coll c, double S, const cost_calibration *cal,
                      const cost_nccl_options *o, cost_coll_choice *choice);

/* cost_ends.c: the model's ends on one rank (zero without a vocabulary). */
typedef struct cost_ends_rank {
    int first, last;               /* the rank's stage holds the embedding / the final norm and LM head */
    double vocab_rows;             /* its vocabulary rows (plan_vocab_range) */
    const cost_comm_geom *stage;   /* the stage group the vocabulary is split over */
} cost_ends_rank;
/* The ends' ops for `rows` sequences of q_len positions (prefill: a microbatch of seq_len;
 * decode: one step, 1): OP_EMBED .. OP_LM_HEAD_COMM set, every other op zero. */
void cost_ends_ops(const cost_ends_rank *e, const attn_model *md, const attn_device_type *dt, const cost_calibration *cal,
                   double rows, double q_len, attn_op_cost op[OP_COUNT]);
/* Bytes of the ends' weights the rank holds (a tied matrix once on a rank with both ends). */
double cost_ends_weight_bytes(const cost_ends_rank *e, const attn_model *md);
/* The ends' buffers for `rows` sequences: activations and the gathered logits. */
void cost_ends_buffers(const cost_ends_rank *e, const attn_model *md, double rows, double *activation_bytes,
                       double *comm_bytes);
/* The ends' collectives as `attnplan price` lists them (calls per phase); returns how many
 * lines were written (at most room). */
int cost_ends_describe(const cost_ends_rank *e, const attn_model *md, const attn_device_type *dt, const cost_calibration *cal,
                       attn_phase ph, double rows, double q_len, double calls, cost_coll_line *out, int room);

/* The geometries of one kind of group met while pricing a plan, one per residue of the
 * group's first device modulo the topology's translation period (cost_comm_period): a
 * group whose devices, moved back by whole periods, are a met group's takes that geometry
 * instead of building it; the plans' groups repeat so, replica after replica, stage after
 * stage, node after node. period 0 (not uniform): every geometry is built. */
typedef struct cost_geom_cache {
    int period, n;
    int *have;            /* [period] */
    int *devs;            /* [period][n]: the met group, moved to its first period */
    cost_comm_geom *geom; /* [period] */
} cost_geom_cache;
/* devices per period of a uniform topology (one node type, node-major devices, NVLink
 * domains of whole nodes, whole periods), 0 otherwise */
int cost_comm_period(const attn_topology *t);
int cost_geom_cache_init(cost_geom_cache *gc, int period, int n); /* 0 ok, -1 no memory */
void cost_geom_cache_free(cost_geom_cache *gc);
/* cost_comm_geom_build through the cache (n = the cache's n) */
int cost_geom_cached(const attn_topology *t, cost_geom_cache *gc, const int *devs, int n, cost_comm_geom *g);

/* Everything pricing one plan needs, built once by cost.c. */
typedef struct price_ctx {
    const attn_plan *p;
    const attn_topology *t;
    const cost_calibration *cal;
    int chunk, score_bytes;
    double score_budget; /* bytes per score block (attn_tiling.h) */
    int fused;           /* cost_options.fused_attention */
    int dec_first_only;  /* cost_options.decode_first_step: tpot is the first step, not the mean */
    int dec_step;        /* the decode step base_shape prices: 0 .. decode_tokens - 1 (its context L + dec_step) */
    int dp, pp, s, n, m, M; /* s: sequence slices per stage (1: none) */
    int *at;             /* coordinate (plan_coord_rank) -> index into p->ranks */
    cost_comm_geom *seg; /* per (replica, stage, seq, head group): index coord / m */
    cost_comm_geom *stage; /* per (replica, stage, seq), the slice's n*m ranks: index coord / (n*m) */
    cost_comm_geom *seqg;  /* s > 1: per (replica, stage, head group, seg), its s slices (cost_seq_index) */
    cost_comm_geom *shard; /* s > 1, weights sharded: per (replica, stage), its s*n*m ranks: coord / (s*n*m) */
    cost_geom_cache *pipe_gc; /* the pipeline pairs' geometries (cost_rank_key_make; cost.c owns it) */
    double seq_max_pos;  /* prefill positions of the fullest slice (seq_len when s = 1) */
    double *slice_sig;   /* s > 1: per slice, COST_SLICE_SIG values: the rows they were made for
                            (-1: not yet), then what the slice changes in a rank's prices
                            (cost_rank.c fills it on first use; cost.c owns it) */
} price_ctx;
#define COST_SLICE_SIG 16

/* Per-rank results kept for the stage/pipeline assembly. */
typedef struct rank_time {
    double mb_s;      /* prefill: one largest microbatch through the rank's layers (no p2p) */
    double p2p_mb_s;  /* prefill: one largest microbatch's transfer to the next stage */
    double step_s;    /* decode: one step through the rank's layers (no p2p) */
    double p2p_step_s;
} rank_time;

static inline int cost_rank_rows(const attn_rank_assign *a) { return a->batch_end - a->batch_begin; }
/* Coordinate index of a rank: lib's rank-order rule, plan_coord_rank. */
int cost_coord_of(const price_ctx *c, const attn_rank_assign *a);
/* Index of the rank's SEQ group in price_ctx.seqg: its coordinate without the seq digit,
 * ((replica * pp + stage) * n + head_group) * m + seg. */
static inline int cost_seq_index(const price_ctx *c, int coord) {
    int nm = c->n * c->m;
    return coord / (c->s * nm) * nm + coord % nm;
}
double cost_ops_total(const attn_op_cost *op);
double cost_ops_comm(const attn_op_cost *op);
/* Prices rank idx: its report entry, its times, its compute floor (prefill FLOPs / peak)
 * and HBM floor ((weights + KV at seq_len) / bandwidth). */
void cost_rank_price(const price_ctx *c, int idx, attn_rank_report *rr, rank_time *rt, double *floor_flops,
                     double *floor_bytes);
/* What a rank's prices depend on: its share's sizes, device type, stage position, slice
 * shape and its groups' geometry. Two ranks with equal keys get the same prices, so the
 * second can reuse the first's (cost_rank_key_same). */
typedef struct cost_rank_sizes {
    int device_type, rows, layers, q_heads, kv_heads, dims, a2a_heads, a2a_kv, mlp, stage_pos, vocab_rows;
    double a2a_need;
    double slice[COST_SLICE_SIG - 1]; /* s > 1: positions, decode share, columns, the chunks' tiles */
} cost_rank_sizes;
typedef struct cost_rank_key {
    cost_rank_sizes sizes;
    const cost_comm_geom *seg, *stage, *seqg, *shard; /* into price_ctx's arrays (NULL: none) */
    cost_comm_geom pipe;  /* the link to the pipe peer (the next stage; from the last, the first) */
    int pipe_ok;
} cost_rank_key;
void cost_rank_key_make(const price_ctx *c, int idx, cost_rank_key *k);
int cost_rank_key_same(const cost_rank_key *a, const cost_rank_key *b);
/* Fills detail->coll with the collectives of the critical ranks. */
void cost_rank_describe_colls(const price_ctx *c, int idx_pre, int idx_dec, cost_detail *detail);

#endif
