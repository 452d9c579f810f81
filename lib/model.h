/* model.h: a transformer's shape and its workload, loaded from models/NAME.yaml or from a
 * Hugging Face config.json (llama family). See docs/files.md for the schema. */
#ifndef ATTN_MODEL_H
#define ATTN_MODEL_H
#include <stddef.h>
#include "diag.h"
#ifdef __cplusplus
extern "C" {
#endif

/* The largest batch, sequence length, ffn width and vocabulary a model file may give; the
 * command-line overrides and the planner's batch sweeps stop at it too. */
#define MODEL_SIZE_MAX (1 << 24)

typedef enum { ARCH_GPT = 0, ARCH_LLAMA = 1 } attn_arch;
typedef enum { DTYPE_FP16 = 0, DTYPE_BF16 = 1, DTYPE_FP32 = 2, DTYPE_COUNT = 3 } attn_dtype;

const char *arch_name(attn_arch a);
const char *dtype_name(attn_dtype t);
int dtype_bytes(attn_dtype t);
int dtype_parse(const char *s, attn_dtype *out); /* 0 ok, -1 unknown */

typedef struct attn_workload {
    int batch;          /* sequences per batch (default 1) */
    int seq_len;        /* prompt length L (default 2048) */
    int decode_tokens;  /* decode steps after prefill (default 0) */
    int microbatches;   /* pipeline microbatches for prefill; 0 = auto (default) */
    /* Serving: requests/s offered (> 0), 0 = not given. Stored for the serving planner;
     * nothing prices it yet. The serving names isl/osl are seq_len/decode_tokens. */
    double rate;
} attn_workload;

typedef struct attn_model {
    char name[128];
    attn_arch arch;
    int layers;
    int heads;          /* query heads h */
    int kv_heads;       /* key/value heads (GQA); default heads */
    int head_dim;       /* d */
    int hidden;         /* default heads*head_dim */
    int ffn_hidden;
    double norm_eps;    /* default 1e-5 */
    double rope_theta;  /* llama only; default 10000 */
    attn_dtype dtype;   /* default fp16 */
    /* The model's ends (docs/model-contract.md): token embedding on the first stage, final
     * norm and LM head on the last. vocab_size 0: none, hidden states in and out. */
    int vocab_size;
    int tie_word_embeddings; /* 1: the LM head is the embedding matrix (no lm_head.weight) */
    int qkv_bias;       /* 1: the q, k and v projections add a bias (Qwen2; q/k/v_proj.bias) */
    int qk_norm;        /* 1: q and k RMS-normalized per head over head_dim before RoPE (Qwen3;
                           self_attn.q_norm/k_norm.weight [head_dim]); llama only, m = 1 */
    attn_workload workload;
    char path[1024];    /* file it came from ("" if built in code) */
    char sha256[65];    /* hex digest of that file ("" if none) */
} attn_model;

/* Loads a model file (YAML, or JSON Hugging Face config). Reports FILE:LINE:COL errors
 * through d; returns 0 ok, -1 on any error. */
int model_load(const char *path, attn_model *m, attn_diag *d);
/* The same from memory: name is used in messages and stored as m->path; m->sha256 is
 * the buffer's digest. model_load reads the file and calls this (one code path). */
int model_load_buffer(const char *buf, size_t len, const char *name, attn_model *m, attn_diag *d);
/* Reads a model map in the models/NAME.yaml schema from any document (e.g. the model
 * section of a plan file), with every check of the loader; path/sha256 are left empty. */
struct yt_doc;
struct yt_node;
int model_read_yaml(const struct yt_doc *doc, const struct yt_node *map, attn_model *m, attn_diag *d);
/* Checks the consistency rules on a model built in code (same rules as the loader);
 * file may be NULL. Returns the number of problems. */
int model_check(const attn_model *m, const char *file, attn_diag *d);
/* The same, each problem at its key's line:col inside `map` (a model map laid out as a
 * model file's, as a plan file's model: section is); map NULL: as model_check. */
int model_check_at(const attn_model *m, const char *file, const struct yt_node *map, attn_diag *d);
/* Parameter count and weight bytes of one layer (all of it, unsharded). */
double model_layer_params(const attn_model *m);
/* Parameters of the ends, unsharded: the embedding, the final norm (with bias for gpt) and
 * the LM head unless tied; 0 without vocab_size. */
double model_ends_params(const attn_model *m);

#ifdef __cplusplus
}
#endif
#endif
