/* test_strategy.c: strategy strings (parse, refusals, format round trip), the metric and
 * op tables, and SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include "metrics.h"
#include "sha256.h"
#include "strategy.h"
#include "testutil.h"

static void expect_bad(const char *spec, const char *want) {
    attn_strategy s = {9, 9, 9, 9, SCHEME_QK_ALLGATHER, 9, 1, CP_AUTO, WEIGHTS_AUTO};
    char err[256] = "";
    CHECK(strategy_parse(spec, &s, err, sizeof err) == -1);
    CHECK(s.dp == 9 && s.n == 9); /* untouched on error */
    if (!strstr(err, want)) {
        fprintf(stderr, "  '%s': wanted '%s', got '%s'\n", spec, want, err);
        check_failures++;
    }
}

static void test_strategy(void) {
    attn_strategy s;
    char err[256], buf[128];
    CHECK(strategy_parse("dp=1,pp=2,n=8,m=1", &s, err, sizeof err) == 0);
    CHECK(s.dp == 1 && s.pp == 2 && s.n == 8 && s.m == 1 && s.scheme == SCHEME_NONE && s.microbatches == 0);
    CHECK(strategy_devices(&s) == 16);
    strategy_format(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, "dp=1,pp=2,n=8,m=1"));
    CHECK(strategy_parse("m=4,n=4,scheme=score-allreduce,mb=3", &s, err, sizeof err) == 0);
    CHECK(s.dp == 1 && s.pp == 1 && s.n == 4 && s.m == 4 && s.scheme == SCHEME_SCORE_ALLREDUCE && s.microbatches == 3);
    strategy_format(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, "dp=1,pp=1,n=4,m=4,scheme=score-allreduce,mb=3"));
    attn_strategy back;
    CHECK(strategy_parse(buf, &back, err, sizeof err) == 0);
    CHECK(back.dp == s.dp && back.pp == s.pp && back.n == s.n && back.m == s.m && back.scheme == s.scheme &&
          back.microbatches == s.microbatches);
    CHECK(strategy_parse("n=2,m=1,scheme=none", &s, err, sizeof err) == 0 && s.scheme == SCHEME_NONE);
    CHECK(strategy_parse("n=2,m=2,scheme=head-alltoall", &s, err, sizeof err) == 0 && s.scheme == SCHEME_HEAD_ALLTOALL);
    CHECK(strategy_parse("n=1,m=8,scheme=qk-allgather", &s, err, sizeof err) == 0 && s.scheme == SCHEME_QK_ALLGATHER);
    expect_bad("", "empty strategy");
    expect_bad("dp=1,pp=1,m=1", "missing n");
    expect_bad("n=4,m=2", "score-allreduce|qk-allgather|head-alltoall");
    expect_bad("n=4,m=2,scheme=none", "choose scheme=");
    expect_bad("n=4,m=1,scheme=qk-allgather", "needs m > 1");
    expect_bad("n=4,m=2,scheme=magic", "unknown scheme 'magic'");
    expect_bad("n=4,tp=2", "unknown key 'tp'");
    expect_bad("n=4,n=2", "key 'n' given twice");
    expect_bad("n=0", "n must be a positive integer");
    expect_bad("n=-2", "n must be a positive integer");
    expect_bad("n=2.5", "n must be a positive integer");
    expect_bad("n=", "n must be a positive integer");
    expect_bad("n=99999999999", "n must be a positive integer");
    expect_bad("n=4,mb=0", "mb must be a positive integer");
    expect_bad("n=4,", "is not KEY=VALUE");
    expect_bad("n=4 ,m=1", "n must be a positive integer");
    expect_bad("dp=1024,pp=1024,n=2", "devices is more than");
    /* the sequence axis */
    CHECK(strategy_parse("s=2,n=4,m=2,scheme=head-alltoall", &s, err, sizeof err) == 0);
    CHECK(s.s == 2 && s.cp == CP_AUTO && s.weights == WEIGHTS_AUTO && strategy_devices(&s) == 16);
    CHECK(strategy_stage_devices(&s) == 16);
    strategy_format(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, "dp=1,pp=1,s=2,n=4,m=2,scheme=head-alltoall"));
    CHECK(strategy_parse("dp=2,s=4,n=2,cp=allgather,weights=sharded,mb=2", &s, err, sizeof err) == 0);
    CHECK(s.s == 4 && s.cp == CP_ALLGATHER && s.weights == WEIGHTS_SHARDED && strategy_devices(&s) == 16);
    strategy_format(&s, buf, sizeof buf);
    CHECK(!strcmp(buf, "dp=2,pp=1,s=4,n=2,m=1,cp=allgather,weights=sharded,mb=2"));
    CHECK(strategy_parse(buf, &back, err, sizeof err) == 0);
    CHECK(back.s == 4 && back.cp == CP_ALLGATHER && back.weights == WEIGHTS_SHARDED && back.microbatches == 2);
    CHECK(strategy_parse("n=8", &s, err, sizeof err) == 0 && s.s == 1 && s.cp == CP_AUTO && strategy_seq(&s) == 1);
    expect_bad("n=4,cp=ring", "cp needs s > 1");
    expect_bad("n=4,s=1,weights=sharded", "weights needs s > 1");
    expect_bad("n=4,s=2,cp=auto", "unknown cp 'auto'");
    expect_bad("n=4,s=2,cp=zigzag", "unknown cp 'zigzag'");
    expect_bad("n=4,s=2,weights=helix", "unknown weights 'helix'");
    expect_bad("n=4,s=0", "s must be a positive integer");
    expect_bad("s=1024,dp=1024,n=2", "dp*pp*s*n*m");
    attn_cp cp;
    attn_weights w;
    for (int i = 1; i < CP_COUNT; i++) CHECK(cp_parse(cp_name((attn_cp)i), &cp) == 0 && (int)cp == i);
    for (int i = 1; i < WEIGHTS_COUNT; i++) CHECK(weights_parse(weights_name((attn_weights)i), &w) == 0 && (int)w == i);
    attn_scheme sc;
    for (int i = 0; i < SCHEME_COUNT; i++) CHECK(scheme_parse(scheme_name((attn_scheme)i), &sc) == 0 && (int)sc == i);
    CHECK(scheme_parse("Score-Allreduce", &sc) == -1 && !strcmp(scheme_name(SCHEME_NONE), "none"));
    /* A small buffer gets a truncated, terminated string. */
    CHECK(strategy_parse("dp=2,pp=2,n=4,m=2,scheme=qk-allgather", &s, err, sizeof err) == 0);
    char small[12];
    strategy_format(&s, small, sizeof small);
    CHECK(strlen(small) == sizeof small - 1);
}

