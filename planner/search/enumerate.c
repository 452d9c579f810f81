/* enumerate.c: every strategy for a device count (the sequence axis included), each
 * priced on its even plan, and the ranking `attnplan plan --all` prints. Validity is decided by plan_build_even (the one
 * place that knows the divisibility rules), so a rejected strategy carries its reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enumerate.h"

/* Writes (when out != NULL) every (dp, pp, s, n, m, scheme) with dp*pp*s*n*m == N and,
 * for s > 1, each cp and weights (s = 1: both AUTO, the strategies of before the axis);
 * combinations plan_seq_supported refuses whatever the model (score-allreduce with s > 1)
 * are left out. Returns the count. */
static int walk(int N, int mb, attn_strategy *out) {
    int k = 0;
    for (int dp = 1; dp <= N; dp++) {
        if (N % dp) continue;
        for (int pp = 1; pp <= N / dp; pp++) {
            if ((N / dp) % pp) continue;
            for (int sq = 1; sq <= N / dp / pp; sq++) {
                if ((N / dp / pp) % sq) continue;
                int rest = N / dp / pp / sq;
                for (int n = 1; n <= rest; n++) {
                    if (rest % n) continue;
                    int m = rest / n;
                    attn_scheme first = m == 1 ? SCHEME_NONE : SCHEME_SCORE_ALLREDUCE;
                    attn_scheme last = m == 1 ? SCHEME_NONE : SCHEME_HEAD_ALLTOALL;
                    for (int sc = first; sc <= (int)last; sc++) {
                        int variants = sq > 1 ? 4 : 1; /* (cp, weights) */
                        for (int v = 0; v < variants; v++) {
                            attn_strategy st = {dp, pp, n, m, (attn_scheme)sc, mb, sq, CP_AUTO, WEIGHTS_AUTO};
                            if (sq > 1) {
                                st.cp = v / 2 ? CP_ALLGATHER : CP_RING;
                                st.weights = v % 2 ? WEIGHTS_SHARDED : WEIGHTS_REPLICATED;
                                char why[256];
                                if (!plan_seq_supported(&st, NULL, why, sizeof why)) continue;
                            }
                            if (out) out[k] = st;
                            k++;
                        }
                    }
                }
            }
        }
    }
    return k;
}

int enumerate_strategies(int n_devices, int microbatches, attn_strategy **out) {
    *out = NULL;
    if (n_devices < 1) return 0;
    int count = walk(n_devices, microbatches, NULL);
    *out = malloc((size_t)count * sizeof **out);
    if (!*out) return -1;
    walk(n_devices, microbatches, *out);
    return count;
}

int enumerate_check_model(const attn_model *m, const attn_strategy *s, char *reason, size_t len) {
    attn_plan p;
    if (plan_build_even(&p, m, NULL, s, reason, len) != 0) return -1;
    plan_free(&p);
    return 0;
}

int enumerate_and_price(const attn_model *m, const attn_topology *t, const cost_options *o, int microbatches,
                        plan_candidate **out) {
    attn_strategy *s;
    *out = NULL;
    int count = enumerate_strategies(t->n_devices, microbatches, &s);
    if (count < 0) return -1;
    plan_candidate *c = calloc(count > 0 ? (size_t)count : 1, sizeof *c);
    if (!c) {
        free(s);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        attn_plan plan;
        char err[192] = "";
        c[i].strategy = s[i];
        if (cost_price_strategy(m, t, &s[i], o, &plan, NULL, err, sizeof err) != 0) {
            c[i].status = CAND_INVALID;
            snprintf(c[i].reason, sizeof c[i].reason, "%s", err[0] ? err : "invalid");
            continue;
        }
        c[i].strategy = plan.strategy;
        memcpy(c[i].metric, plan.predicted.metric, sizeof c[i].metric);
        if (!plan.predicted.fits) {
            c[i].status = CAND_NOFIT;
            c[i].shortfall_bytes = plan.predicted.shortfall_bytes;
            snprintf(c[i].reason, sizeof c[i].reason, "does not fit: %.2f GB over capacity on the fullest device",
                     plan.predicted.shortfall_bytes / 1e9);
        }
        plan_free(&plan);
    }
    free(s);
    *out = c;
    return count;
}

/* The fixed order of the enumeration, for ties. */
static int cmp_strategy(const attn_strategy *a, const attn_strategy *b) {
    if (a->dp != b->dp) return a->dp < b->dp ? -1 : 1;
    if (a->pp != b->pp) return a->pp < b->pp ? -1 : 1;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    if (a->scheme != b->scheme) return a->scheme < b->scheme ? -1 : 1;
    /* the sequence axis after today's keys, so s = 1 strategies keep their order */
    int sa = strategy_seq(a), sb = strategy_seq(b);
    if (sa != sb) return sa < sb ? -1 : 1;
    if (a->m != b->m) return a->m < b->m ? -1 : 1;
    if (a->cp != b->cp) return a->cp < b->cp ? -1 : 1;
    if (a->weights != b->weights) return a->weights < b->weights ? -1 : 1;
    return 0;
}

/* <0 when a ranks before b. */
static int cmp_candidate(const plan_candidate *a, const plan_candidate *b, attn_metric key) {
    if (a->status != b->status) return a->status < b->status ? -1 : 1;
    if (a->status == CAND_OK) {
        double x = a->metric[key], y = b->metric[key];
        if (x != y) return (attn_metric_table[key].higher_is_better ? x > y : x < y) ? -1 : 1;
        x = a->metric[MET_TPOT_S], y = b->metric[MET_TPOT_S];
        if (x != y) return x < y ? -1 : 1;
    } else if (a->status == CAND_NOFIT && a->shortfall_bytes != b->shortfall_bytes) {
        return a->shortfall_bytes < b->shortfall_bytes ? -1 : 1;
    }
    return cmp_strategy(&a->strategy, &b->strategy);
}

void enumerate_rank_candidates(plan_candidate *c, int n, attn_metric key) {
    /* Insertion sort: stable, with the key as a parameter (qsort has no context argument);
     * candidate lists stay in the low thousands even for 8192 devices. */
    for (int i = 1; i < n; i++) {
        plan_candidate x = c[i];
        int j = i - 1;
        while (j >= 0 && cmp_candidate(&x, &c[j], key) < 0) {
            c[j + 1] = c[j];
            j--;
        }
        c[j + 1] = x;
    }
}
