/* strategy.h: one point of the strategy space: dp replicas x pp stages x (n head groups x
 * m head-dimension segments) per stage, plus the exact intra-head scheme used when m > 1.
 * Command-line syntax: "dp=1,pp=2,n=8,m=1" or "dp=1,pp=1,n=4,m=4,scheme=score-allreduce"
 * (keys in any order, missing dp/pp/m default to 1, mb=K sets pipeline microbatches). */
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

typedef struct attn_strategy {
    int dp, pp, n, m;
    attn_scheme scheme;
    int microbatches;           /* 0 = workload's value or auto */
} attn_strategy;

/* 0 ok; on error writes a message into err. */
int strategy_parse(const char *spec, attn_strategy *s, char *err, size_t errlen);
void strategy_format(const attn_strategy *s, char *buf, size_t len);
static inline int strategy_devices(const attn_strategy *s) { return s->dp * s->pp * s->n * s->m; }

#ifdef __cplusplus
}
#endif
#endif
