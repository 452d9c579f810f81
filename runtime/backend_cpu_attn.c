/* backend_cpu_attn.c: the CPU backend's fused attention (flash attention on OpenBLAS) and
 * its merge. A work unit is a set of packed query rows that share one kv head of one
 * sequence: in prefill one query tile of one head (q_tile rows, attn_fused_plan), in
 * decode (Tq <= DECODE_ROWS) the Tq rows of every query head of the block that reads the
 * kv head, so each sequence's keys stream once per kv head for all its qpk query heads.
 * For each key tile (k_tile keys, attn_fused_plan) of the keys the unit's rows can see
 * (tiles above the causal diagonal are never formed):
 *     S = scale * Q_rows K_tile^T                     (one sgemm; sgemv for a single row)
 *     per row: m' = max(m, max_j S), rescale l and O by exp(m - m'),
 *              P = exp(S - m') on visible keys, 0 elsewhere, l += sum P (kvec_exp_sum)
 *     O += P V_tile                                   (one sgemm)
 * and at the end O /= l, lse = m + log l (a row that saw no key: O = 0, lse = -inf). Only
 * one R x k_tile score tile exists at a time. */
#include "backend_cpu_attn.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "attn_tiling.h"
#include "diag.h"
#include "kernels_cpu.h"
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

/* keys [0, vis) visible to query row i: k0 + j <= q0 + i, capped at Tk */
static int row_visible(const attn_fused_args *a, int i) {
    long long last = (long long)a->q0 + i - a->k0;
    if (last < 0) return 0;
    return last + 1 < a->Tk ? (int)(last + 1) : a->Tk;
}

static void run_unit(backend_cpu_attn_ws *ws, const attn_fused_args *a, int k_tile, unit u) {
    int R = u.ng * u.qt, dq = a->d_qk, dv = a->d_v;
    float *Qp = ws_reserve(ws, (size_t)R * ((size_t)dq + k_tile + dv + 2));
    float *S = Qp + (size_t)R * dq, *Oa = S + (size_t)R * k_tile, *m = Oa + (size_t)R * dv, *l = m + R;
    size_t kv = (size_t)((a->head0 + u.h) / a->qpk - a->kv_base);
    const float *K = F(a->K) + (size_t)u.s * a->k_seq + kv * a->k_head;
    const float *V = F(a->V) + (size_t)u.s * a->v_seq + kv * a->v_head;
    for (int r = 0; r < R; r++) {
        const float *q = F(a->Q) + (size_t)u.s * a->q_seq + (size_t)(u.h + r / u.qt) * a->q_head +
                         (size_t)(u.i0 + r % u.qt) * a->q_ld;
        memcpy(Qp + (size_t)r * dq, q, (size_t)dq * sizeof *q);
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    memset(Oa, 0, (size_t)R * dv * sizeof *Oa);
    int vis_max = row_visible(a, u.i0 + u.qt - 1); /* the unit's last query sees the most */
    for (int j0 = 0; j0 < vis_max; j0 += k_tile) {
        int kt = vis_max - j0 < k_tile ? vis_max - j0 : k_tile;
        /* one row (MHA decode): sgemv, which OpenBLAS runs without sgemm's packing */
        if (R == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, kt, dq, a->scale, K + (size_t)j0 * a->k_ld, (int)a->k_ld, Qp, 1,
                        0.0f, S, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, kt, dq, a->scale, Qp, dq, K + (size_t)j0 * a->k_ld,
                        (int)a->k_ld, 0.0f, S, k_tile);
        for (int r = 0; r < R; r++) {
            float *srow = S + (size_t)r * k_tile;
            int nv = row_visible(a, u.i0 + r % u.qt) - j0;
            if (nv > kt) nv = kt;
            if (nv <= 0) { /* the row sees none of this tile (it sits on the diagonal) */
                memset(srow, 0, (size_t)kt * sizeof *srow);
                continue;
            }
            float mt = kvec_max(srow, (size_t)nv);
            if (mt > m[r]) {
                if (l[r] > 0.0f) { /* earlier tiles were weighted by the old max */
                    float f = expf(m[r] - mt);
                    l[r] *= f;
                    kvec_scale(Oa + (size_t)r * dv, (size_t)dv, f);
                }
                m[r] = mt;
            }
            /* the tile's probabilities (unnormalized) and their sum, vectorized (kernels_cpu_vec.h) */
            l[r] += kvec_exp_sum(srow, srow, (size_t)nv, 1.0f, m[r]);
            for (int j = nv; j < kt; j++) srow[j] = 0.0f;
        }
        if (R == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, kt, dv, 1.0f, V + (size_t)j0 * a->v_ld, (int)a->v_ld, S, 1, 1.0f, Oa, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, dv, kt, 1.0f, S, k_tile, V + (size_t)j0 * a->v_ld,
                        (int)a->v_ld, 1.0f, Oa, dv);
    }
    for (int r = 0; r < R; r++) {
        int h = u.h + r / u.qt, i = u.i0 + r % u.qt;
        float *o = F(a->O) + (size_t)u.s * a->o_seq + (size_t)h * a->o_head + (size_t)i * a->o_ld;
        const float *acc = Oa + (size_t)r * dv;
        int seen = l[r] > 0.0f; /* l >= 1 once a key was seen: the max contributes exp(0) */
        float inv = seen ? 1.0f / l[r] : 0.0f;
        for (int c = 0; c < dv; c++) o[c] = acc[c] * inv;
        if (a->lse.addr)
            F(a->lse)[((size_t)u.s * a->heads + h) * a->Tq + i] = seen ? m[r] + logf(l[r]) : -INFINITY;
    }
}

void backend_cpu_attn_fused(backend_cpu_attn_ws *ws, const attn_fused_args *a) {
    if (a->qpk < 1 || a->d_qk < 1 || a->d_v < 1)
        ATTN_FATAL(ATTN_EXIT_FAIL, "fused attention: qpk %d, d_qk %d, d_v %d", a->qpk, a->d_qk, a->d_v);
    attn_fused_tiling t;
    attn_fused_plan(&t, ATTN_FUSED_CPU, a->seqs, a->heads, a->Tq, a->Tk, a->q0, a->k0, a->d_qk, a->d_v, 0);
    for (int s = 0; s < a->seqs; s++) {
        if (a->Tq <= DECODE_ROWS) {
            /* runs of query heads sharing a kv head, all Tq rows of each in one unit */
            for (int h = 0; h < a->heads;) {
                int e = h + 1;
                while (e < a->heads && (a->head0 + e) / a->qpk == (a->head0 + h) / a->qpk) e++;
                run_unit(ws, a, t.k_tile, (unit){s, h, e - h, 0, a->Tq});
                h = e;
            }
            continue;
        }
        for (int h = 0; h < a->heads; h++)
            for (int i0 = 0; i0 < a->Tq; i0 += t.q_tile)
                run_unit(ws, a, t.k_tile, (unit){s, h, 1, i0, a->Tq - i0 < t.q_tile ? a->Tq - i0 : t.q_tile});
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
