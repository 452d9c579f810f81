/* test_cost_seq.c: the sequence axis (s > 1) priced by hand (docs/cost-model.md, "The
 * sequence axis"). A gpt model of 1 layer, 4 heads (2 kv heads), head_dim 8 (hidden 32),
 * ffn 64, fp16, batch 2, seq_len 16, 3 decode tokens, on s = 2 slices x n = 2 head groups:
 * slice 0 holds positions [0,4) and [12,16), slice 1 [4,8) and [8,12) (zigzag); a rank
 * holds 2 query heads and 1 kv head of 8 dims. Every literal below is worked out from
 * those sizes in the comments, not by calling the code; the invariants compare plans
 * with each other (replicated against sharded weights, s = 2 against s = 1). */
#include <stdlib.h>
#include <string.h>
#include "cost_test_util.h"

static attn_strategy seq_strategy(int s, int n, attn_cp cp, attn_weights w) {
    attn_strategy st = strategy_make(1, 1, n, 1, SCHEME_NONE);
    st.s = s;
    st.cp = cp;
    st.weights = w;
    return st;
}

/* The sum over the plan's collective lines of one phase, op, collective and group of
 * bytes per call x calls; *lines receives how many matched. */
static double coll_bytes(const cost_detail *det, attn_phase ph, attn_op op, attn_coll coll, attn_group_kind g,
                         int *lines) {
    double b = 0;
    *lines = 0;
    for (int i = 0; i < det->n_coll; i++) {
        const cost_coll_line *l = &det->coll[i];
        if (l->phase == ph && l->op == op && l->coll == coll && l->group == g) {
            b += l->bytes_per_call * l->calls;
            (*lines)++;
        }
    }
    return b;
}

/* Zigzag against a contiguous split, by hand: L = 16, s = 2, chunks of 4 positions. Query
 * q sees q + 1 keys. Zigzag slice 0 = [0,4) + [12,16): (1+2+3+4) + (13+14+15+16) = 10 + 58
 * = 68; slice 1 = [4,8) + [8,12): 26 + 42 = 68. Contiguous: [0,8) = 36, [8,16) = 100.
 * L = 64, s = 4 (chunks of 8; chunk c sums to 64c + 36): zigzag every slice 64j + 36 +
 * 64(7 - j) + 36 = 520; contiguous [16j, 16j + 16) = 256j + 136: 136, 392, 648, 904. */
static void test_zigzag_balance(void) {
    CHECK_REL(cost_seq_pairs(16, 2, 0, 1), (double)(68), 1e-15);
    CHECK_REL(cost_seq_pairs(16, 2, 1, 1), (double)(68), 1e-15);
    CHECK_REL(cost_seq_pairs(16, 2, 0, 0), (double)(36), 1e-15);
    CHECK_REL(cost_seq_pairs(16, 2, 1, 0), (double)(100), 1e-15);
    for (int j = 0; j < 4; j++) {
        CHECK_REL(cost_seq_pairs(64, 4, j, 1), (double)(520), 1e-15);
        CHECK_REL(cost_seq_pairs(64, 4, j, 0), 256.0 * j + 136, 1e-15);
    }
    /* s = 1 is the whole causal triangle L(L+1)/2 either way */
    CHECK_REL(cost_seq_pairs(1000, 1, 0, 1), (double)(500500), 1e-15);
    CHECK_REL(cost_seq_pairs(1000, 1, 0, 0), (double)(500500), 1e-15);
    /* the pair count of a block against keys elsewhere: queries [4,8) vs keys [2,6): 3+4+4+4 */
    CHECK_REL(cost_causal_pairs(4, 8, 2, 6), (double)(15), 1e-15);
    CHECK_REL(cost_causal_pairs(0, 4, 8, 12), (double)(0), 1e-15);
    /* uneven: L = 10, s = 2 cuts 3,3,2,2: slice 0 = [0,3) + [8,10) = 6 + 19 = 25, slice 1 =
     * [3,6) + [6,8) = 15 + 15 = 30 (contiguous [0,5) + [5,10): 15 and 40) */
    CHECK_REL(cost_seq_pairs(10, 2, 0, 1), (double)(25), 1e-15);
    CHECK_REL(cost_seq_pairs(10, 2, 1, 1), (double)(30), 1e-15);
    CHECK_REL(cost_seq_pairs(10, 2, 1, 0), (double)(40), 1e-15);
}

/* The s = 2 case of the header, one strategy, priced (cal: a calibration, or NULL): the
 * checks shared by all four. */
