/* plan.h: the plan file (plan_version: 1), the contract between attnplan and attnrun.
 * Rank r has coordinates (replica, stage, seq, head_group, seg) with
 *   r = (((replica*pp + stage)*s + seq)*n + head_group)*m + seg     (plan_coord_rank)
 * (s = 1: seq = 0 and r = ((replica*pp + stage)*n + head_group)*m + seg, today's family)
 * and an explicit share of the work, so uneven (balanced) shares are expressible:
 *   batch rows of its replica, layers of its stage, query heads of its head group,
 *   the dimension ranges of every head it holds (segment seg of m), MLP columns.
 * Dimension ranges are index ranges inside one head, [begin,end). For llama (RoPE,
 * rotate-half: dim i pairs with i+d/2) a segment is a range of rotation pairs
 * [b,e) with e <= d/2, so it holds the two ranges [b,e) and [b+d/2,e+d/2).
 * Groups are the communicators the runtime creates (MPI_Comm_split / ncclCommSplit).
 *
 * The sequence axis (s > 1), the rules both sides follow (docs/plan-format.md):
 * - prefill: each sequence of L positions is cut into 2s chunks (split.h: the remainder to
 *   the lowest chunks); slice `seq` holds chunks seq and 2s-1-seq (zigzag, so the causal
 *   work balances): plan_seq_chunk_range. Token-wise ops of the replicated layout run on
 *   the slice's own positions; attention reaches the other slices' K and V by strategy.cp.
 * - decode: the KV cache stays where prefill put it; the position of decode step t
 *   (t = 0 for the first generated token) is appended to slice t mod s
 *   (plan_seq_decode_owner); each slice attends over its own positions and the (O, LSE)
 *   partials are merged exactly by log-sum-exp over the SEQ group.
 * - weights replicated: each slice holds the stage's n x m shards (heads, dims and mlp as
 *   for s = 1; mlp split over the n*m ranks of one (replica, stage, seq)).
 * - weights sharded: the token-wise parts are tensor-parallel over all s*n*m ranks of the
 *   stage: mlp columns split over them in order (seq*n + head_group)*m + seg; the q, k, v
 *   and o projection columns of a rank's (head_group, seg) block split over its s slices
 *   (plan_seq_proj_range), with the re-sharding collectives between the projections and
 *   attention; the residual stream is whole on every rank of the stage.
 * - the vocabulary (ends) is split over the n*m ranks of a slice, replicated over s. */
