/* metrics.h: the one metric table and op table. Predicted reports (planner) and measured
 * reports (attnrun) use these keys; compare and report read both through report_io.h. */
#ifndef ATTN_METRICS_H
#define ATTN_METRICS_H
#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MET_PREFILL_TOKENS_PER_S = 0, /* batch*seq_len / ttft_s */
    MET_TTFT_S,                   /* prefill time of the whole batch */
    MET_TPOT_S,                   /* the mean decode step of the whole batch over the output (contexts seq_len .. seq_len+decode_tokens-1) */
    MET_DECODE_TOKENS_PER_S,      /* batch / tpot_s */
    MET_PEAK_MEMORY_BYTES,        /* largest device: weights + KV cache + activations + comm buffers */
    MET_COMM_FRACTION,            /* communication time / total time, prefill+decode step, critical rank */
    /* serving metrics (docs/metrics.md), derived from ttft and tpot by metrics_fill_serving;
     * files written before them lack their keys (report_io.c reads those as NaN) */
    MET_E2E_LATENCY_S,            /* one request: ttft + (osl - 1) x tpot */
    MET_OUTPUT_TOKENS_PER_S_PER_GPU, /* batch x osl / e2e_latency / devices */
    MET_TOKENS_PER_S_PER_USER,    /* 1 / tpot: one request's output rate */
    MET_COUNT
} attn_metric;
#define MET_FIRST_SERVING MET_E2E_LATENCY_S /* keys from here on are optional when read */

typedef struct attn_metric_info {
    const char *key;
    const char *unit;
    int higher_is_better;
} attn_metric_info;
extern const attn_metric_info attn_metric_table[MET_COUNT];

typedef enum { PHASE_PREFILL = 0, PHASE_DECODE = 1, PHASE_COUNT = 2 } attn_phase;
extern const char *const attn_phase_names[PHASE_COUNT];

/* Per-device operations. Decode's scores/pv/attention include reading the KV cache.
 * OP_ATTENTION is the fused attention core (flash attention: scores, online softmax and
 * P.V in one op, backend.h attention_fused) of the schemes that can fuse it; score-allreduce
 * sums partial scores between its GEMMs and softmax, so it keeps scores/softmax/pv.
 * OP_EMBED .. OP_LM_HEAD_COMM are the model's ends, once per forward on the first
 * (embedding) and last (final norm, LM head) pipeline stage: zero for a model file
 * without vocab_size. */
typedef enum {
    OP_EMBED = 0, OP_EMBED_COMM,
    OP_NORM1, OP_QKV_PROJ, OP_ROPE, OP_ATTN_COMM, OP_SCORES, OP_SOFTMAX, OP_PV, OP_ATTENTION,
    OP_O_PROJ, OP_O_PROJ_ALLREDUCE, OP_RESIDUAL1, OP_NORM2, OP_MLP_UP, OP_MLP_ACT,
    OP_MLP_DOWN, OP_MLP_ALLREDUCE, OP_RESIDUAL2, OP_KV_CACHE_WRITE,
    OP_FINAL_NORM, OP_LM_HEAD, OP_LM_HEAD_COMM, OP_PIPE_P2P,
    OP_COUNT
} attn_op;

typedef enum { OPCLASS_COMPUTE = 0, OPCLASS_MEMORY = 1, OPCLASS_COMM = 2 } attn_opclass;
typedef struct attn_op_info {
    const char *key;
    attn_opclass cls;
} attn_op_info;
extern const attn_op_info attn_op_table[OP_COUNT];
extern const char *const attn_opclass_names[3];

int metric_find(const char *key);  /* index or -1 */
/* Fills the serving metrics of v from v[MET_TTFT_S] and v[MET_TPOT_S] for a batch of
 * `batch` requests of osl output tokens each on `devices` devices. A request yields at
 * least one token (the prefill's), so osl 0 counts as 1. A ttft or tpot that is negative
 * (not measured) or not finite makes what depends on it -1 (not measured). */
void metrics_fill_serving(double *v, int batch, int osl, int devices);
/* The same for a spread: lo/hi hold the fastest and slowest ttft/tpot; the derived
 * metrics get their smallest value in lo, their largest in hi. */
void metrics_fill_serving_spread(double *lo, double *hi, int batch, int osl, int devices);
int op_find(const char *key);      /* index or -1 */

#ifdef __cplusplus
}
#endif
#endif
