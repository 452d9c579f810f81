/* test_model.c: model files (YAML and Hugging Face config.json) and model_check:
 * values and defaults, every consistency rule at its exact line:col, parameter counts
 * worked out by hand, and the SHA-256 of the loaded bytes. */
#include <math.h>
#include "model.h"
#include "sha256.h"
#include "testutil.h"
#include "ytree.h"

static int load(const char *text, const char *name, attn_model *m) {
    attn_diag d;
    attn_diag_init(&d);
    return model_load_buffer(text, strlen(text), name, m, &d);
}

static void expect_error(const char *text, const char *name, const char *want) {
    captured_diag c;
    capture_begin(&c);
    attn_model m;
    CHECK(model_load_buffer(text, strlen(text), name, &m, &c.d) == -1);
    CHECK(c.d.nerrors >= 1);
    CHECK(capture_end(&c, want));
}

static const char *const gpt_text =
    "name: g\narch: gpt\nlayers: 2\nheads: 4\nhead_dim: 16\nffn_hidden: 128\n";

static void test_yaml_values(void) {
    attn_model m;
    CHECK(load(gpt_text, "g.yaml", &m) == 0);
    CHECK(!strcmp(m.name, "g") && m.arch == ARCH_GPT && m.layers == 2 && m.heads == 4);
    CHECK(m.kv_heads == 4 && m.head_dim == 16 && m.hidden == 64 && m.ffn_hidden == 128);
    CHECK(m.norm_eps == 1e-5 && m.rope_theta == 10000 && m.dtype == DTYPE_FP16);
    CHECK(m.workload.batch == 1 && m.workload.seq_len == 2048 && m.workload.decode_tokens == 0);
    CHECK(m.workload.microbatches == 0);
    CHECK(!strcmp(m.path, "g.yaml"));
    char hex[65];
    sha256_buffer(gpt_text, strlen(gpt_text), hex);
    CHECK(!strcmp(m.sha256, hex));
    /* Per layer: qkv 64*(4+2*4)*16 + o 4*16*64 + mlp 2*64*128 + two LayerNorms 4*64. */
    CHECK(model_layer_params(&m) == 12288 + 4096 + 16384 + 256);
    CHECK(model_check(&m, NULL, &(attn_diag){0}) == 0);
    /* qkv_bias: one more row of q, k and v columns */
    char biased[256];
    snprintf(biased, sizeof biased, "%sqkv_bias: true\n", gpt_text);
    CHECK(load(biased, "b.yaml", &m) == 0 && m.qkv_bias == 1);
    CHECK(model_layer_params(&m) == 12288 + (4 + 2 * 4) * 16 + 4096 + 16384 + 256);
    CHECK(load(gpt_text, "g.yaml", &m) == 0 && m.qkv_bias == 0 && m.qk_norm == 0);
    snprintf(biased, sizeof biased, "%sqk_norm: true\n", gpt_text);
    expect_error(biased, "q.yaml", "q.yaml:1:1: error: 'qk_norm' needs arch llama (RMSNorm)");
    /* no vocab_size: hidden states in and out, no ends */
    CHECK(m.vocab_size == 0 && m.tie_word_embeddings == 0 && model_ends_params(&m) == 0);
    char ends[256];
    snprintf(ends, sizeof ends, "%svocab_size: 97\ntie_word_embeddings: true\n", gpt_text);
    CHECK(load(ends, "e.yaml", &m) == 0 && m.vocab_size == 97 && m.tie_word_embeddings == 1);
    /* tied gpt: one 97 x 64 matrix and the final LayerNorm's weight and bias */
    CHECK(model_ends_params(&m) == 97.0 * 64 + 128);

    const char *llama =
        "name: l\narch: llama\nlayers: 3\nheads: 8\nkv_heads: 2\nhead_dim: 32\nhidden: 256\n"
        "ffn_hidden: 512\nnorm_eps: 1e-6\nrope_theta: 5e5\ndtype: bf16\n"
        "workload: {batch: 6, seq_len: 100, decode_tokens: 7, microbatches: 3}\n";
    CHECK(load(llama, "l.yaml", &m) == 0);
    CHECK(m.arch == ARCH_LLAMA && m.kv_heads == 2 && m.hidden == 256 && m.norm_eps == 1e-6);
    CHECK(m.rope_theta == 5e5 && m.dtype == DTYPE_BF16 && dtype_bytes(m.dtype) == 2);
    CHECK(m.workload.batch == 6 && m.workload.seq_len == 100 && m.workload.decode_tokens == 7);
    CHECK(m.workload.microbatches == 3 && m.workload.rate == 0);
    /* the serving names of the same workload, and the request rate */
    char serving[512];
    snprintf(serving, sizeof serving, "%sworkload: {isl: 300, osl: 17, rate: 2.5, batch: 4}\n", gpt_text);
    CHECK(load(serving, "s.yaml", &m) == 0);
    CHECK(m.workload.seq_len == 300 && m.workload.decode_tokens == 17 && m.workload.rate == 2.5 && m.workload.batch == 4);
    snprintf(serving, sizeof serving, "%sworkload: {isl: 300, seq_len: 300, osl: 0, decode_tokens: 0}\n", gpt_text);
    CHECK(load(serving, "s.yaml", &m) == 0 && m.workload.seq_len == 300 && m.workload.decode_tokens == 0);
    CHECK(load(llama, "l.yaml", &m) == 0);
    /* qkv 256*(8+4)*32 + o 8*32*256 + SwiGLU 3*256*512 + two RMSNorms 2*256. */
    CHECK(model_layer_params(&m) == 98304 + 65536 + 393216 + 512);
    CHECK(!strcmp(arch_name(ARCH_LLAMA), "llama") && !strcmp(dtype_name(DTYPE_FP32), "fp32"));
    attn_dtype t;
    CHECK(dtype_parse("bf16", &t) == 0 && t == DTYPE_BF16 && dtype_parse("int8", &t) == -1);
}