static int price_cal(const attn_topology *t, const attn_model *m, attn_strategy st, int fused,
                     const cost_calibration *cal, attn_plan *p, cost_detail *det) {
    cost_options o;
    cost_options_default(&o);
    o.fused_attention = fused;
    o.calibration = cal;
    char err[256];
    int rc = cost_price_strategy(m, t, &st, &o, p, det, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    return rc;
}

static int price(const attn_topology *t, const attn_model *m, attn_strategy st, int fused, attn_plan *p,
                 cost_detail *det) {
    return price_cal(t, m, st, fused, NULL, p, det);
}

static void test_hand(void) {
    attn_topology t;
    tu_topo_spec ts = tu_h100_spec(1, 4);
    attn_model m;
    CHECK(tu_build_topology(&t, &ts) == 0 && tu_model(&m, ARCH_GPT, 1, 4, 2, 8, 64, DTYPE_FP16, 2, 16, 3) == 0,
          "inputs");
    if (check_failures) return;
    attn_plan p;
    cost_detail det;
    int n;

    /* ---- cp allgather, weights replicated, unfused core (its pairs are the shape's) ---- */
    if (price(&t, &m, seq_strategy(2, 2, CP_ALLGATHER, WEIGHTS_REPLICATED), 0, &p, &det) != 0) return;
    for (int i = 0; i < p.world; i++) {
        const attn_rank_report *rr = &p.predicted.ranks[i];
        /* tokens: 2 rows x 8 positions = 16; q/k/v: 2 T H (q 2x8 + k 8 + v 8 columns)
         * = 2 * 16 * 32 * 32 = 32768 FLOPs; the MLP up: 2 * 16 * 32 (64 / 2 columns) * 32 */
        CHECK_REL(rr->op[PHASE_PREFILL][OP_QKV_PROJ].flops, (double)(32768), 1e-12);
        CHECK_REL(rr->op[PHASE_PREFILL][OP_MLP_UP].flops, (double)(32768), 1e-12);
        /* pairs: each chunk of 4 queries against the keys up to its end, whole rectangles:
         * slice 0: 4*4 + 4*16 = 80; slice 1: 4*8 + 4*12 = 80. Scores 2 * rows 2 * heads 2
         * * 80 * 8 dims = 5120 FLOPs on either slice (zigzag balances) */
        CHECK_REL(rr->op[PHASE_PREFILL][OP_SCORES].flops, (double)(5120), 1e-12);
        /* KV cache: 2 rows x (8 positions + decode steps 0, 2 on slice 0 / step 1 on slice 1)
         * x 1 kv head x (8 + 8) dims x 2 bytes: slice 0 2 * 10 * 32 = 640, slice 1 576 */
        CHECK_REL(rr->kv_cache_bytes, p.ranks[i].seq == 0 ? 640.0 : 576.0, 1e-12);
        /* weights: norms 4H = 128, q/k/v H x 32 = 1024, o 16 x H = 512, MLP 2 x 32 x H =
         * 2048: 3712 elements, 7424 bytes */
        CHECK_REL(rr->weights_bytes, (double)(7424), 1e-12);
    }
    /* all-gather of K and V: S = s 2 x rows 2 x 8 positions x 1 kv head x 16 x 2 bytes =
     * 1024 per layer; decode merge: S = 2 x 2 rows x 2 heads x (8 + 1) x 4 bytes = 288;
     * o_proj all-reduce over the slice's 2 ranks: 16 tokens x 32 x 2 = 1024 */
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, &n), (double)(1024), 1e-12);
    CHECK(n == 1, "%d prefill all-gather lines", n);
    CHECK_REL(coll_bytes(&det, PHASE_DECODE, OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, &n), (double)(288), 1e-12);
    CHECK(n == 1, "%d decode merge lines", n);
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_O_PROJ_ALLREDUCE, COLL_ALLREDUCE, GROUP_STAGE, &n), (double)(1024), 1e-12);
    /* the merge's FLOPs go to the attention op: 2 rows x 2 heads x (2 partials x (2 x 8 +
     * 3) + 8) = 4 * 46 = 184 on top of the decode scores' and P.V's (they are separate ops
     * unfused, so OP_ATTENTION holds the merge alone) */
    CHECK_REL(p.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION].flops, (double)(184), 1e-12);
    /* comm buffers: the gathered K/V of the whole sequence, 2 rows x 2 x 8 x 32 bytes = 1024 */
    CHECK_REL(p.predicted.ranks[0].comm_buffer_bytes, (double)(1024), 1e-12);
    plan_free(&p);

    /* ---- cp ring, weights replicated: one pass (s - 1) of one slice's K/V, 512 bytes ---- */
    if (price(&t, &m, seq_strategy(2, 2, CP_RING, WEIGHTS_REPLICATED), 1, &p, &det) != 0) return;
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_ATTN_COMM, COLL_SENDRECV, GROUP_SEQ, &n), (double)(512), 1e-12);
    CHECK(n == 1, "%d ring lines", n);
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, &n), (double)0, 1);
    CHECK(n == 0, "a ring plan lists an all-gather of K/V");
    /* fused: the two chunks' tiles (CPU target, one tile each: 4 x 4 and 4 x 16 on slice 0,
     * 4 x 8 and 4 x 12 on slice 1): 80 pairs, 2 (8 + 8) x 2 x 2 x 80 = 10240 FLOPs; and the
     * ring's merges: 2s + 1 = 5 calls, the two diagonal ones write, 3 merge a chunk's 2 rows
     * x 2 heads x 4 queries at 2 (2 x 8 + 3) + 8 = 46 FLOPs a row: 3 x 16 x 46 = 2208 */
    for (int i = 0; i < p.world; i++)
        CHECK_REL(p.predicted.ranks[i].op[PHASE_PREFILL][OP_ATTENTION].flops, (double)(10240 + 2208), 1e-12);
    /* ring buffers: two slices' K/V, 2 x (2 rows x 8 x 32 bytes) = 1024 */
    CHECK_REL(p.predicted.ranks[0].comm_buffer_bytes, (double)(1024), 1e-12);
    plan_free(&p);

    /* ---- weights sharded (cp allgather) ---- */
    if (price(&t, &m, seq_strategy(2, 2, CP_ALLGATHER, WEIGHTS_SHARDED), 0, &p, &det) != 0) return;
    for (int i = 0; i < p.world; i++) {
        const attn_rank_report *rr = &p.predicted.ranks[i];
        /* q/k/v on the stage's 32 tokens, half the block's columns (q 8, k 4, v 4):
         * 2 * 32 * 32 * 16 = 32768; MLP up on 32 tokens x 16 columns (64 over 4 ranks) */
        CHECK_REL(rr->op[PHASE_PREFILL][OP_QKV_PROJ].flops, (double)(32768), 1e-12);
        CHECK_REL(rr->op[PHASE_PREFILL][OP_MLP_UP].flops, (double)(32768), 1e-12);
        /* weights: norms 128 + q/k/v 32 x 16 = 512 + o 8 x 32 = 256 + MLP 2 x 16 x 32 = 1024:
         * 1920 elements, 3840 bytes */
        CHECK_REL(rr->weights_bytes, (double)(3840), 1e-12);
        CHECK_REL(rr->kv_cache_bytes, p.ranks[i].seq == 0 ? 640.0 : 576.0, 1e-12);
    }
    /* re-sharding: q/k/v in, 32 tokens x 16 columns x 2 bytes = 1024; the output back, 16
     * tokens x 16 x 2 = 512; o_proj all-reduce over the 4 ranks of the stage on the whole
     * residual: 32 x 32 x 2 = 2048; decode: q gathered 2 rows x 16 x 2 = 64 and k, v 2 x 2 x
     * 8 x 2 = 64, then the merge's 288 */
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_ATTN_COMM, COLL_ALLTOALL, GROUP_SEQ, &n), (double)(1024 + 512), 1e-12);
    CHECK(n == 2, "%d re-sharding lines", n);
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_O_PROJ_ALLREDUCE, COLL_ALLREDUCE, GROUP_SHARD, &n), (double)(2048), 1e-12);
    CHECK(n == 1, "%d shard all-reduce lines", n);
    CHECK_REL(coll_bytes(&det, PHASE_PREFILL, OP_O_PROJ_ALLREDUCE, COLL_ALLREDUCE, GROUP_STAGE, &n), (double)0, 1);
    CHECK_REL(coll_bytes(&det, PHASE_DECODE, OP_ATTN_COMM, COLL_ALLGATHER, GROUP_SEQ, &n), (double)(64 + 64 + 288), 1e-12);
    CHECK(n == 3, "%d decode gather lines", n);
    plan_free(&p);
    topology_free(&t);
}

