/* strategy.h: one point of the strategy space: dp replicas x pp stages x (s sequence slices
 * x n head groups x m head-dimension segments) per stage, plus the exact intra-head scheme
 * used when m > 1 and, when s > 1, how attention reaches the other slices' keys (cp) and
 * where the weights live (weights).
 * Command-line syntax: "dp=1,pp=2,n=8,m=1", "dp=1,pp=1,n=4,m=4,scheme=score-allreduce" or
 * "s=2,n=4,m=2,scheme=head-alltoall,cp=ring,weights=sharded" (keys in any order, missing
 * dp/pp/s/m default to 1, mb=K sets pipeline microbatches, cp and weights only with s > 1,
 * where either may be left out for the planner to choose). */
#ifndef ATTN_STRATEGY_H
#define ATTN_STRATEGY_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SCHEME_NONE = 0,            /* m = 1: head-wise split only */
    SCHEME_SCORE_ALLREDUCE = 1, /* partial scores summed over the m devices per query chunk */
    SCHEME_QK_ALLGATHER = 2,    /* Q and K segments all-gathered; scores redundantly computed */
    SCHEME_HEAD_ALLTOALL = 3,   /* all-to-all from dimension-split to whole heads (Ulysses) */
    SCHEME_COUNT = 4
} attn_scheme;

const char *scheme_name(attn_scheme s);
int scheme_parse(const char *s, attn_scheme *out); /* 0 ok */

/* s > 1, prefill: how a slice's queries reach the other slices' keys and values. */
typedef enum {
    CP_AUTO = 0,      /* not chosen yet: the cost model picks the cheaper (never in a plan file) */
    CP_RING = 1,      /* s - 1 send/recv passes of K and V around the s slices, overlapped with tiles */
    CP_ALLGATHER = 2, /* one all-gather of K and V over the s slices */
    CP_COUNT = 3
} attn_cp;

/* s > 1: where the projection and MLP weights of a stage live. */
typedef enum {
    WEIGHTS_AUTO = 0,       /* not chosen yet (never in a plan file) */
    WEIGHTS_REPLICATED = 1, /* each of the s slices holds the stage's n x m shards (Megatron CP) */
    WEIGHTS_SHARDED = 2,    /* projections and MLP tensor-parallel over all s x n x m (Helix) */
    WEIGHTS_COUNT = 3
} attn_weights;

const char *cp_name(attn_cp c);             /* "auto", "ring", "allgather" */
int cp_parse(const char *s, attn_cp *out);  /* 0 ok; "auto" is not accepted */
const char *weights_name(attn_weights w);   /* "auto", "replicated", "sharded" */
int weights_parse(const char *s, attn_weights *out); /* 0 ok; "auto" is not accepted */

typedef struct attn_strategy {
    int dp, pp, n, m;
    attn_scheme scheme;
    int microbatches;           /* 0 = workload's value or auto */
    int s;                      /* sequence slices per stage; 1 = no sequence axis */
    attn_cp cp;                 /* s > 1 only; CP_AUTO when s = 1 */
    attn_weights weights;       /* s > 1 only; WEIGHTS_AUTO when s = 1 */
} attn_strategy;

/* 0 ok; on error writes a message into err. */
int strategy_parse(const char *spec, attn_strategy *s, char *err, size_t errlen);
void strategy_format(const attn_strategy *s, char *buf, size_t len);
/* The strategy of today's family: s = 1 and the rest as given (microbatches 0). */
attn_strategy strategy_make(int dp, int pp, int n, int m, attn_scheme scheme);
/* The sequence degree, 1 where a strategy was built without one (s = 0 in older code). */
static inline int strategy_seq(const attn_strategy *s) { return s->s > 1 ? s->s : 1; }
static inline int strategy_stage_devices(const attn_strategy *s) { return strategy_seq(s) * s->n * s->m; }
static inline int strategy_devices(const attn_strategy *s) { return s->dp * s->pp * strategy_stage_devices(s); }

#ifdef __cplusplus
}
#endif
#endif