static void test_yaml_errors(void) {
    char text[512];
    snprintf(text, sizeof text, "%skv_heads: 3\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:7:11: error: heads (4) must be divisible by kv_heads (3)");
    snprintf(text, sizeof text, "%shidden: 60\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:7:9: error: hidden (60) must equal heads x head_dim");
    snprintf(text, sizeof text, "%srope_theta: 1e4\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:7:13: error: 'rope_theta' is for llama models only");
    expect_error("name: x\narch: llama\nlayers: 1\nheads: 2\nhead_dim: 7\nffn_hidden: 4\n", "e.yaml",
                 "e.yaml:5:11: error: 'head_dim' must be even for llama");
    expect_error("name: x\narch: gpt\nlayers: 1\nhead_dim: 8\nffn_hidden: 4\n", "e.yaml",
                 "e.yaml:1:1: error: missing required key 'heads'");
    expect_error("name: x\narch: gpt\nlayers: 1\nheads: 2048\nhead_dim: 1024\nffn_hidden: 4\n", "e.yaml",
                 "e.yaml:5:11: error: heads x head_dim = 2097152 is more than 1048576");
    snprintf(text, sizeof text, "%sworkload:\n  seq_len: 16777216\n  batch: 16777216\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:9:10: error: batch x seq_len x hidden");
    snprintf(text, sizeof text, "%sworkload:\n  batch: 4\n  microbatches: 5\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:9:17: error: 'microbatches' must be in [0, batch = 4]");
    snprintf(text, sizeof text, "%sworkload:\n  decode_tokens: -1\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:8:18: error: 'decode_tokens' must be between 0 and 1048576, got -1");
    /* the serving names: isl = seq_len, osl = decode_tokens; both only when equal */
    snprintf(text, sizeof text, "%sworkload:\n  seq_len: 100\n  isl: 101\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:9:8: error: 'isl' (101) and 'seq_len' (100) are the same length");
    snprintf(text, sizeof text, "%sworkload: {osl: 3, decode_tokens: 4}\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:7:17: error: 'osl' (3) and 'decode_tokens' (4) are the same length");
    snprintf(text, sizeof text, "%sworkload:\n  rate: 0\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:8:9: error: 'rate' must be greater than 0, got 0");
    snprintf(text, sizeof text, "%sworkload:\n  osl: -2\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:8:8: error: 'osl' must be between 0 and 1048576, got -2");
    snprintf(text, sizeof text, "%sdtype: fp8\n", gpt_text);
    expect_error(text, "e.yaml", "e.yaml:7:8: error: unknown dtype 'fp8'");
    /* The largest product that still counts exactly loads. */
    snprintf(text, sizeof text, "name: x\narch: gpt\nlayers: 1\nheads: 1\nhead_dim: 1024\nffn_hidden: 4\n"
             "workload: {batch: 16777216, seq_len: 524287}\n");
    attn_model m;
    CHECK(load(text, "ok.yaml", &m) == 0);
    /* Several independent problems are all reported. */
    captured_diag c;
    capture_begin(&c);
    const char *many = "name: x\narch: t5\nlayers: 0\nheads: a\nhead_dim: 8\nffn_hidden: 4\nbogus: 1\n";
    CHECK(model_load_buffer(many, strlen(many), "e.yaml", &m, &c.d) == -1);
    CHECK(c.d.nerrors == 4);
    CHECK(capture_end(&c, "e.yaml:7:1: error: unknown key 'bogus'"));
}

