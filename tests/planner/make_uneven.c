/* make_uneven.c TOPOLOGY MODEL OUTDIR: writes plans with uneven shares through the
 * planner's own placement code (place_classify + place_apply), one per balancing kind:
 * heads and MLP columns per device, dimension segments (RoPE pair ranges of uneven width)
 * and MLP columns per device, layers per stage, batch rows per replica, on a
 * two-class topology whose first class is slow. uneven.sh runs them under attnrun --check,
 * so the shares the planner hands out are ones the runtime computes exactly. */
#include <stdio.h>
#include <string.h>
#include "search_private.h"

typedef struct want {
    const char *name, *spec;
    lin_balance balance;
    int X[2], XF[2];     /* class totals: the slow class first */
} want;

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: make_uneven TOPOLOGY MODEL OUTDIR\n");
        return 2;
    }
    attn_diag d;
    attn_diag_init(&d);
    attn_topology t;
    attn_model m;
    if (topology_load(argv[1], &t, &d) != 0) return 2;
    if (model_load(argv[2], &m, &d) != 0) return 2;
    m.workload.batch = 4;
    place_orders o;
    if (place_orders_build(&t, &o) != 0 || o.n_classes != 2) {
        fprintf(stderr, "make_uneven: want a topology of two device classes\n");
        return 1;
    }
    /* order 0 puts the topology's first class (the slow one) first */
    const want w[] = {
        {"shares", "dp=1,pp=1,n=4,m=2,scheme=score-allreduce", LIN_SHARES, {2, 6}, {4, 8}},
        {"shares-qk", "dp=1,pp=1,n=4,m=2,scheme=qk-allgather", LIN_SHARES, {3, 5}, {5, 7}},
        {"segs", "dp=1,pp=1,n=1,m=8,scheme=score-allreduce", LIN_SEGS, {4, 12}, {4, 8}},
        {"segs-qk", "dp=1,pp=1,n=1,m=8,scheme=qk-allgather", LIN_SEGS, {6, 10}, {5, 7}},
        {"layers", "dp=1,pp=2,n=2,m=2,scheme=qk-allgather", LIN_LAYERS, {1, 3}, {0, 0}},
        {"rows", "dp=2,pp=1,n=2,m=2,scheme=head-alltoall", LIN_ROWS, {1, 3}, {0, 0}},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        attn_strategy s;
        char err[256];
        attn_plan p;
        place_map pm;
        lin_cand lc;
        lin_solution sol;
        memset(&sol, 0, sizeof sol);
        memcpy(sol.X, w[i].X, sizeof w[i].X);
        memcpy(sol.XF, w[i].XF, sizeof w[i].XF);
        if (strategy_parse(w[i].spec, &s, err, sizeof err) != 0 || place_classify(&m, &s, &o, 0, &pm, &lc) != 0 ||
            pm.balance != w[i].balance) {
            fprintf(stderr, "make_uneven: %s: not classified as %s\n", w[i].spec, lin_balance_name(w[i].balance));
            return 1;
        }
        char path[1200];
        snprintf(path, sizeof path, "%s/uneven-%s.yaml", argv[3], w[i].name);
        if (place_even_plan(&m, &t, &s, &o, 0, 1, &p, err, sizeof err) != 0 || place_apply(&p, &t, &pm, &lc, &sol, err, sizeof err) != 0 ||
            plan_check(&p, NULL, &d) != 0 || plan_write(path, &p, &d) != 0) {
            fprintf(stderr, "make_uneven: %s: %s\n", w[i].spec, err);
            rc = 1;
        }
        plan_free(&p);
        place_map_free(&pm);
    }
    place_orders_free(&o);
    topology_free(&t);
    return rc;
}