/* cp ring with s = 4: the first exchange whole, each later pass hidden behind the previous
 * pass's attention (core / s) where it can be. The reference: one send/recv of the ring's
 * buffer between the group's devices (cost_collective_time) and the priced attention. */
static void test_ring_overlap(void) {
    attn_topology t;
    tu_topo_spec ts = tu_h100_spec(1, 4);
    attn_model m;
    CHECK(tu_build_topology(&t, &ts) == 0 && tu_model(&m, ARCH_LLAMA, 1, 8, 2, 64, 1024, DTYPE_FP16, 1, 4096, 0) == 0,
          "inputs");
    if (check_failures) return;
    attn_plan p;
    cost_detail det;
    if (price(&t, &m, seq_strategy(4, 1, CP_RING, WEIGHTS_REPLICATED), 1, &p, &det) != 0) return;
    /* one slice's K/V: 1 row x 1024 positions x 2 kv heads x 128 x 2 bytes = 524288 */
    int devs[4] = {0, 1, 2, 3};
    double one = cost_collective_time(&t, COLL_SENDRECV, devs, 4, 524288, NULL, NULL, NULL);
    int crit = det.critical_rank[PHASE_PREFILL];
    double att = p.predicted.ranks[crit].op[PHASE_PREFILL][OP_ATTENTION].time_s;
    double hidden = one - att / 4 > 0 ? one - att / 4 : 0;
    int found = 0;
    for (int i = 0; i < det.n_coll; i++) {
        const cost_coll_line *l = &det.coll[i];
        if (l->phase != PHASE_PREFILL || l->coll != COLL_SENDRECV || l->group != GROUP_SEQ) continue;
        found = 1;
        CHECK_REL(l->bytes_per_call, (double)(524288), 1e-12);
        CHECK_REL(l->calls, (double)(3), 1e-12);
        CHECK_REL(l->time_s, one + 2 * hidden, 1e-9);
    }
    CHECK(found, "no ring line");
    plan_free(&p);
    topology_free(&t);
}

