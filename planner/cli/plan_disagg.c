/* plan_disagg.c: `attnplan plan --disaggregate`: a prefill pool and a decode pool on
 * disjoint devices, each with its own strategy (every strategy of the pool's devices on its
 * even split, as --all prices it), the KV cache of each prefilled batch moved from the
 * prefill pool to the decode pool, and the split of the devices between the pools that
 * serves the most requests per second (the slower of the two pools and the transfer sets
 * the rate). Pools are cut at whole nodes (at devices when the topology is one node), the
 * prefill pool on the first devices; both pools are priced as the first P and the first
 * N - P devices of the topology, which is exact on a uniform topology and refused on a
 * mixed one. docs/serving.md says what this leaves out (queueing, chunked prefill). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan_disagg.h"
#include "enumerate.h"
#include "topology.h"

typedef struct pool_best {
    int ok;
    attn_strategy strategy;
    double metric[MET_COUNT];
} pool_best;

/* The best strategy on the first n devices: by prefill tokens/s (prefill pool) or by
 * output tokens/s (decode pool: batch / tpot), within the pool's target. */
static int pool_pick(const cli_input *in, const cost_options *co, int n, int decode, double max_ttft, double max_tpot,
                     pool_best *out) {
    memset(out, 0, sizeof *out);
    attn_topology t;
    attn_diag d;
    attn_diag_init(&d);
    d.quiet = 1;
    if (topology_load(in->topo.path, &t, &d) != 0) return -1;
    if (topology_truncate(&t, n) != 0) {
        topology_free(&t);
        return -1;
    }
    plan_candidate *c = NULL;
    int nc = enumerate_and_price(&in->model, &t, co, 0, &c);
    topology_free(&t);
    if (nc < 0) return -1;
    double best = -1;
    for (int i = 0; i < nc; i++) {
        if (c[i].status != CAND_OK) continue;
        const double *v = c[i].metric;
        if (!decode && max_ttft > 0 && v[MET_TTFT_S] > max_ttft) continue;
        if (decode && max_tpot > 0 && v[MET_TPOT_S] > max_tpot) continue;
        double score = decode ? v[MET_DECODE_TOKENS_PER_S] : v[MET_PREFILL_TOKENS_PER_S];
        if (score > best) {
            best = score;
            out->ok = 1;
            out->strategy = c[i].strategy;
            memcpy(out->metric, v, sizeof out->metric);
        }
    }
    free(c);
    return 0;
}

/* Seconds to move one batch's KV cache (every layer's K and V of isl positions per
 * sequence) from p prefill devices to q decode devices: each device sends and receives
 * over its own link (the NIC between nodes, the node fabric inside a one-node topology),
 * the busier side setting the pace; one message latency. */
static double kv_transfer_s(const attn_topology *t, const attn_model *m, int p, int q, double *bytes) {
    double eb = dtype_bytes(m->dtype);
    *bytes = (double)m->workload.batch * m->workload.seq_len * 2.0 * m->layers * m->kv_heads * m->head_dim * eb;
    const attn_node_type *nt = &t->node_types[t->node_type_of[0]];
    attn_link_spec s = t->n_nodes > 1 ? nt->nic : nt->link;
    double eff = s.efficiency > 0 ? s.efficiency : 0.8, lanes = p < q ? p : q;
    if (s.bandwidth <= 0 || lanes <= 0) return -1;
    return s.latency + *bytes / (lanes * s.bandwidth * eff);
}

