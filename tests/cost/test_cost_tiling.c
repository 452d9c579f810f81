/* test_cost_tiling.c: the score-block rule (lib/attn_tiling.h) and how the cost model
 * prices it.
 *   1. The rule over a grid of shapes and budgets: whenever one sequence x head fits, a
 *      block's workspace is within the budget; the parts cover every sequence and head
 *      exactly once and differ by at most one; heads are split only one sequence at a time;
 *      everything fitting means one block; fewer blocks would not fit.
 *   2. The seed (models/seed-dense-4l.yaml on topologies/dgx-h100-x2.yaml): with the default
 *      1 GiB budget dp=1,pp=1,n=1,m=16 score-allreduce fits; with an unbounded budget (one
 *      block of the whole microbatch, the old behaviour) it does not. The score
 *      all-reduces are chunks x blocks calls moving the same total volume; softmax launches
 *      once per block, scores and P.V once per batched GEMM call (16 heads of one sequence:
 *      one call; 128 sequences x 32 heads: one call per head), and the time differences are
 *      exactly the extra launches' overhead.
 *   3. The GEMM batching of one block (attn_gemm_batch): the fewer calls of per sequence
 *      (one per kv-head run, found here by walking the heads) and per head, and the sum over
 *      a tiling's blocks.
 * Part 2 skips when the shipped files are absent. Argument: the source directory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attn_tiling.h"
#include "cost_test_util.h"
#include "enumerate.h"

static void check_parts(int total, int parts, int largest, const char *what) {
    int next = 0, lo = total, hi = 0;
    for (int i = 0; i < parts; i++) {
        int b, n;
        split_part(total, parts, i, &b, &n);
        CHECK(b == next, "%s: part %d of %d starts at %d, want %d", what, i, parts, b, next);
        next = b + n;
        if (n < lo) lo = n;
        if (n > hi) hi = n;
    }
    CHECK(next == total, "%s: %d parts cover %d of %d", what, parts, next, total);
    CHECK(hi - lo <= 1 && hi == largest, "%s: part sizes %d..%d, largest reported %d", what, lo, hi, largest);
}

static void test_rule(void) {
    const double budgets[] = {1, 100, 287, 288, 600, 2048, 5000, 1e6, 1e18};
    int cases = 0;
    for (int seqs = 1; seqs <= 17; seqs++)
        for (int heads = 1; heads <= 9; heads++)
            for (int rows = 1; rows <= 4; rows += 3)
                for (int keys = 3; keys <= 9; keys += 6)
                    for (size_t bi = 0; bi < sizeof budgets / sizeof budgets[0]; bi++) {
                        double bpp = 8, budget = budgets[bi], pair = rows * keys * bpp;
                        attn_tiling t;
                        attn_tiling_plan(&t, seqs, heads, rows, keys, bpp, budget);
                        cases++;
                        check_parts(seqs, t.seq_blocks, t.block_seqs, "sequences");
                        check_parts(heads, t.head_blocks, t.block_heads, "heads");
                        CHECK_REL(t.block_bytes, (double)t.block_seqs * t.block_heads * pair, 1e-15);
                        if (pair <= budget)
                            CHECK(t.block_bytes <= budget, "%d seqs x %d heads, pair %g: block %g over budget %g", seqs,
                                  heads, pair, t.block_bytes, budget);
                        else
                            CHECK(t.block_seqs == 1 && t.block_heads == 1, "over budget but block %d x %d", t.block_seqs,
                                  t.block_heads);
                        if (t.head_blocks > 1) CHECK(t.block_seqs == 1, "heads split with %d sequences a block", t.block_seqs);
                        if (seqs * heads * pair <= budget) CHECK(attn_tiling_blocks(&t) == 1, "all fit, %d blocks", attn_tiling_blocks(&t));
                        /* minimal: one part fewer along the split axis would not fit */
                        if (pair <= budget && t.head_blocks > 1)
                            CHECK((double)((heads + t.head_blocks - 2) / (t.head_blocks - 1)) * pair > budget,
                                  "%d head blocks where %d would do", t.head_blocks, t.head_blocks - 1);
                        if (pair <= budget && t.head_blocks == 1 && t.seq_blocks > 1)
                            CHECK((double)((seqs + t.seq_blocks - 2) / (t.seq_blocks - 1)) * heads * pair > budget,
                                  "%d sequence blocks where %d would do", t.seq_blocks, t.seq_blocks - 1);
                    }
    /* degenerate inputs: one empty block, so loops run once and do nothing */
    attn_tiling t;
    attn_tiling_plan(&t, 3, 0, 4, 9, 8, 100);
    CHECK(attn_tiling_blocks(&t) == 1 && t.block_heads == 0 && t.block_bytes == 0, "no heads: %d blocks", attn_tiling_blocks(&t));
    /* budget <= 0 is the default */
    attn_tiling a, b;
    attn_tiling_plan(&a, 128, 32, 1024, 10000, 6, 0);
    attn_tiling_plan(&b, 128, 32, 1024, 10000, 6, ATTN_SCORE_WORKSPACE_DEFAULT);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "budget 0 is not the default");
    /* the seed's rank: 32 heads of 1024 x 10000 pairs at 6 bytes = 1.97 GB a sequence, so
     * 16 heads of one sequence (983 MB) a block, 256 blocks a chunk */
    CHECK(a.block_seqs == 1 && a.block_heads == 16 && attn_tiling_blocks(&a) == 256, "seed tiling %d x %d, %d blocks",
          a.block_seqs, a.block_heads, attn_tiling_blocks(&a));
    /* byte counts */
    double v = 0;
    CHECK(attn_parse_bytes("1G", &v) == 0 && v == 1073741824.0, "1G -> %g", v);
    CHECK(attn_parse_bytes("600", &v) == 0 && v == 600, "600 -> %g", v);
    CHECK(attn_parse_bytes("2K", &v) == 0 && v == 2048, "2K -> %g", v);
    const char *bad[] = {"", "0", "-1", "1e3", "0x10", "1.5G", "1GB", "G", "inf", "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) CHECK(attn_parse_bytes(bad[i], &v) != 0, "'%s' accepted", bad[i]);
    printf("test_cost_tiling: rule ok (%d cases)\n", cases);
}

