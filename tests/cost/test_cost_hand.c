/* test_cost_hand.c: cost-model cases computed by hand and asserted to the digit (relative
 * 1e-12): one GEMM compute-bound and one memory-bound, an all-reduce over 8 NVSwitch GPUs,
 * one over 16 GPUs in two nodes (hierarchical) and in one NVLink domain (flat), a pipeline
 * with its bubble (the formula, and a priced plan rebuilt from its report), and the
 * score-allreduce volume with causal chunk skipping, and uneven shares on mixed devices
 * priced per device. The literals were worked out from the
 * formulas in docs/cost-model.md with exact rational arithmetic, not by calling the code. */
#include <stdlib.h>
#include <string.h>
#include "cost_test_util.h"

static void test_gemm(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(1, 1);
    CHECK(tu_build_topology(&t, &s) == 0, "topology");
    const attn_device_type *dt = &t.dev_types[0];
    /* 4096^3 fp16: 2*4096^3 = 137438953472 FLOPs / (989e12 * 0.75) = 185.290129 us, plus
     * 5 us launch; bytes 3*4096^2*2 = 100663296 / (3.35e12 * 0.85) = 35.35 us < compute. */
    CHECK_REL(cost_gemm_time(dt, DTYPE_FP16, 4096, 4096, 4096, 1, NULL), 0.0001902901293859117, 1e-12);
    /* decode-shaped 128 x 4096 x 4096: 4294967296 FLOPs -> 5.790 us; bytes
     * 2*(128*4096 + 4096*4096 + 128*4096) = 35651584 / 2.8475e12 = 12.520 us: memory-bound. */
    CHECK_REL(cost_gemm_time(dt, DTYPE_FP16, 128, 4096, 4096, 1, NULL), 1.7520310447761196e-05, 1e-12);
    /* a calibration table with one exact point overrides the efficiency: 0.5 of peak */
    cost_gemm_point pt = {4096, 4096, 4096, 0.5, 1};
    cost_calibration cal;
    memset(&cal, 0, sizeof cal);
    cal.n_gemm = 1;
    cal.gemm = &pt;
    cal.launch_overhead_s = 0;
    /* 137438953472 / 494.5e12 = 277.935194 us, no launch */
    CHECK_REL(cost_gemm_time(dt, DTYPE_FP16, 4096, 4096, 4096, 1, &cal), 137438953472.0 / 494.5e12, 1e-12);
    topology_free(&t);
}

/* GEMMs by shape (cost_gemm.c): waves of gemm_tile tiles over sms, bandwidth-bound GEMMs at
 * gemm_bandwidth_efficiency, and gemm_latency on every kernel. */
static void test_gemm_shape(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(1, 1);
    CHECK(tu_build_topology(&t, &s) == 0, "topology");
    attn_device_type dt = t.dev_types[0];
    dt.sms = 4;
    dt.gemm_tile = 64;
    dt.gemm_latency_s = 1e-6;
    dt.gemm_bandwidth_efficiency = 0.5;
    /* 128 x 128: 4 tiles on 4 SMs, one full wave; 128 x 192: 6 tiles, 2 waves of 4: 6/8 */
    CHECK_REL(cost_gemm_wave_fraction(&dt, 128, 128), 1.0, 1e-12);
    CHECK_REL(cost_gemm_wave_fraction(&dt, 128, 192), 0.75, 1e-12);
    CHECK_REL(cost_gemm_wave_fraction(&dt, 1, 4096), 64.0 / 64, 1e-12); /* 64 tiles: 16 full waves */
    /* compute-bound on a slow device (1 TFLOP/s fp16, eff 0.75): 128 x 192 x 65536 is
     * 2*128*192*65536 = 3221225472 FLOPs / (1e12 * 0.75 * 0.75), + 1 us latency + 5 us launch;
     * its bytes 2*(128*65536 + 65536*192 + 128*192) = 41992192 / 1.675e12 = 25 us are less */
    attn_device_type slow = dt;
    slow.peak_flops[DTYPE_FP16] = 1e12;
    CHECK_REL(cost_gemm_time(&slow, DTYPE_FP16, 128, 192, 65536, 1, NULL), 3221225472.0 / 0.5625e12 + 1e-6 + 5e-6,
              1e-12);
    /* decode-shaped 1 x 4096 x 4096: bandwidth-bound, 2*(4096 + 4096*4096 + 4096) = 33570816
     * bytes at 3.35e12 * 0.5 (not the copy's 0.85), + 1 us + 5 us */
    CHECK_REL(cost_gemm_time(&dt, DTYPE_FP16, 1, 4096, 4096, 1, NULL), 33570816.0 / 1.675e12 + 6e-6, 1e-12);
    CHECK_REL(cost_gemm_bandwidth(&dt), 1.675e12, 1e-12);
    /* without gemm_bandwidth_efficiency the copy's memory_efficiency streams the operands */
    dt.gemm_bandwidth_efficiency = 0;
    CHECK_REL(cost_gemm_bandwidth(&dt), 3.35e12 * 0.85, 1e-12);
    topology_free(&t);
}

