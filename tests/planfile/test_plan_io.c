/* test_plan_io.c: plan_write -> plan_load round trips, compared field by field and bit
 * for bit (reals included: thirds, denormals, -0, infinities, NaN), a second write that
 * must be byte-identical to the first, and a larger plan that must load and check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "planfile_util.h"

static const char *dir;

static void same_bits(const void *a, const void *b, size_t n, const char *what) {
    if (memcmp(a, b, n) != 0) {
        fprintf(stderr, "differs after the round trip: %s\n", what);
        check_failures++;
    }
}

static void compare_reports(const attn_report *a, const attn_report *b) {
    same_bits(a->metric, b->metric, sizeof a->metric, "metric");
    same_bits(a->metric_min, b->metric_min, sizeof a->metric_min, "metric_min");
    same_bits(a->metric_max, b->metric_max, sizeof a->metric_max, "metric_max");
    CHECK_EQ(a->n_ranks, b->n_ranks);
    CHECK_EQ(a->fits, b->fits);
    same_bits(&a->shortfall_bytes, &b->shortfall_bytes, sizeof a->shortfall_bytes, "shortfall_bytes");
    CHECK(!strcmp(a->note, b->note));
    if (a->n_ranks == b->n_ranks && a->n_ranks > 0)
        same_bits(a->ranks, b->ranks, (size_t)a->n_ranks * sizeof *a->ranks, "rank reports");
}

static void compare_plans(const attn_plan *a, const attn_plan *b) {
    const attn_model *x = &a->model, *y = &b->model;
    CHECK_EQ(a->version, b->version);
    CHECK(!strcmp(x->name, y->name) && !strcmp(x->path, y->path) && !strcmp(x->sha256, y->sha256));
    CHECK(x->arch == y->arch && x->dtype == y->dtype);
    CHECK(x->layers == y->layers && x->heads == y->heads && x->kv_heads == y->kv_heads);
    CHECK(x->head_dim == y->head_dim && x->hidden == y->hidden && x->ffn_hidden == y->ffn_hidden);
    same_bits(&x->norm_eps, &y->norm_eps, sizeof x->norm_eps, "norm_eps");
    same_bits(&x->rope_theta, &y->rope_theta, sizeof x->rope_theta, "rope_theta");
    same_bits(&x->workload, &y->workload, sizeof x->workload, "workload");
    CHECK(!strcmp(a->topology_name, b->topology_name) && !strcmp(a->topology_path, b->topology_path) &&
          !strcmp(a->topology_sha256, b->topology_sha256));
    same_bits(&a->strategy, &b->strategy, sizeof a->strategy, "strategy");
    CHECK(!strcmp(a->objective, b->objective));
    CHECK_EQ(a->proven_optimal, b->proven_optimal);
    CHECK_EQ(a->world, b->world);
    if (a->world == b->world) same_bits(a->ranks, b->ranks, (size_t)a->world * sizeof *a->ranks, "ranks");
    CHECK_EQ(a->n_groups, b->n_groups);
    for (int i = 0; i < a->n_groups && i < b->n_groups; i++) {
        const attn_group *g = &a->groups[i], *h = &b->groups[i];
        CHECK(g->kind == h->kind && g->coll == h->coll && g->link == h->link && g->n_ranks == h->n_ranks);
        if (g->n_ranks == h->n_ranks) same_bits(g->ranks, h->ranks, (size_t)g->n_ranks * sizeof *g->ranks, "group ranks");
    }
    CHECK_EQ(a->has_predicted, b->has_predicted);
    if (a->has_predicted && b->has_predicted) compare_reports(&a->predicted, &b->predicted);
}

/* A report whose every real is awkward to print. */
static void fill_report(attn_report *r, int n_ranks, int spread) {
    CHECK_EQ(report_init(r, n_ranks), 0);
    double awkward[] = {1.0 / 3, 1e-300, 4.9406564584124654e-324, -0.0, 0.1, 1.7976931348623157e308,
                        123456789012345678.0, 2.0 / 7e9};
    int k = 0;
    for (int i = 0; i < MET_COUNT; i++) {
        r->metric[i] = awkward[k++ % 8] * (i + 1);
        r->metric_min[i] = spread ? r->metric[i] * 0.9 : r->metric[i];
        r->metric_max[i] = spread ? r->metric[i] * 1.1 : r->metric[i];
    }
    r->metric[MET_COMM_FRACTION] = NAN;
    r->metric_min[MET_COMM_FRACTION] = spread ? INFINITY : NAN;
    r->metric_max[MET_COMM_FRACTION] = spread ? -INFINITY : NAN;
    r->fits = 0;
    r->shortfall_bytes = 1e9 / 3;
    snprintf(r->note, sizeof r->note, "rank-share: \"quoted\" text\\with: colons # and a hash\tand tab");
    for (int i = 0; i < n_ranks; i++) {
        attn_rank_report *rr = &r->ranks[i];
        for (int ph = 0; ph < PHASE_COUNT; ph++)
            for (int op = 0; op < OP_COUNT; op++) {
                rr->op[ph][op].time_s = (op % 5 == 4) ? -1 : awkward[(i + op + ph) % 8] * 1e-3;
                rr->op[ph][op].flops = (double)(op + 1) * 1e12 / 3;
                rr->op[ph][op].bytes = (double)(i % 8 + 1) * 7e8 / 9;
            }
        rr->weights_bytes = 1e9 / 7 * (i % 8 + 1);
        rr->kv_cache_bytes = 3e8 / 11;
        rr->activation_bytes = 1e7 / 13;
        rr->comm_buffer_bytes = 0;
        rr->memory_bytes = rr->weights_bytes + rr->kv_cache_bytes + rr->activation_bytes;
        rr->memory_capacity_bytes = 80e9;
    }
}

