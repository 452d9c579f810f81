/* test_cost_fused.c: the fused attention op (OP_ATTENTION) and the graph-launched decode
 * step (docs/cost-model.md, "Fused attention", "Decode steps as one graph launch").
 * Hand-computed cases (the tiles of lib/attn_tiling.h's GPU rule worked out on paper, the
 * FLOPs, bytes, launches and roofline from the doc's formulas), then invariants: causal
 * skipping halves the tiles at long L, the fused op never moves more HBM bytes than the
 * unfused scores/softmax/P.V of the same shape, score-allreduce is priced as before
 * whatever the option, and a graph-launched step saves exactly the launches it replays. */
#include <stdlib.h>
#include <string.h>
#include "cost_test_util.h"

/* An H100-like device with the GPU tile rule (132 SMs) and a fused efficiency of 0.35. */
static int gpu_topology(attn_topology *t, int devices) {
    tu_topo_spec s = tu_h100_spec(1, devices);
    if (tu_build_topology(t, &s) != 0) return -1;
    t->dev_types[0].attention_gpu = 1;
    t->dev_types[0].attention_units = 132;
    t->dev_types[0].attention_efficiency = 0.35;
    return 0;
}

static int price(const attn_model *m, const attn_topology *t, attn_strategy st, int fused, attn_plan *p,
                 cost_detail *det) {
    cost_options o;
    cost_options_default(&o);
    o.fused_attention = fused;
    char err[256];
    int rc = cost_price_strategy(m, t, &st, &o, p, det, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    return rc;
}

/* gpt, 8 heads x 64, batch 2, L = 256, one H100, fused prefill. GPU tiles 64 x 64; the
 * four query tiles see 64, 128, 192, 256 keys: 10 tiles, 640 key rows, 64 * 640 = 40960
 * pairs per (sequence, head). 2 x 4 x 8 = 64 CTAs < 2 x 132 but 4 key tiles allow no split.
 *   FLOPs 2 (64 + 64) x 16 x 40960 = 167772160
 *   bytes Q 2 x 16 x 256 x 64 = 524288; K and V 2 x 16 x 640 x 128 / 4 (the 4 query tiles
 *         of a head read its key tiles together) = 655360; O 524288; LSE 4 x 16 x 256 = 16384
 *   time  max(167772160 / (989e12 x 0.35), 1720320 / (3.35e12 x 0.85)) + 5 us (memory-bound) */
static void test_prefill_hand(void) {
    attn_topology t;
    attn_model m;
    CHECK(gpu_topology(&t, 1) == 0 && tu_model(&m, ARCH_GPT, 1, 8, 8, 64, 1024, DTYPE_FP16, 2, 256, 0) == 0,
          "inputs");
    attn_plan p;
    cost_detail det;
    if (price(&m, &t, (attn_strategy){1, 1, 1, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO}, 1, &p, &det) != 0) return;
    const attn_op_cost *a = &p.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTENTION];
    CHECK_REL(a->flops, 167772160.0, 1e-12);
    CHECK_REL(a->bytes, 1720320.0, 1e-12);
    double compute = 167772160.0 / (989e12 * 0.35), memory = 1720320.0 / (3.35e12 * 0.85);
    CHECK(memory > compute, "the case is meant memory-bound");
    CHECK_REL(a->time_s, memory + 5e-6, 1e-12);
    CHECK(p.predicted.ranks[0].op[PHASE_PREFILL][OP_SCORES].time_s == 0 &&
              p.predicted.ranks[0].op[PHASE_PREFILL][OP_SOFTMAX].time_s == 0 &&
              p.predicted.ranks[0].op[PHASE_PREFILL][OP_PV].time_s == 0,
          "fused: no scores, softmax or P.V");
    CHECK(det.attention_calls[PHASE_PREFILL] == 1 && det.attention_tiles[PHASE_PREFILL] == 10 &&
              det.attention_q_tile[PHASE_PREFILL] == 64 && det.attention_k_tile[PHASE_PREFILL] == 64,
          "calls %g tiles %g", det.attention_calls[PHASE_PREFILL], det.attention_tiles[PHASE_PREFILL]);
    plan_free(&p);
    topology_free(&t);
}

/* A calibration's attention table: at its exact shape the fused op is priced at the
 * measured efficiency alone (no memory roofline, as a calibrated GEMM): the case above at
 * 0.5 of peak, no launch cost: 167772160 / (989e12 x 0.5). Off the table's points the
 * efficiency lies between them. */
