/* model.c: transformer shapes from models/NAME.yaml or a Hugging Face config.json
 * (llama family), with every consistency rule of docs/files.md. Each problem is
 * reported at the offending value's line:col (a missing key at its map). The rules
 * live once, in check_rules(), which model_check() also runs on models built in code
 * (there without positions). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "sha256.h"
#include "ytree.h"

/* Size limits (docs/files.md). */
#define SIZE_MAX_SMALL (1LL << 20)   /* heads, head_dim, hidden, decode_tokens, ... */
#define SIZE_MAX_LARGE ((long long)MODEL_SIZE_MAX) /* batch, seq_len, ffn_hidden, vocab_size */
#define LAYERS_MAX 4096
#define EXACT_DOUBLE_LIMIT 9007199254740992.0 /* 2^53 */

static const char *const arch_names[] = {"gpt", "llama"};
static const char *const dtype_names[DTYPE_COUNT] = {"fp16", "bf16", "fp32"};

const char *arch_name(attn_arch a) { return (unsigned)a < 2 ? arch_names[a] : "?"; }
const char *dtype_name(attn_dtype t) { return (unsigned)t < DTYPE_COUNT ? dtype_names[t] : "?"; }
int dtype_bytes(attn_dtype t) { return t == DTYPE_FP32 ? 4 : 2; }

int dtype_parse(const char *s, attn_dtype *out) {
    for (int i = 0; s && i < DTYPE_COUNT; i++)
        if (!strcmp(s, dtype_names[i])) {
            *out = (attn_dtype)i;
            return 0;
        }
    return -1;
}

/* Where each field was written (0:0 when built in code or defaulted). */
enum {
    F_ROOT, F_NAME, F_ARCH, F_LAYERS, F_HEADS, F_KV_HEADS, F_HEAD_DIM, F_HIDDEN, F_FFN, F_NORM_EPS,
    F_ROPE_THETA, F_DTYPE, F_VOCAB, F_TIE, F_WORKLOAD, F_BATCH, F_SEQ_LEN, F_DECODE, F_MICRO, F_RATE, F_COUNT
};
typedef struct {
    int line[F_COUNT], col[F_COUNT];
} model_src;

static void set_pos(model_src *src, int f, const yt_node *n) {
    if (!n) return;
    src->line[f] = n->line;
    src->col[f] = n->col;
}

static void set_defaults(attn_model *m) {
    memset(m, 0, sizeof *m);
    m->norm_eps = 1e-5;
    m->rope_theta = 10000;
    m->dtype = DTYPE_FP16;
    m->workload.batch = 1;
    m->workload.seq_len = 2048;
}

/* Reports at field f's position, or the root's when f was not written. */
#define RULE_ERROR(f, ...)                                                                              \
    do {                                                                                                \
        int f_ = src->line[f] ? (f) : F_ROOT;                                                           \
        diag_error(d, file, src->line[f_], src->col[f_], __VA_ARGS__);                                  \
        problems++;                                                                                     \
    } while (0)

/* Names end up in terminals, plan files and HTML reports: printable text only. */
static int has_control_chars(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 1;
    return 0;
}