int plan_disaggregate(const cli_input *in, const cost_options *co, const planner_options *po) {
    const attn_topology *t = &in->topo;
    const attn_model *m = &in->model;
    if (t->n_nodes < 1 || !topology_homogeneous(t)) {
        fprintf(stderr, "attnplan plan: --disaggregate prices both pools as the topology's first devices, which needs "
                        "one node type (%s has several)\n", t->name);
        return ATTN_EXIT_BADINPUT;
    }
    if (m->workload.decode_tokens < 1) {
        fprintf(stderr, "attnplan plan: --disaggregate needs output tokens (--osl or decode_tokens >= 1)\n");
        return ATTN_EXIT_BADINPUT;
    }
    int N = t->n_devices, per_node = t->node_types[t->node_type_of[0]].devices;
    int step = t->n_nodes > 1 ? per_node : 1; /* whole nodes, or devices in a one-node topology */
    if (N < 2 * step) {
        fprintf(stderr, "attnplan plan: --disaggregate needs at least two %s (%s has %d devices)\n",
                step > 1 ? "nodes" : "devices", t->name, N);
        return ATTN_EXIT_BADINPUT;
    }
    double osl = m->workload.decode_tokens, B = m->workload.batch;
    printf("%s on %s (%d devices): batch %d, isl %d, osl %d, %s\n", m->name, t->name, N, m->workload.batch,
           m->workload.seq_len, m->workload.decode_tokens, dtype_name(m->dtype));
    printf("disaggregated: prefill pool + decode pool, cut at whole %s; requests/s each side can serve\n",
           step > 1 ? "nodes" : "devices");
    printf("%9s %9s %12s %12s %12s %12s  %s | %s\n", "prefill", "decode", "prefill r/s", "decode r/s", "kv move r/s",
           "served r/s", "prefill strategy", "decode strategy");
    int best_p = -1;
    double best_rate = -1, best_kv_s = 0, best_kv_bytes = 0;
    pool_best bp = {0}, bd = {0};
    for (int P = step; P <= N - step; P += step) {
        pool_best pre, dec;
        if (pool_pick(in, co, P, 0, po->max_ttft_s, 0, &pre) != 0 || pool_pick(in, co, N - P, 1, 0, po->max_tpot_s, &dec) != 0) {
            fprintf(stderr, "attnplan plan: --disaggregate: cannot price the pools of %s\n", t->name);
            return ATTN_EXIT_FAIL;
        }
        char sp[96] = "-", sd[96] = "-";
        if (pre.ok) strategy_format(&pre.strategy, sp, sizeof sp);
        if (dec.ok) strategy_format(&dec.strategy, sd, sizeof sd);
        double kv_bytes = 0, kv_s = kv_transfer_s(t, m, P, N - P, &kv_bytes);
        /* a batch of B requests: prefilled in ttft, decoded in osl steps, moved in kv_s */
        double r_pre = pre.ok ? B / pre.metric[MET_TTFT_S] : 0;
        double r_dec = dec.ok ? B / (osl * dec.metric[MET_TPOT_S]) : 0;
        double r_kv = kv_s > 0 ? B / kv_s : 0;
        double served = r_pre < r_dec ? r_pre : r_dec;
        if (r_kv < served) served = r_kv;
        printf("%9d %9d %12.4g %12.4g %12.4g %12.4g  %s | %s\n", P, N - P, r_pre, r_dec, r_kv, served, sp, sd);
        if (pre.ok && dec.ok && served > best_rate) {
            best_rate = served, best_p = P, bp = pre, bd = dec, best_kv_s = kv_s, best_kv_bytes = kv_bytes;
        }
    }
    if (best_p < 0) {
        printf("no split has a prefill and a decode strategy that fit%s\n",
               po->max_ttft_s > 0 || po->max_tpot_s > 0 ? " and meet the targets" : "");
        return ATTN_EXIT_FAIL;
    }
    char sp[96], sd[96];
    strategy_format(&bp.strategy, sp, sizeof sp);
    strategy_format(&bd.strategy, sd, sizeof sd);
    printf("\nchosen: prefill pool %d devices, %s: ttft %.4g s, %.4g tokens/s\n", best_p, sp, bp.metric[MET_TTFT_S],
           bp.metric[MET_PREFILL_TOKENS_PER_S]);
    printf("        decode pool %d devices, %s: tpot %.4g ms, %.4g output tokens/s\n", N - best_p, sd,
           1e3 * bd.metric[MET_TPOT_S], bd.metric[MET_DECODE_TOKENS_PER_S]);
    printf("        KV transfer per batch: %.4g GB in %.4g ms (%s)\n", best_kv_bytes / 1e9, 1e3 * best_kv_s,
           t->n_nodes > 1 ? "the NICs between the pools" : "the node fabric");
    double e2e = bp.metric[MET_TTFT_S] + best_kv_s + (osl - 1) * bd.metric[MET_TPOT_S];
    printf("        serving: %.4g requests/s, %.4g output tokens/s per GPU, e2e latency %.4g s (prefill + transfer + "
           "decode)\n", best_rate, best_rate * osl / N, e2e);
    if (m->workload.rate > 0)
        printf("        rate: %.4g requests/s %s the %.4g the split serves (margin %.0f%%)\n", m->workload.rate,
               m->workload.rate <= best_rate ? "<=" : "EXCEEDS", best_rate, 100.0 * (best_rate - m->workload.rate) / best_rate);
    return m->workload.rate > 0 && m->workload.rate > best_rate ? ATTN_EXIT_FAIL : ATTN_EXIT_OK;
}
