/* cost_ops.c: FLOPs, HBM bytes and roofline time of every compute and memory op of one
 * transformer layer on one rank (docs/cost-model.md, "Per-op formulas").
 * Roofline: time = max(flops / (peak * eff), bytes / (bandwidth * mem_eff)) + launches *
 * launch overhead. GEMMs run at the dtype's tensor peak times the GEMM efficiency (the
 * topology's, or the calibration table interpolated at the GEMM's shape); elementwise and
 * softmax kernels count their FLOPs at the fp32 (vector unit) peak, and are bound by
 * memory in practice. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cost_private.h"

void cost_options_default(cost_options *o) {
    memset(o, 0, sizeof *o); /* every field a default, the ones added later too (decode_first_step was not) */
    o->query_chunk = COST_DEFAULT_QUERY_CHUNK;
    o->score_bytes = 4;
    o->score_workspace = ATTN_SCORE_WORKSPACE_DEFAULT;
    o->fused_attention = 1;
}

/* A dtype's peak, falling back to fp32's when the device type lists none for it. */
static double peak_flops(const attn_device_type *dt, attn_dtype dtype) {
    double p = (dtype >= 0 && dtype < DTYPE_COUNT) ? dt->peak_flops[dtype] : 0;
    if (p <= 0) p = dt->peak_flops[DTYPE_FP32];
    return p > 0 ? p : 1e9; /* a device type with no peak at all: priced as a very slow one */
}

static double launch_overhead(const attn_device_type *dt, const cost_calibration *cal) {
    if (cal && cal->launch_overhead_s >= 0) return cal->launch_overhead_s;
    return dt->launch_overhead_s;
}

static double log2_at_least_1(double x) { return log2(x > 1 ? x : 1); }

/* Inverse-distance weighting (power 2) in log2 space over the calibrated points (m, n, k,
 * reuse); an exact hit returns its value. Extrapolation therefore stays within the table's
 * range; the reuse is clamped to the table's range first, so a file measured without reuse
 * (all points 1) prices exactly as before it had the axis. */
double cost_gemm_efficiency_reuse(const attn_device_type *dt, double gm, double gn, double gk, double reuse,
                                  const cost_calibration *cal) {
    if (!cal || cal->n_gemm <= 0 || !cal->gemm) return dt->gemm_efficiency;
    double rlo = INFINITY, rhi = 0;
    for (int i = 0; i < cal->n_gemm; i++) {
        double r = log2_at_least_1(cal->gemm[i].reuse);
        if (r < rlo) rlo = r;
        if (r > rhi) rhi = r;
    }
    double lr = log2_at_least_1(reuse);
    lr = lr < rlo ? rlo : lr > rhi ? rhi : lr;
    double lm = log2_at_least_1(gm), ln = log2_at_least_1(gn), lk = log2_at_least_1(gk);
    double wsum = 0, esum = 0;
    for (int i = 0; i < cal->n_gemm; i++) {
        const cost_gemm_point *g = &cal->gemm[i];
        double dm = lm - log2_at_least_1(g->m), dn = ln - log2_at_least_1(g->n), dk = lk - log2_at_least_1(g->k),
               dr = lr - log2_at_least_1(g->reuse);
        double d2 = dm * dm + dn * dn + dk * dk + dr * dr;
        if (d2 < 1e-12) return g->efficiency;
        wsum += 1.0 / d2;
        esum += g->efficiency / d2;
    }
    return wsum > 0 ? esum / wsum : dt->gemm_efficiency;
}

double cost_gemm_efficiency(const attn_device_type *dt, double gm, double gn, double gk,
                            const cost_calibration *cal) {
    return cost_gemm_efficiency_reuse(dt, gm, gn, gk, 1, cal);
}