static int check_rules(const attn_model *m, const char *file, const model_src *src, attn_diag *d) {
    int problems = 0;
    const attn_workload *w = &m->workload;
    if (!memchr(m->name, '\0', sizeof m->name) || m->name[0] == '\0') RULE_ERROR(F_NAME, "'name' must not be empty");
    else if (has_control_chars(m->name)) RULE_ERROR(F_NAME, "'name' must not contain control characters");
    if ((unsigned)m->arch > ARCH_LLAMA) RULE_ERROR(F_ARCH, "'arch' must be gpt or llama");
    if ((unsigned)m->dtype >= DTYPE_COUNT) RULE_ERROR(F_DTYPE, "'dtype' must be fp16, bf16 or fp32");
    if (m->layers < 1 || m->layers > LAYERS_MAX) RULE_ERROR(F_LAYERS, "'layers' must be in [1, %d], got %d", LAYERS_MAX, m->layers);
    if (m->heads < 1 || m->heads > SIZE_MAX_SMALL) RULE_ERROR(F_HEADS, "'heads' must be in [1, %lld], got %d", SIZE_MAX_SMALL, m->heads);
    if (m->kv_heads < 1 || m->kv_heads > SIZE_MAX_SMALL) RULE_ERROR(F_KV_HEADS, "'kv_heads' must be in [1, %lld], got %d", SIZE_MAX_SMALL, m->kv_heads);
    else if (m->heads >= 1 && m->heads % m->kv_heads != 0)
        RULE_ERROR(F_KV_HEADS, "heads (%d) must be divisible by kv_heads (%d)", m->heads, m->kv_heads);
    if (m->head_dim < 1 || m->head_dim > SIZE_MAX_SMALL) RULE_ERROR(F_HEAD_DIM, "'head_dim' must be in [1, %lld], got %d", SIZE_MAX_SMALL, m->head_dim);
    else if (m->arch == ARCH_LLAMA && m->head_dim % 2 != 0)
        RULE_ERROR(F_HEAD_DIM, "'head_dim' must be even for llama (RoPE rotates pairs of dimensions), got %d", m->head_dim);
    if (m->hidden < 1 || m->hidden > SIZE_MAX_SMALL) RULE_ERROR(F_HIDDEN, "'hidden' must be in [1, %lld], got %d", SIZE_MAX_SMALL, m->hidden);
    else if ((long long)m->heads * m->head_dim != m->hidden)
        RULE_ERROR(src->line[F_HIDDEN] ? F_HIDDEN : F_HEAD_DIM, "hidden (%d) must equal heads x head_dim (%d x %d = %lld)",
                   m->hidden, m->heads, m->head_dim, (long long)m->heads * m->head_dim);
    if (m->ffn_hidden < 1 || m->ffn_hidden > SIZE_MAX_LARGE) RULE_ERROR(F_FFN, "'ffn_hidden' must be in [1, %lld], got %d", SIZE_MAX_LARGE, m->ffn_hidden);
    if (!(m->norm_eps > 0 && m->norm_eps <= 1)) RULE_ERROR(F_NORM_EPS, "'norm_eps' must be in (0, 1], got %g", m->norm_eps);
    if (!(m->rope_theta > 0 && isfinite(m->rope_theta))) RULE_ERROR(F_ROPE_THETA, "'rope_theta' must be > 0, got %g", m->rope_theta);
    if (m->vocab_size < 0 || m->vocab_size > SIZE_MAX_LARGE)
        RULE_ERROR(F_VOCAB, "'vocab_size' must be in [1, %lld], got %d", SIZE_MAX_LARGE, m->vocab_size);
    if (m->qkv_bias != 0 && m->qkv_bias != 1) RULE_ERROR(F_ROOT, "'qkv_bias' must be true or false");
    if (m->qk_norm != 0 && m->qk_norm != 1) RULE_ERROR(F_ROOT, "'qk_norm' must be true or false");
    else if (m->qk_norm && m->arch != ARCH_LLAMA) RULE_ERROR(F_ROOT, "'qk_norm' needs arch llama (RMSNorm)");
    if (m->tie_word_embeddings != 0 && m->tie_word_embeddings != 1)
        RULE_ERROR(F_TIE, "'tie_word_embeddings' must be true or false");
    else if (m->tie_word_embeddings && m->vocab_size == 0)
        RULE_ERROR(F_TIE, "'tie_word_embeddings' needs 'vocab_size' (a model without a vocabulary has no embedding to tie)");
    if (w->batch < 1 || w->batch > SIZE_MAX_LARGE) RULE_ERROR(F_BATCH, "'batch' must be in [1, %lld], got %d", SIZE_MAX_LARGE, w->batch);
    if (w->seq_len < 1 || w->seq_len > SIZE_MAX_LARGE) RULE_ERROR(F_SEQ_LEN, "'seq_len' must be in [1, %lld], got %d", SIZE_MAX_LARGE, w->seq_len);
    if (w->decode_tokens < 0 || w->decode_tokens > SIZE_MAX_SMALL) RULE_ERROR(F_DECODE, "'decode_tokens' must be in [0, %lld], got %d", SIZE_MAX_SMALL, w->decode_tokens);
    if (!(w->rate >= 0 && isfinite(w->rate))) RULE_ERROR(F_RATE, "'rate' must be > 0 (requests/s), got %g", w->rate);
    if (w->microbatches < 0 || w->microbatches > w->batch)
        RULE_ERROR(F_MICRO, "'microbatches' must be in [0, batch = %d] (0 = auto), got %d", w->batch, w->microbatches);
    double tokens = (double)w->batch * w->seq_len * m->hidden;
    if (problems == 0 && tokens >= EXACT_DOUBLE_LIMIT)
        RULE_ERROR(src->line[F_BATCH] ? F_BATCH : src->line[F_SEQ_LEN] ? F_SEQ_LEN : F_WORKLOAD,
                   "batch x seq_len x hidden = %.4g is not below 2^53: too large to count exactly", tokens);
    return problems;
}

