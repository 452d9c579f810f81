/* test_cost_invariants.c: properties the cost model must keep on any input, checked over
 * many random models (gpt and llama, GQA, odd sizes, every dtype) and random topologies
 * (1-4 nodes, mixed node types, NVLink domains), for every strategy of each device count:
 *   - prefill never faster than the compute roofline: ttft >= a device's FLOPs / peak;
 *   - TPOT never under the HBM floor: tpot >= (weights + KV at seq_len) / bandwidth;
 *   - more link bandwidth never makes a plan slower;
 *   - memory terms add up, and peak_memory_bytes is the largest device's;
 *   - every head x dimension element, MLP column, layer and batch row is owned exactly once
 *     per replica and stage (per replica for layers, once overall for rows);
 *   - every metric finite and positive, comm_fraction in [0, 1], op costs >= 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cost_test_util.h"
#include "enumerate.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}
static int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static double rnd_real(double lo, double hi) { return lo + (hi - lo) * (rnd() / 4294967296.0); }

/* Every draw is its own statement: the order of evaluation of function arguments and
 * initializer lists is unspecified in C, and the cases must not depend on the compiler. */
static attn_link_spec random_link(double bw_lo, double bw_hi, double lat_lo, double lat_hi) {
    attn_link_spec l;
    l.bandwidth = rnd_real(bw_lo, bw_hi);
    l.latency = rnd_real(lat_lo, lat_hi);
    l.efficiency = rnd_real(0.5, 1.0);
    return l;
}

static void random_topology(attn_topology *t) {
    static const int per_node[] = {1, 2, 3, 4, 8};
    int nodes = rnd_in(1, 4);
    tu_topo_spec s = tu_h100_spec(nodes, per_node[rnd_in(0, 4)]);
    s.node_types = rnd_in(1, 2);
    s.slow_factor = rnd_real(0.3, 1.0);
    s.link = random_link(30e9, 900e9, 1e-6, 8e-6);
    s.nic = random_link(5e9, 100e9, 2e-6, 20e-6);
    s.network = random_link(0, 0, 2e-6, 20e-6);
    s.domain = random_link(100e9, 900e9, 1e-6, 8e-6);
    s.domain_nodes = 1;
    if (s.nodes > 1 && rnd_in(0, 1)) s.domain_nodes = rnd_in(2, s.nodes);
    s.memory_bytes = rnd_real(4e9, 200e9);
    s.gemm_eff = rnd_real(0.3, 1.0);
    s.mem_eff = rnd_real(0.3, 1.0);
    s.launch = rnd_real(0, 10e-6);
    if (rnd_in(0, 2) == 0) { /* ideal hardware: the floors are tight, so a missing byte or FLOP shows */
        s.gemm_eff = s.mem_eff = 1.0;
        s.launch = 0;
    }
    CHECK(tu_build_topology(t, &s) == 0, "topology");
}

static void random_model(attn_model *m) {
    static const int heads[] = {1, 2, 3, 4, 6, 8, 12, 16, 32};
    static const int dims[] = {2, 8, 16, 24, 64, 128};
    for (;;) {
        attn_arch arch = rnd_in(0, 1) ? ARCH_LLAMA : ARCH_GPT;
        int h = heads[rnd_in(0, 8)], kv = h;
        while (rnd_in(0, 1) && kv > 1 && kv % 2 == 0) kv /= 2;
        if (rnd_in(0, 3) == 0) kv = 1;
        int d = dims[rnd_in(0, 5)];
        int layers = rnd_in(1, 6), ffn = rnd_in(8, 4096);
        attn_dtype dtype = (attn_dtype)rnd_in(0, 2);
        int batch = rnd_in(1, 24), seq = rnd_in(1, 3000), decode = rnd_in(0, 8);
        if (tu_model(m, arch, layers, h, kv, d, ffn, dtype, batch, seq, decode) == 0) return;
    }
}