#ifndef ATTN_PLAN_H
#define ATTN_PLAN_H
#include "coll.h"
#include "diag.h"
#include "link.h"
#include "model.h"
#include "report_io.h"
#include "strategy.h"
#ifdef __cplusplus
extern "C" {
#endif

/* The topology only by pointer (topology.h), as model.h does with the YAML tree. */
struct attn_topology;

typedef struct attn_rank_assign {
    int rank;
    int node, device;               /* physical placement: node index, global device index */
    int replica, stage, head_group, seg;
    int seq;                        /* sequence slice, 0..s-1 (0 when s = 1) */
    int batch_begin, batch_end;     /* rows of the batch this replica serves */
    int layer_begin, layer_end;     /* layers of this stage */
    int head_begin, head_end;       /* query heads of this head group */
    int kv_head_begin, kv_head_end; /* kv heads those query heads use */
    int n_dim_ranges;               /* 1 (gpt) or 2 (llama pair ranges) */
    int dim_begin[2], dim_end[2];   /* dimension ranges inside each head */
    int a2a_head_begin, a2a_head_end; /* head-alltoall: whole heads held after the re-layout */
    int mlp_begin, mlp_end;         /* ffn columns (up/gate rows, down columns) */
} attn_rank_assign;

/* A rank's head width: the dimensions it holds of each of its heads, over its ranges. */
int plan_rank_width(const attn_rank_assign *a);
/* The kv heads that query heads [hb, he) use, with qpk query heads per kv head (heads /
 * kv_heads): [*kb, *ke) (either may be NULL); returns their number, 0 when he <= hb. */
int plan_kv_range(int qpk, int hb, int he, int *kb, int *ke);
/* The model's ends (docs/model-contract.md): the vocabulary rows of the embedding and of
 * the LM head that a rank at (head_group, seg) of a stage of n x m ranks holds, as
 * Megatron's vocab-parallel embedding and column-parallel LM head shard them: the stage's
 * ranks in group order (head_group * m + seg) split vocab_size evenly (split.h). The one
 * rule the runtime loads by and the cost model prices. [*begin, *end); returns the count
 * (0 without a vocabulary). */
int plan_vocab_range(int vocab_size, int n, int m, int head_group, int seg, int *begin, int *end);
/* head-alltoall: the whole heads a rank holds after the re-layout, its seg-th share of its
 * group's heads [head_begin, head_end) (m divides them); other schemes: the group's heads. */
void plan_rank_set_a2a_heads(attn_rank_assign *a, attn_scheme scheme, int m);

typedef enum {
    GROUP_SEG = 0,
    GROUP_STAGE = 1,
    GROUP_PIPE = 2,
    GROUP_REPLICA = 3,
    GROUP_SEQ = 4,   /* s > 1 */
    GROUP_SHARD = 5, /* s > 1 with weights sharded */
    GROUP_KIND_COUNT
} attn_group_kind;
const char *plan_group_kind_name(attn_group_kind k);

typedef struct attn_group {
    attn_group_kind kind;  /* SEG: the m devices of one head group (scheme collective);
                              STAGE: the n*m devices of one stage's slice (o_proj and MLP
                              all-reduce of the replicated layout);
                              PIPE: stage k -> k+1 chains of one (replica, seq, head group, seg);
                              REPLICA: all ranks of a replica;
                              SEQ: the s slices of one (replica, stage, head group, seg):
                              K/V ring or all-gather, decode merge, projection re-sharding;
                              SHARD: the s*n*m devices of one stage (sharded layout's
                              o_proj and MLP all-reduce) */
    attn_coll coll;
    attn_link link;        /* most expensive link class crossed under the placement */
    int n_ranks;
    int *ranks;
} attn_group;

typedef struct attn_plan {
    int version;                  /* 1 */
    attn_model model;             /* the model, in full (plus its file's name and sha256) */
    char topology_name[128];
    char topology_path[1024];
    char topology_sha256[65];
    attn_strategy strategy;       /* microbatches resolved (>= 1) */
    int world;                    /* = strategy_devices() */
    attn_rank_assign *ranks;      /* world entries */
    int n_groups;
    attn_group *groups;
    int has_predicted;
    attn_report predicted;
    char objective[32];           /* "throughput" or "tpot" */
    int proven_optimal;           /* 1 when the solver proved optimality */
} attn_plan;

/* The world rank at coordinates (replica, stage, seq, head_group, seg) under strategy s:
 * the one rank-order rule of plan.h's header. */
int plan_coord_rank(const attn_strategy *s, int replica, int stage, int seq, int head_group, int seg);
/* Prefill positions [*b0,*e0) and [*b1,*e1) of slice seq of s for a sequence of L
 * positions: chunks seq and 2s-1-seq of 2s (for s = 1: [0,L) and an empty second range).
 * Returns the number of positions. */
int plan_seq_chunk_range(int L, int s, int seq, int *b0, int *e0, int *b1, int *e1);
/* The slice that holds the KV of decode step t's position (t >= 0): t mod s. */
int plan_seq_decode_owner(int step, int s);
/* Weights sharded: the columns [*begin,*end) of a block of `cols` projection columns (a
 * rank's (head_group, seg) block of q or o: heads x width, of k or v: kv_heads x width,
 * head-major) that slice seq of s computes; the count. */
int plan_seq_proj_range(int cols, int s, int seq, int *begin, int *end);
/* Whether the runtime executes strategy s on model m with the sequence axis (s > 1); 1
 * yes (always for s = 1), 0 no with the reason in why. The one rule plan_build_even,
 * plan_check, the strategy enumeration and attnrun refuse by. */
int plan_seq_supported(const attn_strategy *s, const attn_model *m, char *why, size_t whylen);

/* Pipeline microbatches for a replica of `rows` sequences: `requested` (> 0, the
 * strategy's or the workload's) capped at rows, else the auto rule: 1 without a pipeline
 * (pp = 1), otherwise the largest divisor of rows up to 4 x pp. The one rule shared by
 * plan_build_even, the cost model and attnrun --calibrate's shapes. */
int plan_resolve_microbatches(int requested, int rows, int pp);

/* Autoregressive decode with a pipeline: step t+1 embeds the tokens step t's last stage
 * produced, so every decode step ends with the step's token ids (PLAN_TOKEN_ID_BYTES per
 * sequence) sent from the last stage back to the first, and the first stage starts the
 * next step only once they are there. attnrun sends them (its inputs come from the seeded
 * stream, so only the dependency is real); the cost model prices the transfer. */
#define PLAN_TOKEN_ID_BYTES 4

/* Fills ranks[] and groups[] with an even split (heads, dims, MLP columns, layers and batch
 * divided as evenly as possible, remainders to the lowest indices) and rank r placed on
 * device r of t (t may be NULL: node = device = rank, links LINK_SELF). Checks divisibility
 * rules; returns 0 ok, -1 with a reason in err. */
int plan_build_even(attn_plan *p, const attn_model *m, const struct attn_topology *t,
                    const attn_strategy *s, char *err, size_t errlen);
/* The same without groups[] (n_groups = 0): what a search prices, the cost model working
 * from the ranks and their devices; plan_build_groups adds them to a plan that is kept. */
int plan_build_even_ranks(attn_plan *p, const attn_model *m, const struct attn_topology *t,
                          const attn_strategy *s, char *err, size_t errlen);
/* Recomputes groups[] (and their link classes when t != NULL) from ranks[]. */
int plan_build_groups(attn_plan *p, const struct attn_topology *t);
void plan_free(attn_plan *p);
/* The ranks[] entry of world rank r; NULL when the plan has none. */
const attn_rank_assign *plan_rank_entry(const attn_plan *p, int r);

/* Write atomically (temporary file + rename). 0 ok. */
int plan_write(const char *path, const attn_plan *p, attn_diag *d);
int plan_load(const char *path, attn_plan *p, attn_diag *d);
/* Structural checks: ranks unique and complete, every (head, dim) element owned exactly
 * once per (replica, stage), layers/batch/MLP columns covered exactly once, memory within
 * capacity when predicted. Reports with file positions when file != NULL. Returns #problems. */
int plan_check(const attn_plan *p, const char *file, attn_diag *d);

#ifdef __cplusplus
}
#endif
#endif
