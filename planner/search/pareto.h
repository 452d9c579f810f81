/* pareto.h: the front of output tokens/s per GPU against tokens/s per user (pareto.c):
 * what `attnplan plan --pareto` prints and `attnplan report` draws. */
#ifndef ATTN_PARETO_H
#define ATTN_PARETO_H
#include "cost.h"
#include "model.h"
#include "topology.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct pareto_point {
    double user, gpu, e2e;  /* tokens/s per user, output tokens/s per GPU, e2e latency (s) */
    long batch;
    attn_strategy strategy;
} pareto_point;

/* the serving targets a point must meet (0: none) */
typedef struct pareto_limits {
    double max_ttft_s, max_tpot_s, max_e2e_s;
} pareto_limits;

/* Every strategy of t's devices on its even split (as `plan --all` prices it) at the batch
 * m's workload has when batch_given, else at batches 1, 2, 4, ... until none fits; the
 * points meeting lim; the front of them (no other point is at least as fast per user and
 * faster per GPU), fastest per user first, into *front (malloc'd; free it). *n_priced: the
 * points that met the limits. 0 ok, -1 out of memory. */
int pareto_front(const attn_model *m, const attn_topology *t, const cost_options *co, int batch_given,
                 const pareto_limits *lim, pareto_point **front, int *n_front, int *n_priced);

#ifdef __cplusplus
}
#endif
#endif