int model_check_at(const attn_model *m, const char *file, const yt_node *map, attn_diag *d) {
    static const struct { int field; const char *key; } top[] = {
        {F_NAME, "name"}, {F_ARCH, "arch"}, {F_LAYERS, "layers"}, {F_HEADS, "heads"}, {F_KV_HEADS, "kv_heads"},
        {F_HEAD_DIM, "head_dim"}, {F_HIDDEN, "hidden"}, {F_FFN, "ffn_hidden"}, {F_NORM_EPS, "norm_eps"},
        {F_ROPE_THETA, "rope_theta"}, {F_DTYPE, "dtype"}, {F_VOCAB, "vocab_size"}, {F_TIE, "tie_word_embeddings"},
        {F_WORKLOAD, "workload"}};
    static const struct { int field; const char *key; } work[] = {
        {F_BATCH, "batch"}, {F_SEQ_LEN, "seq_len"}, {F_DECODE, "decode_tokens"}, {F_MICRO, "microbatches"},
        {F_SEQ_LEN, "isl"}, {F_DECODE, "osl"}, {F_RATE, "rate"}};
    model_src src;
    memset(&src, 0, sizeof src);
    if (map && map->kind == YT_MAP) {
        set_pos(&src, F_ROOT, map);
        for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) set_pos(&src, top[i].field, yt_get(map, top[i].key));
        const yt_node *w = yt_get(map, "workload");
        if (w && w->kind == YT_MAP)
            for (size_t i = 0; i < sizeof work / sizeof work[0]; i++) set_pos(&src, work[i].field, yt_get(w, work[i].key));
    }
    return check_rules(m, file, &src, d);
}

int model_check(const attn_model *m, const char *file, attn_diag *d) { return model_check_at(m, file, NULL, d); }

double model_layer_params(const attn_model *m) {
    /* Linear layers carry no biases (kernels and cost model agree on this), but for the q, k
     * and v projections of a qkv_bias model (Qwen2). */
    double h = m->hidden, hd = m->head_dim;
    double attn = (h + (m->qkv_bias ? 1 : 0)) * (m->heads + 2.0 * m->kv_heads) * hd + (double)m->heads * hd * h;
    double mlp = (m->arch == ARCH_LLAMA ? 3.0 : 2.0) * h * m->ffn_hidden;
    double norms = m->arch == ARCH_LLAMA ? 2.0 * h : 4.0 * h; /* LayerNorm has weight + bias */
    if (m->qk_norm) norms += 2.0 * hd; /* q_norm and k_norm, one weight per head dimension */
    return attn + mlp + norms;
}

