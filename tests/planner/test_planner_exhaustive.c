/* test_planner_exhaustive.c: the GLPK program's optimum equals the exhaustive optimum
 * (same objective to 1e-6 relative) for several models (GPT, llama with GQA, one that
 * strains memory) on small homogeneous and mixed topologies written into the working
 * directory, both objectives and a TPOT limit. Also: every chosen plan passes plan_check
 * and survives a write/load round trip; the mixed topologies exercise each balancing kind;
 * pricing one replica gives the same figures as pricing them all; the bad cases (nothing
 * fits, a TPOT limit nobody meets) fail with the reason. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "planner.h"

static const char *const dev_types =
    "device_types:\n"
    "  fast: {peak_flops: {fp16: 989e12, bf16: 989e12, fp32: 67e12}, memory_bytes: 80e9, memory_bandwidth: 3.35e12}\n"
    "  slow: {peak_flops: {fp16: 312e12, bf16: 312e12, fp32: 19.5e12}, memory_bytes: 40e9, memory_bandwidth: 1.5e12}\n"
    "  mid: {peak_flops: {fp16: 600e12, bf16: 600e12, fp32: 30e12}, memory_bytes: 48e9, memory_bandwidth: 2e12}\n"
    "  tiny: {peak_flops: {fp16: 100e12, bf16: 100e12, fp32: 10e12}, memory_bytes: 1e9, memory_bandwidth: 1e12}\n";

static const char *node_type(const char *name, const char *dev, int n) {
    static char buf[8][256];
    static int at;
    char *b = buf[at++ % 8];
    snprintf(b, 256,
             "  %s: {device: %s, devices: %d, fabric: nvswitch, link: {bandwidth: 300e9, latency: 3e-6},"
             " nic: {bandwidth: 25e9, latency: 5e-6}}\n", name, dev, n);
    return b;
}

/* Writes a topology file and loads it; 0 ok. */
static int make_topology(const char *path, const char *name, const char *node_types, const char *nodes,
                         attn_topology *t) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "name: %s\n%snode_types:\n%snodes:\n%s", name, dev_types, node_types, nodes);
    fclose(f);
    attn_diag d;
    attn_diag_init(&d);
    return topology_load(path, t, &d);
}

static attn_model model(const char *name, attn_arch arch, int layers, int heads, int kv, int d, int ffn, int batch,
                        int seq, int dec) {
    attn_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    m.arch = arch, m.layers = layers, m.heads = heads, m.kv_heads = kv, m.head_dim = d;
    m.hidden = heads * d, m.ffn_hidden = ffn, m.norm_eps = 1e-5, m.rope_theta = 10000, m.dtype = DTYPE_FP16;
    m.workload = (attn_workload){.batch = batch, .seq_len = seq, .decode_tokens = dec};
    return m;
}

static int balance_seen[LIN_BALANCE_COUNT];
static double worst_gap;     /* re-priced choice against the full cost model's best, relative */
static int full_checked;

static double cc_max_ttft, cc_max_e2e; /* serving targets cross_check passes on (0: none) */

