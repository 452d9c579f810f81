/* test_cost_ends.c: the model's ends (planner/cost/cost_ends.c) against hand counts:
 * without vocab_size every plan prices as before (no end op, same weights); with it the
 * LM head's FLOPs are those of each sequence's last position in prefill and of every
 * position in decode on the rank's vocabulary shard, the embedding's all-reduce and the
 * logits' all-gather carry NCCL's bus bytes, the weights grow by exactly the shards (a tied
 * matrix once on a one-stage rank, a copy on the last stage of a pipeline), and the
 * shards cover the vocabulary once. Counts are worked out from docs/cost-model.md. */
#include <stdlib.h>
#include <string.h>
#include "cost_test_util.h"

static int price(const attn_model *m, const attn_topology *t, const char *spec, attn_plan *p) {
    attn_strategy s;
    char err[256];
    if (strategy_parse(spec, &s, err, sizeof err) != 0) return -1;
    int rc = cost_price_strategy(m, t, &s, NULL, p, NULL, err, sizeof err);
    CHECK(rc == 0, "%s: %s", spec, err);
    return rc;
}

static int is_end_op(int op) { return op == OP_EMBED || op == OP_EMBED_COMM || op == OP_FINAL_NORM || op == OP_LM_HEAD || op == OP_LM_HEAD_COMM; }

static void test_ends(int tied, const char *spec) {
    attn_topology t;
    tu_topo_spec ts = tu_h100_spec(1, 8);
    CHECK(tu_build_topology(&t, &ts) == 0, "topology");
    attn_model m, v;
    const int B = 6, L = 64, TD = 4, H = 256, V = 1003; /* 1003 = 4 x 250 + 3: an uneven split */
    CHECK(tu_model(&m, ARCH_LLAMA, 4, 8, 2, 32, 512, DTYPE_BF16, B, L, TD) == 0, "model");
    v = m;
    v.vocab_size = V;
    v.tie_word_embeddings = tied;
    CHECK(model_check(&v, NULL, &(attn_diag){0}) == 0, "model with a vocabulary");
    attn_plan p0, p1;
    if (price(&m, &t, spec, &p0) || price(&v, &t, spec, &p1)) {
        topology_free(&t);
        return;
    }
    const attn_strategy *s = &p1.strategy;
    int P = s->n * s->m;
    double eb = 2, covered = 0;
    for (int r = 0; r < p1.world; r++) {
        const attn_rank_assign *a = &p1.ranks[r];
        const attn_rank_report *r0 = &p0.predicted.ranks[r], *r1 = &p1.predicted.ranks[r];
        int first = a->stage == 0, last = a->stage == s->pp - 1, rows = a->batch_end - a->batch_begin;
        int vb, ve, Vp = plan_vocab_range(V, s->n, s->m, a->head_group, a->seg, &vb, &ve);
        CHECK(Vp == V / P + (a->head_group * s->m + a->seg < V % P), "rank %d: %d vocabulary rows", r, Vp);
        if (first && a->replica == 0) covered += Vp;
        for (int ph = 0; ph < PHASE_COUNT; ph++)
            for (int op = 0; op < OP_COUNT; op++) {
                const attn_op_cost *c0 = &r0->op[ph][op], *c1 = &r1->op[ph][op];
                if (is_end_op(op)) {
                    CHECK(c0->time_s == 0 && c0->flops == 0 && c0->bytes == 0, "no vocabulary, yet op %d priced", op);
                } else {
                    CHECK(c0->time_s == c1->time_s && c0->flops == c1->flops && c0->bytes == c1->bytes,
                          "rank %d phase %d op %d changed by the ends", r, ph, op);
                }
            }
        /* the LM head: 2 x positions x Vp x H, positions = rows (prefill: each sequence's last) */
        for (int ph = 0; ph < PHASE_COUNT; ph++) {
            double want = last ? 2.0 * rows * Vp * H : 0;
            CHECK_REL(r1->op[ph][OP_LM_HEAD].flops + (want == 0), want + (want == 0), 1e-12);
            CHECK((r1->op[ph][OP_LM_HEAD].time_s > 0) == (last && Vp > 0), "lm_head time on rank %d", r);
            CHECK((r1->op[ph][OP_EMBED].time_s > 0) == first, "embed time on rank %d", r);
            CHECK((r1->op[ph][OP_FINAL_NORM].time_s > 0) == last, "final norm time on rank %d", r);
        }
        /* decode reads the shard: at least its bytes at the device's achieved bandwidth */
        if (last && Vp > 0)
            CHECK(r1->op[PHASE_DECODE][OP_LM_HEAD].time_s >= Vp * H * eb / (ts.memory_bandwidth * ts.mem_eff),
                  "decode lm_head faster than reading its weights");
        /* the collectives' bus bytes (nccl-tests): all-reduce 2(P-1)/P S, all-gather (P-1)/P S */
        double ar = P > 1 ? 2.0 * (P - 1) / P : 0, ag = P > 1 ? (double)(P - 1) / P : 0;
        CHECK_REL(r1->op[PHASE_PREFILL][OP_EMBED_COMM].bytes + 1, (first ? ar * rows * L * H * eb : 0) + 1, 1e-12);
        CHECK_REL(r1->op[PHASE_DECODE][OP_EMBED_COMM].bytes + 1, (first ? ar * rows * H * eb : 0) + 1, 1e-12);
        CHECK_REL(r1->op[PHASE_PREFILL][OP_LM_HEAD_COMM].bytes + 1, (last ? ag * rows * V * eb : 0) + 1, 1e-12);
        CHECK_REL(r1->op[PHASE_DECODE][OP_LM_HEAD_COMM].bytes + 1, (last ? ag * rows * V * eb : 0) + 1, 1e-12);
        /* weights: the shards, a tied matrix once where one rank has both ends */
        double shard = (double)Vp * H * eb;
        double want_w = (first ? shard : 0) + (last ? H * eb + (tied && first ? 0 : shard) : 0);
        CHECK_REL(r1->weights_bytes - r0->weights_bytes + 1, want_w + 1, 1e-9);
        CHECK_REL(cost_ends_plan_weight_bytes(&p1, a) + 1, want_w + 1, 1e-12);
        if (first || last) CHECK(r1->memory_bytes > r0->memory_bytes, "rank %d: the ends cost no memory", r);
        else CHECK(r1->memory_bytes == r0->memory_bytes, "rank %d: a middle stage holds part of the ends", r);
    }
    CHECK(covered == V, "the first stage's shards cover %g of %d rows", covered, V);
    /* the ends make a plan slower, never faster */
    CHECK(p1.predicted.metric[MET_TTFT_S] > p0.predicted.metric[MET_TTFT_S], "ttft");
    CHECK(p1.predicted.metric[MET_TPOT_S] > p0.predicted.metric[MET_TPOT_S], "tpot");
    plan_free(&p0);
    plan_free(&p1);
    topology_free(&t);
}

int main(void) {
    const char *specs[] = {"dp=1,pp=1,n=1,m=1", "dp=1,pp=1,n=4,m=1", "dp=1,pp=2,n=2,m=1,mb=3",
                           "dp=2,pp=1,n=2,m=2,scheme=score-allreduce", "dp=1,pp=4,n=2,m=1"};
    for (int tied = 0; tied < 2; tied++)
        for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) test_ends(tied, specs[i]);
    if (check_failures) fprintf(stderr, "test_cost_ends: %d failure(s)\n", check_failures);
    else printf("test_cost_ends: ok\n");
    return check_failures ? 1 : 0;
}
