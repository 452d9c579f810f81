/* attn_tiling.c: the score-block rule of attn_tiling.h. */
#include "attn_tiling.h"
#include <math.h>
#include "plan.h"
#include "split.h"

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

void attn_tiling_plan(attn_tiling *t, int seqs, int heads, int rows, int keys, double bytes_per_pair,
                      double budget_bytes) {
    double budget = budget_bytes > 0 ? budget_bytes : ATTN_SCORE_WORKSPACE_DEFAULT;
    t->seqs = seqs;
    t->heads = heads;
    t->seq_blocks = t->head_blocks = 1;
    t->block_seqs = seqs > 0 ? seqs : 0;
    t->block_heads = heads > 0 ? heads : 0;
    double pair = (double)(rows > 0 ? rows : 0) * (keys > 0 ? keys : 0) * (bytes_per_pair > 0 ? bytes_per_pair : 0);
    if (seqs > 0 && heads > 0 && pair > 0) {
        double seq_bytes = pair * heads; /* one sequence, all its heads */
        if (seq_bytes <= budget) {
            /* floor(budget / seq_bytes) in double: it may exceed INT_MAX for tiny blocks */
            double fit = floor(budget / seq_bytes);
            int per = fit >= seqs ? seqs : (int)fit;
            t->seq_blocks = ceil_div(seqs, per);
        } else {
            t->seq_blocks = seqs;
            double fit = floor(budget / pair);
            int per = fit >= heads ? heads : fit < 1 ? 1 : (int)fit;
            t->head_blocks = ceil_div(heads, per);
        }
        t->block_seqs = ceil_div(seqs, t->seq_blocks);
        t->block_heads = ceil_div(heads, t->head_blocks);
    }
    t->block_bytes = (double)t->block_seqs * t->block_heads * pair;
}

attn_gemm_batching attn_gemm_batch(int seqs, int head0, int heads, int qpk) {
    attn_gemm_batching b = {0, 0, 1.0};
    if (seqs <= 0 || heads <= 0) return b;
    if (qpk < 1) qpk = 1;
    /* kv-head runs the heads fall into: with qpk == 1 a call per sequence strides through
     * consecutive kv heads, so the whole block's heads are one run */
    int runs = qpk == 1 ? 1 : plan_kv_range(qpk, head0, head0 + heads, NULL, NULL);
    long long per_seq = (long long)seqs * runs;
    if (heads < per_seq) {
        b.over_seqs = 1;
        b.calls = heads;
    } else {
        b.calls = (int)per_seq; /* <= heads here */
        if (qpk > 1) b.b_shared = (double)heads / runs; /* a call per run, its heads on one kv head */
    }
    return b;
}

long long attn_tiling_gemm_calls(const attn_tiling *t, int head0, int qpk) {
    long long calls = 0;
    for (int sb = 0; sb < t->seq_blocks; sb++) {
        int s0, ns;
        split_part(t->seqs, t->seq_blocks, sb, &s0, &ns);
        for (int hb = 0; hb < t->head_blocks; hb++) {
            int h0, nh;
            split_part(t->heads, t->head_blocks, hb, &h0, &nh);
            calls += attn_gemm_batch(ns, head0 + h0, nh, qpk).calls;
        }
    }
    return calls;
}

/* SMs of an H100 SXM (the GPU default when a topology does not say) */
#define FUSED_DEFAULT_GPU_UNITS 132

void attn_fused_plan(attn_fused_tiling *t, attn_fused_target target, int seqs, int heads, int Tq, int Tk, int q0,
                     int k0, int d_qk, int d_v, int units) {
    attn_fused_plan_gqa(t, target, seqs, heads, 0, 1, Tq, Tk, q0, k0, d_qk, d_v, units);
}