double model_ends_params(const attn_model *m) {
    if (m->vocab_size <= 0) return 0;
    double vh = (double)m->vocab_size * m->hidden;
    double norm = m->arch == ARCH_LLAMA ? m->hidden : 2.0 * m->hidden;
    return vh + norm + (m->tie_word_embeddings ? 0 : vh);
}

/* Reads an int field into *dst; records its position. Returns 0 or -1. */
static int read_int(const yt_doc *doc, const yt_node *map, const char *key, int required, long long lo,
                    long long hi, int *dst, model_src *src, int field, attn_diag *d) {
    long long v = *dst;
    set_pos(src, field, yt_get(map, key));
    if (yt_int(doc, map, key, required, lo, hi, &v, d)) return -1;
    *dst = (int)v;
    return 0;
}

/* An optional key whose JSON value may be null (Hugging Face writes "head_dim": null). */
static const char *json_key(const yt_node *map, const char *key) {
    const yt_node *v = yt_get(map, key);
    if (v && v->kind == YT_SCALAR && !v->quoted && !strcmp(v->str, "null")) return NULL;
    return v ? key : NULL;
}

/* One length under its two names (the planner's and the serving one: seq_len / isl,
 * decode_tokens / osl): either may be written; both only when they agree, else the error
 * is at the second name's value. */
static int read_length(const yt_doc *doc, const yt_node *w, const char *key, const char *alias, long long lo,
                       long long hi, int *dst, model_src *src, int field, attn_diag *d) {
    int a = *dst, b = *dst;
    if (read_int(doc, w, key, 0, lo, hi, &a, src, field, d)) return -1;
    if (read_int(doc, w, alias, 0, lo, hi, &b, src, field, d)) return -1;
    const yt_node *nk = yt_get(w, key), *na = yt_get(w, alias);
    if (nk && na && a != b) {
        diag_error(d, doc->file, na->line, na->col, "'%s' (%d) and '%s' (%d) are the same length: give one, or equal values",
                   alias, b, key, a);
        return -1;
    }
    *dst = na ? b : a;
    return 0;
}

static int read_workload(const yt_doc *doc, const yt_node *w, attn_model *m, model_src *src, attn_diag *d) {
    static const char *const keys[] = {"batch", "seq_len", "decode_tokens", "microbatches", "isl", "osl", "rate", NULL};
    set_pos(src, F_WORKLOAD, w);
    if (yt_expect(doc, w, YT_MAP, "'workload' to be a map", d) || yt_check_keys(doc, w, keys, d)) return -1;
    int bad = 0;
    bad |= read_int(doc, w, "batch", 0, 1, SIZE_MAX_LARGE, &m->workload.batch, src, F_BATCH, d);
    bad |= read_length(doc, w, "seq_len", "isl", 1, SIZE_MAX_LARGE, &m->workload.seq_len, src, F_SEQ_LEN, d);
    bad |= read_length(doc, w, "decode_tokens", "osl", 0, SIZE_MAX_SMALL, &m->workload.decode_tokens, src, F_DECODE, d);
    bad |= read_int(doc, w, "microbatches", 0, 0, SIZE_MAX_LARGE, &m->workload.microbatches, src, F_MICRO, d);
    set_pos(src, F_RATE, yt_get(w, "rate"));
    bad |= yt_num_positive(doc, w, "rate", 0, 1e12, &m->workload.rate, d);
    return bad ? -1 : 0;
}

/* An optional true/false into m->tie_word_embeddings. */
static int read_tie(const yt_doc *doc, const yt_node *map, const char *key, attn_model *m, model_src *src, attn_diag *d) {
    const yt_node *n = yt_get(map, key);
    if (!n) return 0;
    set_pos(src, F_TIE, n);
    return yt_node_bool(doc, n, &m->tie_word_embeddings, d);
}