static void test_calibrated(void) {
    attn_topology t;
    attn_model m;
    CHECK(gpu_topology(&t, 1) == 0 && tu_model(&m, ARCH_GPT, 1, 8, 8, 64, 1024, DTYPE_FP16, 2, 256, 0) == 0,
          "inputs");
    cost_attention_point pts[2] = {{256, 256, 64, 16, 1, 0.5}, {1, 257, 64, 16, 1, 0.1}};
    cost_calibration cal;
    memset(&cal, 0, sizeof cal);
    cal.n_attention = 2;
    cal.attention = pts;
    cal.launch_overhead_s = 0;
    cost_options o;
    cost_options_default(&o);
    o.calibration = &cal;
    attn_plan p;
    char err[256];
    attn_strategy st = {1, 1, 1, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO};
    CHECK(cost_price_strategy(&m, &t, &st, &o, &p, NULL, err, sizeof err) == 0, "%s", err);
    if (check_failures) return;
    CHECK_REL(p.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTENTION].time_s, 167772160.0 / (989e12 * 0.5), 1e-12);
    /* decode at L = 256 is the second point: 2 x 128 x 16 x 257 FLOPs at 0.1 */
    CHECK_REL(p.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION].time_s, 2.0 * 128 * 16 * 257 / (989e12 * 0.1), 1e-12);
    plan_free(&p);
    /* batch 3: between the points' pairs (16 and 24 pairs), an interpolated efficiency */
    tu_model(&m, ARCH_GPT, 1, 8, 8, 64, 1024, DTYPE_FP16, 3, 256, 0);
    CHECK(cost_price_strategy(&m, &t, &st, &o, &p, NULL, err, sizeof err) == 0, "%s", err);
    if (check_failures) return;
    const attn_op_cost *a = &p.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTENTION];
    double eff = a->flops / (989e12 * a->time_s);
    CHECK(eff > 0.1 && eff < 0.5, "interpolated efficiency %g", eff);
    plan_free(&p);
    topology_free(&t);
}

/* The same model at L = 1024, one decode step: one query row (position 1024) against 1025
 * keys, 17 key tiles; 16 CTAs leave the 132 SMs idle, so flash-decoding splits the keys:
 * at most 17 / 4 = 4 ranges of 5 tiles (320 keys), 4 ranges. One tile row, 1025 key rows,
 * 1 x 1025 pairs.
 *   FLOPs 2 x 128 x 16 x 1025 = 4198400
 *   bytes Q 2 x 16 x 64 = 2048; K and V 2 x 16 x 1025 x 128 = 4198400 (one query tile: no
 *         sharing); O 2048; LSE 64; partials written and merged 2 x 4 x 16 x 4 x 65 = 33280
 *   launches 2 (attention and merge); memory-bound. */
static void test_decode_split_hand(void) {
    attn_topology t;
    attn_model m;
    CHECK(gpu_topology(&t, 1) == 0 && tu_model(&m, ARCH_GPT, 1, 8, 8, 64, 1024, DTYPE_FP16, 2, 1024, 0) == 0,
          "inputs");
    attn_plan p;
    cost_detail det;
    if (price(&m, &t, (attn_strategy){1, 1, 1, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO}, 1, &p, &det) != 0) return;
    const attn_op_cost *a = &p.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION];
    CHECK_REL(a->flops, 4198400.0, 1e-12);
    double bytes = 2048 + 4198400 + 2048 + 64 + 33280;
    CHECK_REL(a->bytes, bytes, 1e-12);
    CHECK_REL(a->time_s, bytes / (3.35e12 * 0.85) + 2 * 5e-6, 1e-12);
    CHECK(det.attention_kv_splits[PHASE_DECODE] == 4 && det.attention_calls[PHASE_DECODE] == 2,
          "splits %d calls %g", det.attention_kv_splits[PHASE_DECODE], det.attention_calls[PHASE_DECODE]);
    plan_free(&p);
    topology_free(&t);
}

/* A decode step replayed from a graph: every kernel costs the graph's per-node figure
 * instead of the eager launch, and the step one graph launch. The gpt layer issues 12
 * kernels (2 norms, 3 projections, o_proj, 2 residuals, up, act, down, the KV write) and
 * the fused attention 2 (split): 14 per layer, 2 layers. The TP2 all-reduces' alpha terms
 * shrink by the graph's collective-latency factor. */