static void test_allreduce(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(2, 8);
    CHECK(tu_build_topology(&t, &s) == 0, "topology");
    int devs[16];
    for (int i = 0; i < 16; i++) devs[i] = i;
    const double S = 268435456; /* 256 MiB */
    attn_link link;
    int hier;
    /* 8 GPUs, NVSwitch, no nvls in the fabric: NCCL's ring with the Simple protocol,
     * base 8.4 us + 2*7 NVLink steps of 3.4 us (cost_nccl.c, tuning.cc's constants)
     * + 2*7/8 * S / (450e9*0.82) = 56 us + 1273.0679 us */
    double t8 = cost_collective_time(&t, COLL_ALLREDUCE, devs, 8, S, NULL, &link, &hier);
    CHECK_REL(t8, 56e-6 + 1.75 * S / (450e9 * 0.82), 1e-12);
    CHECK(link == LINK_NODE && hier == 0, "link %d hier %d", (int)link, hier);
    /* 16 GPUs over two nodes: a ring through both (it beats the tree's half bandwidth):
     * base 8.4 us + 28 NVLink steps at max(3.4, 3 x 1 us net overhead) + 2 network steps of
     * 14 us; bus bandwidth min(369e9 NVLink, 8 NICs x 47e9) = 369e9 over 2*15/16 of S */
    double t16 = cost_collective_time(&t, COLL_ALLREDUCE, devs, 16, S, NULL, &link, &hier);
    CHECK_REL(t16, 8.4e-6 + 28 * 3.4e-6 + 2 * 14e-6 + 30.0 / 16 * S / (450e9 * 0.82), 1e-12);
    CHECK(link == LINK_NETWORK && hier == 1, "link %d hier %d", (int)link, hier);
    topology_free(&t);

    /* the same 16 GPUs in one NVLink domain: one ring over NVLink, 8.4 + 30 * 3.4 us +
     * 2*15/16*S/(450e9*0.8) */
    s.domain_nodes = 2;
    CHECK(tu_build_topology(&t, &s) == 0, "topology");
    double td = cost_collective_time(&t, COLL_ALLREDUCE, devs, 16, S, NULL, &link, &hier);
    CHECK_REL(td, 8.4e-6 + 30 * 3.4e-6 + 30.0 / 16 * S / 360e9, 1e-12);
    CHECK(link == LINK_DOMAIN && hier == 0, "link %d hier %d", (int)link, hier);
    /* a calibration fit replaces alpha and beta: 14 * 1us + 1.75 * S / 400e9 */
    cost_coll_fit fit = {COLL_ALLREDUCE, LINK_NODE, 8, 1e-6, 400e9, 0, {0}, {0}};
    cost_calibration cal;
    memset(&cal, 0, sizeof cal);
    cal.n_coll = 1;
    cal.coll = &fit;
    cal.launch_overhead_s = -1;
    CHECK_REL(cost_collective_time(&t, COLL_ALLREDUCE, devs, 8, S, &cal, NULL, NULL), 14e-6 + 1.75 * S / 400e9, 1e-12);
    /* with its measured sizes (4 KiB 20 us, 64 KiB 80 us, 1 MiB 100 us): between two of
     * them log-log; beyond, the fit's line through the nearest; another group size, the fit */
    fit.n_points = 3;
    double pb[3] = {4096, 65536, 1048576}, ps[3] = {20e-6, 80e-6, 100e-6};
    memcpy(fit.point_bytes, pb, sizeof pb);
    memcpy(fit.point_s, ps, sizeof ps);
    CHECK_REL(cost_collective_time(&t, COLL_ALLREDUCE, devs, 8, 16384, &cal, NULL, NULL), 40e-6, 1e-12);
    CHECK_REL(cost_collective_time(&t, COLL_ALLREDUCE, devs, 8, 65536, &cal, NULL, NULL), 80e-6, 1e-12);
    double line_end = 14e-6 + 1.75 * 1048576 / 400e9, line_4m = 14e-6 + 1.75 * 4194304 / 400e9;
    CHECK_REL(cost_collective_time(&t, COLL_ALLREDUCE, devs, 8, 4194304, &cal, NULL, NULL), 100e-6 * line_4m / line_end,
              1e-12);
    CHECK_REL(cost_collective_time(&t, COLL_ALLREDUCE, devs, 4, 16384, &cal, NULL, NULL), 6e-6 + 1.5 * 16384 / 400e9,
              1e-12);
    topology_free(&t);
}