static int read_yaml_model(const yt_doc *doc, const yt_node *root, attn_model *m, model_src *src, attn_diag *d) {
    static const char *const keys[] = {"name", "arch", "layers", "heads", "kv_heads", "head_dim", "hidden",
                                       "ffn_hidden", "norm_eps", "rope_theta", "dtype", "vocab_size",
                                       "tie_word_embeddings", "qkv_bias", "qk_norm", "workload", NULL};
    set_pos(src, F_ROOT, root);
    if (yt_expect(doc, root, YT_MAP, "a model (a map of name, arch, layers, ...)", d)) return -1;
    int bad = yt_check_keys(doc, root, keys, d) ? 1 : 0;
    set_pos(src, F_NAME, yt_get(root, "name"));
    if (yt_str(doc, root, "name", 1, m->name, sizeof m->name, d)) bad = 1;
    char word[16];
    const yt_node *arch = yt_get(root, "arch");
    set_pos(src, F_ARCH, arch);
    if (yt_str(doc, root, "arch", 1, word, sizeof word, d)) bad = 1;
    else if (!strcmp(word, "gpt")) m->arch = ARCH_GPT;
    else if (!strcmp(word, "llama")) m->arch = ARCH_LLAMA;
    else {
        diag_error(d, doc->file, arch->line, arch->col, "unknown arch '%s' (expected gpt or llama)", word);
        bad = 1;
    }
    int have_kv = yt_get(root, "kv_heads") != NULL, have_hidden = yt_get(root, "hidden") != NULL;
    bad |= read_int(doc, root, "layers", 1, 1, LAYERS_MAX, &m->layers, src, F_LAYERS, d) != 0;
    bad |= read_int(doc, root, "heads", 1, 1, SIZE_MAX_SMALL, &m->heads, src, F_HEADS, d) != 0;
    bad |= read_int(doc, root, "kv_heads", 0, 1, SIZE_MAX_SMALL, &m->kv_heads, src, F_KV_HEADS, d) != 0;
    bad |= read_int(doc, root, "head_dim", 1, 1, SIZE_MAX_SMALL, &m->head_dim, src, F_HEAD_DIM, d) != 0;
    bad |= read_int(doc, root, "hidden", 0, 1, SIZE_MAX_SMALL, &m->hidden, src, F_HIDDEN, d) != 0;
    bad |= read_int(doc, root, "ffn_hidden", 1, 1, SIZE_MAX_LARGE, &m->ffn_hidden, src, F_FFN, d) != 0;
    set_pos(src, F_NORM_EPS, yt_get(root, "norm_eps"));
    if (yt_num_positive(doc, root, "norm_eps", 0, 1, &m->norm_eps, d)) bad = 1;
    const yt_node *rope = yt_get(root, "rope_theta");
    set_pos(src, F_ROPE_THETA, rope);
    if (yt_num_positive(doc, root, "rope_theta", 0, 1e15, &m->rope_theta, d)) bad = 1;
    const yt_node *dtype = yt_get(root, "dtype");
    set_pos(src, F_DTYPE, dtype);
    if (dtype) {
        if (yt_str(doc, root, "dtype", 0, word, sizeof word, d)) bad = 1;
        else if (dtype_parse(word, &m->dtype)) {
            diag_error(d, doc->file, dtype->line, dtype->col, "unknown dtype '%s' (expected fp16, bf16 or fp32)", word);
            bad = 1;
        }
    }
    bad |= read_int(doc, root, "vocab_size", 0, 1, SIZE_MAX_LARGE, &m->vocab_size, src, F_VOCAB, d) != 0;
    if (read_tie(doc, root, "tie_word_embeddings", m, src, d)) bad = 1;
    const yt_node *qb = yt_get(root, "qkv_bias");
    if (qb && yt_node_bool(doc, qb, &m->qkv_bias, d)) bad = 1;
    const yt_node *qn = yt_get(root, "qk_norm");
    if (qn && yt_node_bool(doc, qn, &m->qk_norm, d)) bad = 1;
    const yt_node *w = yt_get(root, "workload");
    if (w && read_workload(doc, w, m, src, d)) bad = 1;
    if (bad) return -1;
    if (rope && m->arch == ARCH_GPT) {
        diag_error(d, doc->file, rope->line, rope->col, "'rope_theta' is for llama models only (arch is gpt)");
        return -1;
    }
    if (!have_kv) m->kv_heads = m->heads;
    if (!have_hidden) {
        long long h = (long long)m->heads * m->head_dim;
        m->hidden = h > SIZE_MAX_SMALL ? 0 : (int)h; /* 0 makes check_rules report the overflow */
        if (!m->hidden) {
            diag_error(d, doc->file, src->line[F_HEAD_DIM], src->col[F_HEAD_DIM],
                       "heads x head_dim = %lld is more than %lld", h, SIZE_MAX_SMALL);
            return -1;
        }
    }
    return check_rules(m, doc->file, src, d) ? -1 : 0;
}