static void round_trip(const attn_model *m, const attn_topology *t, attn_strategy s, int predicted, const char *name) {
    attn_plan p, q;
    char err[256], path[1024], path2[1024];
    if (plan_build_even(&p, m, t, &s, err, sizeof err) != 0) {
        fprintf(stderr, "%s: build failed: %s\n", name, err);
        check_failures++;
        return;
    }
    snprintf(p.objective, sizeof p.objective, "tpot");
    p.proven_optimal = 1;
    if (predicted) {
        fill_report(&p.predicted, p.world, predicted > 1);
        p.has_predicted = 1;
    }
    pf_diag c;
    pf_diag_begin(&c);
    pf_path(path, sizeof path, dir, name);
    CHECK_EQ(plan_write(path, &p, &c.d), 0);
    int rc = plan_load(path, &q, &c.d);
    if (rc != 0) fprintf(stderr, "%s: load failed:\n%s", name, pf_diag_text(&c));
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        compare_plans(&p, &q);
        CHECK_EQ(plan_check(&q, path, &c.d), 0);
        snprintf(path2, sizeof path2, "%s/again-%s", dir, name);
        CHECK_EQ(plan_write(path2, &q, &c.d), 0);
        char *one = pf_read_file(path), *two = pf_read_file(path2);
        CHECK(one && two && !strcmp(one, two));
        free(one), free(two);
        plan_free(&q);
    }
    CHECK_EQ(c.d.nerrors, 0);
    pf_diag_end(&c);
    plan_free(&p);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_plan_io SCRATCH_DIR\n");
        return 2;
    }
    dir = argv[1];
    attn_model gpt = pf_model(ARCH_GPT, 5, 12, 12, 64, 768, 5);
    snprintf(gpt.path, sizeof gpt.path, "models/with \"quotes\" and: colon.yaml");
    memset(gpt.sha256, 'f', 64);
    gpt.norm_eps = 1.0 / 3e5;
    gpt.workload.microbatches = 0;
    attn_model llama = pf_model(ARCH_LLAMA, 5, 12, 4, 96, 1000, 3);
    llama.rope_theta = 500000.123;
    llama.dtype = DTYPE_BF16;
    attn_topology t;
    pf_topology(&t, 4, 8, 80e9);
    round_trip(&gpt, NULL, pf_strategy(1, 1, 1, 1, SCHEME_NONE), 0, "single.yaml");
    round_trip(&gpt, NULL, pf_strategy(2, 2, 2, 2, SCHEME_SCORE_ALLREDUCE), 1, "gpt-score.yaml");
    round_trip(&gpt, &t, pf_strategy(1, 1, 6, 2, SCHEME_HEAD_ALLTOALL), 2, "gpt-a2a-measuredlike.yaml");
    round_trip(&llama, &t, pf_strategy(3, 2, 5, 1, SCHEME_NONE), 1, "llama-gqa.yaml");
    round_trip(&llama, &t, pf_strategy(1, 2, 4, 4, SCHEME_QK_ALLGATHER), 1, "llama-qk.yaml");
    /* the sequence axis: s, cp, weights and every rank's seq survive the trip */
    attn_strategy sq = pf_strategy(1, 2, 2, 2, SCHEME_HEAD_ALLTOALL);
    sq.s = 2, sq.cp = CP_RING, sq.weights = WEIGHTS_SHARDED;
    round_trip(&llama, &t, sq, 1, "llama-seq-sharded.yaml");
    sq = pf_strategy(2, 1, 3, 1, SCHEME_NONE);
    sq.s = 4, sq.cp = CP_ALLGATHER, sq.weights = WEIGHTS_REPLICATED;
    round_trip(&gpt, &t, sq, 0, "gpt-seq-replicated.yaml");
    pf_topology_free(&t);
    /* a larger plan: 1024 ranks with predictions */
    attn_model big = pf_model(ARCH_LLAMA, 16, 64, 8, 128, 8192, 8);
    round_trip(&big, NULL, pf_strategy(2, 4, 16, 8, SCHEME_SCORE_ALLREDUCE), 1, "big.yaml");
    return check_finish("test_plan_io");
}