static void test_pipeline_formula(void) {
    double st[4] = {0.010, 0.012, 1, 1};
    /* M=4, P=2: fill 10 + 1 + 12 ms, then 3 more microbatches at the 12 ms period */
    CHECK_REL(cost_pipeline_time(4, 2, st, 0.001), 0.059, 1e-12);
    double eq[4] = {1, 1, 1, 1};
    CHECK_REL(cost_pipeline_time(8, 4, eq, 0), 11.0, 1e-12); /* (M + P - 1) stage times */
    /* transfers slower than the stages set the period: 3*3 + 2 + 3 */
    CHECK_REL(cost_pipeline_time(4, 2, eq, 3), 14.0, 1e-12);
    CHECK_REL(cost_pipeline_time(5, 1, eq, 3), 5.0, 1e-12); /* no pipeline: no transfers */
}

/* A priced pp=2 plan: ttft rebuilt from the per-op report equals the pipeline formula. */
static void test_pipeline_plan(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(2, 8);
    attn_model m;
    CHECK(tu_build_topology(&t, &s) == 0 && tu_model(&m, ARCH_GPT, 4, 32, 32, 128, 16384, DTYPE_FP16, 16, 2048, 4) == 0,
          "inputs");
    attn_strategy st = {1, 2, 8, 1, SCHEME_NONE, 4, 1, CP_AUTO, WEIGHTS_AUTO};
    attn_plan p;
    cost_detail det;
    char err[256];
    CHECK(cost_price_strategy(&m, &t, &st, NULL, &p, &det, err, sizeof err) == 0, "%s", err);
    if (check_failures) return;
    const attn_report *r = &p.predicted;
    double stage[2] = {0, 0}, p2p = 0;
    for (int i = 0; i < p.world; i++) {
        double pre = 0;
        for (int k = 0; k < OP_COUNT; k++)
            if (k != OP_PIPE_P2P) pre += r->ranks[i].op[PHASE_PREFILL][k].time_s;
        int sg = p.ranks[i].stage;
        if (pre / 4 > stage[sg]) stage[sg] = pre / 4; /* 4 equal microbatches of 4 rows */
        if (sg == 0 && r->ranks[i].op[PHASE_PREFILL][OP_PIPE_P2P].time_s / 4 > p2p)
            p2p = r->ranks[i].op[PHASE_PREFILL][OP_PIPE_P2P].time_s / 4;
    }
    double per = stage[0] > stage[1] ? stage[0] : stage[1];
    if (p2p > per) per = p2p;
    CHECK_REL(r->metric[MET_TTFT_S], 3 * per + stage[0] + stage[1] + p2p, 1e-12);
    CHECK_REL(det.bubble_s, r->metric[MET_TTFT_S] - 4 * per, 1e-12);
    CHECK(det.bubble_s > 0, "a pipeline has a bubble: %g", det.bubble_s);
    /* the transfer crosses the network: 4 rows * 2048 * 4096 * 2 bytes per microbatch,
     * NCCL's point-to-point with Simple: base 8.4 us + one network hop of 14 us, + S / 47e9 */
    CHECK_REL(p2p, 22.4e-6 + 4.0 * 2048 * 4096 * 2 / 47e9, 1e-12);

    /* decode: a step goes through both stages, then its token ids (4 bytes per sequence)
     * go back from the last stage to the first before the next step can start */
    double dstage[2] = {0, 0}, fwd = 0, back = 0, back_bytes = 0;
    for (int i = 0; i < p.world; i++) {
        double dec = 0;
        for (int k = 0; k < OP_COUNT; k++)
            if (k != OP_PIPE_P2P) dec += r->ranks[i].op[PHASE_DECODE][k].time_s;
        int sg = p.ranks[i].stage;
        const attn_op_cost *pc = &r->ranks[i].op[PHASE_DECODE][OP_PIPE_P2P];
        if (dec > dstage[sg]) dstage[sg] = dec;
        if (sg == 0 && pc->time_s > fwd) fwd = pc->time_s;
        if (sg == 1 && pc->time_s > back) back = pc->time_s, back_bytes = pc->bytes;
    }
    CHECK(back > 0 && back < fwd, "the token ids' return is priced, below the hidden states' transfer: %g, %g", back, fwd);
    CHECK_REL(back_bytes, 16.0 * PLAN_TOKEN_ID_BYTES, 1e-12);
    CHECK_REL(r->metric[MET_TPOT_S], dstage[0] + dstage[1] + fwd + back, 1e-12);
    plan_free(&p);
    topology_free(&t);
}

