/* test_plan_build.c: plan_build_even over many strategies (TP, TP+PP, DP, m x n for each
 * scheme, GQA, llama pair ranges, shapes that are not powers of two, uneven splits): the
 * shares are checked against an independent brute-force ownership count and plan_check;
 * the groups, placement, microbatch resolution and every rejection rule are checked. */
#include <stdlib.h>
#include <string.h>
#include "planfile_util.h"

/* Independent of plan_check: each (head, dim) once per (replica, stage, seq), each layer
 * once per replica, each batch row once, each MLP column once per (replica, stage, seq), or
 * once per (replica, stage) when the weights are sharded over the s slices. */
static void brute_force_cover(const attn_plan *p) {
    const attn_model *m = &p->model;
    const attn_strategy *s = &p->strategy;
    int *hd = calloc((size_t)m->heads * m->head_dim, sizeof *hd), *mlp = calloc((size_t)m->ffn_hidden, sizeof *mlp);
    int *layer = calloc((size_t)m->layers, sizeof *layer), *rows = calloc((size_t)m->workload.batch, sizeof *rows);
    CHECK(hd && mlp && layer && rows);
    if (!hd || !mlp || !layer || !rows) goto out;
    for (int rep = 0; rep < s->dp; rep++) {
        memset(layer, 0, (size_t)m->layers * sizeof *layer);
        int sharded = s->s > 1 && s->weights == WEIGHTS_SHARDED;
        for (int st = 0; st < s->pp; st++)
          for (int q = 0; q < s->s; q++) {
            memset(hd, 0, (size_t)m->heads * m->head_dim * sizeof *hd);
            if (!sharded || q == 0) memset(mlp, 0, (size_t)m->ffn_hidden * sizeof *mlp);
            for (int r = 0; r < p->world; r++) {
                const attn_rank_assign *a = &p->ranks[r];
                if (a->replica != rep || a->stage != st) continue;
                if (sharded && q == 0)
                    for (int c = a->mlp_begin; c < a->mlp_end; c++) mlp[c]++;
                if (a->seq != q) continue;
                for (int h = a->head_begin; h < a->head_end; h++)
                    for (int q = 0; q < a->n_dim_ranges; q++)
                        for (int x = a->dim_begin[q]; x < a->dim_end[q]; x++) hd[h * m->head_dim + x]++;
                if (!sharded)
                    for (int c = a->mlp_begin; c < a->mlp_end; c++) mlp[c]++;
                if (a->head_group == 0 && a->seg == 0 && a->seq == 0)
                    for (int l = a->layer_begin; l < a->layer_end; l++) layer[l]++;
                if (st == 0 && a->head_group == 0 && a->seg == 0 && a->seq == 0)
                    for (int b = a->batch_begin; b < a->batch_end; b++) rows[b]++;
            }
            int bad = 0;
            for (int i = 0; i < m->heads * m->head_dim; i++) bad += hd[i] != 1;
            for (int i = 0; i < m->ffn_hidden; i++) bad += mlp[i] != 1;
            CHECK_EQ(bad, 0);
        }
        int bad = 0;
        for (int l = 0; l < m->layers; l++) bad += layer[l] != 1;
        CHECK_EQ(bad, 0);
    }
    int bad = 0;
    for (int b = 0; b < m->workload.batch; b++) bad += rows[b] != 1;
    CHECK_EQ(bad, 0);
out:
    free(hd), free(mlp), free(layer), free(rows);
}

/* Builds, checks coverage and plan_check, returns the plan (caller frees). */
static void build_ok(attn_plan *p, const attn_model *m, const attn_topology *t, attn_strategy s) {
    char err[256] = "";
    int rc = plan_build_even(p, m, t, &s, err, sizeof err);
    if (rc != 0) fprintf(stderr, "unexpected rejection: %s\n", err);
    CHECK_EQ(rc, 0);
    if (rc != 0) return;
    int sq = s.s > 1 ? s.s : 1;
    CHECK_EQ(p->world, s.dp * s.pp * sq * s.n * s.m);
    for (int r = 0; r < p->world; r++) {
        const attn_rank_assign *a = &p->ranks[r];
        CHECK_EQ(a->rank, r);
        CHECK(a->seq >= 0 && a->seq < sq);
        CHECK_EQ((((a->replica * s.pp + a->stage) * sq + a->seq) * s.n + a->head_group) * s.m + a->seg, r);
        CHECK_EQ(plan_coord_rank(&s, a->replica, a->stage, a->seq, a->head_group, a->seg), r);
    }
    brute_force_cover(p);
    pf_diag c;
    pf_diag_begin(&c);
    int problems = plan_check(p, NULL, &c.d);
    if (problems) fprintf(stderr, "plan_check on a built plan:\n%s", pf_diag_text(&c));
    CHECK_EQ(problems, 0);
    pf_diag_end(&c);
}