/* The families a config.json may name (model_type) and what refuses the others: a block
 * the model contract does not compute (docs/model-contract.md) must not be planned and run
 * as a Llama block. Without model_type the config is read as the llama family. */
typedef struct hf_family {
    const char *model_type;
    const char *refused; /* NULL: read as the llama block (with the checks below); else why not */
    int qkv_bias, qk_norm; /* what the family adds to the llama block (attn_model's flags) */
} hf_family;
static const hf_family hf_families[] = {
    {"llama", NULL, 0, 0},
    {"mistral", NULL, 0, 0}, /* the llama block; its sliding window is checked below */
    {"qwen2", NULL, 1, 0},   /* q, k and v biases */
    {"qwen3", NULL, 0, 1},   /* per-head q and k norms */
    {"mixtral", "it is a mixture of experts", 0, 0},
    {"qwen2_moe", "it is a mixture of experts", 0, 0},
    {"qwen3_moe", "it is a mixture of experts", 0, 0},
    {"deepseek_v2", "it is a mixture of experts with multi-head latent attention", 0, 0},
    {"deepseek_v3", "it is a mixture of experts with multi-head latent attention", 0, 0},
    {"dbrx", "it is a mixture of experts", 0, 0},
    {"gemma2", "it interleaves sliding-window attention layers", 0, 0},
    {"gemma3", "it interleaves sliding-window attention layers", 0, 0},
    {"gpt_neox", "its attention and MLP run in parallel from one norm", 0, 0},
    {"gptj", "its attention and MLP run in parallel from one norm", 0, 0},
    {"falcon", "its attention and MLP run in parallel from one norm", 0, 0},
};

/* 0 when the config is a block attnplan computes, with *family its entry (NULL: no
 * model_type, the llama block); -1 with the reason at the key. */
static int check_hf_family(const yt_doc *doc, const yt_node *root, const hf_family **family, attn_diag *d) {
    const char *k;
    *family = NULL;
    if ((k = json_key(root, "model_type"))) {
        const yt_node *t = yt_get(root, k);
        char word[64];
        if (yt_str(doc, root, k, 1, word, sizeof word, d)) return -1;
        const hf_family *f = NULL;
        for (size_t i = 0; i < sizeof hf_families / sizeof hf_families[0]; i++)
            if (!strcmp(hf_families[i].model_type, word)) f = &hf_families[i];
        if (!f) {
            diag_error(d, doc->file, t->line, t->col,
                       "model_type '%s' is not a family attnplan computes (llama, mistral, qwen2, qwen3; docs/files.md)",
                       word);
            return -1;
        }
        if (f->refused) {
            diag_error(d, doc->file, t->line, t->col, "model_type '%s' is not supported: %s", word, f->refused);
            return -1;
        }
        *family = f;
    }
    /* the llama block with what its config can switch on that the contract lacks */
    static const char *const flags[] = {"attention_bias", "mlp_bias"};
    for (int i = 0; i < 2; i++)
        if ((k = json_key(root, flags[i]))) {
            const yt_node *v = yt_get(root, k);
            if (v->kind == YT_SCALAR && !strcmp(v->str, "true")) {
                diag_error(d, doc->file, v->line, v->col, "'%s': true is not supported: the model contract's projections "
                           "have no biases", k);
                return -1;
            }
        }
    /* a sliding window shorter than the positions the model takes changes the attention */
    /* Qwen2 writes a sliding_window beside use_sliding_window: false (the window is off) */
    const yt_node *use = yt_get(root, "use_sliding_window");
    int window_off = use && use->kind == YT_SCALAR && !strcmp(use->str, "false");
    if (!window_off && (k = json_key(root, "sliding_window"))) {
        const yt_node *v = yt_get(root, k), *mp = yt_get(root, "max_position_embeddings");
        char *end = NULL;
        double w = v->kind == YT_SCALAR ? strtod(v->str, &end) : 0;
        double maxp = mp && mp->kind == YT_SCALAR ? strtod(mp->str, NULL) : 0;
        int number = v->kind == YT_SCALAR && end && end != v->str && *end == '\0';
        if (!number || maxp <= 0 || w < maxp) {
            diag_error(d, doc->file, v->line, v->col,
                       "sliding_window attention is not supported (the model contract attends to every earlier "
                       "position); null, or a window of at least max_position_embeddings, is");
            return -1;
        }
    }
    return 0;
}