/* The roofline with a given cost per launch. */
static double kernel_time(const attn_device_type *dt, attn_dtype dtype, double flops, double bytes, double gemm_eff,
                          double bw_override, double launches, double launch_s) {
    if (flops <= 0 && bytes <= 0) return 0;
    double eff = gemm_eff > 0 ? gemm_eff : 1.0;
    double bw = bw_override > 0 ? bw_override : dt->memory_bandwidth * dt->memory_efficiency;
    double t_compute = flops > 0 ? flops / (peak_flops(dt, dtype) * eff) : 0;
    double t_memory = bytes > 0 && bw > 0 ? bytes / bw : 0;
    return (t_compute > t_memory ? t_compute : t_memory) + launches * launch_s;
}

double cost_kernel_time(const attn_device_type *dt, attn_dtype dtype, double flops, double bytes,
                        double gemm_eff, double bw_override, double launches, const cost_calibration *cal) {
    return kernel_time(dt, dtype, flops, bytes, gemm_eff, bw_override, launches, launch_overhead(dt, cal));
}

/* Bytes a GEMM is bound by in the roofline: none when its efficiency is measured (the
 * calibration timed the shape itself, whatever bound it: cache, memory or the pipes). */
static double gemm_roofline_bytes(double bytes, const cost_calibration *cal) {
    return cal && cal->n_gemm > 0 && cal->gemm ? 0 : bytes;
}

/* A GEMM C[gm,gn] = A[gm,gk] B[gk,gn] in the model dtype: reads A and B, writes C. */
static attn_op_cost gemm_op(const attn_device_type *dt, attn_dtype dtype, int eb, double gm, double gn,
                            double gk, double launches, double launch_s, const cost_calibration *cal) {
    attn_op_cost c = {0, 0, 0};
    if (gm <= 0 || gn <= 0 || gk <= 0) return c;
    c.flops = 2 * gm * gn * gk;
    c.bytes = eb * (gm * gk + gk * gn + gm * gn);
    if (cal && cal->n_gemm > 0 && cal->gemm) {
        c.time_s = kernel_time(dt, dtype, c.flops, gemm_roofline_bytes(c.bytes, cal),
                               cost_gemm_efficiency(dt, gm, gn, gk, cal), 0, launches, launch_s);
    } else {
        /* the topology's figures: the GEMM by its shape (cost_gemm.c), the plain roofline
         * where the device type states none of them */
        c.time_s = cost_gemm_kernel_time(dt, peak_flops(dt, dtype), dt->gemm_efficiency, gm, gn, c.flops, c.bytes) +
                   launches * launch_s;
    }
    return c;
}

double cost_gemm_time(const attn_device_type *dt, attn_dtype dtype, double gm, double gn, double gk,
                      double launches, const cost_calibration *cal) {
    return gemm_op(dt, dtype, dtype_bytes(dtype), gm, gn, gk, launches, launch_overhead(dt, cal), cal).time_s;
}

attn_op_cost cost_gemm_cost(const attn_device_type *dt, attn_dtype dtype, double gm, double gn, double gk, double launches,
                            const cost_calibration *cal) {
    return gemm_op(dt, dtype, dtype_bytes(dtype), gm, gn, gk, launches, launch_overhead(dt, cal), cal);
}

/* An elementwise kernel: FLOPs at the fp32 vector peak, bytes at the elementwise bandwidth. */
static attn_op_cost vector_op(const attn_device_type *dt, double flops, double bytes, double bw,
                              double launches, double launch_s) {
    attn_op_cost c = {0, flops, bytes};
    c.time_s = kernel_time(dt, DTYPE_FP32, flops, bytes, 1.0, bw, launches, launch_s);
    return c;
}

/* An attention GEMM over query chunks: flops and bytes given, efficiency at the chunk shape
 * and at the B reuse of the runtime's batched calls (query heads sharing a kv head). */
static attn_op_cost batched_op(const attn_device_type *dt, attn_dtype dtype, double flops, double bytes,
                               double gm, double gn, double gk, double reuse, double launches, double launch_s,
                               const cost_calibration *cal) {
    attn_op_cost c = {0, flops, bytes};
    if (flops <= 0 && bytes <= 0) return c;
    c.time_s = kernel_time(dt, dtype, flops, gemm_roofline_bytes(bytes, cal),
                           cost_gemm_efficiency_reuse(dt, gm, gn, gk, reuse, cal), 0, launches, launch_s);
    return c;
}