void attn_fused_plan_gqa(attn_fused_tiling *t, attn_fused_target target, int seqs, int heads, int head0, int qpk,
                         int Tq, int Tk, int q0, int k0, int d_qk, int d_v, int units) {
    int dmax = d_qk > d_v ? d_qk : d_v;
    if (target == ATTN_FUSED_GPU) {
        /* a CTA holds a 64-row Q tile and streams K/V tiles through shared memory: 64 keys
         * up to head width 128, 32 beyond (the K and V tiles of a 256-wide head in fp16
         * would otherwise need 64 KiB each) */
        t->q_tile = 64;
        t->k_tile = dmax <= 128 ? 64 : 32;
        if (units <= 0) units = FUSED_DEFAULT_GPU_UNITS;
    } else {
        /* a 64 x 256 fp32 score tile is 64 KiB: it and the tile's K/V rows stay in L2 */
        t->q_tile = 64;
        t->k_tile = 256;
        units = 1;
    }
    int q_max = t->q_tile;
    if (Tq > 0 && Tq < t->q_tile) t->q_tile = Tq;
    /* decode on a GPU: one query row per (sequence, head) would fill 1 of a tensor-core
     * tile's 16 rows; the qpk heads of a kv head stacked as the rows fill qpk of them and
     * read that head's K/V once (GQA Llama-3: qpk = 4) */
    t->head_stack = 1;
    int groups = heads; /* thread-block rows of (sequence, group): heads, or kv heads when stacked */
    if (target == ATTN_FUSED_GPU && qpk > 1 && Tq > 0 && heads > 0 && head0 >= 0 && (long long)Tq * qpk <= q_max) {
        t->head_stack = qpk;
        t->q_tile = Tq * qpk;
        groups = (head0 + heads - 1) / qpk - head0 / qpk + 1;
    }
    t->kv_splits = 1;
    t->split_keys = Tk > 0 ? Tk : 0;
    t->tiles = t->key_rows = t->pairs = 0;
    if (seqs <= 0 || heads <= 0 || Tq <= 0 || Tk <= 0) return;
    int k_tiles = ceil_div(Tk, t->k_tile);
    /* flash-decoding: only when the (sequence, head) pairs and their query tiles leave
     * units idle; about two CTAs per unit, every range at least 4 key tiles */
    if (target == ATTN_FUSED_GPU) {
        double ctas = (double)seqs * groups * (t->head_stack > 1 ? 1 : ceil_div(Tq, t->q_tile));
        if (ctas < 2.0 * units) {
            int want = (int)ceil(2.0 * units / ctas);
            int most = k_tiles / 4 > 1 ? k_tiles / 4 : 1;
            t->kv_splits = want < most ? want : most;
        }
        int per = ceil_div(k_tiles, t->kv_splits);
        t->split_keys = per * t->k_tile;
        t->kv_splits = ceil_div(k_tiles, per);
    }
    /* causal skipping: query tile [r0, r1) sees keys j with k0 + j <= q0 + r1 - 1; a
     * stacked tile holds rows [0, Tq) of each of its heads */
    int rows_per_tile = t->head_stack > 1 ? Tq : t->q_tile;
    for (int r0 = 0; r0 < Tq; r0 += rows_per_tile) {
        int r1 = r0 + rows_per_tile < Tq ? r0 + rows_per_tile : Tq;
        long long last = (long long)q0 + r1 - 1 - k0; /* last visible key row */
        if (last < 0) continue;
        int vis = last + 1 < Tk ? (int)(last + 1) : Tk;
        int nt = ceil_div(vis, t->k_tile);
        long long keys = (long long)nt * t->k_tile < Tk ? (long long)nt * t->k_tile : Tk;
        t->tiles += nt;
        t->key_rows += vis;
        t->pairs += (double)(r1 - r0) * keys;
    }
    if (t->head_stack > 1) { /* one stacked tile per (sequence, kv head), shared by its query heads */
        t->tiles *= (double)groups / heads;
        t->key_rows *= (double)groups / heads;
    }
}

int attn_parse_bytes(const char *s, double *out) {
    /* digits only (strtod would also take hex, exponents and "inf"), then the suffix */
    if (!s) return -1;
    double v = 0;
    const char *c = s;
    for (; *c >= '0' && *c <= '9'; c++) {
        v = v * 10 + (*c - '0');
        if (v > 1e18) return -1; /* far beyond the cap; stops the loop from overflowing */
    }
    if (c == s) return -1;
    if (*c == 'K') v *= 1024.0, c++;
    else if (*c == 'M') v *= 1024.0 * 1024.0, c++;
    else if (*c == 'G') v *= 1024.0 * 1024.0 * 1024.0, c++;
    if (*c != '\0' || v < 1 || v > 1125899906842624.0) return -1;
    *out = v;
    return 0;
}
