/* backend_cpu_attn.c: the CPU backend's fused attention (flash attention on OpenBLAS) and
 * its merge. A work unit is a set of packed query rows that share one kv head of one
 * sequence: in prefill one query tile of one head (q_tile rows, attn_fused_plan), in
 * decode (Tq <= DECODE_ROWS) the Tq rows of every query head of the block that reads the
 * kv head, so each sequence's keys stream once per kv head for all its qpk query heads.
 * In decode the units of one sequence run as a group, key tile outermost (run_group
 * says why). For each key tile (k_tile keys, attn_fused_plan) of the keys the
 * unit's rows can see (tiles above the causal diagonal are never formed):
 *     S = scale * Q_rows K_tile^T                     (sgemm; sgemv or kgemm_rows_nt for few rows)
 *     per row: m' = max(m, max_j S), rescale l and O by exp(m - m'),
 *              P = exp(S - m') on visible keys, 0 elsewhere, l += sum P (kvec_exp_sum)
 *     O += P V_tile                                   (sgemm; sgemv or kgemm_rows_nn for few rows)
 * and at the end O /= l, lse = m + log l (a row that saw no key: O = 0, lse = -inf). Only
 * one R x k_tile score tile exists at a time, shared by the group's units in turn. */
#include "backend_cpu_attn.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "attn_tiling.h"
#include "diag.h"
#include "kernels_cpu.h"
#include "kernels_cpu_gemm.h"
#include "kernels_cpu_vec.h"

/* Tq up to this is a decode step (or a short chunk): the query heads sharing a kv head
 * are stacked into one row block so their keys are read once; beyond it the query tiles
 * of one head are already tall enough for sgemm to reuse each key tile. The cost model
 * prices the same rule (lib/attn_tiling.h). */
#define DECODE_ROWS ATTN_FUSED_CPU_STACK_ROWS

static float *F(attn_ptr p) { return (float *)(void *)p.addr; }

void backend_cpu_attn_init(backend_cpu_attn_ws *ws) { memset(ws, 0, sizeof *ws); }

void backend_cpu_attn_free(backend_cpu_attn_ws *ws) {
    free(ws->buf);
    memset(ws, 0, sizeof *ws);
}

static float *ws_reserve(backend_cpu_attn_ws *ws, size_t floats) {
    if (floats > ws->floats) {
        float *p = realloc(ws->buf, floats * sizeof *p);
        if (!p) ATTN_FATAL(ATTN_EXIT_FAIL, "out of memory for the fused attention's %zu-float scratch", floats);
        ws->buf = p;
        ws->floats = floats;
    }
    return ws->buf;
}

/* One unit: query heads [h, h+ng) of sequence s (all reading the same kv head), rows
 * [i0, i0+qt) of each, packed head-major (row r is head h + r / qt, query i0 + r % qt). */
typedef struct unit {
    int s, h, ng, i0, qt;
} unit;

/* A unit's slice of the scratch: packed Q rows, the output accumulator, running max, sum */
typedef struct unit_ws {
    float *Qp, *Oa, *m, *l;
} unit_ws;

/* the most units one group runs: a group beyond it (more kv-head runs or heads) is split */
enum { GROUP_UNITS = 64 };

/* keys [0, vis) visible to query row i: k0 + j <= q0 + i, capped at Tk */
static int row_visible(const attn_fused_args *a, int i) {
    long long last = (long long)a->q0 + i - a->k0;
    if (last < 0) return 0;
    return last + 1 < a->Tk ? (int)(last + 1) : a->Tk;
}