/* Every (head, dim), MLP column and layer owned once per replica and stage; rows once. */
static void check_ownership(const attn_plan *p) {
    const attn_model *md = &p->model;
    const attn_strategy *s = &p->strategy;
    int cells = md->heads * md->head_dim;
    int *own = calloc((size_t)cells, sizeof *own), *cols = calloc((size_t)md->ffn_hidden, sizeof *cols);
    int *layers = calloc((size_t)md->layers * s->dp, sizeof *layers), *rows = calloc((size_t)md->workload.batch, sizeof *rows);
    CHECK(own && cols && layers && rows, "memory");
    for (int rep = 0; rep < s->dp && own && cols && layers && rows; rep++)
        for (int st = 0; st < s->pp; st++) {
            memset(own, 0, (size_t)cells * sizeof *own);
            memset(cols, 0, (size_t)md->ffn_hidden * sizeof *cols);
            int first = -1;
            for (int i = 0; i < p->world; i++) {
                const attn_rank_assign *a = &p->ranks[i];
                if (a->replica != rep || a->stage != st) continue;
                if (first < 0) first = i;
                /* s > 1: the slices repeat slice 0's heads and dims (positions differ), and
                 * its MLP columns unless the weights are sharded over all s*n*m ranks */
                int sharded = strategy_seq(s) > 1 && s->weights == WEIGHTS_SHARDED;
                if (a->seq == 0)
                    for (int h = a->head_begin; h < a->head_end; h++)
                        for (int k = 0; k < a->n_dim_ranges; k++)
                            for (int dd = a->dim_begin[k]; dd < a->dim_end[k]; dd++) own[h * md->head_dim + dd]++;
                if (a->seq == 0 || sharded)
                    for (int c = a->mlp_begin; c < a->mlp_end; c++) cols[c]++;
            }
            int bad = 0;
            for (int c = 0; c < cells; c++) bad += own[c] != 1;
            for (int c = 0; c < md->ffn_hidden; c++) bad += cols[c] != 1;
            CHECK(bad == 0, "replica %d stage %d: %d elements not owned exactly once", rep, st, bad);
            if (first >= 0)
                for (int l = p->ranks[first].layer_begin; l < p->ranks[first].layer_end; l++) layers[rep * md->layers + l]++;
            if (first >= 0 && st == 0)
                for (int b = p->ranks[first].batch_begin; b < p->ranks[first].batch_end; b++) rows[b]++;
        }
    int bad = 0;
    for (int l = 0; l < md->layers * s->dp; l++) bad += layers && layers[l] != 1;
    for (int b = 0; b < md->workload.batch; b++) bad += rows && rows[b] != 1;
    CHECK(bad == 0, "%d layers/rows not owned exactly once", bad);
    free(own);
    free(cols);
    free(layers);
    free(rows);
}

static void check_plan(const attn_plan *p, const attn_topology *t) {
    const attn_report *r = &p->predicted;
    const attn_model *md = &p->model;
    char sbuf[128];
    strategy_format(&p->strategy, sbuf, sizeof sbuf);
    for (int k = 0; k < MET_COUNT; k++)
        CHECK(isfinite(r->metric[k]) && r->metric[k] >= 0, "%s: %s = %g", sbuf, attn_metric_table[k].key, r->metric[k]);
    CHECK(r->metric[MET_TTFT_S] > 0 && r->metric[MET_TPOT_S] > 0, "%s: zero time", sbuf);
    CHECK(r->metric[MET_COMM_FRACTION] <= 1, "%s: comm_fraction %g", sbuf, r->metric[MET_COMM_FRACTION]);
    double peak_mem = 0, L = md->workload.seq_len, T = md->workload.decode_tokens;
    int fits = 1;
    for (int i = 0; i < p->world; i++) {
        const attn_rank_report *rr = &r->ranks[i];
        const attn_device_type *dt = &t->dev_types[t->devices[p->ranks[i].device].device_type];
        double flops = 0;
        for (int k = 0; k < OP_COUNT; k++) {
            for (int ph = 0; ph < PHASE_COUNT; ph++)
                CHECK(rr->op[ph][k].time_s >= 0 && rr->op[ph][k].flops >= 0 && rr->op[ph][k].bytes >= 0,
                      "%s rank %d op %s negative", sbuf, i, attn_op_table[k].key);
            flops += rr->op[PHASE_PREFILL][k].flops;
        }
        CHECK(r->metric[MET_TTFT_S] >= flops / dt->peak_flops[md->dtype] * (1 - 1e-12),
              "%s rank %d: ttft %g under the compute floor %g", sbuf, i, r->metric[MET_TTFT_S], flops / dt->peak_flops[md->dtype]);
        double hbm = (rr->weights_bytes + rr->kv_cache_bytes * L / (L + T)) / dt->memory_bandwidth;
        CHECK(r->metric[MET_TPOT_S] >= hbm * (1 - 1e-12), "%s rank %d: tpot %g under the HBM floor %g", sbuf, i,
              r->metric[MET_TPOT_S], hbm);
        double sum = rr->weights_bytes + rr->kv_cache_bytes + rr->activation_bytes + rr->comm_buffer_bytes;
        CHECK_REL(rr->memory_bytes, sum, 1e-12);
        CHECK(rr->weights_bytes > 0 && rr->kv_cache_bytes > 0 && rr->activation_bytes > 0, "%s rank %d: empty memory term",
              sbuf, i);
        if (rr->memory_bytes > peak_mem) peak_mem = rr->memory_bytes;
        if (rr->memory_bytes > rr->memory_capacity_bytes) fits = 0;
    }
    CHECK_REL(r->metric[MET_PEAK_MEMORY_BYTES], peak_mem, 1e-12);
    CHECK(r->fits == fits, "%s: fits %d, devices say %d", sbuf, r->fits, fits);
    check_ownership(p);
}