/* Hugging Face config.json (llama family); keys not listed here are ignored. */
static int read_hf_config(const yt_doc *doc, const yt_node *root, attn_model *m, model_src *src, attn_diag *d) {
    set_pos(src, F_ROOT, root);
    if (yt_expect(doc, root, YT_MAP, "a JSON object (Hugging Face config.json)", d)) return -1;
    const hf_family *family;
    if (check_hf_family(doc, root, &family, d) != 0) return -1;
    m->arch = ARCH_LLAMA;
    m->qkv_bias = family && family->qkv_bias;
    m->qk_norm = family && family->qk_norm;
    int bad = 0;
    const yt_node *name = yt_get(root, "_name_or_path");
    if (name && name->kind == YT_SCALAR && name->len > 0) {
        /* A local path can be long: then its last component names the model. */
        const char *slash = strrchr(name->str, '/');
        const char *shown = name->len < sizeof m->name || !slash ? name->str : slash + 1;
        set_pos(src, F_NAME, name);
        if (strlen(shown) >= sizeof m->name) {
            diag_error(d, doc->file, name->line, name->col, "'_name_or_path' is too long (at most %zu bytes)",
                       sizeof m->name - 1);
            bad = 1;
        } else {
            memcpy(m->name, shown, strlen(shown) + 1);
        }
    } else {
        const char *base = strrchr(doc->file, '/');
        base = base ? base + 1 : doc->file;
        snprintf(m->name, sizeof m->name, "%s", base);
    }
    bad |= read_int(doc, root, "hidden_size", 1, 1, SIZE_MAX_SMALL, &m->hidden, src, F_HIDDEN, d) != 0;
    bad |= read_int(doc, root, "num_attention_heads", 1, 1, SIZE_MAX_SMALL, &m->heads, src, F_HEADS, d) != 0;
    m->kv_heads = -1;
    m->head_dim = -1;
    const char *k;
    if ((k = json_key(root, "num_key_value_heads")))
        bad |= read_int(doc, root, k, 1, 1, SIZE_MAX_SMALL, &m->kv_heads, src, F_KV_HEADS, d) != 0;
    if ((k = json_key(root, "head_dim")))
        bad |= read_int(doc, root, k, 1, 1, SIZE_MAX_SMALL, &m->head_dim, src, F_HEAD_DIM, d) != 0;
    bad |= read_int(doc, root, "intermediate_size", 1, 1, SIZE_MAX_LARGE, &m->ffn_hidden, src, F_FFN, d) != 0;
    bad |= read_int(doc, root, "num_hidden_layers", 1, 1, LAYERS_MAX, &m->layers, src, F_LAYERS, d) != 0;
    if ((k = json_key(root, "rms_norm_eps"))) {
        set_pos(src, F_NORM_EPS, yt_get(root, k));
        if (yt_num_positive(doc, root, k, 1, 1, &m->norm_eps, d)) bad = 1;
    }
    if ((k = json_key(root, "rope_theta"))) {
        set_pos(src, F_ROPE_THETA, yt_get(root, k));
        if (yt_num_positive(doc, root, k, 1, 1e15, &m->rope_theta, d)) bad = 1;
    }
    /* The ends: transformers' LlamaConfig defaults tie_word_embeddings to false, which is
     * also what a config without the key means here. */
    if ((k = json_key(root, "vocab_size")))
        bad |= read_int(doc, root, k, 1, 1, SIZE_MAX_LARGE, &m->vocab_size, src, F_VOCAB, d) != 0;
    if ((k = json_key(root, "tie_word_embeddings")) && read_tie(doc, root, k, m, src, d)) bad = 1;
    /* Newer transformers releases write "dtype" where older ones wrote "torch_dtype". */
    if ((k = json_key(root, "torch_dtype")) || (k = json_key(root, "dtype"))) {
        const yt_node *t = yt_get(root, k);
        char word[16];
        set_pos(src, F_DTYPE, t);
        if (yt_str(doc, root, k, 1, word, sizeof word, d)) bad = 1;
        else if (!strcmp(word, "float16")) m->dtype = DTYPE_FP16;
        else if (!strcmp(word, "bfloat16")) m->dtype = DTYPE_BF16;
        else if (!strcmp(word, "float32")) m->dtype = DTYPE_FP32;
        else {
            diag_error(d, doc->file, t->line, t->col, "unknown %s '%s' (expected float16, bfloat16 or float32)", k, word);
            bad = 1;
        }
    }
    if (bad) return -1;
    if (m->kv_heads < 0) m->kv_heads = m->heads;
    if (m->head_dim < 0) {
        if (m->hidden % m->heads != 0) {
            diag_error(d, doc->file, src->line[F_HIDDEN], src->col[F_HIDDEN],
                       "hidden_size (%d) is not divisible by num_attention_heads (%d)", m->hidden, m->heads);
            return -1;
        }
        m->head_dim = m->hidden / m->heads;
    }
    return check_rules(m, doc->file, src, d) ? -1 : 0;
}