/* A calibrated s > 1 prefill is looked up at its own calls' point (calibrate.c measures it):
 * with L = 4096 and s = 2 the chunks are 1024 rows, so cp=ring looks up (1024, 2048). Three
 * calibrations differ only in that point's efficiency e (0.1, 0.45, 0.9; a far point at
 * (4096, 4096) holds 0.9): an exact hit makes the attention time F/(peak e) + the same
 * launches and merges, so (t(0.1) - t(0.45)) / (t(0.45) - t(0.9)) = (10 - 1/0.45) /
 * (1/0.45 - 1/0.9) = 7 whatever F and the rest are; a lookup that mixed in the far point
 * would not give 7. */
static void test_calibrated_point(void) {
    attn_topology t;
    tu_topo_spec ts = tu_h100_spec(1, 4);
    attn_model m;
    CHECK(tu_build_topology(&t, &ts) == 0 && tu_model(&m, ARCH_LLAMA, 1, 8, 2, 64, 1024, DTYPE_FP16, 1, 4096, 0) == 0,
          "inputs");
    if (check_failures) return;
    const double effs[3] = {0.1, 0.45, 0.9};
    double att[3];
    for (int k = 0; k < 3; k++) {
        cost_attention_point pts[2] = {{1024, 2048, 64, 8, 4, effs[k]}, {4096, 4096, 64, 8, 4, 0.9}};
        cost_calibration cal;
        memset(&cal, 0, sizeof cal);
        cal.launch_overhead_s = -1;
        cal.n_attention = 2;
        cal.attention = pts;
        attn_plan p;
        cost_detail det;
        if (price_cal(&t, &m, seq_strategy(2, 1, CP_RING, WEIGHTS_REPLICATED), 1, &cal, &p, &det) != 0) return;
        att[k] = p.predicted.ranks[det.critical_rank[PHASE_PREFILL]].op[PHASE_PREFILL][OP_ATTENTION].time_s;
        plan_free(&p);
    }
    CHECK_REL((att[0] - att[1]) / (att[1] - att[2]), 7.0, 1e-9);
    topology_free(&t);
}

/* Invariants: replicated weights are s times the sharded layout's (norms aside: both hold
 * them whole); the KV cache per device at s = 2 is about half of s = 1's at the same n, m;
 * the slices' attention FLOPs near-equal (zigzag); s = 1 plans price as before. */
