/* enumerate.h: every strategy for a device count (dp x pp x s x n x m = N, each intra-head
 * scheme when m > 1, each cp and weights when s > 1), priced with the cost model and
 * ranked. `attnplan plan --all` prints this list; the GLPK planner's --exhaustive
 * cross-check can reuse it. */
#ifndef ATTN_ENUMERATE_H
#define ATTN_ENUMERATE_H
#include <stddef.h>
#include "cost.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CAND_OK = 0, CAND_NOFIT = 1, CAND_INVALID = 2 } plan_cand_status;

typedef struct plan_candidate {
    attn_strategy strategy;         /* microbatches resolved when priced */
    plan_cand_status status;
    double metric[MET_COUNT];       /* valid for CAND_OK and CAND_NOFIT */
    double shortfall_bytes;         /* CAND_NOFIT: worst device's excess */
    char reason[192];               /* CAND_INVALID: why; CAND_NOFIT: by how much */
} plan_candidate;

/* Every (dp, pp, s, n, m, scheme) with dp*pp*s*n*m == N, in a fixed order (dp, pp, s, n
 * ascending; scheme none for m = 1, the three exact schemes for m > 1, less score-allreduce
 * when s > 1; with s > 1 each cp (ring, allgather) and weights (replicated, sharded)).
 * *out is malloc'd. Returns the count, or -1 on allocation failure. */
int enumerate_strategies(int n_devices, int microbatches, attn_strategy **out);

/* Cheap structural checks before any plan is built: 0 valid, else -1 with the reason. */
int enumerate_check_model(const attn_model *m, const attn_strategy *s, char *reason, size_t len);

/* Enumerates for all of t's devices and prices each (even plans). microbatches: 0 = the
 * model's workload value or auto. *out is malloc'd; returns the count or -1. */
int enumerate_and_price(const attn_model *m, const attn_topology *t, const cost_options *o,
                        int microbatches, plan_candidate **out);

/* Sorts: fitting plans by `key` (best first per attn_metric_table's direction; ties by
 * tpot, then enumeration order), then not-fitting by shortfall, then invalid. */
void enumerate_rank_candidates(plan_candidate *c, int n, attn_metric key);

#ifdef __cplusplus
}
#endif
#endif
