/* test_plan_corrupt.c: hand-corrupted plans must be rejected with the right message at the
 * right FILE:LINE: overlapping or missing dimension shares, missing and duplicate ranks,
 * coordinates that contradict the rank formula, memory over capacity, broken kv/llama/a2a
 * ranges, wrong groups, unknown keys, wrong types, truncated files; and the same checks on
 * plans corrupted in memory (plan_check without a file). */
#include <stdlib.h>
#include <string.h>
#include "planfile_util.h"

static const char *dir;
static int case_no;

/* Writes p and returns the file's text (caller frees). */
static char *written(const attn_plan *p) {
    char path[1024];
    pf_diag c;
    pf_diag_begin(&c);
    pf_path(path, sizeof path, dir, "base.yaml");
    CHECK_EQ(plan_write(path, p, &c.d), 0);
    pf_diag_end(&c);
    char *text = pf_read_file(path);
    CHECK(text != NULL);
    return text;
}

static void build(attn_plan *p, const attn_model *m, attn_strategy s) {
    char err[256];
    if (plan_build_even(p, m, NULL, &s, err, sizeof err) != 0) {
        fprintf(stderr, "build failed: %s\n", err);
        exit(1);
    }
}

/* Loads `text` (already corrupted); expects failure with msg, at the line holding
 * line_anchor in text when given. */
static void expect_text_rejected(const char *text, const char *msg, const char *line_anchor) {
    char path[1024], name[64], where[1100];
    snprintf(name, sizeof name, "corrupt-%02d.yaml", ++case_no);
    pf_path(path, sizeof path, dir, name);
    CHECK_EQ(pf_write_file(path, text), 0);
    attn_plan p;
    pf_diag c;
    pf_diag_begin(&c);
    int rc = plan_load(path, &p, &c.d);
    const char *out = pf_diag_text(&c);
    CHECK_EQ(rc, -1);
    if (rc == 0) plan_free(&p);
    if (!strstr(out, msg)) {
        fprintf(stderr, "case %d: expected '%s' in:\n%s", case_no, msg, out);
        check_failures++;
    }
    if (line_anchor) {
        snprintf(where, sizeof where, "%s:%d:", path, pf_line_of(text, line_anchor));
        if (!strstr(out, where)) {
            fprintf(stderr, "case %d: expected position '%s' in:\n%s", case_no, where, out);
            check_failures++;
        }
    }
    pf_diag_end(&c);
}

static void expect_edit_rejected(const char *base, const char *anchor, const char *from, const char *to,
                                 const char *msg, const char *line_anchor) {
    char *text = pf_edit(base, anchor, from, to);
    if (!text) {
        fprintf(stderr, "edit not applicable: '%s' in the line of '%s'\n", from, anchor ? anchor : "");
        check_failures++;
        return;
    }
    expect_text_rejected(text, msg, line_anchor);
    free(text);
}

static char *delete_line(const char *text, const char *anchor) {
    const char *a = strstr(text, anchor);
    if (!a) return NULL;
    const char *start = a, *end = strchr(a, '\n');
    while (start > text && start[-1] != '\n') start--;
    end = end ? end + 1 : a + strlen(a);
    size_t head = (size_t)(start - text), tail = strlen(end);
    char *out = malloc(head + tail + 1);
    if (!out) return NULL;
    memcpy(out, text, head);
    memcpy(out + head, end, tail + 1);
    return out;
}