static void test_model_check(void) {
    attn_model m;
    CHECK(load(gpt_text, "g.yaml", &m) == 0);
    m.kv_heads = 3;
    m.hidden = 63;
    captured_diag c;
    capture_begin(&c);
    CHECK(model_check(&m, "code", &c.d) == 2);
    CHECK(capture_end(&c, "code: error: hidden (63) must equal heads x head_dim"));
    CHECK(load(gpt_text, "g.yaml", &m) == 0);
    m.workload.rate = -1;
    captured_diag c0;
    capture_begin(&c0);
    CHECK(model_check(&m, NULL, &c0.d) == 1);
    CHECK(capture_end(&c0, "error: 'rate' must be > 0 (requests/s), got -1"));
    m.workload.rate = 0;
    m.workload.batch = 0;
    m.layers = 5000;
    capture_begin(&c);
    CHECK(model_check(&m, NULL, &c.d) == 2);
    CHECK(capture_end(&c, "error: 'batch' must be in [1, 16777216], got 0"));
}

static void test_hf_config(void) {
    const char *cfg =
        "{\n  \"_name_or_path\": \"org/Tiny-Llama\",\n  \"architectures\": [\"LlamaForCausalLM\"],\n"
        "  \"hidden_size\": 256,\n  \"num_attention_heads\": 8,\n  \"num_key_value_heads\": 2,\n"
        "  \"intermediate_size\": 704,\n  \"num_hidden_layers\": 4,\n  \"rms_norm_eps\": 1e-05,\n"
        "  \"rope_theta\": 500000.0,\n  \"rope_scaling\": null,\n  \"torch_dtype\": \"float32\",\n"
        "  \"head_dim\": null,\n  \"vocab_size\": 32000\n}\n";
    attn_model m;
    CHECK(load(cfg, "x/config.json", &m) == 0);
    CHECK(!strcmp(m.name, "org/Tiny-Llama") && m.arch == ARCH_LLAMA && m.hidden == 256 && m.heads == 8);
    CHECK(m.kv_heads == 2 && m.head_dim == 32 && m.ffn_hidden == 704 && m.layers == 4);
    CHECK(m.norm_eps == 1e-5 && m.rope_theta == 5e5 && m.dtype == DTYPE_FP32);
    /* vocab_size read, untied when the key is absent (LlamaConfig's default) */
    CHECK(m.vocab_size == 32000 && m.tie_word_embeddings == 0);
    CHECK(model_ends_params(&m) == 2.0 * 32000 * 256 + 256);
    const char *tied = "{\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 8,"
                       " \"num_hidden_layers\": 1, \"vocab_size\": 100, \"tie_word_embeddings\": true}";
    CHECK(load(tied, "c.json", &m) == 0 && m.vocab_size == 100 && m.tie_word_embeddings == 1);
    CHECK(model_ends_params(&m) == 100.0 * 64 + 64);
    /* Detected by its first character, and the file name becomes the name. */
    const char *bare = "  {\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 8,"
                       " \"num_hidden_layers\": 1}";
    CHECK(load(bare, "dir/bare.txt", &m) == 0);
    CHECK(!strcmp(m.name, "bare.txt") && m.head_dim == 16 && m.kv_heads == 4 && m.dtype == DTYPE_FP16);
    expect_error("{\"hidden_size\": 65, \"num_attention_heads\": 4, \"intermediate_size\": 8, \"num_hidden_layers\": 1}",
                 "c.json", "c.json:1:17: error: hidden_size (65) is not divisible by num_attention_heads (4)");
    expect_error("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"head_dim\": 8, \"intermediate_size\": 8,"
                 " \"num_hidden_layers\": 1}",
                 "c.json", "c.json:1:17: error: hidden (64) must equal heads x head_dim (4 x 8 = 32)");
    expect_error("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 8, \"num_hidden_layers\": 1,"
                 " \"rms_norm_eps\": \"small\"}",
                 "c.json", "c.json:1:111: error: 'rms_norm_eps' must be a number, got the quoted string");
    expect_error("[1, 2]", "c.json", "c.json:1:1: error: expected a JSON object");
    /* A long local path as _name_or_path: the last component names the model. */
    char longcfg[512];
    snprintf(longcfg, sizeof longcfg, "{\"_name_or_path\": \"/%0150d/snap-1\", \"hidden_size\": 64, "
             "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"num_hidden_layers\": 1}", 0);
    CHECK(load(longcfg, "c.json", &m) == 0 && !strcmp(m.name, "snap-1"));
    const char *newer = "{\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 8,"
                        " \"num_hidden_layers\": 1, \"dtype\": \"bfloat16\"}";
    CHECK(load(newer, "c.json", &m) == 0 && m.dtype == DTYPE_BF16);
    /* the families: llama and mistral read as the llama block; the others refused with why */
#define HF(extra) "{\"hidden_size\": 64, \"num_attention_heads\": 4, \"intermediate_size\": 8, \"num_hidden_layers\": 1, " extra "}"
    CHECK(load(HF("\"model_type\": \"llama\", \"attention_bias\": false, \"mlp_bias\": false"), "c.json", &m) == 0);
    CHECK(load(HF("\"model_type\": \"mistral\", \"sliding_window\": null"), "c.json", &m) == 0 && m.arch == ARCH_LLAMA);
    CHECK(load(HF("\"model_type\": \"mistral\", \"sliding_window\": 32768, \"max_position_embeddings\": 32768"), "c.json",
               &m) == 0);
    expect_error(HF("\"model_type\": \"mistral\", \"sliding_window\": 4096, \"max_position_embeddings\": 32768"), "c.json",
                 "c.json:1:138: error: sliding_window attention is not supported (the model contract attends to every "
                 "earlier position); null, or a window of at least max_position_embeddings, is");
    CHECK(load(HF("\"model_type\": \"qwen2\", \"use_sliding_window\": false, \"sliding_window\": 4096, "
                  "\"max_position_embeddings\": 32768"), "c.json", &m) == 0 && m.qkv_bias == 1 && m.arch == ARCH_LLAMA);
    CHECK(load(HF("\"model_type\": \"llama\""), "c.json", &m) == 0 && m.qkv_bias == 0);
    CHECK(load(HF("\"model_type\": \"qwen3\", \"attention_bias\": false"), "c.json", &m) == 0 && m.qk_norm == 1 &&
          m.qkv_bias == 0);
    expect_error(HF("\"model_type\": \"qwen3_moe\""), "c.json",
                 "c.json:1:109: error: model_type 'qwen3_moe' is not supported: it is a mixture of experts");
    expect_error(HF("\"model_type\": \"mixtral\""), "c.json",
                 "c.json:1:109: error: model_type 'mixtral' is not supported: it is a mixture of experts");
    expect_error(HF("\"model_type\": \"bert\""), "c.json",
                 "c.json:1:109: error: model_type 'bert' is not a family attnplan computes (llama, mistral, qwen2, qwen3; docs/files.md)");
    expect_error(HF("\"attention_bias\": true"), "c.json",
                 "c.json:1:113: error: 'attention_bias': true is not supported: the model contract's projections have no "
                 "biases");
#undef HF
}