static void test_invariants(void) {
    attn_topology t4, t2;
    tu_topo_spec s4 = tu_h100_spec(1, 4), s2 = tu_h100_spec(1, 2);
    attn_model m;
    CHECK(tu_build_topology(&t4, &s4) == 0 && tu_build_topology(&t2, &s2) == 0 &&
              tu_model(&m, ARCH_LLAMA, 4, 32, 8, 128, 14336, DTYPE_BF16, 4, 8192, 256) == 0,
          "inputs");
    if (check_failures) return;
    attn_plan rep, shd, one;
    cost_detail det;
    if (price(&t4, &m, seq_strategy(2, 2, CP_ALLGATHER, WEIGHTS_REPLICATED), 1, &rep, &det) != 0) return;
    if (price(&t4, &m, seq_strategy(2, 2, CP_RING, WEIGHTS_SHARDED), 1, &shd, &det) != 0) return;
    attn_strategy s1 = strategy_make(1, 1, 2, 1, SCHEME_NONE);
    if (price(&t2, &m, s1, 1, &one, &det) != 0) return;
    double norms = 4.0 * 2 * m.hidden * 2; /* 4 layers x 2 RMSNorms x hidden x 2 bytes */
    for (int i = 0; i < rep.world; i++) {
        double wr = rep.predicted.ranks[i].weights_bytes, ws = shd.predicted.ranks[i].weights_bytes;
        CHECK_REL(wr - norms, 2 * (ws - norms), 1e-12);
        CHECK_REL(wr, 2 * ws, 1e-4);
        /* the replicated layout holds what s = 1 holds at the same n, m */
        CHECK_REL(wr, one.predicted.ranks[i % 2].weights_bytes, 1e-12);
        /* 4096 + 128 of 8192 + 256 positions: exactly half */
        CHECK_REL(rep.predicted.ranks[i].kv_cache_bytes, 0.5 * one.predicted.ranks[i % 2].kv_cache_bytes, 1e-12);
        CHECK_REL(shd.predicted.ranks[i].kv_cache_bytes, 0.5 * one.predicted.ranks[i % 2].kv_cache_bytes, 1e-12);
        /* zigzag: slice 1's fused attention within 1% of slice 0's */
        CHECK_REL(rep.predicted.ranks[i].op[PHASE_PREFILL][OP_ATTENTION].flops,
                  rep.predicted.ranks[i % 2].op[PHASE_PREFILL][OP_ATTENTION].flops, 1e-2);
        /* and about half of s = 1's */
        CHECK_REL(rep.predicted.ranks[i].op[PHASE_PREFILL][OP_ATTENTION].flops,
                  0.5 * one.predicted.ranks[i % 2].op[PHASE_PREFILL][OP_ATTENTION].flops, 2e-2);
    }
    /* decode reads half the KV: the attention op's bytes about half of s = 1's */
    CHECK_REL(rep.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION].bytes,
              0.5 * one.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION].bytes, 5e-2);
    plan_free(&rep);
    plan_free(&shd);
    plan_free(&one);
    topology_free(&t4);
    topology_free(&t2);
}

/* What the runtime refuses the cost model refuses, with lib's reason. */
static void test_refused(void) {
    attn_topology t;
    tu_topo_spec ts = tu_h100_spec(1, 4);
    attn_model m;
    CHECK(tu_build_topology(&t, &ts) == 0 && tu_model(&m, ARCH_GPT, 1, 4, 2, 8, 64, DTYPE_FP16, 2, 16, 3) == 0,
          "inputs");
    if (check_failures) return;
    attn_plan p;
    cost_detail det;
    char err[256];
    attn_strategy st = seq_strategy(2, 2, CP_RING, WEIGHTS_SHARDED);
    CHECK(cost_price_strategy(&m, &t, &st, NULL, &p, &det, err, sizeof err) == 0, "%s", err);
    if (check_failures) return;
    p.strategy.cp = CP_AUTO; /* a plan no runtime runs: cp left open */
    attn_report r;
    CHECK(cost_price_plan(&p, &t, NULL, &r, &det) != 0, "priced a plan with cp auto");
    CHECK(strstr(det.reason, "cp=ring or cp=allgather") != NULL, "reason: %s", det.reason);
    plan_free(&p);
    topology_free(&t);
}

int main(void) {
    test_zigzag_balance();
    test_hand();
    test_ring_overlap();
    test_calibrated_point();
    test_invariants();
    test_refused();
    if (check_failures) fprintf(stderr, "test_cost_seq: %d failure(s)\n", check_failures);
    else printf("test_cost_seq: ok\n");
    return check_failures ? 1 : 0;
}