static void test_file_corruptions(void) {
    attn_model m = pf_model(ARCH_GPT, 2, 4, 2, 32, 64, 2);
    attn_plan p;
    build(&p, &m, pf_strategy(1, 2, 2, 2, SCHEME_SCORE_ALLREDUCE));
    char *base = written(&p);
    plan_free(&p);
    /* the unedited file loads */
    expect_edit_rejected(base, "plan_version", "plan_version: 1", "plan_version: 2",
                         "plan_version 2 is not supported", "plan_version");
    expect_edit_rejected(base, "{rank: 1,", "dims: [[16, 32]]", "dims: [[8, 32]]",
                         "head 0 dim 8 is owned by both rank 0 and rank 1", "{rank: 1,");
    expect_edit_rejected(base, "{rank: 1,", "dims: [[16, 32]]", "dims: [[20, 32]]",
                         "head 0 dim 16 is owned by no rank", NULL);
    char *gone = delete_line(base, "{rank: 3,");
    CHECK(gone != NULL);
    if (gone) {
        expect_text_rejected(gone, "ranks lists 7 entries but world is 8", "{rank: 0,");
        expect_text_rejected(gone, "rank 3 is missing", NULL);
        free(gone);
    }
    expect_edit_rejected(base, "{rank: 3,", "rank: 3,", "rank: 2,", "rank 2 is listed twice (entries 2 and 3)",
                         "{rank: 2, node: 3");
    expect_edit_rejected(base, "{rank: 3,", "rank: 3,", "rank: 2,", "rank 3 is missing", NULL);
    expect_edit_rejected(base, "{rank: 5,", "seg: 1", "seg: 0",
                         "rank 5: coordinates (replica 0, stage 1, seq 0, head_group 0, seg 0) belong to rank 4", "{rank: 5,");
    expect_edit_rejected(base, "{rank: 0,", "kv_heads: [0, 1]", "kv_heads: [0, 2]",
                         "rank 0: kv_heads [0,2) do not match heads [0,2) (expected [0,1))", "{rank: 0,");
    expect_edit_rejected(base, "{rank: 1,", "mlp: [16, 32]", "mlp: [8, 32]",
                         "replica 0 stage 0: mlp columns [8,16) owned by both rank 0 and rank 1", "{rank: 1,");
    expect_edit_rejected(base, "{rank: 5,", "layers: [1, 2]", "layers: [0, 2]",
                         "rank 5: layers [0,2) differ from rank 4's in the same stage", "{rank: 5,");
    expect_edit_rejected(base, "{rank: 0,", "a2a_heads: [0, 2]", "a2a_heads: [0, 1]",
                         "a2a_heads must equal heads unless the scheme is head-alltoall", "{rank: 0,");
    expect_edit_rejected(base, "{rank: 3,", "device: 3", "device: 2", "ranks 2 and 3 are both placed on device 2",
                         "{rank: 3,");
    expect_edit_rejected(base, "kind: seg", "coll: allreduce", "coll: allgather",
                         "group 0 should be seg allreduce over 2 ranks starting at rank 0", "kind: seg");
    expect_edit_rejected(base, "{rank: 0,", "seg: 0,", "seg: 0, bogus: 1,", "bogus", "{rank: 0,");
    expect_edit_rejected(base, "world:", "world: 8", "world: 9", "world does not equal dp*pp*s*n*m", "world:");
    expect_edit_rejected(base, "  layers:", "layers: 2", "layers: two", "integer", "  layers:");
    expect_edit_rejected(base, "{rank: 2,", "dims: [[0, 16]]", "dims: [[0, 16], [16, 32]]",
                         "gpt dims must be one non-empty range", "{rank: 2,");
    expect_edit_rejected(base, "scheme:", "scheme: score-allreduce", "scheme: none",
                         "m=2 with scheme none", "strategy:");
    /* a file cut in the middle of a rank entry */
    char *cut = strdup(base);
    CHECK(cut != NULL);
    if (cut) {
        char *r5 = strstr(cut, "{rank: 5,");
        if (r5) r5[20] = '\0';
        expect_text_rejected(cut, "error", NULL);
        free(cut);
    }
    free(base);

    /* llama pair structure and head-alltoall ranges */
    attn_model l = pf_model(ARCH_LLAMA, 2, 4, 4, 32, 64, 2);
    build(&p, &l, pf_strategy(1, 1, 2, 2, SCHEME_HEAD_ALLTOALL));
    base = written(&p);
    plan_free(&p);
    expect_edit_rejected(base, "{rank: 0,", "dims: [[0, 8], [16, 24]]", "dims: [[0, 8], [17, 25]]",
                         "rank 0: llama dims must be a range of rotation pairs", "{rank: 0,");
    expect_edit_rejected(base, "{rank: 1,", "a2a_heads: [1, 2]", "a2a_heads: [0, 1]",
                         "replica 0 stage 0 head group 0: a2a heads [0,1) owned by both rank 0 and rank 1", "{rank: 1,");
    free(base);

    /* the sequence axis: s = 2 slices of n = 2 head groups, weights sharded (mlp over 4) */
    attn_model g = pf_model(ARCH_GPT, 2, 4, 4, 16, 64, 2);
    attn_strategy sq = pf_strategy(1, 1, 2, 1, SCHEME_NONE);
    sq.s = 2, sq.cp = CP_RING, sq.weights = WEIGHTS_SHARDED;
    build(&p, &g, sq);
    base = written(&p);
    plan_free(&p);
    CHECK(strstr(base, "strategy: {dp: 1, pp: 1, s: 2, cp: ring, weights: sharded, n: 2,") != NULL);
    expect_edit_rejected(base, "{rank: 2,", "seq: 1", "seq: 2",
                         "rank 2: coordinates (replica 0, stage 0, seq 2, head_group 0, seg 0) are out of range",
                         "{rank: 2,");
    expect_edit_rejected(base, "{rank: 2,", "seq: 1", "seq: 0",
                         "rank 2: coordinates (replica 0, stage 0, seq 0, head_group 0, seg 0) belong to rank 0",
                         "{rank: 2,");
    expect_edit_rejected(base, "strategy:", "cp: ring, ", "", "missing 'cp'", "strategy:");
    expect_edit_rejected(base, "strategy:", "cp: ring", "cp: auto", "unknown cp 'auto'", "strategy:");
    expect_edit_rejected(base, "strategy:", "weights: sharded", "weights: replicated",
                         "rank 2: mlp [32,48) differs from rank 0's, its twin in slice 0 (weights replicated)",
                         "{rank: 2,");
    expect_edit_rejected(base, "strategy:", "s: 2", "s: 1", "cp only exists with s > 1", "strategy:");
    expect_edit_rejected(base, "{rank: 3,", "mlp: [48, 64]", "mlp: [32, 64]",
                         "mlp columns [32,48) owned by both rank 2 and rank 3", "{rank: 3,");
    free(base);
    build(&p, &g, pf_strategy(1, 1, 2, 1, SCHEME_NONE));
    base = written(&p);
    plan_free(&p);
    CHECK(strstr(base, "seq:") == NULL); /* s = 1 plans keep their bytes */
    expect_edit_rejected(base, "strategy:", "pp: 1, ", "pp: 1, cp: ring, ", "cp only exists with s > 1", "strategy:");
    free(base);

    /* predicted memory over capacity, named with rank, bytes and capacity */
    build(&p, &m, pf_strategy(1, 1, 2, 2, SCHEME_QK_ALLGATHER));
    CHECK_EQ(report_init(&p.predicted, p.world), 0);
    p.has_predicted = 1;
    for (int r = 0; r < p.world; r++) {
        p.predicted.ranks[r].memory_bytes = 7e10;
        p.predicted.ranks[r].memory_capacity_bytes = 8e10;
    }
    p.predicted.ranks[2].memory_bytes = 9e10;
    base = written(&p);
    expect_text_rejected(base, "rank 2 needs 90000000000 bytes of memory but its device holds 80000000000",
                         "- rank: 2");
    pf_diag c;
    pf_diag_begin(&c);
    CHECK_EQ(plan_check(&p, NULL, &c.d), 1);
    CHECK(strstr(pf_diag_text(&c), "plan: rank 2 needs 90000000000 bytes") != NULL);
    pf_diag_end(&c);
    plan_free(&p);
    free(base);
}