static void test_embedded_section(void) {
    /* model_read_yaml reads a model section of another document (as plan files hold). */
    const char *text = "plan_version: 1\nmodel:\n  name: e\n  arch: llama\n  layers: 1\n  heads: 2\n"
                       "  head_dim: 4\n  ffn_hidden: 8\n  kv_heads: 3\n";
    yt_doc doc;
    attn_diag d;
    attn_diag_init(&d);
    CHECK(yt_load_buffer(text, strlen(text), "p.yaml", &doc, &d) == 0);
    attn_model m;
    captured_diag c;
    capture_begin(&c);
    CHECK(model_read_yaml(&doc, yt_get(doc.root, "model"), &m, &c.d) == -1);
    CHECK(capture_end(&c, "p.yaml:9:13: error: heads (2) must be divisible by kv_heads (3)"));
    yt_free(&doc);
    text = "model: {name: e, arch: gpt, layers: 1, heads: 2, head_dim: 4, ffn_hidden: 8}\n";
    CHECK(yt_load_buffer(text, strlen(text), "p.yaml", &doc, &d) == 0);
    CHECK(model_read_yaml(&doc, yt_get(doc.root, "model"), &m, &d) == 0);
    CHECK(m.hidden == 8 && m.kv_heads == 2 && m.path[0] == '\0' && m.sha256[0] == '\0');
    yt_free(&doc);
    expect_error("name: \"a\\tb\"\narch: gpt\nlayers: 1\nheads: 1\nhead_dim: 2\nffn_hidden: 2\n", "n.yaml",
                 "n.yaml:1:7: error: 'name' must not contain control characters");
}

static void test_files(void) {
    attn_model m;
    captured_diag c;
    capture_begin(&c);
    CHECK(model_load("/nonexistent/model.yaml", &m, &c.d) == -1);
    CHECK(capture_end(&c, "/nonexistent/model.yaml: error: cannot open"));
#ifdef ATTN_SOURCE_DIR
    attn_diag d;
    attn_diag_init(&d);
    CHECK(model_load(ATTN_SOURCE_DIR "/models/seed-dense-4l.yaml", &m, &d) == 0);
    CHECK(m.layers == 4 && m.heads == 32 && m.head_dim == 128 && m.ffn_hidden == 32768);
    CHECK(m.workload.batch == 128 && m.workload.seq_len == 10000 && m.arch == ARCH_GPT);
    char hex[65];
    CHECK(sha256_file(ATTN_SOURCE_DIR "/models/seed-dense-4l.yaml", hex) == 0 && !strcmp(hex, m.sha256));
#endif
}

int main(void) {
    test_yaml_values();
    test_yaml_errors();
    test_model_check();
    test_hf_config();
    test_embedded_section();
    test_files();
    return check_finish("test_model");
}
