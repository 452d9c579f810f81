/* cost_attention.c: the fused attention op (OP_ATTENTION: backend.h attention_fused, one
 * call per layer for a microbatch or a decode step) of the none, qk-allgather and
 * head-alltoall schemes (docs/cost-model.md, "Fused attention"). Its tiles come from the
 * rule the kernels follow (lib/attn_tiling.h attn_fused_plan, set on the shape by
 * cost_rank.c): FLOPs are the tiles it computes (diagonal tiles whole, tiles above the
 * causal diagonal skipped), HBM bytes the Q it reads, the K and V rows each query tile
 * reads (key_rows), the O and LSE it writes and, with flash-decoding, the split partials
 * written and merged. cost_ops.c prices the roofline; this file calls nothing of it. */
#include <math.h>
#include "cost_private.h"

/* Bytes of an fp32 element: LSE, and the split-KV partial outputs (the merge's inputs are
 * accumulated in fp32, as the kernel's online softmax is) */
#define ATTN_F32 4.0

/* Query tiles of one (sequence, kv head) that read the same key tiles together, so that
 * those rows come from HBM once between them (the rest from L2 or registers); g = the
 * query heads of the call per kv head they use (att_heads / att_kv_heads):
 *   GPU: the g x ceil(Tq / q_tile) query tiles of the kv head, up to one per unit (the grid
 *        runs up to `units` CTAs at once, and a kv head's CTAs run side by side);
 *   CPU: one core walks the units one after another: in a decode step (Tq at most
 *        ATTN_FUSED_CPU_STACK_ROWS) a unit stacks the g heads' rows, so g share; in prefill
 *        a unit is one query tile of one head, and every query tile reads its keys. */
static double kv_share(const cost_shape *sh) {
    double g = sh->att_kv_heads > 0 ? sh->att_heads / sh->att_kv_heads : 1;
    if (g < 1) g = 1;
    if (!sh->fa_gpu) return sh->q_len <= ATTN_FUSED_CPU_STACK_ROWS ? g : 1;
    double q_tiles = sh->fa.q_tile > 0 ? ceil(sh->q_len / sh->fa.q_tile) * g : 1;
    double units = sh->fa_units > 0 ? sh->fa_units : 1; /* no units given: no sharing priced */
    double share = q_tiles < units ? q_tiles : units;
    return share > 1 ? share : 1;
}

void cost_attention_work(const cost_shape *sh, attn_op_cost *w, double *launches) {
    *w = (attn_op_cost){0, 0, 0};
    *launches = 0;
    if (!sh->fused || sh->rows <= 0 || sh->att_heads <= 0 || sh->fa.tiles <= 0) return;
    const double pairs = sh->rows * sh->att_heads; /* (sequence, query head) pairs of the call */
    const double dq = sh->att_qk_dims, dv = sh->att_v_dims, s = sh->elem_bytes, Tq = sh->q_len;
    w->flops = 2 * (dq + dv) * pairs * sh->fa.pairs; /* Q.K^T and P.V over the computed tiles */
    double q = s * pairs * Tq * dq;
    double kv = s * pairs * sh->fa.key_rows * (dq + dv) / kv_share(sh);
    double o = s * pairs * Tq * dv, lse = ATTN_F32 * pairs * Tq;
    /* flash-decoding: every range writes its partial O and LSE in fp32, the merge reads
     * them all back (and writes O and LSE, counted above) */
    double split = sh->fa.kv_splits > 1 ? 2 * ATTN_F32 * pairs * Tq * sh->fa.kv_splits * (dv + 1) : 0;
    w->bytes = q + kv + o + lse + split;
    /* the attention kernel, and the merge; per call (s > 1 prefill: one per zigzag chunk and pass) */
    *launches = (sh->fa.kv_splits > 1 ? 2 : 1) * (sh->fa_calls > 1 ? sh->fa_calls : 1);
}

double cost_attention_workspace(const cost_shape *sh) {
    if (!sh->fused) return 0;
    double rows = sh->rows * sh->att_heads * sh->q_len;
    double split = sh->fa.kv_splits > 1 ? rows * sh->fa.kv_splits * (sh->att_v_dims + 1) * ATTN_F32 : 0;
    return rows * ATTN_F32 + split;
}

static double log2_at_least_1(double x) { return log2(x > 1 ? x : 1); }

double cost_attention_efficiency(const attn_device_type *dt, const cost_calibration *cal, const cost_shape *sh,
                                 int *calibrated) {
    *calibrated = 0;
    if (cal && cal->n_attention > 0 && cal->attention) {
        /* inverse-distance weighting (power 2) in log2 space, an exact hit returned as is:
         * the GEMM table's interpolation (cost_ops.c) on the fused op's own axes */
        double tq = sh->fa_q_key > 0 ? sh->fa_q_key : sh->q_len;
        double x[5] = {log2_at_least_1(tq), log2_at_least_1(sh->fa_keys), log2_at_least_1(sh->att_qk_dims),
                       log2_at_least_1(sh->rows * sh->att_heads), log2_at_least_1(sh->qpk)};
        double wsum = 0, esum = 0;
        for (int i = 0; i < cal->n_attention; i++) {
            const cost_attention_point *p = &cal->attention[i];
            double y[5] = {log2_at_least_1(p->tq), log2_at_least_1(p->tk), log2_at_least_1(p->d),
                           log2_at_least_1(p->pairs), log2_at_least_1(p->qpk)};
            double d2 = 0;
            for (int k = 0; k < 5; k++) d2 += (x[k] - y[k]) * (x[k] - y[k]);
            if (d2 < 1e-12) {
                *calibrated = 1;
                return p->efficiency;
            }
            wsum += 1.0 / d2;
            esum += p->efficiency / d2;
        }
        *calibrated = 1;
        return esum / wsum;
    }
    return dt->attention_efficiency > 0 ? dt->attention_efficiency : dt->gemm_efficiency;
}
