/* cost_ends.c: the model's ends (docs/cost-model.md, "The model's ends"), priced as
 * runtime/forward_ends.c runs them, with the vocabulary split over the stage's n x m ranks
 * (plan_vocab_range, Megatron's vocab-parallel embedding and column-parallel LM head):
 *   embed (first stage): zero-fill of x when the stage has several ranks, one row copy per
 *     token in the rank's vocabulary range (the expected share Vp / V of the tokens), then
 *     one all-reduce of the tokens' hidden states over the stage;
 *   final norm (last stage): the last position of each sequence copied out (prefill) and
 *     normalized -- the LM head needs no other position;
 *   LM head: one GEMM [rows, C] x [C, Vp], then one all-gather of the rows' logits over the
 *     stage (every rank of the stage ends with all V).
 * Called by cost_rank.c only; it calls cost_ops.c and cost_comm.c, never back. */
#include "cost_private.h"

/* a calibrated kernel's bandwidth, else the calibrated elementwise figure, else 0 (the
 * device's), as cost_layer_ops reads them */
static double kernel_bw(const cost_calibration *cal, calibration_kernel k) {
    if (cal && cal->kernel_bandwidth[k] > 0) return cal->kernel_bandwidth[k];
    return cal && cal->elementwise_bandwidth > 0 ? cal->elementwise_bandwidth : 0;
}

static attn_op_cost memory_op(const attn_device_type *dt, double flops, double bytes, double bw, double launches,
                              const cost_calibration *cal) {
    attn_op_cost c = {0, flops, bytes};
    c.time_s = cost_kernel_time(dt, DTYPE_FP32, flops, bytes, 1.0, bw, launches, cal);
    return c;
}

void cost_ends_ops(const cost_ends_rank *e, const attn_model *md, const attn_device_type *dt, const cost_calibration *cal,
                   double rows, double q_len, attn_op_cost op[OP_COUNT]) {
    for (int i = 0; i < OP_COUNT; i++) op[i] = (attn_op_cost){0, 0, 0};
    if (md->vocab_size <= 0 || rows <= 0) return;
    double eb = dtype_bytes(md->dtype), H = md->hidden, V = md->vocab_size, Vp = e->vocab_rows;
    int P = e->stage->n, llama = md->arch == ARCH_LLAMA;
    if (e->first) {
        double T = rows * q_len, mine = T * Vp / V; /* tokens whose row this rank holds, expected */
        double fill = P > 1 ? eb * T * H : 0;
        op[OP_EMBED] = memory_op(dt, 0, fill + 2 * eb * mine * H, kernel_bw(cal, CALIBRATION_KERNEL_KV_COPY),
                                 (P > 1) + mine, cal);
        double S = T * H * eb;
        op[OP_EMBED_COMM].time_s = cost_comm_time(e->stage, COLL_ALLREDUCE, S, cal, NULL, NULL) +
                                   (P > 1 ? cost_sync_wait(cal, op[OP_EMBED].time_s) : 0);
        op[OP_EMBED_COMM].bytes = coll_bus_factor(COLL_ALLREDUCE, P) * S;
    }
    if (e->last) {
        double R = rows; /* one position per sequence */
        attn_op_cost copy = q_len > 1 ? memory_op(dt, 0, 2 * eb * R * H, kernel_bw(cal, CALIBRATION_KERNEL_KV_COPY), 1, cal)
                                      : (attn_op_cost){0, 0, 0};
        attn_op_cost norm = memory_op(dt, (llama ? 4 : 7) * R * H, eb * (2 * R * H + (llama ? H : 2 * H)),
                                      kernel_bw(cal, llama ? CALIBRATION_KERNEL_RMSNORM : CALIBRATION_KERNEL_LAYERNORM), 1, cal);
        op[OP_FINAL_NORM] = (attn_op_cost){copy.time_s + norm.time_s, copy.flops + norm.flops, copy.bytes + norm.bytes};
        op[OP_LM_HEAD] = cost_gemm_cost(dt, md->dtype, R, Vp, H, 1, cal);
        double S = R * V * eb;
        op[OP_LM_HEAD_COMM].time_s = cost_comm_time(e->stage, COLL_ALLGATHER, S, cal, NULL, NULL) +
                                     (P > 1 ? cost_sync_wait(cal, op[OP_FINAL_NORM].time_s + op[OP_LM_HEAD].time_s) : 0);
        op[OP_LM_HEAD_COMM].bytes = coll_bus_factor(COLL_ALLGATHER, P) * S;
    }
}

double cost_ends_weight_bytes(const cost_ends_rank *e, const attn_model *md) {
    if (md->vocab_size <= 0) return 0;
    double eb = dtype_bytes(md->dtype), H = md->hidden, shard = e->vocab_rows * H * eb;
    double w = e->first ? shard : 0;
    if (e->last) w += (md->tie_word_embeddings && e->first ? 0 : shard) + (md->arch == ARCH_LLAMA ? H : 2 * H) * eb;
    return w;
}

double cost_ends_plan_weight_bytes(const attn_plan *p, const attn_rank_assign *a) {
    cost_ends_rank e = {a->stage == 0, a->stage + 1 >= p->strategy.pp, 0, NULL};
    e.vocab_rows = plan_vocab_range(p->model.vocab_size, p->strategy.n, p->strategy.m, a->head_group, a->seg, NULL, NULL);
    return cost_ends_weight_bytes(&e, &p->model);
}

void cost_ends_buffers(const cost_ends_rank *e, const attn_model *md, double rows, double *activation_bytes,
                       double *comm_bytes) {
    *activation_bytes = *comm_bytes = 0;
    if (md->vocab_size <= 0 || !e->last) return;
    double eb = dtype_bytes(md->dtype);
    *activation_bytes = rows * (2.0 * md->hidden + e->vocab_rows) * eb; /* last rows, normalized, local logits */
    if (e->stage->n > 1) *comm_bytes = rows * (double)md->vocab_size * eb; /* the gathered logits */
}

int cost_ends_describe(const cost_ends_rank *e, const attn_model *md, const attn_device_type *dt, const cost_calibration *cal,
                       attn_phase ph, double rows, double q_len, double calls, cost_coll_line *out, int room) {
    int k = 0;
    if (md->vocab_size <= 0 || e->stage->n <= 1) return 0;
    attn_op_cost op[OP_COUNT]; /* the priced times: transfer + wait */
    cost_ends_ops(e, md, dt, cal, rows, q_len, op);
    double eb = dtype_bytes(md->dtype);
    struct { int on; attn_op op; attn_coll coll; double S; } c[2] = {
        {e->first, OP_EMBED_COMM, COLL_ALLREDUCE, rows * q_len * md->hidden * eb},
        {e->last, OP_LM_HEAD_COMM, COLL_ALLGATHER, rows * (double)md->vocab_size * eb}};
    for (int i = 0; i < 2 && k < room; i++) {
        if (!c[i].on) continue;
        cost_coll_line *l = &out[k++];
        cost_coll_choice ch; /* eager: the ends run outside a decode step's graph (runtime/forward.c) */
        double t = cost_comm_time(e->stage, c[i].coll, c[i].S, cal, NULL, &ch);
        *l = (cost_coll_line){.phase = ph, .op = c[i].op, .coll = c[i].coll, .group = GROUP_STAGE,
                              .group_size = e->stage->n, .link = e->stage->link, .hierarchical = ch.hierarchical,
                              .algo = ch.algo, .proto = ch.proto, .source = ch.source, .bytes_per_call = c[i].S,
                              .calls = calls, .time_s = calls * t, .wait_s = calls * (op[c[i].op].time_s - t)};
    }
    return k;
}
