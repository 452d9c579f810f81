/* test_cost_nccl.c: collectives as NCCL runs them (planner/cost/cost_nccl.c) and the
 * precedence cost_comm.c applies (calibration > the topology's measured table > model):
 * NCCL's choices by size (LL at small sizes, NVLS/ring Simple at large), time monotone in
 * size for every algorithm and protocol, NVLS only where the fabric offers it, hand-computed
 * times, one process per node against one per GPU, forced algorithms. */
#include <stdlib.h>
#include <string.h>
#include "cost_private.h"
#include "cost_test_util.h"

/* An H100 node type (450e9 NVLink at 0.82, 50e9 NICs at 0.94) on `nodes` nodes of 8. */
static void h100(attn_topology *t, int nodes, int nvls) {
    tu_topo_spec s = tu_h100_spec(nodes, 8);
    s.link = (attn_link_spec){450e9, 3e-6, 0.82};
    s.nic = (attn_link_spec){50e9, 5e-6, 0.94};
    s.network = (attn_link_spec){0, 10e-6, 0.94};
    CHECK(tu_build_topology(t, &s) == 0, "topology");
    t->nccl.algorithms = TOPOLOGY_NCCL_DEFAULT;
    if (nvls) {
        t->nccl.algorithms |= (1u << COLL_ALGO_NVLS) | (1u << COLL_ALGO_NVLS_TREE);
        t->nccl.nvls_efficiency = 0.687;
    }
}

static cost_coll_choice predict(const attn_topology *t, attn_coll c, int n, double S, const cost_calibration *cal,
                                const cost_nccl_options *o) {
    int *devs = malloc((size_t)n * sizeof *devs);
    for (int i = 0; i < n; i++) devs[i] = i;
    cost_coll_choice ch;
    int rc = cost_collective_predict(t, c, devs, n, S, cal, o, &ch);
    if (!o || o->algo < 0) CHECK(rc == 0, "predict %s n=%d S=%g", coll_name(c), n, S);
    free(devs);
    return ch;
}