static void expect_reject(const attn_model *m, const attn_topology *t, attn_strategy s, const char *msg) {
    attn_plan p;
    char err[256] = "";
    int rc = plan_build_even(&p, m, t, &s, err, sizeof err);
    CHECK_EQ(rc, -1);
    if (rc == 0) plan_free(&p);
    if (!strstr(err, msg)) fprintf(stderr, "expected '%s' in '%s'\n", msg, err);
    CHECK(strstr(err, msg) != NULL);
}

static int count_kind(const attn_plan *p, attn_group_kind k) {
    int c = 0;
    for (int i = 0; i < p->n_groups; i++) c += p->groups[i].kind == k;
    return c;
}

static void test_strategies(void) {
    attn_model gpt = pf_model(ARCH_GPT, 5, 12, 12, 64, 768, 5);
    attn_model llama = pf_model(ARCH_LLAMA, 5, 12, 4, 96, 1000, 3);
    attn_model odd = pf_model(ARCH_GPT, 3, 7, 7, 40, 333, 7);
    attn_plan p;
    struct { const attn_model *m; attn_strategy s; } cases[] = {
        {&gpt, {1, 1, 1, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&gpt, {1, 1, 4, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},            /* TP */
        {&gpt, {1, 2, 2, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},            /* TP+PP, 5 layers over 2 */
        {&gpt, {2, 1, 2, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},            /* DP, 5 rows over 2 */
        {&gpt, {1, 1, 2, 2, SCHEME_SCORE_ALLREDUCE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&gpt, {1, 1, 2, 3, SCHEME_QK_ALLGATHER, 0, 1, CP_AUTO, WEIGHTS_AUTO}},    /* 64 dims over 3 */
        {&gpt, {1, 1, 2, 2, SCHEME_HEAD_ALLTOALL, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&gpt, {2, 2, 3, 2, SCHEME_HEAD_ALLTOALL, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&llama, {3, 2, 5, 7, SCHEME_SCORE_ALLREDUCE, 0, 1, CP_AUTO, WEIGHTS_AUTO}}, /* GQA, everything uneven */
        {&llama, {1, 1, 3, 2, SCHEME_HEAD_ALLTOALL, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&llama, {1, 5, 12, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&llama, {1, 1, 1, 48, SCHEME_QK_ALLGATHER, 0, 1, CP_AUTO, WEIGHTS_AUTO}}, /* one rotation pair each */
        {&odd, {7, 3, 7, 5, SCHEME_QK_ALLGATHER, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        {&odd, {1, 1, 7, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO}},
        /* the sequence axis */
        {&gpt, {1, 1, 2, 1, SCHEME_NONE, 0, 2, CP_RING, WEIGHTS_REPLICATED}},
        {&gpt, {1, 1, 2, 2, SCHEME_HEAD_ALLTOALL, 0, 2, CP_ALLGATHER, WEIGHTS_SHARDED}},
        {&gpt, {2, 2, 3, 1, SCHEME_NONE, 0, 3, CP_RING, WEIGHTS_SHARDED}},
        {&llama, {1, 1, 3, 2, SCHEME_QK_ALLGATHER, 0, 4, CP_ALLGATHER, WEIGHTS_REPLICATED}},
        {&llama, {3, 2, 4, 1, SCHEME_NONE, 0, 2, CP_RING, WEIGHTS_SHARDED}}, /* GQA, uneven rows */
        {&odd, {1, 3, 7, 1, SCHEME_NONE, 0, 8, CP_RING, WEIGHTS_SHARDED}},   /* 16 positions, 16 chunks */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        build_ok(&p, cases[i].m, NULL, cases[i].s);
        plan_free(&p);
    }

    /* The llama case in detail. */
    build_ok(&p, &llama, NULL, pf_strategy(3, 2, 5, 7, SCHEME_SCORE_ALLREDUCE));
    const attn_rank_assign *a = &p.ranks[0];
    CHECK_EQ(a->n_dim_ranges, 2);
    CHECK(a->dim_begin[0] == 0 && a->dim_end[0] == 7 && a->dim_begin[1] == 48 && a->dim_end[1] == 55);
    a = &p.ranks[6]; /* seg 6: 48 pairs over 7 = 7,7,7,7,7,7,6 */
    CHECK(a->seg == 6 && a->dim_begin[0] == 42 && a->dim_end[0] == 48 && a->dim_begin[1] == 90 && a->dim_end[1] == 96);
    a = &p.ranks[2 * 7]; /* head group 2: 12 heads over 5 = 3,3,2,2,2 -> [6,8), kv heads (3 per kv) [2,3) */
    CHECK(a->head_group == 2 && a->head_begin == 6 && a->head_end == 8 && a->kv_head_begin == 2 && a->kv_head_end == 3);
    a = &p.ranks[1 * 7]; /* head group 1: [3,6) -> kv [1,2) */
    CHECK(a->head_begin == 3 && a->head_end == 6 && a->kv_head_begin == 1 && a->kv_head_end == 2);
    a = &p.ranks[35]; /* stage 1 of replica 0: layers [3,5) */
    CHECK(a->stage == 1 && a->replica == 0 && a->layer_begin == 3 && a->layer_end == 5);
    a = &p.ranks[2 * 70]; /* replica 2: batch row [2,3) */
    CHECK(a->replica == 2 && a->batch_begin == 2 && a->batch_end == 3);
    /* 1000 columns over 35: the first 20 get 29, the rest 28 */
    CHECK(p.ranks[0].mlp_begin == 0 && p.ranks[0].mlp_end == 29);
    CHECK(p.ranks[34].mlp_begin == 1000 - 28 && p.ranks[34].mlp_end == 1000);
    CHECK_EQ(p.strategy.microbatches, 1); /* one row per replica */
    plan_free(&p);

    /* head-alltoall a2a ranges: 12 heads over 3 groups = 4 each, 2 per seg */
    build_ok(&p, &llama, NULL, pf_strategy(1, 1, 3, 2, SCHEME_HEAD_ALLTOALL));
    CHECK(p.ranks[3].head_begin == 4 && p.ranks[3].a2a_head_begin == 6 && p.ranks[3].a2a_head_end == 8);
    plan_free(&p);
    /* without head-alltoall a2a = the group's heads */
    build_ok(&p, &gpt, NULL, pf_strategy(1, 1, 2, 2, SCHEME_SCORE_ALLREDUCE));
    CHECK(p.ranks[1].a2a_head_begin == 0 && p.ranks[1].a2a_head_end == 6);
    CHECK(p.ranks[1].n_dim_ranges == 1 && p.ranks[1].dim_begin[0] == 32 && p.ranks[1].dim_end[0] == 64);
    plan_free(&p);
}

static void test_microbatches(void) {
    attn_model m = pf_model(ARCH_GPT, 6, 4, 4, 8, 64, 12);
    attn_plan p;
    build_ok(&p, &m, NULL, pf_strategy(1, 2, 1, 1, SCHEME_NONE)); /* divisors of 12 up to 8: 6 */
    CHECK_EQ(p.strategy.microbatches, 6);
    plan_free(&p);
    build_ok(&p, &m, NULL, pf_strategy(1, 1, 2, 1, SCHEME_NONE)); /* no pipeline: 1 */
    CHECK_EQ(p.strategy.microbatches, 1);
    plan_free(&p);
    m.workload.batch = 7; /* dp 2: rows 4 and 3; auto from the smaller: divisors of 3 -> 3 */
    build_ok(&p, &m, NULL, pf_strategy(2, 3, 1, 1, SCHEME_NONE));
    CHECK_EQ(p.strategy.microbatches, 3);
    plan_free(&p);
    m.workload.microbatches = 2; /* the workload's value */
    build_ok(&p, &m, NULL, pf_strategy(1, 2, 1, 1, SCHEME_NONE));
    CHECK_EQ(p.strategy.microbatches, 2);
    plan_free(&p);
    attn_strategy s = pf_strategy(1, 2, 1, 1, SCHEME_NONE);
    s.microbatches = 5; /* the strategy's value wins */
    build_ok(&p, &m, NULL, s);
    CHECK_EQ(p.strategy.microbatches, 5);
    plan_free(&p);
    s = pf_strategy(2, 2, 1, 1, SCHEME_NONE);
    s.microbatches = 4;
    expect_reject(&m, NULL, s, "microbatches=4 exceeds the smallest replica's batch rows=3");
}

static void test_groups_and_placement(void) {
    attn_model m = pf_model(ARCH_GPT, 4, 8, 8, 16, 128, 4);
    attn_plan p;
    build_ok(&p, &m, NULL, pf_strategy(2, 2, 2, 2, SCHEME_SCORE_ALLREDUCE));
    CHECK_EQ(p.n_groups, 8 + 4 + 8 + 2);
    CHECK_EQ(count_kind(&p, GROUP_SEG), 8);
    CHECK_EQ(count_kind(&p, GROUP_STAGE), 4);
    CHECK_EQ(count_kind(&p, GROUP_PIPE), 8);
    CHECK_EQ(count_kind(&p, GROUP_REPLICA), 2);
    for (int i = 0; i < p.n_groups; i++) {
        const attn_group *g = &p.groups[i];
        CHECK_EQ(g->link, LINK_SELF);
        if (g->kind == GROUP_SEG) CHECK(g->coll == COLL_ALLREDUCE && g->n_ranks == 2);
        if (g->kind == GROUP_STAGE) CHECK(g->coll == COLL_ALLREDUCE && g->n_ranks == 4);
        if (g->kind == GROUP_PIPE) CHECK(g->coll == COLL_SENDRECV && g->n_ranks == 2);
        if (g->kind == GROUP_REPLICA) CHECK(g->coll == COLL_ALLGATHER && g->n_ranks == 8);
    }
    /* order: SEG (replica, stage, group), STAGE, PIPE (replica, group, seg), REPLICA */
    CHECK(p.groups[1].ranks[0] == 2 && p.groups[1].ranks[1] == 3);
    const attn_group *pipe = &p.groups[8 + 4 + 2]; /* replica 0, head group 1, seg 0 */
    CHECK(pipe->kind == GROUP_PIPE && pipe->ranks[0] == 2 && pipe->ranks[1] == 6);
    const attn_group *rep1 = &p.groups[p.n_groups - 1];
    CHECK(rep1->ranks[0] == 8 && rep1->ranks[7] == 15);
    CHECK_EQ(p.ranks[9].device, 9);
    CHECK_EQ(p.ranks[9].node, 9);
    plan_free(&p);

    build_ok(&p, &m, NULL, pf_strategy(1, 1, 2, 2, SCHEME_QK_ALLGATHER));
    CHECK(p.groups[0].kind == GROUP_SEG && p.groups[0].coll == COLL_ALLGATHER);
    CHECK_EQ(p.n_groups, 2 + 1);
    plan_free(&p);
    build_ok(&p, &m, NULL, pf_strategy(1, 1, 2, 2, SCHEME_HEAD_ALLTOALL));
    CHECK(p.groups[0].kind == GROUP_SEG && p.groups[0].coll == COLL_ALLTOALL);
    plan_free(&p);
    build_ok(&p, &m, NULL, pf_strategy(1, 1, 1, 1, SCHEME_NONE));
    CHECK_EQ(p.n_groups, 0);
    plan_free(&p);

    attn_topology t;
    pf_topology(&t, 2, 4, 80e9);
    build_ok(&p, &m, &t, pf_strategy(1, 2, 4, 1, SCHEME_NONE));
    CHECK(!strcmp(p.topology_name, "test-2x4") && !strcmp(p.topology_path, "topologies/test-2x4.yaml"));
    CHECK_EQ(strlen(p.topology_sha256), 64);
    CHECK(p.ranks[5].node == 1 && p.ranks[5].device == 5 && p.ranks[3].node == 0);
    for (int i = 0; i < p.n_groups; i++) {
        if (p.groups[i].kind == GROUP_STAGE) CHECK_EQ(p.groups[i].link, LINK_NODE);
        if (p.groups[i].kind == GROUP_PIPE) CHECK_EQ(p.groups[i].link, LINK_NETWORK);
    }
    plan_free(&p);
    build_ok(&p, &m, &t, pf_strategy(1, 1, 8, 1, SCHEME_NONE));
    CHECK(p.n_groups == 1 && p.groups[0].link == LINK_NETWORK);
    plan_free(&p);
    expect_reject(&m, &t, pf_strategy(2, 1, 8, 1, SCHEME_NONE), "strategy needs 16 devices, topology test-2x4 has 8");
    pf_topology_free(&t);
}

static void test_rejections(void) {
    attn_model m = pf_model(ARCH_GPT, 4, 32, 8, 16, 40, 2);
    expect_reject(&m, NULL, pf_strategy(1, 1, 48, 1, SCHEME_NONE), "n=48 exceeds heads=32");
    expect_reject(&m, NULL, pf_strategy(3, 1, 1, 1, SCHEME_NONE), "dp=3 exceeds batch=2");
    expect_reject(&m, NULL, pf_strategy(1, 5, 1, 1, SCHEME_NONE), "pp=5 exceeds layers=4");
    expect_reject(&m, NULL, pf_strategy(1, 1, 1, 17, SCHEME_QK_ALLGATHER), "m=17 exceeds head_dim=16");
    expect_reject(&m, NULL, pf_strategy(1, 1, 8, 8, SCHEME_QK_ALLGATHER), "n*m=64 exceeds ffn_hidden=40");
    expect_reject(&m, NULL, pf_strategy(1, 1, 2, 1, SCHEME_SCORE_ALLREDUCE), "m=1 requires scheme none");
    expect_reject(&m, NULL, pf_strategy(1, 1, 2, 2, SCHEME_NONE), "m=2 requires a scheme");
    expect_reject(&m, NULL, pf_strategy(0, 1, 2, 1, SCHEME_NONE), "dp=0 must be >= 1");
    attn_model six = pf_model(ARCH_GPT, 4, 6, 6, 16, 64, 2);
    expect_reject(&six, NULL, pf_strategy(1, 1, 2, 2, SCHEME_HEAD_ALLTOALL),
                  "head-alltoall needs m | heads per group (group 0 has 3 heads, m=2)");
    attn_model l = pf_model(ARCH_LLAMA, 4, 4, 4, 8, 64, 2);
    expect_reject(&l, NULL, pf_strategy(1, 1, 1, 5, SCHEME_SCORE_ALLREDUCE), "m=5 exceeds the 4 rotation pairs");
    attn_plan p;
    build_ok(&p, &l, NULL, pf_strategy(1, 1, 1, 4, SCHEME_SCORE_ALLREDUCE));
    plan_free(&p);
}

/* The sequence axis' rules: zigzag chunks, decode owners, projection shares, groups, and
 * the combinations refused with their reason. */
static void test_seq(void) {
    /* zigzag: L = 19 over 2s = 6 chunks of 4,3,3,3,3,3; slice i holds chunks i and 5-i */
    int b0, e0, b1, e1, total = 0;
    int seen[19] = {0};
    for (int q = 0; q < 3; q++) {
        int k = plan_seq_chunk_range(19, 3, q, &b0, &e0, &b1, &e1);
        CHECK_EQ(k, (e0 - b0) + (e1 - b1));
        CHECK(e0 <= b1); /* the low chunk first */
        for (int x = b0; x < e0; x++) seen[x]++;
        for (int x = b1; x < e1; x++) seen[x]++;
        total += k;
    }
    CHECK_EQ(total, 19);
    for (int x = 0; x < 19; x++) CHECK_EQ(seen[x], 1);
    plan_seq_chunk_range(19, 3, 0, &b0, &e0, &b1, &e1);
    CHECK(b0 == 0 && e0 == 4 && b1 == 16 && e1 == 19);
    plan_seq_chunk_range(19, 3, 2, &b0, &e0, &b1, &e1);
    CHECK(b0 == 7 && e0 == 10 && b1 == 10 && e1 == 13);
    CHECK_EQ(plan_seq_chunk_range(7, 1, 0, &b0, &e0, &b1, &e1), 7);
    CHECK(b0 == 0 && e0 == 7 && b1 == e1);
    /* the causal work balances: keys attended per slice differ by little under zigzag */
    long work[4] = {0}, lo = -1, hi = 0;
    for (int q = 0; q < 4; q++) {
        plan_seq_chunk_range(64, 4, q, &b0, &e0, &b1, &e1);
        for (int x = b0; x < e0; x++) work[q] += x + 1;
        for (int x = b1; x < e1; x++) work[q] += x + 1;
        if (lo < 0 || work[q] < lo) lo = work[q];
        if (work[q] > hi) hi = work[q];
    }
    CHECK(hi - lo <= 64); /* contiguous quarters would differ by 768 */
    for (int t = 0; t < 9; t++) CHECK_EQ(plan_seq_decode_owner(t, 4), t % 4);
    CHECK_EQ(plan_seq_decode_owner(5, 1), 0);
    int pb, pe, at = 0;
    for (int q = 0; q < 3; q++) {
        plan_seq_proj_range(10, 3, q, &pb, &pe);
        CHECK_EQ(pb, at);
        at = pe;
    }
    CHECK_EQ(at, 10);

    /* groups: dp 1, pp 2, s 2, n 2, m 2 head-alltoall, sharded: 16 ranks */
    attn_model m = pf_model(ARCH_GPT, 4, 8, 8, 16, 128, 4);
    attn_strategy s = pf_strategy(1, 2, 2, 2, SCHEME_HEAD_ALLTOALL);
    s.s = 2, s.cp = CP_ALLGATHER, s.weights = WEIGHTS_SHARDED;
    attn_plan p;
    build_ok(&p, &m, NULL, s);
    CHECK_EQ(p.world, 16);
    CHECK_EQ(count_kind(&p, GROUP_SEG), 8);    /* per (stage, seq, head group) */
    CHECK_EQ(count_kind(&p, GROUP_STAGE), 4);  /* per (stage, seq) */
    CHECK_EQ(count_kind(&p, GROUP_PIPE), 8);   /* per (seq, head group, seg) */
    CHECK_EQ(count_kind(&p, GROUP_SEQ), 8);    /* per (stage, head group, seg) */
    CHECK_EQ(count_kind(&p, GROUP_SHARD), 2);  /* per stage */
    for (int i = 0; i < p.n_groups; i++) {
        const attn_group *g = &p.groups[i];
        if (g->kind == GROUP_SEQ) {
            CHECK(g->n_ranks == 2 && g->coll == COLL_ALLGATHER);
            const attn_rank_assign *x = &p.ranks[g->ranks[0]], *y = &p.ranks[g->ranks[1]];
            CHECK(x->seq == 0 && y->seq == 1 && x->stage == y->stage && x->head_group == y->head_group &&
                  x->seg == y->seg);
        }
        if (g->kind == GROUP_SHARD) CHECK(g->n_ranks == 8 && g->coll == COLL_ALLREDUCE);
    }
    /* rank 5 = stage 0, seq 1, head group 0, seg 1: mlp share (1*2 + 0)*2 + 1 = 5 of 8 */
    CHECK(p.ranks[5].seq == 1 && p.ranks[5].head_group == 0 && p.ranks[5].seg == 1);
    CHECK(p.ranks[5].mlp_begin == 80 && p.ranks[5].mlp_end == 96);
    plan_free(&p);
    s.weights = WEIGHTS_REPLICATED, s.cp = CP_RING;
    build_ok(&p, &m, NULL, s);
    CHECK_EQ(count_kind(&p, GROUP_SHARD), 0);
    CHECK(p.ranks[5].mlp_begin == 32 && p.ranks[5].mlp_end == 64); /* its twin in slice 0: rank 1 */
    for (int i = 0; i < p.n_groups; i++)
        if (p.groups[i].kind == GROUP_SEQ) CHECK(p.groups[i].coll == COLL_SENDRECV);
    plan_free(&p);

    /* refusals */
    s = pf_strategy(1, 1, 2, 2, SCHEME_SCORE_ALLREDUCE);
    s.s = 2, s.cp = CP_RING, s.weights = WEIGHTS_REPLICATED;
    expect_reject(&m, NULL, s, "score-allreduce");
    s = pf_strategy(1, 1, 2, 1, SCHEME_NONE);
    s.s = 2, s.cp = CP_AUTO, s.weights = WEIGHTS_REPLICATED;
    expect_reject(&m, NULL, s, "needs cp=ring or cp=allgather");
    s.cp = CP_RING, s.weights = WEIGHTS_AUTO;
    expect_reject(&m, NULL, s, "needs weights=replicated or weights=sharded");
    s.s = 9, s.weights = WEIGHTS_REPLICATED; /* seq_len 16 < 18 */
    expect_reject(&m, NULL, s, "2s=18 chunks but seq_len=16");
    s = pf_strategy(1, 1, 2, 1, SCHEME_NONE);
    s.cp = CP_RING;
    expect_reject(&m, NULL, s, "cp and weights only exist with s > 1");
    attn_model narrow = pf_model(ARCH_GPT, 2, 4, 4, 16, 6, 2);
    s = pf_strategy(1, 1, 2, 1, SCHEME_NONE);
    s.s = 4, s.cp = CP_RING, s.weights = WEIGHTS_SHARDED;
    expect_reject(&narrow, NULL, s, "s*n*m=8 ranks, more than ffn_hidden=6");
}

int main(void) {
    test_seq();
    test_strategies();
    test_microbatches();
    test_groups_and_placement();
    test_rejections();
    return check_finish("test_plan_build");
}