int model_read_yaml(const yt_doc *doc, const yt_node *map, attn_model *m, attn_diag *d) {
    model_src src;
    memset(&src, 0, sizeof src);
    set_defaults(m);
    return read_yaml_model(doc, map, m, &src, d);
}

/* JSON when the name ends in .json or the text starts with '{'. */
static int looks_like_json(const char *buf, size_t len, const char *name) {
    size_t n = strlen(name);
    if (n >= 5 && !strcmp(name + n - 5, ".json")) return 1;
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i]) i++;
    return i < len && buf[i] == '{';
}

int model_load_buffer(const char *buf, size_t len, const char *name, attn_model *m, attn_diag *d) {
    if (!name) name = "(buffer)";
    yt_doc doc;
    set_defaults(m);
    if (yt_load_buffer(buf, len, name, &doc, d)) return -1;
    model_src src;
    memset(&src, 0, sizeof src);
    int rc = looks_like_json(buf, len, name) ? read_hf_config(&doc, doc.root, m, &src, d)
                                             : read_yaml_model(&doc, doc.root, m, &src, d);
    yt_free(&doc);
    if (rc) return -1;
    snprintf(m->path, sizeof m->path, "%s", name);
    sha256_buffer(buf, len, m->sha256);
    return 0;
}

int model_load(const char *path, attn_model *m, attn_diag *d) {
    char *buf;
    size_t len;
    set_defaults(m);
    if (yt_read_file(path, &buf, &len, d)) return -1;
    int rc = model_load_buffer(buf, len, path, m, d);
    free(buf);
    return rc;
}