static void test_choices(void) {
    attn_topology t;
    h100(&t, 2, 1);
    /* small messages: a low-latency protocol; large: NVLS Simple in one node */
    cost_coll_choice ch = predict(&t, COLL_ALLREDUCE, 8, 8, NULL, NULL);
    CHECK(ch.proto == COLL_PROTO_LL && (ch.algo == COLL_ALGO_RING || ch.algo == COLL_ALGO_TREE), "8 B: %s/%s",
          coll_algo_name(ch.algo), coll_proto_name(ch.proto));
    CHECK(ch.source == COST_COLL_MODEL && !ch.hierarchical, "source %d", (int)ch.source);
    ch = predict(&t, COLL_ALLREDUCE, 8, 4e9, NULL, NULL);
    CHECK(ch.algo == COLL_ALGO_NVLS && ch.proto == COLL_PROTO_SIMPLE, "4 GB: %s/%s", coll_algo_name(ch.algo),
          coll_proto_name(ch.proto));
    /* NVLS by hand: 25 us + S (1 + 1/8) / (450e9 x 0.687) */
    CHECK_REL(ch.time_s, 25e-6 + 4e9 * 9.0 / 8 / (450e9 * 0.687), 1e-12);
    /* all-gather: the ring (NVLS all-gather moves no less and runs at the lower NVLS rate) */
    ch = predict(&t, COLL_ALLGATHER, 8, 4e9, NULL, NULL);
    CHECK(ch.algo == COLL_ALGO_RING && ch.proto == COLL_PROTO_SIMPLE, "all-gather 4 GB: %s", coll_algo_name(ch.algo));
    /* across two nodes: a tree at small sizes, NVLS-tree at large; all-to-all is P2P */
    ch = predict(&t, COLL_ALLREDUCE, 16, 8, NULL, NULL);
    CHECK(ch.algo == COLL_ALGO_TREE && ch.proto == COLL_PROTO_LL && ch.hierarchical, "16 ranks 8 B: %s/%s",
          coll_algo_name(ch.algo), coll_proto_name(ch.proto));
    ch = predict(&t, COLL_ALLREDUCE, 16, 4e9, NULL, NULL);
    CHECK(ch.algo == COLL_ALGO_NVLS_TREE, "16 ranks 4 GB: %s", coll_algo_name(ch.algo));
    ch = predict(&t, COLL_ALLTOALL, 16, 1e8, NULL, NULL);
    CHECK(ch.algo == COLL_ALGO_P2P, "all-to-all: %s", coll_algo_name(ch.algo));
    /* all-to-all by hand: 8/16 of S leaves through the GPU's own NIC (47e9), 7/16 over NVLink
     * concurrently; base 8.4 us + one network hop of 14 us */
    CHECK_REL(ch.time_s, 22.4e-6 + 1e8 * 0.5 / (50e9 * 0.94), 1e-12);
    topology_free(&t);

    /* without the fabric field NVLS is not offered: large all-reduces run as a ring */
    h100(&t, 1, 0);
    ch = predict(&t, COLL_ALLREDUCE, 8, 4e9, NULL, NULL);
    CHECK(ch.algo == COLL_ALGO_RING && ch.proto == COLL_PROTO_SIMPLE, "no nvls: %s", coll_algo_name(ch.algo));
    cost_nccl_options o;
    cost_nccl_options_default(&o);
    o.algo = COLL_ALGO_NVLS;
    ch = predict(&t, COLL_ALLREDUCE, 8, 4e9, NULL, &o);
    CHECK(ch.time_s < 0, "forced NVLS without the fabric: %g", ch.time_s);
    topology_free(&t);

    /* the field on a PCIe node: no NVSwitch, no NVLS, and no LL128 (NVLink only) */
    tu_topo_spec s = tu_h100_spec(1, 8);
    CHECK(tu_build_topology(&t, &s) == 0, "topology");
    t.node_types[0].fabric = FABRIC_PCIE;
    t.nccl.algorithms = TOPOLOGY_NCCL_DEFAULT | (1u << COLL_ALGO_NVLS);
    t.nccl.nvls_efficiency = 0.687;
    for (double S = 8; S < 1e10; S *= 4) {
        ch = predict(&t, COLL_ALLREDUCE, 8, S, NULL, NULL);
        CHECK(ch.algo != COLL_ALGO_NVLS && ch.proto != COLL_PROTO_LL128, "pcie S=%g: %s/%s", S,
              coll_algo_name(ch.algo), coll_proto_name(ch.proto));
    }
    topology_free(&t);
}

/* Every offered (algorithm, protocol) is non-decreasing in size, and so is the choice. */
static void test_monotone(void) {
    attn_topology t;
    h100(&t, 4, 1);
    const attn_coll colls[] = {COLL_ALLREDUCE, COLL_ALLGATHER, COLL_REDUCESCATTER, COLL_ALLTOALL, COLL_SENDRECV};
    const int sizes[] = {2, 4, 8, 16, 32};
    for (size_t ci = 0; ci < sizeof colls / sizeof colls[0]; ci++)
        for (size_t ni = 0; ni < sizeof sizes / sizeof sizes[0]; ni++) {
            int n = colls[ci] == COLL_SENDRECV ? 2 : sizes[ni];
            int *devs = malloc((size_t)n * sizeof *devs);
            for (int i = 0; i < n; i++) devs[i] = i;
            cost_comm_geom g;
            CHECK(cost_comm_geom_build(&t, devs, n, &g) == 0 && g.nccl, "geom");
            double prev_choice = 0, prev[COLL_ALGO_COUNT][COLL_PROTO_COUNT] = {{0}};
            int offered = 0;
            for (double S = 1; S < 4e10; S *= 1.7) {
                for (int a = 0; a < COLL_ALGO_COUNT; a++)
                    for (int p = 0; p < COLL_PROTO_COUNT; p++) {
                        double tm = cost_nccl_time(&g.ng, colls[ci], (coll_algo)a, (coll_proto)p, S);
                        if (tm < 0) continue;
                        offered++;
                        CHECK(tm >= prev[a][p], "%s n=%d %s/%s not monotone at S=%g", coll_name(colls[ci]), n,
                              coll_algo_name((coll_algo)a), coll_proto_name((coll_proto)p), S);
                        prev[a][p] = tm;
                    }
                cost_coll_choice ch;
                CHECK(cost_collective_choose(&g.ng, colls[ci], S, NULL, &ch) == 0, "choose");
                CHECK(ch.time_s >= prev_choice && ch.time_s > 0, "%s n=%d choice not monotone at S=%g",
                      coll_name(colls[ci]), n, S);
                prev_choice = ch.time_s;
            }
            CHECK(offered > 0, "%s n=%d: nothing offered", coll_name(colls[ci]), n);
            free(devs);
        }
    topology_free(&t);
}

