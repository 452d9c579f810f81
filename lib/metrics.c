/* metrics.c: the metric and op tables every report (predicted or measured) uses.
 * The keys here are the file format: changing one breaks every stored plan. */
#include <math.h>
#include <string.h>
#include "metrics.h"

const attn_metric_info attn_metric_table[MET_COUNT] = {
    [MET_PREFILL_TOKENS_PER_S] = {"prefill_tokens_per_s", "tokens/s", 1},
    [MET_TTFT_S] = {"ttft_s", "s", 0},
    [MET_TPOT_S] = {"tpot_s", "s", 0},
    [MET_DECODE_TOKENS_PER_S] = {"decode_tokens_per_s", "tokens/s", 1},
    [MET_PEAK_MEMORY_BYTES] = {"peak_memory_bytes", "bytes", 0},
    [MET_COMM_FRACTION] = {"comm_fraction", "fraction", 0},
    [MET_E2E_LATENCY_S] = {"e2e_latency_s", "s", 0},
    [MET_OUTPUT_TOKENS_PER_S_PER_GPU] = {"output_tokens_per_s_per_gpu", "tokens/s", 1},
    [MET_TOKENS_PER_S_PER_USER] = {"tokens_per_s_per_user", "tokens/s", 1},
};

const char *const attn_phase_names[PHASE_COUNT] = {"prefill", "decode"};

const attn_op_info attn_op_table[OP_COUNT] = {
    [OP_EMBED] = {"embed", OPCLASS_MEMORY},
    [OP_EMBED_COMM] = {"embed_comm", OPCLASS_COMM},
    [OP_NORM1] = {"norm1", OPCLASS_MEMORY},
    [OP_QKV_PROJ] = {"qkv_proj", OPCLASS_COMPUTE},
    [OP_ROPE] = {"rope", OPCLASS_MEMORY},
    [OP_ATTN_COMM] = {"attn_comm", OPCLASS_COMM},
    [OP_SCORES] = {"scores", OPCLASS_COMPUTE},
    [OP_SOFTMAX] = {"softmax", OPCLASS_MEMORY},
    [OP_PV] = {"pv", OPCLASS_COMPUTE},
    [OP_ATTENTION] = {"attention", OPCLASS_COMPUTE},
    [OP_O_PROJ] = {"o_proj", OPCLASS_COMPUTE},
    [OP_O_PROJ_ALLREDUCE] = {"o_proj_allreduce", OPCLASS_COMM},
    [OP_RESIDUAL1] = {"residual1", OPCLASS_MEMORY},
    [OP_NORM2] = {"norm2", OPCLASS_MEMORY},
    [OP_MLP_UP] = {"mlp_up", OPCLASS_COMPUTE},
    [OP_MLP_ACT] = {"mlp_act", OPCLASS_MEMORY},
    [OP_MLP_DOWN] = {"mlp_down", OPCLASS_COMPUTE},
    [OP_MLP_ALLREDUCE] = {"mlp_allreduce", OPCLASS_COMM},
    [OP_RESIDUAL2] = {"residual2", OPCLASS_MEMORY},
    [OP_KV_CACHE_WRITE] = {"kv_cache_write", OPCLASS_MEMORY},
    [OP_FINAL_NORM] = {"final_norm", OPCLASS_MEMORY},
    [OP_LM_HEAD] = {"lm_head", OPCLASS_COMPUTE},
    [OP_LM_HEAD_COMM] = {"lm_head_comm", OPCLASS_COMM},
    [OP_PIPE_P2P] = {"pipe_p2p", OPCLASS_COMM},
};

const char *const attn_opclass_names[3] = {"compute", "memory", "comm"};

int metric_find(const char *key) {
    if (!key) return -1;
    for (int i = 0; i < MET_COUNT; i++)
        if (!strcmp(attn_metric_table[i].key, key)) return i;
    return -1;
}

int op_find(const char *key) {
    if (!key) return -1;
    for (int i = 0; i < OP_COUNT; i++)
        if (!strcmp(attn_op_table[i].key, key)) return i;
    return -1;
}

static int measured(double x) { return x >= 0 && isfinite(x); }

void metrics_fill_serving(double *v, int batch, int osl, int devices) {
    double ttft = v[MET_TTFT_S], tpot = v[MET_TPOT_S];
    int out = osl > 1 ? osl : 1;
    /* osl 1: the prefill's token alone, no decode step to wait for */
    int have = measured(ttft) && (out == 1 || measured(tpot));
    double e2e = have ? ttft + (out > 1 ? (out - 1) * tpot : 0) : -1;
    v[MET_E2E_LATENCY_S] = e2e;
    v[MET_OUTPUT_TOKENS_PER_S_PER_GPU] = have && e2e > 0 && devices > 0 ? (double)batch * out / e2e / devices : -1;
    v[MET_TOKENS_PER_S_PER_USER] = measured(tpot) && tpot > 0 ? 1 / tpot : -1;
}

void metrics_fill_serving_spread(double *lo, double *hi, int batch, int osl, int devices) {
    metrics_fill_serving(lo, batch, osl, devices);
    metrics_fill_serving(hi, batch, osl, devices);
    /* the rates are largest where the times are smallest */
    for (int k = MET_OUTPUT_TOKENS_PER_S_PER_GPU; k <= MET_TOKENS_PER_S_PER_USER; k++) {
        double x = lo[k];
        lo[k] = hi[k];
        hi[k] = x;
    }
}