/* Program vs exhaustive on one problem; returns the program's status. */
static int cross_check(const char *what, const attn_model *m, const attn_topology *t, lin_objective obj,
                       double max_tpot) {
    cost_options co;
    cost_options_default(&co);
    planner_options o;
    planner_options_init(&o);
    o.objective = obj, o.max_tpot_s = max_tpot, o.progress = 0, o.top = 3;
    o.max_ttft_s = cc_max_ttft, o.max_e2e_s = cc_max_e2e;
    planner_result a, b;
    planner_run(m, t, &co, &o, &a);
    o.exhaustive = 1;
    planner_run(m, t, &co, &o, &b);
    CHECK(a.status == b.status, "%s: program status %d (%s), exhaustive %d (%s)", what, a.status, a.message, b.status,
          b.message);
    for (int k = 0; k < LIN_BALANCE_COUNT; k++) balance_seen[k] += a.n_balance[k];
    if (a.status == 0 && b.status == 0) {
        double rel = fabs(a.objective - b.objective) / fmax(b.objective, 1e-30);
        CHECK(rel <= 1e-6, "%s: program optimum %.12g != exhaustive %.12g", what, a.objective, b.objective);
        /* the full cost model over the same space: never worse than the re-priced choice */
        if (b.has_full) {
            int k = obj == OBJ_TPOT ? MET_TPOT_S : obj == OBJ_PER_GPU ? MET_E2E_LATENCY_S : MET_TTFT_S;
            double chosen = a.best.metric[k], full = b.full_best.metric[k];
            CHECK(full <= chosen * (1 + 1e-9), "%s: full-model best %.9g worse than the choice %.9g", what, full, chosen);
            double gap = chosen / full - 1;
            if (gap > worst_gap) worst_gap = gap;
            if (gap > 0.01) printf("  %s: the choice re-priced is %.2f%% slower than the full model's best\n", what, 100 * gap);
            full_checked++;
        }
        CHECK(a.proven_optimal, "%s: not proven optimal", what);
        attn_diag d;
        attn_diag_init(&d);
        d.quiet = 1;
        CHECK(plan_check(&a.plan, NULL, &d) == 0, "%s: the chosen plan fails plan_check", what);
        if (max_tpot > 0) CHECK(a.best.metric[MET_TPOT_S] <= max_tpot * (1 + 1e-9), "%s: tpot limit broken", what);
        if (cc_max_ttft > 0) CHECK(a.best.metric[MET_TTFT_S] <= cc_max_ttft * (1 + 1e-9), "%s: ttft target broken", what);
        if (cc_max_e2e > 0)
            CHECK(a.best.metric[MET_E2E_LATENCY_S] <= cc_max_e2e * (1 + 1e-9), "%s: latency target broken", what);
        if (obj == OBJ_PER_GPU) { /* the objective's figure is the request latency, by its definition */
            int out = m->workload.decode_tokens > 1 ? m->workload.decode_tokens : 1;
            double e2e = a.best.metric[MET_TTFT_S] + (out - 1) * a.best.metric[MET_TPOT_S];
            CHECK(fabs(a.best.metric[MET_E2E_LATENCY_S] - e2e) <= 1e-12 * e2e, "%s: e2e latency", what);
            CHECK(fabs(a.best.metric[MET_OUTPUT_TOKENS_PER_S_PER_GPU] - (double)m->workload.batch * out / e2e / t->n_devices) <=
                      1e-9 * a.best.metric[MET_OUTPUT_TOKENS_PER_S_PER_GPU],
                  "%s: output tokens/s per GPU", what);
            for (int i = 0; i < a.n_alts; i++) /* nothing ranked above the choice does better per GPU */
                CHECK(a.alts[i].program_obj_s >= a.best.program_obj_s * (1 - 1e-9), "%s: alternative %d beats the choice",
                      what, i);
        }
        /* round trip through the file */
        CHECK(plan_write("planner_test_plan.yaml", &a.plan, &d) == 0, "%s: plan_write failed", what);
        attn_plan back;
        if (plan_load("planner_test_plan.yaml", &back, &d) == 0) {
            CHECK(back.world == a.plan.world && back.proven_optimal == a.plan.proven_optimal,
                  "%s: plan changed in the round trip", what);
            CHECK(plan_check(&back, "planner_test_plan.yaml", &d) == 0, "%s: loaded plan fails plan_check", what);
            plan_free(&back);
        } else {
            CHECK(0, "%s: plan_load failed", what);
        }
    }
    int st = a.status;
    planner_result_free(&a);
    planner_result_free(&b);
    return st;
}