static void test_graph_decode(void) {
    attn_topology t;
    attn_model m;
    CHECK(gpu_topology(&t, 2) == 0 && tu_model(&m, ARCH_GPT, 2, 8, 8, 64, 1024, DTYPE_FP16, 2, 1024, 0) == 0,
          "inputs");
    attn_strategy st = {1, 1, 2, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO};
    attn_plan e, g;
    cost_detail de, dg;
    if (price(&m, &t, st, 1, &e, &de) != 0) return;
    attn_device_type *dt = &t.dev_types[0];
    dt->graph = 1;
    dt->graph_launch_s = 15e-6;
    dt->graph_kernel_s = 0.5e-6;
    dt->graph_coll_latency_scale = 0.25;
    if (price(&m, &t, st, 1, &g, &dg) != 0) return;
    CHECK(!de.graph_decode && dg.graph_decode, "graph flags %d %d", de.graph_decode, dg.graph_decode);
    CHECK_REL(de.decode_launch_s, 2 * 14 * 5e-6, 1e-12);
    CHECK_REL(dg.decode_launch_s, 2 * 14 * 0.5e-6 + 15e-6, 1e-12);
    /* the all-reduces (2 per layer, 2 layers) as NCCL's model prices them (cost_nccl.c):
     * captured, their latency terms are a quarter, their bandwidth terms unchanged */
    double coll_e = 0, coll_g = 0;
    for (int i = 0; i < de.n_coll; i++)
        if (de.coll[i].phase == PHASE_DECODE) coll_e += de.coll[i].time_s;
    for (int i = 0; i < dg.n_coll; i++)
        if (dg.coll[i].phase == PHASE_DECODE) coll_g += dg.coll[i].time_s;
    CHECK(coll_g < coll_e && coll_g > 0.25 * coll_e, "decode collectives %g s captured, %g s eager", coll_g, coll_e);
    double saved = 2 * 14 * (5e-6 - 0.5e-6) - 15e-6 + (coll_e - coll_g);
    CHECK_REL(e.predicted.metric[MET_TPOT_S] - g.predicted.metric[MET_TPOT_S], saved, 1e-9);
    /* prefill is eager either way */
    CHECK_REL(g.predicted.metric[MET_TTFT_S], e.predicted.metric[MET_TTFT_S], 1e-12);
    plan_free(&e);
    plan_free(&g);
    topology_free(&t);
}

/* Causal skipping: at L = 16384 the GPU rule computes (n + 1) / 2n of the tiles of a
 * non-causal call (every key visible: queries placed after the keys), n = 256 query
 * tiles: just over half. */
static void test_causal_halves(void) {
    attn_fused_tiling c, full;
    attn_fused_plan(&c, ATTN_FUSED_GPU, 1, 32, 16384, 16384, 0, 0, 128, 128, 132);
    attn_fused_plan(&full, ATTN_FUSED_GPU, 1, 32, 16384, 16384, 16384, 0, 128, 128, 132);
    CHECK_REL(full.tiles, 256.0 * 256, 1e-12);
    CHECK_REL(c.tiles / full.tiles, 257.0 / 512, 1e-12);
    CHECK_REL(c.pairs / full.pairs, 257.0 / 512, 1e-12);
    attn_fused_plan(&c, ATTN_FUSED_CPU, 1, 8, 4096, 4096, 0, 0, 64, 64, 0);
    attn_fused_plan(&full, ATTN_FUSED_CPU, 1, 8, 4096, 4096, 4096, 0, 64, 64, 0);
    CHECK(c.tiles / full.tiles > 0.5 && c.tiles / full.tiles < 0.55, "CPU rule: %g", c.tiles / full.tiles);
}

static double unfused_bytes(const attn_op_cost *op) {
    return op[OP_SCORES].bytes + op[OP_SOFTMAX].bytes + op[OP_PV].bytes;
}

/* The fused op never moves more HBM bytes than the unfused ops of the same shape, in
 * either phase, MHA and GQA, every fusing scheme, on the GPU rule and on the CPU rule
 * (head width 64); and at long L its prefill is faster. */