static void test_single_process(void) {
    attn_topology t;
    h100(&t, 1, 1);
    cost_nccl_options o;
    cost_nccl_options_default(&o);
    double eager = predict(&t, COLL_ALLREDUCE, 8, 8, NULL, &o).time_s;
    o.single_process = 1;
    double single = predict(&t, COLL_ALLREDUCE, 8, 8, NULL, &o).time_s;
    /* one thread launches the 8 GPUs' kernels one after the other: 7 more launches */
    CHECK_REL(single - eager, 7 * t.dev_types[0].launch_overhead_s, 1e-9);
    topology_free(&t);
}

/* calibration > the topology's measured table > the model */
static void test_precedence(void) {
    attn_topology t;
    h100(&t, 1, 1);
    const double S = 1 << 20;
    double model = predict(&t, COLL_ALLREDUCE, 8, S, NULL, NULL).time_s;
    attn_coll_measured m[3] = {{COLL_ALLREDUCE, 8, 1, 1 << 16, 20e-6},
                               {COLL_ALLREDUCE, 8, 1, 1 << 22, 60e-6},
                               {COLL_ALLGATHER, 8, 1, 1 << 20, 99e-6}};
    t.coll_measured = malloc(sizeof m);
    memcpy(t.coll_measured, m, sizeof m);
    t.n_coll_measured = 3;
    cost_coll_choice ch = predict(&t, COLL_ALLREDUCE, 8, S, NULL, NULL);
    /* between two points: log-log, S = 2^20 is 4/6 of the way from 2^16 to 2^22 */
    CHECK(ch.source == COST_COLL_MEASURED, "source %d", (int)ch.source);
    CHECK_REL(ch.time_s, exp(log(20e-6) / 3 + 2 * log(60e-6) / 3), 1e-12);
    /* at a point: that point; beyond the table: the model's shape through the nearest point */
    CHECK_REL(predict(&t, COLL_ALLREDUCE, 8, 1 << 22, NULL, NULL).time_s, 60e-6, 1e-12);
    double m_end = 0, m_far = 0;
    {
        attn_topology bare;
        h100(&bare, 1, 1);
        m_end = predict(&bare, COLL_ALLREDUCE, 8, 1 << 22, NULL, NULL).time_s;
        m_far = predict(&bare, COLL_ALLREDUCE, 8, 1 << 28, NULL, NULL).time_s;
        topology_free(&bare);
    }
    CHECK_REL(predict(&t, COLL_ALLREDUCE, 8, 1 << 28, NULL, NULL).time_s, 60e-6 * m_far / m_end, 1e-12);
    /* another group size: no points, the model */
    ch = predict(&t, COLL_ALLREDUCE, 4, S, NULL, NULL);
    CHECK(ch.source == COST_COLL_MODEL, "4 ranks: source %d", (int)ch.source);
    /* a calibration fit wins over both: steps x alpha + factor x S / busbw */
    cost_coll_fit fit = {COLL_ALLREDUCE, LINK_NODE, 8, 1e-6, 400e9, 0, {0}, {0}};
    cost_calibration cal;
    memset(&cal, 0, sizeof cal);
    cal.n_coll = 1;
    cal.coll = &fit;
    cal.launch_overhead_s = -1;
    ch = predict(&t, COLL_ALLREDUCE, 8, S, &cal, NULL);
    CHECK(ch.source == COST_COLL_CALIBRATION, "source %d", (int)ch.source);
    CHECK_REL(ch.time_s, 14e-6 + 1.75 * S / 400e9, 1e-12);
    /* the names still say what NCCL would pick */
    CHECK(ch.algo == predict(&t, COLL_ALLREDUCE, 8, S, NULL, NULL).algo, "algorithm kept");
    CHECK(model > 0 && model != ch.time_s, "model %g", model);
    topology_free(&t);
}

int main(void) {
    test_choices();
    test_monotone();
    test_single_process();
    test_precedence();
    return check_finish("test_cost_nccl");
}