static void test_batching(void) {
    int cases = 0;
    for (int qpk = 1; qpk <= 4; qpk++)
        for (int seqs = 0; seqs <= 6; seqs++)
            for (int head0 = 0; head0 <= 5; head0++)
                for (int heads = 0; heads <= 9; heads++) {
                    /* per sequence: a call per run of heads sharing a kv head, or one for all of
                     * them when each head has its own kv head (the cache strides through them) */
                    int runs = 0;
                    for (int h = head0; h < head0 + heads; h++)
                        if (h == head0 || (qpk > 1 && h / qpk != (h - 1) / qpk)) runs++;
                    int per_seq = seqs * runs, per_head = seqs > 0 ? heads : 0;
                    int want = per_seq < per_head ? per_seq : per_head;
                    attn_gemm_batching b = attn_gemm_batch(seqs, head0, heads, qpk);
                    CHECK(b.calls == want, "%d seqs x heads %d..%d, qpk %d: %d calls, want %d", seqs, head0,
                          head0 + heads - 1, qpk, b.calls, want);
                    CHECK(b.over_seqs == (per_head < per_seq), "%d seqs x %d heads, qpk %d: over_seqs %d", seqs, heads, qpk,
                          b.over_seqs);
                    cases++;
                }
    /* the seed's decode share for n=16 (2 heads of 128 sequences, MHA): 2 calls, not 256 */
    attn_gemm_batching b = attn_gemm_batch(128, 4, 2, 1);
    CHECK(b.over_seqs && b.calls == 2, "seed decode block: %d calls (over_seqs %d)", b.calls, b.over_seqs);
    /* a GQA block of one sequence: heads 3..8 with 4 per kv head are 3 runs ({3}, {4..7}, {8}) */
    b = attn_gemm_batch(1, 3, 6, 4);
    CHECK(!b.over_seqs && b.calls == 3, "GQA block: %d calls", b.calls);
    /* its B reuse: 6 heads on 3 kv heads, 2 entries per K/V head read on average */
    CHECK(b.b_shared == 2.0, "GQA block: b_shared %g", b.b_shared);
    /* small-llama's decode on one rank: 4 sequences x 8 heads, 4 per kv head: a call per
     * sequence and run, each reading one K (or V) head for 4 query heads */
    b = attn_gemm_batch(4, 0, 8, 4);
    CHECK(!b.over_seqs && b.calls == 8 && b.b_shared == 4.0, "small-llama decode: %d calls, b_shared %g", b.calls,
          b.b_shared);
    /* batched over sequences or MHA: every entry has its own B */
    b = attn_gemm_batch(128, 4, 2, 1);
    CHECK(b.b_shared == 1.0, "MHA: b_shared %g", b.b_shared);
    b = attn_gemm_batch(64, 0, 8, 4);
    CHECK(b.over_seqs && b.b_shared == 1.0, "GQA over sequences: b_shared %g", b.b_shared);
    /* a tiling's sum walks its blocks: 5 sequences x 6 heads (qpk 2, first head 1) in blocks
     * of one sequence x 3 heads: each block holds heads 1-3 (runs {1},{2,3}) or 4-6 ({4,5},{6}) */
    attn_tiling t;
    attn_tiling_plan(&t, 5, 6, 1, 1, 1, 3);
    CHECK(t.seq_blocks == 5 && t.head_blocks == 2, "tiling %d x %d", t.seq_blocks, t.head_blocks);
    CHECK(attn_tiling_gemm_calls(&t, 1, 2) == 5 * (2 + 2), "tiling calls %lld", attn_tiling_gemm_calls(&t, 1, 2));
    attn_tiling_plan(&t, 5, 6, 1, 1, 1, 0); /* one block: 6 calls over the sequences beat 5 x 4 runs */
    CHECK(attn_tiling_gemm_calls(&t, 1, 2) == 6, "one block calls %lld", attn_tiling_gemm_calls(&t, 1, 2));
    printf("test_cost_tiling: batching ok (%d cases)\n", cases);
}