double cost_layer_weight_bytes(const cost_shape *sh) {
    double H = sh->hidden, gated = sh->arch == ARCH_LLAMA ? 2 : 1;
    double norms = sh->arch == ARCH_LLAMA ? 2 * H : 4 * H; /* two norms: weight (+ bias for gpt) */
    if (sh->qk_norm) norms += 2 * sh->dims; /* q_norm and k_norm: whole heads, so dims = head_dim */
    /* the projection columns the rank computes: its heads x dims, or with sharded weights
     * its slice's 1/s of them (norms stay whole on every rank) */
    double qkv = (H + (sh->qkv_bias ? 1 : 0)) * (sh->q_cols + 2 * sh->kv_cols); /* the biases: a row each */
    double o = sh->o_cols * H;
    double mlp = (gated + 1) * sh->mlp_cols * H;
    return sh->elem_bytes * (norms + qkv + o + mlp);
}

void cost_layer_ops(const cost_shape *sh, const attn_device_type *dt, const cost_calibration *cal,
                    attn_op_cost op[OP_COUNT], double *launch_total_s) {
    for (int i = 0; i < OP_COUNT; i++) op[i] = (attn_op_cost){0, 0, 0};
    /* one launch's cost: eager, or a kernel node of a replayed CUDA graph */
    const double ls = sh->launch_s >= 0 ? sh->launch_s : launch_overhead(dt, cal);
    double nl = 0; /* launches of the layer */
    /* T: the attention's tokens (RoPE, the core, the KV write); Tt: the token-wise parts'
     * (norms, projections, residuals, MLP), the stage's whole residual with sharded weights */
    const double eb = sh->elem_bytes, sb = sh->score_bytes, T = sh->tokens, Tt = sh->tok_tokens, H = sh->hidden;
    const int llama = sh->arch == ARCH_LLAMA;
    const attn_dtype dt_model = sh->dtype;
    double bw_elem = cal && cal->elementwise_bandwidth > 0 ? cal->elementwise_bandwidth : 0;
    double bw_soft = cal && cal->softmax_bandwidth > 0 ? cal->softmax_bandwidth : bw_elem;
    if (cal && sh->q_len == 1 && cal->softmax_decode_bandwidth > 0) bw_soft = cal->softmax_decode_bandwidth;
    double bw_k[CALIBRATION_KERNEL_COUNT]; /* each kernel's calibrated rate, else the elementwise figure */
    for (int k = 0; k < CALIBRATION_KERNEL_COUNT; k++)
        bw_k[k] = cal && cal->kernel_bandwidth[k] > 0 ? cal->kernel_bandwidth[k] : bw_elem;

    /* Norms: read x, write the normalized copy, read the weights (and bias). FLOPs per
     * element: LayerNorm 7 (mean, variance, normalize, affine), RMSNorm 4. */
    double norm_w = llama ? H : 2 * H;
    attn_op_cost norm = vector_op(dt, (llama ? 4 : 7) * Tt * H, eb * (2 * Tt * H + norm_w),
                                  bw_k[llama ? CALIBRATION_KERNEL_RMSNORM : CALIBRATION_KERNEL_LAYERNORM], 1, ls);
    op[OP_NORM1] = norm;
    op[OP_NORM2] = norm;
    if (sh->qk_norm) { /* the per-head q and k norms, counted with norm1 (two launches on the attention's rows) */
        double e = T * (sh->q_heads + sh->kv_heads) * sh->dims;
        attn_op_cost qk = vector_op(dt, 4 * e, eb * (2 * e + 2 * sh->dims), bw_k[CALIBRATION_KERNEL_RMSNORM], 2, ls);
        op[OP_NORM1].time_s += qk.time_s, op[OP_NORM1].flops += qk.flops, op[OP_NORM1].bytes += qk.bytes;
    }

    /* Projections on the rank's dimension-split share. */
    /* q, k and v are three GEMMs in the runtime (three weight matrices): priced as such,
     * each at the efficiency of its own shape, with a launch each. */
    attn_op_cost q = gemm_op(dt, dt_model, (int)eb, Tt, sh->q_cols, H, 1, ls, cal);
    attn_op_cost kv = gemm_op(dt, dt_model, (int)eb, Tt, sh->kv_cols, H, 1, ls, cal);
    op[OP_QKV_PROJ] = (attn_op_cost){q.time_s + 2 * kv.time_s, q.flops + 2 * kv.flops, q.bytes + 2 * kv.bytes};
    if (sh->qkv_bias) { /* each bias added as the runtime does: ones[T] x bias[cols] into the output (K = 1) */
        attn_op_cost qb = gemm_op(dt, dt_model, (int)eb, Tt, sh->q_cols, 1, 1, ls, cal);
        attn_op_cost kb = gemm_op(dt, dt_model, (int)eb, Tt, sh->kv_cols, 1, 1, ls, cal);
        op[OP_QKV_PROJ].time_s += qb.time_s + 2 * kb.time_s;
        op[OP_QKV_PROJ].flops += qb.flops + 2 * kb.flops;
        op[OP_QKV_PROJ].bytes += qb.bytes + 2 * kb.bytes;
    }
    if (llama) {
        double e = T * (sh->q_heads + sh->kv_heads) * sh->dims; /* q and k rotated in place */
        op[OP_ROPE] = vector_op(dt, 3 * e, 2 * eb * e, bw_k[CALIBRATION_KERNEL_ROPE], 1, ls);
    }

    /* norms, q/k/v, RoPE (llama), o_proj, residuals, MLP up (g) / act / down, KV write */
    nl += 2 + 3 + llama + 1 + 2 + (llama ? 2 : 1) + 1 + 1 + 1 + (sh->qkv_bias ? 3 : 0) + (sh->qk_norm ? 2 : 0);
    if (sh->fused) { /* the fused attention (cost_attention.c): one roofline over its FLOPs and HBM bytes */
        double fl = 0;
        int calibrated = 0;
        attn_op_cost w;
        cost_attention_work(sh, &w, &fl);
        double eff = cost_attention_efficiency(dt, cal, sh, &calibrated);
        w.time_s = kernel_time(dt, dt_model, w.flops, calibrated ? 0 : w.bytes, eff, 0, fl, ls);
        op[OP_ATTENTION] = w;
        nl += fl;
    } else {
        /* Attention core over query chunks: scores written to a workspace of score_bytes per
         * element, softmax reads them and writes probabilities in the model dtype, P.V reads
         * those. Every chunk re-reads the keys/values it attends to. */
        double B = sh->rows, ah = sh->att_heads, akv = sh->att_kv_heads;
        double pairs = B * ah * sh->score_pairs;
        double keys_avg = sh->chunks > 0 ? sh->key_reads / sh->chunks : 0;
        /* softmax: one launch per score block of each chunk, as the runtime loops; scores and
         * P.V: the batched GEMM calls of those blocks (attn_gemm_batch: per sequence or per
         * head, whichever is fewer), none for P.V with no value dims (the runtime skips
         * empty GEMMs) */
        double launches = sh->chunks * (sh->score_blocks > 1 ? sh->score_blocks : 1);
        double gemm_launches = sh->chunks * sh->gemm_calls;
        op[OP_SCORES] = batched_op(dt, dt_model, 2 * pairs * sh->att_qk_dims,
                                   eb * (B * ah * sh->q_len * sh->att_qk_dims + B * akv * sh->key_reads * sh->att_qk_dims) +
                                       sb * pairs,
                                   sh->chunk_rows, keys_avg, sh->att_qk_dims, sh->gemm_reuse, gemm_launches, ls, cal);
        op[OP_SOFTMAX] = vector_op(dt, 5 * pairs, pairs * (sb + eb), bw_soft, launches, ls);
        op[OP_PV] = batched_op(dt, dt_model, 2 * pairs * sh->att_v_dims,
                               eb * (pairs + B * akv * sh->key_reads * sh->att_v_dims + B * ah * sh->q_len * sh->att_v_dims),
                               sh->chunk_rows, sh->att_v_dims, keys_avg, sh->gemm_reuse,
                               sh->att_v_dims > 0 ? gemm_launches : 0, ls, cal);
        nl += launches + gemm_launches * (sh->att_v_dims > 0 ? 2 : 1);
    }
    if (sh->merge_parts > 1) {
        /* decode with s > 1: the s (O, LSE) partials gathered over the slices merged by
         * log-sum-exp (per (row, head): each partial's weight exp(lse - max), then its O
         * scaled and summed, 2 FLOPs per dim, and one division per dim), reading the fp32
         * partials and writing O */
        double rh = sh->rows * sh->att_heads, P = sh->merge_parts, dv = sh->att_v_dims;
        attn_op_cost mg = vector_op(dt, rh * (P * (2 * dv + 3) + dv), rh * (4.0 * P * (dv + 1) + eb * dv), bw_elem, 1, ls);
        op[OP_ATTENTION].time_s += mg.time_s;
        op[OP_ATTENTION].flops += mg.flops;
        op[OP_ATTENTION].bytes += mg.bytes;
        nl += 1;
    }

    if (sh->fa_q_key > 0 && sh->cp == CP_RING && sh->fa_calls > 2) {
        /* prefill with cp=ring: each query chunk's first call (its diagonal) writes (O, LSE),
         * every later one is merged in (forward_seq.c ring_block): fa_calls - 2 pairwise
         * merges of a chunk's rows, reading both partials and writing the result */
        double rq = sh->rows * sh->att_heads * sh->fa_q_key, dv = sh->att_v_dims, n = sh->fa_calls - 2;
        attn_op_cost mg = vector_op(dt, n * rq * (2 * (2 * dv + 3) + dv), n * rq * (3 * eb * dv + 3 * 4.0), bw_elem, n, ls);
        op[OP_ATTENTION].time_s += mg.time_s;
        op[OP_ATTENTION].flops += mg.flops;
        op[OP_ATTENTION].bytes += mg.bytes;
        nl += n;
    }

    /* Row-parallel output projection on the dimension-split attention output. */
    op[OP_O_PROJ] = gemm_op(dt, dt_model, (int)eb, Tt, H, sh->o_cols, 1, ls, cal);
    attn_op_cost resid = vector_op(dt, Tt * H, 3 * eb * Tt * H, bw_k[CALIBRATION_KERNEL_RESIDUAL], 1, ls);
    op[OP_RESIDUAL1] = resid;
    op[OP_RESIDUAL2] = resid;

    /* Column-parallel up (and gate), activation, row-parallel down. GELU(tanh) counted as
     * 8 FLOPs per element, SiLU(gate) * up as 5. */
    double F = sh->mlp_cols;
    attn_op_cost up = gemm_op(dt, dt_model, (int)eb, Tt, F, H, 1, ls, cal); /* llama: gate and up, two GEMMs */
    op[OP_MLP_UP] = (attn_op_cost){(llama ? 2 : 1) * up.time_s, (llama ? 2 : 1) * up.flops, (llama ? 2 : 1) * up.bytes};
    op[OP_MLP_ACT] = llama ? vector_op(dt, 5 * Tt * F, 3 * eb * Tt * F, bw_k[CALIBRATION_KERNEL_SWIGLU], 1, ls)
                           : vector_op(dt, 8 * Tt * F, 2 * eb * Tt * F, bw_k[CALIBRATION_KERNEL_GELU], 1, ls);
    op[OP_MLP_DOWN] = gemm_op(dt, dt_model, (int)eb, Tt, H, F, 1, ls, cal);

    /* The new keys and values copied into the cache (read + write). */
    double kv_e = T * sh->cache_kv_heads * (sh->cache_k_dims + sh->cache_v_dims);
    op[OP_KV_CACHE_WRITE] = vector_op(dt, 0, 2 * eb * kv_e, bw_k[CALIBRATION_KERNEL_KV_COPY], 1, ls);
    if (launch_total_s) *launch_total_s = nl * ls;
}

