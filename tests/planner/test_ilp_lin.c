/* test_ilp_lin.c: the GLPK program and the exhaustive search agree on the optimum of many
 * random linear models (every balance kind, 1-3 device classes, memory limits that bind,
 * TPOT limits), to 1e-6 relative; infeasible instances are infeasible for both. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "search_private.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static int irand(int lo, int hi) { return lo + (int)(urand() * (hi - lo + 1)); }

static void random_cand(lin_cand *c) {
    memset(c, 0, sizeof *c);
    c->balance = (lin_balance)irand(0, LIN_BALANCE_COUNT - 1);
    c->strategy = (attn_strategy){1, 1, 1, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO};
    c->pre_0 = urand() * 2, c->dec_0 = urand() * 0.1;
    c->mem_even_ok = urand() < 0.8;
    if (c->balance == LIN_EVEN) return;
    c->n_classes = irand(1, 3);
    c->units = irand(4, 40);
    c->f_units = irand(8, 40);
    c->pre_max = irand(0, 7);
    int parts_total = 0;
    for (int k = 0; k < c->n_classes; k++) {
        lin_class *q = &c->cls[k];
        q->parts = irand(1, 3);
        q->devices = irand(1, 2);
        parts_total += q->parts;
        q->pre_u = 0.01 + urand(), q->dec_u = 0.001 + urand() * 0.01;
        q->pre_f = 0.01 + urand() * 0.1, q->dec_f = 0.001 + urand() * 0.001;
        q->pre_c = urand() * 0.5, q->dec_c = urand() * 0.05;
        q->mem_u = urand() * 2e9, q->mem_f = urand() * 1e8, q->mem_0 = urand() * 10e9;
        q->mem_cap = 20e9 + urand() * 40e9;
    }
    if (parts_total > c->units) c->units = parts_total + irand(0, 5);
    if (c->balance == LIN_ROWS) c->pre_0 = c->dec_0 = 0;
    if (c->balance == LIN_ROWS || c->balance == LIN_LAYERS) c->min_units = irand(0, 2);
    if (c->min_units > 1 && parts_total * c->min_units > c->units) c->units = parts_total * c->min_units + irand(0, 5);
    if (lin_two_level(c->balance)) {
        int devs = 0;
        for (int k = 0; k < c->n_classes; k++) devs += c->cls[k].parts * c->cls[k].devices;
        if (devs > c->f_units) c->f_units = devs + irand(0, 8);
        if (c->n_classes == 3) c->f_units = c->f_units < 20 ? c->f_units : 20; /* keep enumeration small */
    }
}

int main(void) {
    int failures = 0, agreed = 0, infeasible = 0;
    for (int trial = 0; trial < 300; trial++) {
        int n = irand(1, 6);
        lin_cand c[6];
        for (int i = 0; i < n; i++) random_cand(&c[i]);
        /* every objective; the serving targets (ttft, request latency) now and then */
        lin_limits lim = {.objective = (lin_objective)irand(0, 2),
                          .max_tpot_s = urand() < 0.3 ? 0.05 + urand() * 0.3 : 0,
                          .mem_fraction = 0.5 + 0.5 * urand()};
        lim.e2e_w = irand(0, 1) ? irand(0, 60) : 0;
        if (urand() < 0.3) lim.max_ttft_s = 0.5 + urand() * 3;
        if (urand() < 0.3) lim.max_e2e_s = 0.5 + urand() * 3 + lim.e2e_w * urand() * 0.2;
        lin_solution a, b;
        char ea[256], eb[256];
        int ra = glpk_program_solve(c, n, &lim, 10, 0, &a, ea, sizeof ea);
        int rb = exhaustive_solve(c, n, &lim, 1e8, &b, eb, sizeof eb);
        if (rb == SEARCH_INFEASIBLE && ra == SEARCH_INFEASIBLE) {
            infeasible++;
            continue;
        }
        if (ra != SEARCH_OK || rb != SEARCH_OK) {
            fprintf(stderr, "trial %d: solver %d (%s), exhaustive %d (%s)\n", trial, ra, ea, rb, eb);
            failures++;
            continue;
        }
        double rel = fabs(a.objective - b.objective) / fmax(fabs(b.objective), 1e-12);
        if (rel > 1e-6) {
            fprintf(stderr, "trial %d: balance %d classes %d: solver %.9g (cand %d) != exhaustive %.9g (cand %d)\n", trial, c[b.cand].balance, c[b.cand].n_classes,
                    a.objective, a.cand, b.objective, b.cand);
            failures++;
        } else {
            agreed++;
        }
    }
    /* a program too big for 1 ms: stopped at the limit, never reported as proven optimal */
    static lin_cand big[3000];
    for (int i = 0; i < 3000; i++) {
        do random_cand(&big[i]);
        while (big[i].balance != LIN_SHARES || big[i].n_classes < 2);
        big[i].units = 40, big[i].f_units = 40;
    }
    lin_limits lim = {.objective = OBJ_THROUGHPUT, .mem_fraction = 1.0};
    lin_solution sol;
    char err[256];
    int rc = glpk_program_solve(big, 3000, &lim, 0.001, 0, &sol, err, sizeof err);
    if (rc == SEARCH_OK || (rc != SEARCH_FEASIBLE && rc != SEARCH_TIMEOUT) || (rc == SEARCH_FEASIBLE && sol.proven_optimal)) {
        fprintf(stderr, "time limit: rc %d (%s), proven %d\n", rc, err, sol.proven_optimal);
        failures++;
    }
    /* the exhaustive search refuses what it cannot enumerate */
    if (exhaustive_solve(big, 3000, &lim, 1000, &sol, err, sizeof err) != SEARCH_TOO_BIG || !strstr(err, "too big")) {
        fprintf(stderr, "exhaustive did not refuse a big problem\n");
        failures++;
    }
    printf("test_ilp_lin: %d agreed, %d infeasible for both, time limit rc %d, %d failures\n", agreed, infeasible,
           rc, failures);
    if (agreed < 100) {
        fprintf(stderr, "too few feasible instances (%d): the test does not exercise the solver\n", agreed);
        return 1;
    }
    return failures ? 1 : 0;
}
