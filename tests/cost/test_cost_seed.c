/* test_cost_seed.c: the seed's workload (models/seed-dense-4l.yaml: 4 layers, 32 heads x
 * 128, ffn 32768, batch 128, seq_len 10000, fp16) on the seed's cluster
 * (topologies/dgx-h100-x2.yaml: two DGX H100). `plan --all` must list the seed's baseline
 * TP8 x PP2, head-wise TP16 and every m x n = 16 split with each exact scheme, all fitting;
 * and every plan must respect the physical floors worked out by hand:
 *   TPOT >= KV cache bytes / (16 x 3.35e12): 128*10000*4 layers*2*4096*2 bytes = 83.886 GB
 *           over 53.6 TB/s = 1.5650 ms (the seed claims 0.22 ms);
 *   prefill <= 16 x 989e12 / FLOPs per token (dense 2*(4H^2 + 2HF) + causal attention
 *           4*H*L/2 per layer) = 5.2536e6 tokens/s.
 * Skips (77) when the shipped files are absent. Argument: the source directory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cost_test_util.h"
#include "enumerate.h"

static const plan_candidate *find(const plan_candidate *c, int n, int dp, int pp, int hn, int m, attn_scheme s) {
    for (int i = 0; i < n; i++)
        if (c[i].strategy.dp == dp && c[i].strategy.pp == pp && c[i].strategy.n == hn && c[i].strategy.m == m &&
            c[i].strategy.scheme == s)
            return &c[i];
    return NULL;
}

int main(int argc, char **argv) {
    char mpath[2048], tpath[2048];
    const char *src = argc > 1 ? argv[1] : ".";
    snprintf(mpath, sizeof mpath, "%s/models/seed-dense-4l.yaml", src);
    snprintf(tpath, sizeof tpath, "%s/topologies/dgx-h100-x2.yaml", src);
    if (access(mpath, R_OK) != 0 || access(tpath, R_OK) != 0) {
        printf("test_cost_seed: skipped, %s or %s missing\n", mpath, tpath);
        return 77;
    }
    attn_model m;
    attn_topology t;
    attn_diag d;
    attn_diag_init(&d);
    if (model_load(mpath, &m, &d) != 0 || topology_load(tpath, &t, &d) != 0) return 1;
    CHECK(t.n_devices == 16 && m.workload.batch == 128 && m.workload.seq_len == 10000, "unexpected seed files");

    plan_candidate *c;
    int n = enumerate_and_price(&m, &t, NULL, 0, &c);
    CHECK(n > 0, "enumeration failed");
    enumerate_rank_candidates(c, n, MET_PREFILL_TOKENS_PER_S);

    const plan_candidate *base = find(c, n, 1, 2, 8, 1, SCHEME_NONE);
    CHECK(base && base->status == CAND_OK, "TP8 x PP2 missing or not fitting");
    const plan_candidate *tp16 = find(c, n, 1, 1, 16, 1, SCHEME_NONE);
    CHECK(tp16 && tp16->status == CAND_OK, "TP16 missing or not fitting");
    for (int hn = 1; hn <= 8; hn *= 2)
        for (int s = SCHEME_SCORE_ALLREDUCE; s <= SCHEME_HEAD_ALLTOALL; s++) {
            const plan_candidate *x = find(c, n, 1, 1, hn, 16 / hn, (attn_scheme)s);
            CHECK(x != NULL, "n=%d m=%d %s not listed", hn, 16 / hn, scheme_name((attn_scheme)s));
            if (x) CHECK(x->status != CAND_INVALID, "n=%d m=%d %s invalid: %s", hn, 16 / hn, scheme_name((attn_scheme)s), x->reason);
        }

    /* floors and ranking order */
    for (int i = 0; i < n; i++) {
        if (c[i].status == CAND_INVALID) continue;
        CHECK(c[i].metric[MET_TPOT_S] >= 1.5650388059701493e-3, "tpot %g under the HBM floor", c[i].metric[MET_TPOT_S]);
        CHECK(c[i].metric[MET_PREFILL_TOKENS_PER_S] <= 5253591.778176676, "prefill %g above the compute ceiling",
              c[i].metric[MET_PREFILL_TOKENS_PER_S]);
        if (i > 0 && c[i].status == CAND_OK && c[i - 1].status == CAND_OK)
            CHECK(c[i - 1].metric[MET_PREFILL_TOKENS_PER_S] >= c[i].metric[MET_PREFILL_TOKENS_PER_S], "ranking order");
    }

    /* At L = 10000 partial scores (B h L^2/2, fp32) dwarf Q/K segments (B L h d): with the
     * same split, score-allreduce must spend longer communicating than qk-allgather. */
    attn_strategy sa = {1, 1, 4, 4, SCHEME_SCORE_ALLREDUCE, 0, 1, CP_AUTO, WEIGHTS_AUTO}, qk = {1, 1, 4, 4, SCHEME_QK_ALLGATHER, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    attn_plan pa, pq;
    char err[256];
    int ok_a = cost_price_strategy(&m, &t, &sa, NULL, &pa, NULL, err, sizeof err) == 0;
    CHECK(ok_a, "pricing n=4 m=4 score-allreduce: %s", err);
    int ok_q = cost_price_strategy(&m, &t, &qk, NULL, &pq, NULL, err, sizeof err) == 0;
    CHECK(ok_q, "pricing n=4 m=4 qk-allgather: %s", err);
    if (ok_a && ok_q) {
        double ta = pa.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTN_COMM].time_s;
        double tq = pq.predicted.ranks[0].op[PHASE_PREFILL][OP_ATTN_COMM].time_s;
        CHECK(ta > 10 * tq, "score-allreduce comm %g vs qk-allgather %g", ta, tq);
    }
    if (ok_a) plan_free(&pa);
    if (ok_q) plan_free(&pq);
    free(c);
    topology_free(&t);
    if (check_failures) fprintf(stderr, "test_cost_seed: %d failure(s)\n", check_failures);
    else printf("test_cost_seed: ok (%d strategies)\n", n);
    return check_failures ? 1 : 0;
}