/* ---- the calibration file's figures as pricing reads them ---- */

int cost_calibration_from(const attn_calibration *file, const char *source, cost_calibration *cal) {
    memset(cal, 0, sizeof *cal);
    cal->launch_overhead_s = -1;
    snprintf(cal->source, sizeof cal->source, "%s", source ? source : "");
    cal->gemm = calloc(file->n_gemm ? (size_t)file->n_gemm : 1, sizeof *cal->gemm);
    cal->coll = calloc(file->n_coll ? (size_t)file->n_coll : 1, sizeof *cal->coll);
    cal->attention = calloc(file->n_attention ? (size_t)file->n_attention : 1, sizeof *cal->attention);
    if (!cal->gemm || !cal->coll || !cal->attention) {
        cost_calibration_free(cal);
        return -1;
    }
    for (int i = 0; i < file->n_gemm; i++) {
        const calibration_gemm *g = &file->gemm[i];
        cal->gemm[i] = (cost_gemm_point){g->m, g->n, g->k, g->efficiency * file->rescale, g->reuse};
    }
    cal->n_gemm = file->n_gemm;
    for (int i = 0; i < file->n_attention; i++) {
        const calibration_attention *a = &file->attention[i];
        cal->attention[i] = (cost_attention_point){a->tq, a->tk, a->d_qk, (double)a->seqs * a->heads, a->qpk,
                                                   a->efficiency * file->rescale};
    }
    cal->n_attention = file->n_attention;
    for (int i = 0; i < file->n_coll; i++) {
        const calibration_coll *c = &file->coll[i];
        cost_coll_fit *f = &cal->coll[i];
        *f = (cost_coll_fit){c->coll, c->link, c->group_size, c->alpha_s, c->bus_bandwidth, 0, {0}, {0}};
        for (int j = 0; j < c->n_samples && f->n_points < COST_MAX_COLL_POINTS; j++) { /* sorted in, once per size */
            double b = c->samples[j].bytes, t = c->samples[j].seconds;
            if (!(b > 0 && t > 0)) continue;
            int at = f->n_points, dup = 0;
            while (at > 0 && f->point_bytes[at - 1] >= b) dup |= f->point_bytes[--at] == b;
            if (dup) continue;
            memmove(f->point_bytes + at + 1, f->point_bytes + at, (size_t)(f->n_points - at) * sizeof *f->point_bytes);
            memmove(f->point_s + at + 1, f->point_s + at, (size_t)(f->n_points - at) * sizeof *f->point_s);
            f->point_bytes[at] = b, f->point_s[at] = t;
            f->n_points++;
        }
    }
    cal->n_coll = file->n_coll;
    cal->elementwise_bandwidth = file->elementwise_bandwidth;
    for (int k = 0; k < CALIBRATION_KERNEL_COUNT; k++) cal->kernel_bandwidth[k] = file->kernel[k].bandwidth;
    cal->softmax_bandwidth = file->softmax_bandwidth;
    cal->softmax_decode_bandwidth = file->softmax_decode_bandwidth;
    cal->launch_overhead_s = file->launch_overhead_s;
    cal->n_sync = file->n_sync;
    memcpy(cal->sync_work_s, file->sync_work_s, sizeof cal->sync_work_s);
    memcpy(cal->sync_wait_s, file->sync_wait_s, sizeof cal->sync_wait_s);
    return 0;
}

int cost_calibration_load(const char *path, const attn_topology *t, cost_calibration *cal, attn_calibration *file,
                          attn_diag *d) {
    attn_calibration local;
    if (!file) file = &local;
    memset(cal, 0, sizeof *cal);
    cal->launch_overhead_s = -1;
    if (calibration_load(path, t, file, d) != 0) return -1;
    int rc = cost_calibration_from(file, path, cal);
    if (rc) diag_plain(d, "%s: out of memory", path);
    if (rc || file == &local) calibration_free(file);
    return rc;
}

void cost_calibration_free(cost_calibration *cal) {
    if (!cal) return;
    free(cal->gemm);
    free(cal->coll);
    free(cal->attention);
    memset(cal, 0, sizeof *cal);
    cal->launch_overhead_s = -1;
}