/* One key tile [j0, j0+kt) for one unit: scores, the online softmax's update, P.V */
static void unit_tile(const attn_fused_args *a, int k_tile, unit u, unit_ws w, float *S, int j0, int kt) {
    int R = u.ng * u.qt, dq = a->d_qk, dv = a->d_v;
    size_t kv = (size_t)((a->head0 + u.h) / a->qpk - a->kv_base);
    const float *K = F(a->K) + (size_t)u.s * a->k_seq + kv * a->k_head + (size_t)j0 * a->k_ld;
    const float *V = F(a->V) + (size_t)u.s * a->v_seq + kv * a->v_head + (size_t)j0 * a->v_ld;
    /* one row (MHA decode): sgemv; a few rows (decode: the stacked query heads of a kv
     * head): kgemm, without sgemm's packing of the tile, which costs more than the product
     * at R <= 8. Measured on the decode shapes of bench/cpu_vs_torch.sh (docs/cpu-performance.md):
     * R = 4 at 64 wide, kgemm 0.74x sgemm's time; R = 1, sgemv 0.64x kgemm's. */
    if (R == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, kt, dq, a->scale, K, (int)a->k_ld, w.Qp, 1, 0.0f, S, 1);
    else if (R <= KGEMM_ROWS_MAX)
        kgemm_rows_nt(R, kt, dq, a->scale, w.Qp, dq, K, (int)a->k_ld, 0.0f, S, k_tile);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, kt, dq, a->scale, w.Qp, dq, K, (int)a->k_ld, 0.0f, S,
                    k_tile);
    for (int r = 0; r < R; r++) {
        float *srow = S + (size_t)r * k_tile;
        int nv = row_visible(a, u.i0 + r % u.qt) - j0;
        if (nv > kt) nv = kt;
        if (nv <= 0) { /* the row sees none of this tile (it sits on the diagonal) */
            memset(srow, 0, (size_t)kt * sizeof *srow);
            continue;
        }
        float mt = kvec_max(srow, (size_t)nv);
        if (mt > w.m[r]) {
            if (w.l[r] > 0.0f) { /* earlier tiles were weighted by the old max */
                float f = expf(w.m[r] - mt);
                w.l[r] *= f;
                kvec_scale(w.Oa + (size_t)r * dv, (size_t)dv, f);
            }
            w.m[r] = mt;
        }
        /* the tile's probabilities (unnormalized) and their sum, vectorized (kernels_cpu_vec.h) */
        w.l[r] += kvec_exp_sum(srow, srow, (size_t)nv, 1.0f, w.m[r]);
        for (int j = nv; j < kt; j++) srow[j] = 0.0f;
    }
    if (R == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, kt, dv, 1.0f, V, (int)a->v_ld, S, 1, 1.0f, w.Oa, 1);
    else if (R <= KGEMM_ROWS_MAX)
        kgemm_rows_nn(R, dv, kt, 1.0f, S, k_tile, V, (int)a->v_ld, 1.0f, w.Oa, dv);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, dv, kt, 1.0f, S, k_tile, V, (int)a->v_ld, 1.0f, w.Oa,
                    dv);
}

/* A group of units of one sequence with the same query rows (in decode, every kv-head run
 * of the block; in prefill a single unit), key tile by key tile: each tile's K and V rows,
 * which hold every kv head of the rank side by side, are read from memory once for all
 * the group's heads and then served from cache, where a unit at a time would stream each
 * row once per kv head (fetching the other heads' halves of its cache lines as well). */