/* The replica-symmetry shortcut gives the same ranking as pricing every replica. */
static void check_symmetry(const attn_model *m, const attn_topology *t) {
    cost_options co;
    cost_options_default(&co);
    planner_options o;
    planner_options_init(&o);
    o.progress = 0, o.top = 1000;
    planner_result a, b;
    planner_run(m, t, &co, &o, &a);
    o.no_symmetry = 1;
    planner_run(m, t, &co, &o, &b);
    CHECK(a.status == 0 && b.status == 0 && a.n_alts == b.n_alts && a.n_alts > 3, "symmetry: %d/%d alternatives",
          a.n_alts, b.n_alts);
    for (int i = 0; i < a.n_alts && i < b.n_alts; i++) {
        double x = a.alts[i].program_pre_s, y = b.alts[i].program_pre_s;
        CHECK(fabs(x - y) <= 1e-12 * fmax(x, y), "symmetry: alternative %d: %.15g vs %.15g", i, x, y);
        CHECK(a.alts[i].program_dec_s == b.alts[i].program_dec_s || fabs(a.alts[i].program_dec_s - b.alts[i].program_dec_s) <=
              1e-12 * a.alts[i].program_dec_s, "symmetry: alternative %d tpot differs", i);
    }
    planner_result_free(&a);
    planner_result_free(&b);
}