/* A copy of t with every link faster by `factor` (>= 1). */
static int faster_links(const attn_topology *t, attn_topology *f, double factor) {
    *f = *t;
    f->dev_types = malloc((size_t)t->n_dev_types * sizeof *f->dev_types);
    f->node_types = malloc((size_t)t->n_node_types * sizeof *f->node_types);
    f->node_type_of = malloc((size_t)t->n_nodes * sizeof *f->node_type_of);
    f->devices = malloc((size_t)t->n_devices * sizeof *f->devices);
    if (!f->dev_types || !f->node_types || !f->node_type_of || !f->devices) return -1;
    memcpy(f->dev_types, t->dev_types, (size_t)t->n_dev_types * sizeof *f->dev_types);
    memcpy(f->node_types, t->node_types, (size_t)t->n_node_types * sizeof *f->node_types);
    memcpy(f->node_type_of, t->node_type_of, (size_t)t->n_nodes * sizeof *f->node_type_of);
    memcpy(f->devices, t->devices, (size_t)t->n_devices * sizeof *f->devices);
    for (int k = 0; k < f->n_node_types; k++) {
        f->node_types[k].link.bandwidth *= factor;
        f->node_types[k].nic.bandwidth *= factor;
    }
    f->domain_link.bandwidth *= factor;
    return 0;
}

/* The geometry of a group moved by whole periods of a uniform topology is copied, not
 * rebuilt (cost.c geom_of): every strategy of 4 nodes of 3 devices (groups of 2 then cross
 * nodes, one pair in two) and of 4 devices, with and without NVLink domains, priced on it and on the same topology described with two identical node types
 * (which turns the copy off), must give the same figures. */
static void check_period_copy(void) {
    for (int kase = 0; kase < 4; kase++) {
        int dom = 1 + kase % 2;
        tu_topo_spec sp = tu_h100_spec(4, kase < 2 ? 3 : 4);
        sp.domain_nodes = dom;
        if (dom > 1) sp.domain = sp.link;
        attn_topology one, two;
        if (tu_build_topology(&one, &sp) != 0) { CHECK(0, "topology"); return; }
        sp.node_types = 2, sp.slow_factor = 1.0;
        if (tu_build_topology(&two, &sp) != 0) { CHECK(0, "topology"); topology_free(&one); return; }
        attn_model m;
        if (tu_model(&m, ARCH_LLAMA, 4, 16, 4, 64, 1024, DTYPE_BF16, 8, 256, 8) != 0) { CHECK(0, "model"); return; }
        attn_strategy *all;
        int n = enumerate_strategies(one.n_devices, 0, &all), compared = 0;
        for (int i = 0; i < n; i++) {
            attn_plan p, q;
            char err[256];
            if (cost_price_strategy(&m, &one, &all[i], NULL, &p, NULL, err, sizeof err) != 0) continue;
            if (cost_price_strategy(&m, &two, &all[i], NULL, &q, NULL, err, sizeof err) == 0) {
                for (int k = 0; k < MET_COUNT; k++)
                    CHECK(p.predicted.metric[k] == q.predicted.metric[k], "metric %d differs with the copy: %.17g vs %.17g", k,
                          p.predicted.metric[k], q.predicted.metric[k]);
                compared++;
                plan_free(&q);
            }
            plan_free(&p);
        }
        CHECK(compared > 50, "only %d strategies compared", compared);
        free(all);
        topology_free(&one);
        topology_free(&two);
    }
}

int main(void) {
    int priced = 0, cases = 0;
    check_period_copy();
    for (int c = 0; c < 150; c++) {
        attn_topology t, fast;
        attn_model m;
        random_topology(&t);
        random_model(&m);
        double factor = rnd_real(1.0, 4.0);
        if (faster_links(&t, &fast, factor) != 0) return 1;
        cases++;
        attn_strategy *all;
        int n = enumerate_strategies(t.n_devices, 0, &all);
        CHECK(n > 0, "no strategies for %d devices", t.n_devices);
        for (int i = 0; i < n; i++) {
            CHECK(strategy_devices(&all[i]) == t.n_devices, "enumerated a strategy of the wrong size");
            attn_plan p, q;
            char err[256];
            if (cost_price_strategy(&m, &t, &all[i], NULL, &p, NULL, err, sizeof err) != 0) continue;
            priced++;
            check_plan(&p, &t);
            if (cost_price_strategy(&m, &fast, &all[i], NULL, &q, NULL, err, sizeof err) == 0) {
                CHECK(q.predicted.metric[MET_TTFT_S] <= p.predicted.metric[MET_TTFT_S] * (1 + 1e-12),
                      "faster links, slower prefill: %g > %g", q.predicted.metric[MET_TTFT_S], p.predicted.metric[MET_TTFT_S]);
                CHECK(q.predicted.metric[MET_TPOT_S] <= p.predicted.metric[MET_TPOT_S] * (1 + 1e-12),
                      "faster links, slower decode: %g > %g", q.predicted.metric[MET_TPOT_S], p.predicted.metric[MET_TPOT_S]);
                plan_free(&q);
            } else {
                CHECK(0, "priced on t but not on its faster copy: %s", err);
            }
            plan_free(&p);
            if (check_failures > 20) break;
        }
        free(all);
        topology_free(&t);
        topology_free(&fast);
        if (check_failures > 20) break;
    }
    CHECK(priced > 1000, "only %d plans priced: the random inputs are too often invalid", priced);
    if (check_failures) fprintf(stderr, "test_cost_invariants: %d failure(s)\n", check_failures);
    else printf("test_cost_invariants: ok (%d cases, %d plans)\n", cases, priced);
    return check_failures ? 1 : 0;
}