static void test_fused_reads_less(void) {
    static const struct {
        int heads, kv, d, L, batch, cpu;
        attn_strategy st;
    } cases[] = {
        {8, 8, 64, 512, 4, 0, {1, 1, 1, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
        {32, 8, 128, 4096, 2, 0, {1, 1, 2, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
        {32, 8, 128, 16384, 1, 0, {1, 1, 1, 2, SCHEME_HEAD_ALLTOALL, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
        {16, 16, 128, 8192, 2, 0, {1, 1, 1, 2, SCHEME_QK_ALLGATHER, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
        {8, 8, 256, 2048, 8, 0, {1, 1, 2, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
        {8, 2, 64, 4096, 1, 1, {1, 1, 1, 1, SCHEME_NONE, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
        {8, 8, 64, 512, 4, 1, {1, 1, 1, 2, SCHEME_QK_ALLGATHER, 1, 1, CP_AUTO, WEIGHTS_AUTO}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        attn_topology t;
        attn_model m;
        int devs = cases[k].st.n * cases[k].st.m;
        CHECK(gpu_topology(&t, devs) == 0 &&
                  tu_model(&m, ARCH_LLAMA, 1, cases[k].heads, cases[k].kv, cases[k].d, 1024, DTYPE_BF16,
                           cases[k].batch, cases[k].L, 0) == 0,
              "inputs %zu", k);
        if (cases[k].cpu) t.dev_types[0].attention_gpu = 0;
        attn_plan f, u;
        cost_detail df, du;
        if (price(&m, &t, cases[k].st, 1, &f, &df) != 0 || price(&m, &t, cases[k].st, 0, &u, &du) != 0) {
            topology_free(&t);
            continue;
        }
        for (int i = 0; i < f.world; i++)
            for (int ph = 0; ph < PHASE_COUNT; ph++) {
                double fb = f.predicted.ranks[i].op[ph][OP_ATTENTION].bytes;
                double ub = unfused_bytes(u.predicted.ranks[i].op[ph]);
                CHECK(fb > 0 && fb <= ub, "case %zu rank %d %s: fused %g bytes, unfused %g", k, i, attn_phase_names[ph],
                      fb, ub);
                CHECK(u.predicted.ranks[i].op[ph][OP_ATTENTION].bytes == 0, "unfused has no fused op");
            }
        if (cases[k].L >= 4096 && !cases[k].cpu) {
            double ft = f.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTENTION].time_s;
            const attn_op_cost *uo = u.predicted.ranks[0].op[PHASE_PREFILL];
            double ut = uo[OP_SCORES].time_s + uo[OP_SOFTMAX].time_s + uo[OP_PV].time_s;
            CHECK(ft < ut, "case %zu: fused prefill %g s, unfused %g s", k, ft, ut);
        }
        plan_free(&f);
        plan_free(&u);
        topology_free(&t);
    }
}

/* score-allreduce cannot fuse: the option changes nothing of its prices. */
static void test_score_allreduce_unchanged(void) {
    attn_topology t;
    attn_model m;
    CHECK(gpu_topology(&t, 4) == 0 && tu_model(&m, ARCH_GPT, 2, 8, 8, 64, 2048, DTYPE_FP16, 2, 4096, 4) == 0,
          "inputs");
    attn_strategy st = {1, 1, 2, 2, SCHEME_SCORE_ALLREDUCE, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    attn_plan f, u;
    cost_detail df, du;
    if (price(&m, &t, st, 1, &f, &df) != 0 || price(&m, &t, st, 0, &u, &du) != 0) return;
    for (int k = 0; k < MET_COUNT; k++) CHECK(f.predicted.metric[k] == u.predicted.metric[k], "metric %d", k);
    CHECK(f.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTENTION].time_s == 0 &&
              f.predicted.ranks[0].op[PHASE_PREFILL][OP_SCORES].time_s > 0,
          "score-allreduce keeps scores, softmax, P.V");
    plan_free(&f);
    plan_free(&u);
    topology_free(&t);
}

int main(void) {
    test_prefill_hand();
    test_decode_split_hand();
    test_calibrated();
    test_graph_decode();
    test_causal_halves();
    test_fused_reads_less();
    test_score_allreduce_unchanged();
    if (check_failures) fprintf(stderr, "test_cost_fused: %d failure(s)\n", check_failures);
    else printf("test_cost_fused: ok\n");
    return check_failures ? 1 : 0;
}