static void run_group(backend_cpu_attn_ws *ws, const attn_fused_args *a, int k_tile, const unit *us, int nu) {
    int dq = a->d_qk, dv = a->d_v, Rmax = 0;
    size_t rows = 0;
    for (int i = 0; i < nu; i++) {
        int R = us[i].ng * us[i].qt;
        rows += (size_t)R;
        if (R > Rmax) Rmax = R;
    }
    float *S = ws_reserve(ws, (size_t)Rmax * k_tile + rows * ((size_t)dq + dv + 2)), *at = S + (size_t)Rmax * k_tile;
    unit_ws w[GROUP_UNITS];
    for (int i = 0; i < nu; i++) {
        unit u = us[i];
        int R = u.ng * u.qt;
        w[i] = (unit_ws){at, at + (size_t)R * dq, at + (size_t)R * (dq + dv), at + (size_t)R * (dq + dv) + R};
        at += (size_t)R * (dq + dv + 2);
        for (int r = 0; r < R; r++) {
            const float *q = F(a->Q) + (size_t)u.s * a->q_seq + (size_t)(u.h + r / u.qt) * a->q_head +
                             (size_t)(u.i0 + r % u.qt) * a->q_ld;
            memcpy(w[i].Qp + (size_t)r * dq, q, (size_t)dq * sizeof *q);
            w[i].m[r] = -INFINITY;
            w[i].l[r] = 0.0f;
        }
        memset(w[i].Oa, 0, (size_t)R * dv * sizeof *w[i].Oa);
    }
    int vis_max = row_visible(a, us[0].i0 + us[0].qt - 1); /* the group's last query sees the most */
    for (int j0 = 0; j0 < vis_max; j0 += k_tile) {
        int kt = vis_max - j0 < k_tile ? vis_max - j0 : k_tile;
        for (int i = 0; i < nu; i++) unit_tile(a, k_tile, us[i], w[i], S, j0, kt);
    }
    for (int i = 0; i < nu; i++) {
        unit u = us[i];
        for (int r = 0; r < u.ng * u.qt; r++) {
            int h = u.h + r / u.qt, q = u.i0 + r % u.qt;
            float *o = F(a->O) + (size_t)u.s * a->o_seq + (size_t)h * a->o_head + (size_t)q * a->o_ld;
            const float *acc = w[i].Oa + (size_t)r * dv;
            float l = w[i].l[r];
            int seen = l > 0.0f; /* l >= 1 once a key was seen: the max contributes exp(0) */
            float inv = seen ? 1.0f / l : 0.0f;
            for (int c = 0; c < dv; c++) o[c] = acc[c] * inv;
            if (a->lse.addr)
                F(a->lse)[((size_t)u.s * a->heads + h) * a->Tq + q] = seen ? w[i].m[r] + logf(l) : -INFINITY;
        }
    }
}

void backend_cpu_attn_fused(backend_cpu_attn_ws *ws, const attn_fused_args *a) {
    if (a->qpk < 1 || a->d_qk < 1 || a->d_v < 1)
        ATTN_FATAL(ATTN_EXIT_FAIL, "fused attention: qpk %d, d_qk %d, d_v %d", a->qpk, a->d_qk, a->d_v);
    attn_fused_tiling t;
    attn_fused_plan(&t, ATTN_FUSED_CPU, a->seqs, a->heads, a->Tq, a->Tk, a->q0, a->k0, a->d_qk, a->d_v, 0);
    unit us[GROUP_UNITS];
    for (int s = 0; s < a->seqs; s++) {
        if (a->Tq <= DECODE_ROWS) {
            int nu = 0;
            /* runs of query heads sharing a kv head, all Tq rows of each in one unit */
            for (int h = 0; h < a->heads;) {
                int e = h + 1;
                while (e < a->heads && (a->head0 + e) / a->qpk == (a->head0 + h) / a->qpk) e++;
                us[nu++] = (unit){s, h, e - h, 0, a->Tq};
                if (nu == GROUP_UNITS) run_group(ws, a, t.k_tile, us, nu), nu = 0;
                h = e;
            }
            if (nu) run_group(ws, a, t.k_tile, us, nu);
            continue;
        }
        /* prefill: a unit at a time, each query tile of each head reading its key tiles, as
         * the cost model prices it (kv_share in planner/cost/cost_attention.c). Grouping
         * the heads of a query tile measured level here (cvt-llama-4k's prefill shape: the
         * 64-row tiles are bound by their sgemm and exp, not by the key rows' traffic). */
        for (int h = 0; h < a->heads; h++)
            for (int i0 = 0; i0 < a->Tq; i0 += t.q_tile) {
                unit u = {s, h, 1, i0, a->Tq - i0 < t.q_tile ? a->Tq - i0 : t.q_tile};
                run_group(ws, a, t.k_tile, &u, 1);
            }
    }
}

void backend_cpu_attn_merge(const attn_merge_args *a) {
    /* elementwise over rows x d_v: the reference's double arithmetic costs nothing here */
    attention_merge_cpu_args m = {
        a->seqs, a->heads, a->Tq, a->d_v,
        F(a->O), a->o_ld, a->o_head, a->o_seq,
        F(a->O2), a->o2_ld, a->o2_head, a->o2_seq,
        F(a->lse), F(a->lse2),
    };
    attention_merge_forward_cpu(&m);
}