/* plan_check on in-memory plans (no file: messages start with "plan: "). */
static void expect_check(const attn_plan *p, const char *msg) {
    pf_diag c;
    pf_diag_begin(&c);
    int problems = plan_check(p, NULL, &c.d);
    const char *out = pf_diag_text(&c);
    CHECK(problems > 0);
    if (!strstr(out, msg)) {
        fprintf(stderr, "expected '%s' in:\n%s", msg, out);
        check_failures++;
    }
    pf_diag_end(&c);
}

static void test_memory_corruptions(void) {
    attn_model m = pf_model(ARCH_GPT, 4, 4, 4, 8, 16, 4);
    attn_plan p;
    build(&p, &m, pf_strategy(2, 2, 1, 1, SCHEME_NONE));
    pf_diag c;
    pf_diag_begin(&c);
    CHECK_EQ(plan_check(&p, NULL, &c.d), 0);
    pf_diag_end(&c);
    /* replica 1 claims replica 0's rows */
    for (int r = 2; r < 4; r++) p.ranks[r].batch_begin = 0, p.ranks[r].batch_end = 2;
    expect_check(&p, "plan: replicas: batch rows [0,2) owned by both rank 0 and rank 2");
    for (int r = 2; r < 4; r++) p.ranks[r].batch_begin = 2, p.ranks[r].batch_end = 4;
    /* stage 1 of replica 0 starts one layer late */
    p.ranks[1].layer_begin = 3;
    expect_check(&p, "plan: replica 0: layers [2,3) owned by no rank");
    p.ranks[1].layer_begin = 2;
    p.ranks[1].layer_end = 3;
    expect_check(&p, "plan: replica 0: layers [3,4) owned by no rank");
    p.ranks[1].layer_end = 4;
    p.ranks[3].rank = 7;
    expect_check(&p, "rank 7 is out of range 0..3");
    p.ranks[3].rank = 3;
    p.groups[0].ranks[1] = 3;
    expect_check(&p, "group 0 should be pipe sendrecv over 2 ranks starting at rank 0");
    p.groups[0].ranks[1] = 1;
    p.strategy.microbatches = 3;
    expect_check(&p, "microbatches=3 exceeds the smallest replica's batch rows=2");
    p.strategy.microbatches = 1;
    p.world = 5;
    expect_check(&p, "world=5 but dp*pp*s*n*m=4");
    p.world = 4;
    pf_diag_begin(&c);
    CHECK_EQ(plan_check(&p, NULL, &c.d), 0);
    pf_diag_end(&c);
    plan_free(&p);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_plan_corrupt SCRATCH_DIR\n");
        return 2;
    }
    dir = argv[1];
    test_file_corruptions();
    test_memory_corruptions();
    return check_finish("test_plan_corrupt");
}
