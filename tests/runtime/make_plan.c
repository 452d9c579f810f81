/* make_plan.c: test helper: writes an evenly split plan for a model file and a strategy,
 * through lib/plan.h only (plan_build_even + plan_write), so the runtime tests do not
 * depend on the cost model. usage: make_plan MODEL.yaml STRATEGY OUT.yaml
 * (STRATEGY as attnplan's: "dp=1,pp=2,n=2,m=2,scheme=qk-allgather,mb=2"). */
#include <stdio.h>
#include "diag.h"
#include "model.h"
#include "plan.h"
#include "strategy.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: make_plan MODEL.yaml STRATEGY OUT.yaml\n");
        return 2;
    }
    attn_diag d;
    attn_diag_init(&d);
    attn_model m;
    if (model_load(argv[1], &m, &d) != 0) return 2;
    attn_strategy s;
    char err[512];
    if (strategy_parse(argv[2], &s, err, sizeof err) != 0) {
        fprintf(stderr, "make_plan: %s\n", err);
        return 2;
    }
    attn_plan p;
    if (plan_build_even(&p, &m, NULL, &s, err, sizeof err) != 0) {
        fprintf(stderr, "make_plan: %s\n", err);
        return 2;
    }
    int rc = plan_write(argv[3], &p, &d) == 0 ? 0 : 1;
    plan_free(&p);
    return rc;
}