/* score-allreduce volume: causal, chunked by 1024 query rows with fully masked key blocks
 * skipped: L = 4096 gives L(L + c)/2 = 10485760 score pairs per head, in fp32. */
static void test_score_volume(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(1, 4);
    attn_model m;
    CHECK(tu_build_topology(&t, &s) == 0 && tu_model(&m, ARCH_GPT, 2, 8, 8, 64, 2048, DTYPE_FP16, 2, 4096, 0) == 0,
          "inputs");
    attn_strategy st = {1, 1, 2, 2, SCHEME_SCORE_ALLREDUCE, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    attn_plan p;
    cost_detail det;
    char err[256];
    CHECK(cost_price_strategy(&m, &t, &st, NULL, &p, &det, err, sizeof err) == 0, "%s", err);
    if (check_failures) return;
    double total = 0;
    for (int i = 0; i < det.n_coll; i++)
        if (det.coll[i].phase == PHASE_PREFILL && det.coll[i].op == OP_ATTN_COMM)
            total += det.coll[i].bytes_per_call * det.coll[i].calls;
    /* 2 layers * 2 rows * 4 heads per group * 10485760 pairs * 4 bytes */
    CHECK_REL(total, 2.0 * 2 * 4 * 10485760 * 4, 1e-12);
    /* decode: one new token against 4096 cached + itself, 2 rows x 4 heads x 4097 x 4 bytes per layer */
    double dec = 0;
    for (int i = 0; i < det.n_coll; i++)
        if (det.coll[i].phase == PHASE_DECODE && det.coll[i].op == OP_ATTN_COMM)
            dec += det.coll[i].bytes_per_call * det.coll[i].calls;
    CHECK_REL(dec, 2.0 * 2 * 4 * 4097 * 4, 1e-12);
    plan_free(&p);
    topology_free(&t);
}

/* Uneven shares are priced per device: move one head of an even n=2 plan from group 1 to
 * group 0 (5 + 3 heads); group 0's ranks then project 5 heads' q, k, v:
 * 2 * T * H * 15 * d FLOPs per layer, T = 1 row (batch 2 over dp=2) x 256, H = 512, d = 64. A device of a
 * slower type takes longer for the same share. */
static void test_uneven(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(2, 2);
    s.node_types = 2; /* node 1 holds devices of half the peak and bandwidth */
    attn_model m;
    CHECK(tu_build_topology(&t, &s) == 0 && tu_model(&m, ARCH_GPT, 1, 8, 8, 64, 1024, DTYPE_FP16, 2, 256, 0) == 0,
          "inputs");
    attn_strategy st = {2, 1, 2, 1, SCHEME_NONE, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    attn_plan p;
    char err[256];
    CHECK(plan_build_even(&p, &m, &t, &st, err, sizeof err) == 0, "%s", err);
    if (check_failures) return;
    for (int i = 0; i < p.world; i++) {
        attn_rank_assign *a = &p.ranks[i];
        if (a->head_group == 0) a->head_end = a->kv_head_end = 5;
        else a->head_begin = a->kv_head_begin = 5;
    }
    attn_report r;
    cost_detail det;
    CHECK(cost_price_plan(&p, &t, NULL, &r, &det) == 0, "%s", det.reason);
    if (check_failures) return;
    double T = 1.0 * 256, H = 512, d = 64;
    for (int i = 0; i < p.world; i++) {
        double heads = p.ranks[i].head_group == 0 ? 5 : 3;
        CHECK_REL(r.ranks[i].op[PHASE_PREFILL][OP_QKV_PROJ].flops, 2 * T * H * 3 * heads * d, 1e-12);
    }
    /* replica 0 on node 0 (fast), replica 1 on node 1 (slow): same shares, slower prices */
    CHECK(r.ranks[2].op[PHASE_PREFILL][OP_QKV_PROJ].time_s > r.ranks[0].op[PHASE_PREFILL][OP_QKV_PROJ].time_s,
          "the slow device is not slower");
    CHECK(det.critical_rank[PHASE_PREFILL] == 2, "critical rank %d, want 2 (5 heads on a slow device)",
          det.critical_rank[PHASE_PREFILL]);
    report_free(&r);
    plan_free(&p);
    topology_free(&t);
}

/* TPOT is the mean decode step over the output (contexts L .. L+D-1): the mean of the
 * first step (context L) and the last (context L+D-1), which is the first step of the same
 * workload with seq_len L+D-1 and one output token (same score tiling: L+D keys); a TP2
 * plan of score-allreduce, whose decode scores travel, also keeps its collectives table
 * equal to the ops. The KV cache read of the last step is D-1 positions longer:
 * layers x rows x kv heads x d x 2 (K and V) x 2 bytes x (D-1) more bytes. */
static void test_decode_mean(void) {
    attn_topology t;
    tu_topo_spec s = tu_h100_spec(1, 2);
    CHECK(tu_build_topology(&t, &s) == 0, "topology");
    static const attn_scheme schemes[2] = {SCHEME_NONE, SCHEME_SCORE_ALLREDUCE};
    for (int k = 0; k < 2; k++) {
        attn_model m, last;
        int L = 1000, D = 301;
        CHECK(tu_model(&m, ARCH_LLAMA, 2, 8, 2, 64, 1024, DTYPE_FP16, 4, L, D) == 0 &&
                  tu_model(&last, ARCH_LLAMA, 2, 8, 2, 64, 1024, DTYPE_FP16, 4, L + D - 1, 1) == 0,
              "models");
        attn_strategy st = k == 0 ? strategy_make(1, 1, 1, 1, SCHEME_NONE) : strategy_make(1, 1, 1, 2, schemes[k]);
        cost_options first;
        cost_options_default(&first);
        first.decode_first_step = 1;
        attn_plan pm, pf, pl;
        cost_detail det;
        char err[256];
        CHECK(cost_price_strategy(&m, &t, &st, NULL, &pm, &det, err, sizeof err) == 0 &&
                  cost_price_strategy(&m, &t, &st, &first, &pf, NULL, err, sizeof err) == 0 &&
                  cost_price_strategy(&last, &t, &st, &first, &pl, NULL, err, sizeof err) == 0,
              "%s", err);
        if (check_failures) return;
        double t0 = pf.predicted.metric[MET_TPOT_S], t1 = pl.predicted.metric[MET_TPOT_S];
        CHECK(t1 > t0, "the last step reads a longer cache: %g <= %g", t1, t0);
        CHECK_REL(pm.predicted.metric[MET_TPOT_S], 0.5 * (t0 + t1), 1e-12);
        CHECK_REL(pm.predicted.metric[MET_DECODE_TOKENS_PER_S], 4 / (0.5 * (t0 + t1)), 1e-12);
        /* the prefill is the one of seq_len L either way */
        CHECK(pm.predicted.metric[MET_TTFT_S] == pf.predicted.metric[MET_TTFT_S], "ttft");
        if (k == 0) {
            /* the fused attention's KV read: 2 layers x 4 rows x 2 kv heads x 64 x (K, V) x 2 B per position */
            double b0 = pf.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION].bytes;
            double b1 = pl.predicted.ranks[0].op[PHASE_DECODE][OP_ATTENTION].bytes;
            CHECK_REL(b1 - b0, 2.0 * 4 * 2 * 64 * 2 * 2 * (D - 1), 1e-9);
        }
        for (int i = 0; i < det.n_coll; i++) {
            const cost_coll_line *l = &det.coll[i];
            double op = pm.predicted.ranks[0].op[l->phase][l->op].time_s;
            CHECK(fabs(l->time_s + l->wait_s - op) <= 1e-9 * op, "line %d: transfer %g + wait %g against the op's %g", i,
                  l->time_s, l->wait_s, op);
        }
        plan_free(&pm);
        plan_free(&pf);
        plan_free(&pl);
    }
    topology_free(&t);
}

int main(void) {
    test_gemm();
    test_gemm_shape();
    test_allreduce();
    test_pipeline_formula();
    test_pipeline_plan();
    test_score_volume();
    test_uneven();
    test_decode_mean();
    if (check_failures) fprintf(stderr, "test_cost_hand: %d failure(s)\n", check_failures);
    else printf("test_cost_hand: ok\n");
    return check_failures ? 1 : 0;
}
