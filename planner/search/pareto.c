/* pareto.c: the front of output tokens/s per GPU against tokens/s per user over every
 * strategy and batch (pareto.h). A static batch: a larger batch raises the output per GPU
 * and lowers the speed per user, and once nothing fits a larger one fits no better, so the
 * sweep stops there. */
#include <stdlib.h>
#include "enumerate.h"
#include "pareto.h"

static int cmp_user_desc(const void *a, const void *b) {
    const pareto_point *x = a, *y = b;
    return x->user < y->user ? 1 : x->user > y->user ? -1 : (x->gpu < y->gpu) - (x->gpu > y->gpu);
}

int pareto_front(const attn_model *m, const attn_topology *t, const cost_options *co, int batch_given,
                 const pareto_limits *lim, pareto_point **front, int *n_front, int *n_priced) {
    *front = NULL, *n_front = 0, *n_priced = 0;
    size_t n = 0, cap = 0;
    pareto_point *pts = NULL;
    long b0 = batch_given ? m->workload.batch : 1, b1 = batch_given ? m->workload.batch : MODEL_SIZE_MAX;
    for (long b = b0; b <= b1; b *= 2) {
        attn_model mb = *m;
        mb.workload.batch = (int)b;
        plan_candidate *c = NULL;
        int nc = enumerate_and_price(&mb, t, co, 0, &c), fits = 0;
        if (nc < 0) {
            free(pts);
            return -1;
        }
        for (int i = 0; i < nc; i++) {
            if (c[i].status != CAND_OK) continue;
            fits = 1;
            const double *v = c[i].metric;
            if ((lim->max_ttft_s > 0 && v[MET_TTFT_S] > lim->max_ttft_s) || (lim->max_tpot_s > 0 && v[MET_TPOT_S] > lim->max_tpot_s) ||
                (lim->max_e2e_s > 0 && v[MET_E2E_LATENCY_S] > lim->max_e2e_s))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                pareto_point *grown = realloc(pts, cap * sizeof *grown);
                if (!grown) {
                    free(pts);
                    free(c);
                    return -1;
                }
                pts = grown;
            }
            pts[n++] = (pareto_point){v[MET_TOKENS_PER_S_PER_USER], v[MET_OUTPUT_TOKENS_PER_S_PER_GPU], v[MET_E2E_LATENCY_S],
                                      b, c[i].strategy};
        }
        free(c);
        if (!fits) break;
    }
    qsort(pts, n, sizeof *pts, cmp_user_desc);
    /* by speed per user down, a point joins when it beats every faster one per GPU */
    int k = 0;
    double best_gpu = -1;
    for (size_t i = 0; i < n; i++)
        if (pts[i].gpu > best_gpu) best_gpu = pts[i].gpu, pts[k++] = pts[i];
    *front = pts;
    *n_front = k;
    *n_priced = (int)n;
    return 0;
}