int main(void) {
    attn_topology homo1, homo2, mix2, mix3, tiny;
    char nt[1024];
    int bad = make_topology("pt_homo1.yaml", "homo1", node_type("n4", "fast", 4), "  - {type: n4, count: 1}\n", &homo1);
    bad |= make_topology("pt_homo2.yaml", "homo2", node_type("n4", "fast", 4), "  - {type: n4, count: 2}\n", &homo2);
    snprintf(nt, sizeof nt, "%s%s", node_type("slow4", "slow", 4), node_type("fast4", "fast", 4));
    bad |= make_topology("pt_mix2.yaml", "mix2", nt, "  - {type: slow4, count: 1}\n  - {type: fast4, count: 1}\n", &mix2);
    snprintf(nt, sizeof nt, "%s%s%s", node_type("slow2", "slow", 2), node_type("mid2", "mid", 2), node_type("fast4", "fast", 4));
    bad |= make_topology("pt_mix3.yaml", "mix3", nt,
                         "  - {type: fast4, count: 1}\n  - {type: slow2, count: 1}\n  - {type: mid2, count: 1}\n", &mix3);
    bad |= make_topology("pt_tiny.yaml", "tiny", node_type("t4", "tiny", 4), "  - {type: t4, count: 1}\n", &tiny);
    if (bad) {
        fprintf(stderr, "could not write or load the test topologies\n");
        return 1;
    }
    attn_model models[3] = {
        model("gpt-small", ARCH_GPT, 4, 8, 8, 64, 2048, 8, 512, 16),
        model("llama-gqa", ARCH_LLAMA, 6, 8, 2, 64, 1408, 6, 256, 8),
        model("gpt-wide", ARCH_GPT, 3, 4, 4, 128, 4096, 12, 2048, 4),
    };
    const attn_topology *topos[4] = {&homo1, &homo2, &mix2, &mix3};
    int solved = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int obj = 0; obj < 2; obj++) {
                char what[160];
                snprintf(what, sizeof what, "%.40s on %.40s, %s", models[i].name, topos[j]->name, obj ? "tpot" : "throughput");
                solved += cross_check(what, &models[i], topos[j], (lin_objective)obj, 0) == 0;
            }
    /* a TPOT limit that binds: half way between the best and the worst plan's tpot */
    solved += cross_check("llama-gqa on mix2, throughput, tpot limit", &models[1], &mix2, OBJ_THROUGHPUT, 2e-3) == 0;

    check_symmetry(&models[0], &homo2);

    /* the serving objective (least request latency = most output tokens/s per GPU), without
     * targets, then with a ttft target that binds: the fastest-prefill alternative's ttft,
     * met by it and missed by the unconstrained choice whenever that choice differs */
    int ttft_bound = 0;
    attn_model serving[4] = {models[0], models[1], models[2],
                             model("llama-long-output", ARCH_LLAMA, 6, 8, 2, 64, 1408, 6, 256, 1024)};
    for (int i = 0; i < 4; i++) {
        char what[160];
        snprintf(what, sizeof what, "%.40s on mix2, throughput-per-gpu", serving[i].name);
        solved += cross_check(what, &serving[i], &mix2, OBJ_PER_GPU, 0) == 0;
        cost_options co;
        cost_options_default(&co);
        planner_options o;
        planner_options_init(&o);
        o.objective = OBJ_PER_GPU, o.progress = 0, o.top = 1000;
        planner_result r;
        if (planner_run(&serving[i], &mix2, &co, &o, &r) == 0 && r.status == 0) {
            /* 3% under the unconstrained choice's ttft: that choice is out */
            cc_max_ttft = r.best.metric[MET_TTFT_S] * 0.97;
            snprintf(what, sizeof what, "%.40s on mix2, throughput-per-gpu, ttft <= %.4g s", serving[i].name, cc_max_ttft);
            int st = cross_check(what, &serving[i], &mix2, OBJ_PER_GPU, 0);
            solved += st == 0;
            ttft_bound += st == 0;
            cc_max_ttft = 0;
            {
                /* a request-latency target at the choice's own re-priced latency: program and enumeration agree under it */
                cc_max_e2e = r.best.metric[MET_E2E_LATENCY_S] * (1 + 1e-6);
                snprintf(what, sizeof what, "%.40s on mix2, throughput-per-gpu, e2e <= %.4g s", serving[i].name, cc_max_e2e);
                solved += cross_check(what, &serving[i], &mix2, OBJ_PER_GPU, 0) == 0;
                cc_max_e2e = 0;
            }
        }
        planner_result_free(&r);
    }
    /* on mix2 these choices are also the fastest prefills, so the target leaves nothing: the
     * program and the enumeration must agree on that too (tests/planner/cli.sh has a target
     * that binds and is met) */
    (void)ttft_bound;

    /* odd shapes: random models (heads not powers of two, GQA ratios, uneven layers) */
    unsigned long long seed = 12345;
    for (int i = 0; i < 12; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned v = (unsigned)(seed >> 33);
        int kv = 1 + (int)(v % 4), group = 1 + (int)((v >> 3) % 3), heads = kv * group;
        int layers = 2 + (int)((v >> 6) % 5), d = 16 * (1 + (int)((v >> 9) % 4));
        int ffn = 8 * (8 + (int)((v >> 12) % 40)), batch = 1 + (int)((v >> 18) % 9);
        attn_model rm = model("random", (v >> 22) & 1 ? ARCH_LLAMA : ARCH_GPT, layers, heads, kv, d, ffn, batch,
                              64 + (int)((v >> 23) % 4) * 96, (int)((v >> 25) % 5));
        char what[160];
        snprintf(what, sizeof what, "random model %d (h=%d kv=%d d=%d L=%d ffn=%d B=%d)", i, heads, kv, d, layers, ffn,
                 batch);
        solved += cross_check(what, &rm, topos[1 + i % 3], (lin_objective)(i % 2), 0) == 0;
    }

    CHECK(solved >= 30, "only %d problems solved: the cross-check does not exercise the planner", solved);
    CHECK(balance_seen[LIN_ROWS] > 0 && balance_seen[LIN_LAYERS] > 0 && balance_seen[LIN_SHARES] > 0 &&
          balance_seen[LIN_SEGS] > 0, "balancing kinds seen: rows %d layers %d shares %d segs %d",
          balance_seen[LIN_ROWS], balance_seen[LIN_LAYERS], balance_seen[LIN_SHARES], balance_seen[LIN_SEGS]);

    /* the sequence axis: 2 query heads sharing 1 kv head over 32768 positions, one
     * sequence, on 8 GPUs: heads give at most n = 2, m splits neither the attention
     * (qk-allgather computes the scores redundantly) nor, with 1 head per group, runs
     * head-alltoall, and one row leaves dp and a pipeline nothing to overlap; slicing the
     * sequence does. The program and the exhaustive search agree, and choose s > 1 */
    attn_model longseq = model("long-seq", ARCH_LLAMA, 4, 2, 1, 128, 1024, 1, 32768, 16);
    for (int obj = 0; obj < 2; obj++) {
        char what[96];
        snprintf(what, sizeof what, "long-seq on homo2, %s", obj ? "tpot" : "throughput");
        solved += cross_check(what, &longseq, &homo2, (lin_objective)obj, 0) == 0;
    }
    {
        cost_options lco;
        cost_options_default(&lco);
        planner_options lo;
        planner_options_init(&lo);
        lo.progress = 0, lo.top = 50;
        for (int ex = 0; ex < 2; ex++) {
            planner_result lr;
            lo.exhaustive = ex;
            planner_run(&longseq, &homo2, &lco, &lo, &lr);
            CHECK(lr.status == 0 && strategy_seq(&lr.plan.strategy) > 1 && lr.plan.strategy.cp != CP_AUTO &&
                      lr.plan.strategy.weights != WEIGHTS_AUTO,
                  "long-seq (%s): status %d, chosen s=%d", ex ? "exhaustive" : "program", lr.status, lr.plan.strategy.s);
            int seq_alts = 0, flat_alts = 0;
            for (int i = 0; i < lr.n_alts; i++) {
                if (strategy_seq(&lr.alts[i].strategy) > 1) seq_alts++;
                else flat_alts++;
            }
            /* ranked beside the others: both kinds among the alternatives */
            CHECK(seq_alts > 0 && flat_alts > 0, "long-seq: %d s > 1 and %d s = 1 alternatives", seq_alts, flat_alts);
            /* the seq groups' link class follows the placement: one node of 4 holds each group of s <= 4 */
            for (int g = 0; lr.status == 0 && g < lr.plan.n_groups; g++)
                if (lr.plan.groups[g].kind == GROUP_SEQ) {
                    int nodes_differ = 0;
                    for (int k = 1; k < lr.plan.groups[g].n_ranks; k++)
                        nodes_differ |= lr.plan.ranks[lr.plan.groups[g].ranks[k]].node !=
                                        lr.plan.ranks[lr.plan.groups[g].ranks[0]].node;
                    CHECK(lr.plan.groups[g].link == (nodes_differ ? LINK_NETWORK : LINK_NODE),
                          "seq group %d: link %d, members on %s", g, lr.plan.groups[g].link,
                          nodes_differ ? "two nodes" : "one node");
                }
            planner_result_free(&lr);
        }
    }

    /* nothing fits: 1 GB devices */
    attn_model big = model("big", ARCH_GPT, 64, 16, 16, 128, 16384, 8, 2048, 0); /* ~11 GB of weights */
    cost_options co;
    cost_options_default(&co);
    planner_options o;
    planner_options_init(&o);
    o.progress = 0;
    planner_result r;
    planner_run(&big, &tiny, &co, &o, &r);
    CHECK(r.status == 1 && r.min_shortfall_bytes > 0 && r.n_nofit > 0, "no-fit: status %d shortfall %g", r.status,
          r.min_shortfall_bytes);
    planner_result_free(&r);
    /* a TPOT limit nobody meets */
    o.max_tpot_s = 1e-9;
    planner_run(&models[0], &homo1, &co, &o, &r);
    CHECK(r.status == 1 && r.n_limit > 0, "tpot limit: status %d, %d over the limit", r.status, r.n_limit);
    planner_result_free(&r);

    topology_free(&homo1), topology_free(&homo2), topology_free(&mix2), topology_free(&mix3), topology_free(&tiny);
    CHECK(full_checked >= 10, "the full cost model check ran on only %d problems", full_checked);
    printf("test_planner_exhaustive: %d problems solved, balancing rows %d layers %d shares %d segs %d; full cost "
           "model checked on %d, worst gap of the choice %.2f%%; %d failures\n", solved, balance_seen[LIN_ROWS],
           balance_seen[LIN_LAYERS], balance_seen[LIN_SHARES], balance_seen[LIN_SEGS], full_checked, 100 * worst_gap,
           check_failures);
    return check_failures ? 1 : 0;
}