static void test_tables(void) {
    static const char *const metrics[] = {"prefill_tokens_per_s", "ttft_s", "tpot_s", "decode_tokens_per_s",
                                          "peak_memory_bytes", "comm_fraction", "e2e_latency_s",
                                          "output_tokens_per_s_per_gpu", "tokens_per_s_per_user"};
    CHECK(sizeof metrics / sizeof metrics[0] == MET_COUNT);
    for (int i = 0; i < MET_COUNT; i++) {
        CHECK(!strcmp(attn_metric_table[i].key, metrics[i]) && metric_find(metrics[i]) == i);
        CHECK(attn_metric_table[i].unit != NULL);
    }
    CHECK(attn_metric_table[MET_PREFILL_TOKENS_PER_S].higher_is_better && !attn_metric_table[MET_TTFT_S].higher_is_better);
    CHECK(!attn_metric_table[MET_E2E_LATENCY_S].higher_is_better &&
          attn_metric_table[MET_OUTPUT_TOKENS_PER_S_PER_GPU].higher_is_better &&
          attn_metric_table[MET_TOKENS_PER_S_PER_USER].higher_is_better);
    /* the serving metrics by hand: ttft 2 s, tpot 0.05 s, 8 requests of 101 tokens on 4
     * devices: e2e 2 + 100 x 0.05 = 7 s, 8 x 101 / 7 / 4 = 28.857142... tokens/s per GPU,
     * 20 tokens/s per user */
    double v[MET_COUNT] = {0};
    v[MET_TTFT_S] = 2, v[MET_TPOT_S] = 0.05;
    metrics_fill_serving(v, 8, 101, 4);
    CHECK(fabs(v[MET_E2E_LATENCY_S] - 7) < 1e-12 && fabs(v[MET_OUTPUT_TOKENS_PER_S_PER_GPU] - 808.0 / 28) < 1e-12 &&
          fabs(v[MET_TOKENS_PER_S_PER_USER] - 20) < 1e-12);
    /* no output beyond the prefill's token: the request ends with its prefill */
    metrics_fill_serving(v, 8, 0, 4);
    CHECK(v[MET_E2E_LATENCY_S] == 2 && v[MET_OUTPUT_TOKENS_PER_S_PER_GPU] == 1);
    /* no decode measured (tpot -1): e2e of a longer output unknown, shown as -1 */
    v[MET_TPOT_S] = -1;
    metrics_fill_serving(v, 8, 5, 4);
    CHECK(v[MET_E2E_LATENCY_S] == -1 && v[MET_OUTPUT_TOKENS_PER_S_PER_GPU] == -1 && v[MET_TOKENS_PER_S_PER_USER] == -1);
    /* a spread: the fastest times give the smallest latency and the largest rates */
    double lo[MET_COUNT] = {0}, hi[MET_COUNT] = {0};
    lo[MET_TTFT_S] = 1, lo[MET_TPOT_S] = 0.1, hi[MET_TTFT_S] = 2, hi[MET_TPOT_S] = 0.2;
    metrics_fill_serving_spread(lo, hi, 1, 11, 1);
    CHECK(fabs(lo[MET_E2E_LATENCY_S] - 2) < 1e-12 && fabs(hi[MET_E2E_LATENCY_S] - 4) < 1e-12);
    CHECK(fabs(lo[MET_OUTPUT_TOKENS_PER_S_PER_GPU] - 2.75) < 1e-12 && fabs(hi[MET_OUTPUT_TOKENS_PER_S_PER_GPU] - 5.5) < 1e-12);
    CHECK(fabs(lo[MET_TOKENS_PER_S_PER_USER] - 5) < 1e-12 && fabs(hi[MET_TOKENS_PER_S_PER_USER] - 10) < 1e-12);
    static const char *const ops[] = {"embed", "embed_comm", "norm1", "qkv_proj", "rope", "attn_comm", "scores",
                                      "softmax", "pv", "attention", "o_proj", "o_proj_allreduce", "residual1", "norm2",
                                      "mlp_up", "mlp_act", "mlp_down", "mlp_allreduce", "residual2", "kv_cache_write",
                                      "final_norm", "lm_head", "lm_head_comm", "pipe_p2p"};
    for (int i = 0; i < OP_COUNT; i++) CHECK(!strcmp(attn_op_table[i].key, ops[i]) && op_find(ops[i]) == i);
    CHECK(attn_op_table[OP_ATTN_COMM].cls == OPCLASS_COMM && attn_op_table[OP_PV].cls == OPCLASS_COMPUTE);
    CHECK(attn_op_table[OP_SOFTMAX].cls == OPCLASS_MEMORY && attn_op_table[OP_PIPE_P2P].cls == OPCLASS_COMM);
    CHECK(metric_find("ttft") == -1 && op_find("attn") == -1 && metric_find(NULL) == -1);
    CHECK(!strcmp(attn_phase_names[PHASE_DECODE], "decode") && !strcmp(attn_opclass_names[OPCLASS_COMM], "comm"));
}

static void test_sha256(void) {
    char hex[65];
    sha256_buffer("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    sha256_buffer("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_buffer(two, strlen(two), hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    char *million = malloc(1000000);
    if (!million) exit(1);
    memset(million, 'a', 1000000);
    sha256_buffer(million, 1000000, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    /* The file digest equals the buffer digest (the file spans several read blocks). */
    char path[] = "/tmp/attn_test_shaXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    CHECK(f && fwrite(million, 1, 1000000, f) == 1000000 && fclose(f) == 0);
    char hex2[65];
    CHECK(sha256_file(path, hex2) == 0 && !strcmp(hex, hex2));
    CHECK(unlink(path) == 0);
    CHECK(sha256_file("/nonexistent/file", hex2) == -1);
    free(million);
}

int main(void) {
    test_strategy();
    test_tables();
    test_sha256();
    return check_finish("test_strategy");
}