/* prices the seed's n=1,m=16 score-allreduce plan with a score budget */
static int price(const attn_model *m, const attn_topology *t, double budget, attn_plan *p, cost_detail *det) {
    attn_strategy s = {1, 1, 1, 16, SCHEME_SCORE_ALLREDUCE, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    cost_options o;
    cost_options_default(&o);
    o.score_workspace = budget;
    char err[256];
    int rc = cost_price_strategy(m, t, &s, &o, p, det, err, sizeof err);
    CHECK(rc == 0, "pricing n=1 m=16 score-allreduce (budget %g): %s", budget, err);
    return rc;
}

static const cost_coll_line *attn_line(const cost_detail *det, attn_phase ph) {
    for (int i = 0; i < det->n_coll; i++)
        if (det->coll[i].phase == ph && det->coll[i].op == OP_ATTN_COMM) return &det->coll[i];
    return NULL;
}

static int test_seed(const char *src) {
    char mpath[2048], tpath[2048];
    snprintf(mpath, sizeof mpath, "%s/models/seed-dense-4l.yaml", src);
    snprintf(tpath, sizeof tpath, "%s/topologies/dgx-h100-x2.yaml", src);
    if (access(mpath, R_OK) != 0 || access(tpath, R_OK) != 0) {
        printf("test_cost_tiling: seed part skipped, %s or %s missing\n", mpath, tpath);
        return 0;
    }
    attn_model m;
    attn_topology t;
    attn_diag d;
    attn_diag_init(&d);
    if (model_load(mpath, &m, &d) != 0 || topology_load(tpath, &t, &d) != 0) return 1;

    /* the ranking lists it as fitting */
    plan_candidate *c;
    int n = enumerate_and_price(&m, &t, NULL, 0, &c);
    CHECK(n > 0, "enumeration failed");
    int found = 0;
    for (int i = 0; i < n; i++) {
        const attn_strategy *s = &c[i].strategy;
        if (s->dp == 1 && s->pp == 1 && s->n == 1 && s->m == 16 && s->scheme == SCHEME_SCORE_ALLREDUCE) {
            found = 1;
            CHECK(c[i].status == CAND_OK, "n=1 m=16 score-allreduce does not fit: %s", c[i].reason);
        }
    }
    CHECK(found, "n=1 m=16 score-allreduce not listed");
    free(c);

    attn_plan tiled, whole;
    cost_detail dt, dw;
    if (price(&m, &t, 0, &tiled, &dt) != 0) return 1;
    if (price(&m, &t, 1e18, &whole, &dw) != 0) return 1;
    const attn_report *rt = &tiled.predicted, *rw = &whole.predicted;
    CHECK(rt->fits && !rw->fits, "fits with 1 GiB blocks %d, with one block %d", rt->fits, rw->fits);
    CHECK(rw->shortfall_bytes > 100e9, "one block's shortfall %g", rw->shortfall_bytes);
    const attn_rank_report *a = &rt->ranks[0], *b = &rw->ranks[0];
    /* memory: one block of 16 heads of one sequence, 1024 x 10000 pairs at 6 bytes, instead
     * of 128 x 32 of them. Per rank T = 1.28e6 tokens, 32 heads of 8 dims, fp16. The tiled
     * attention live set (q, k, v: T*96*8*2; the block; the output T*32*8*2) is then below
     * the MLP's (T * 2048 columns * 2 * 2), which becomes the larger live set. */
    double T = 128.0 * 10000, ws_tiled = 16.0 * 1024 * 10000 * 6, ws_whole = 128.0 * 32 * 1024 * 10000 * 6;
    double attn_tiled = T * 96 * 8 * 2 + ws_tiled + T * 32 * 8 * 2, mlp = T * 2048 * 2 * 2;
    CHECK(mlp > attn_tiled, "the hand figures assume the MLP live set is the larger");
    CHECK_REL(b->activation_bytes - a->activation_bytes, attn_tiled + ws_whole - ws_tiled - mlp, 1e-12);
    CHECK_REL(dt.score_ws_bytes[PHASE_PREFILL], ws_tiled, 1e-12);
    CHECK(dt.score_blocks[PHASE_PREFILL] == 256 && dw.score_blocks[PHASE_PREFILL] == 1, "blocks %d and %d",
          dt.score_blocks[PHASE_PREFILL], dw.score_blocks[PHASE_PREFILL]);

    /* the all-reduces: 4 layers x 10 chunks x 256 blocks calls, the same total volume */
    const cost_coll_line *lt = attn_line(&dt, PHASE_PREFILL), *lw = attn_line(&dw, PHASE_PREFILL);
    CHECK(lt && lw, "no prefill attn_comm line");
    if (lt && lw) {
        CHECK(lt->calls == 4 * 10 * 256 && lw->calls == 4 * 10, "calls %g and %g", lt->calls, lw->calls);
        CHECK_REL(lt->calls * lt->bytes_per_call, lw->calls * lw->bytes_per_call, 1e-12);
        CHECK(lt->time_s > lw->time_s, "more calls, no more latency: %g vs %g", lt->time_s, lw->time_s);
    }
    CHECK_REL(a->op[PHASE_PREFILL][OP_ATTN_COMM].bytes, b->op[PHASE_PREFILL][OP_ATTN_COMM].bytes, 1e-12);
    /* scores, softmax, P.V: same FLOPs; softmax 4 x 10 x (256 - 1) more launches, scores and
     * P.V 4 x 10 x (256 - 32): one call per block of one sequence's 16 heads against one
     * call per head over the 128 sequences of the single block */
    double launch = t.dev_types[t.devices[0].device_type].launch_overhead_s;
    CHECK(launch > 0, "the topology has no launch overhead: the launch check cannot tell");
    for (int op = OP_SCORES; op <= OP_PV; op++) {
        double extra = op == OP_SOFTMAX ? 255 : 256 - 32;
        CHECK_REL(a->op[PHASE_PREFILL][op].flops, b->op[PHASE_PREFILL][op].flops, 1e-12);
        CHECK_REL(a->op[PHASE_PREFILL][op].time_s - b->op[PHASE_PREFILL][op].time_s, 4.0 * 10 * extra * launch, 1e-6);
    }
    CHECK(dt.scores_calls[PHASE_PREFILL] == 4 * 10 * 256 && dw.scores_calls[PHASE_PREFILL] == 4 * 10 * 32 &&
              dt.pv_calls[PHASE_PREFILL] == dt.scores_calls[PHASE_PREFILL],
          "prefill GEMM calls %g (P.V %g) and %g", dt.scores_calls[PHASE_PREFILL], dt.pv_calls[PHASE_PREFILL],
          dw.scores_calls[PHASE_PREFILL]);
    /* decode: 128 sequences x 32 heads in one block, one call per head and layer */
    CHECK(dt.scores_calls[PHASE_DECODE] == 4 * 32, "decode GEMM calls %g", dt.scores_calls[PHASE_DECODE]);
    printf("test_cost_tiling: seed n=1 m=16 score-allreduce fits (%.2f GB; %.2f GB over with one block)\n",
           a->memory_bytes / 1e9, rw->shortfall_bytes / 1e9);
    plan_free(&tiled);
    plan_free(&whole);
    topology_free(&t);
    return 0;
}

/* attn_fused_plan_gqa's stacked decode tiles (GPU, qpk > 1, Tq x qpk <= 64): q_tile rows
 * are the qpk heads' query rows, one tile per (sequence, kv head), and its key reads and
 * tiles are shared by the call's query heads of that kv head; never on the CPU, never when
 * the rows do not fit, and attn_fused_plan (qpk 1) is unchanged. */
static void test_fused_stacking(void) {
    attn_fused_tiling t, u;
    /* Llama-3-8B-shaped decode: 32 heads over 8 kv heads, context 96 */
    attn_fused_plan_gqa(&t, ATTN_FUSED_GPU, 8, 32, 0, 4, 1, 96, 95, 0, 128, 128, 132);
    CHECK(t.head_stack == 4 && t.q_tile == 4, "stacked decode: head_stack %d q_tile %d", t.head_stack, t.q_tile);
    CHECK(fabs(t.key_rows - 96.0 / 4) < 1e-9, "stacked decode: key_rows %g per query head, want 24", t.key_rows);
    attn_fused_plan(&u, ATTN_FUSED_GPU, 8, 32, 1, 96, 95, 0, 128, 128, 132);
    CHECK(u.head_stack == 1 && u.q_tile == 1 && u.key_rows == 96, "unstacked decode: head_stack %d q_tile %d key_rows %g",
          u.head_stack, u.q_tile, u.key_rows);
    /* heads 2..9 with qpk 4: kv heads 0 (2 heads), 1 (4), 2 (2) -> 3 tiles over 8 heads */
    attn_fused_plan_gqa(&t, ATTN_FUSED_GPU, 1, 8, 2, 4, 1, 300, 299, 0, 64, 64, 132);
    CHECK(t.head_stack == 4 && fabs(t.key_rows - 3.0 * 300 / 8) < 1e-9,
          "kv edges: head_stack %d key_rows %g", t.head_stack, t.key_rows);
    attn_fused_plan_gqa(&t, ATTN_FUSED_CPU, 8, 32, 0, 4, 1, 96, 95, 0, 128, 128, 0);
    CHECK(t.head_stack == 1, "the CPU target stacked %d heads", t.head_stack);
    attn_fused_plan_gqa(&t, ATTN_FUSED_GPU, 1, 8, 0, 8, 9, 96, 87, 0, 128, 128, 132);
    CHECK(t.head_stack == 1 && t.q_tile == 9, "9 rows x qpk 8 > 64 stacked: head_stack %d q_tile %d", t.head_stack,
          t.q_tile);
}

int main(int argc, char **argv) {
    test_rule();
    test_fused_stacking();
    test_batching();
    if (test_seed(argc > 1 ? argv[1] : ".") != 0) check_failures++;
    if (check_failures) fprintf(stderr, "test_cost_tiling: %d failure(s)\n", check_failures);
    else printf("test_cost_tiling: ok\n");
    return check_failures ? 1 : 0;
}
