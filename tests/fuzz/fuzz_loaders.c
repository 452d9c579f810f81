/* fuzz_loaders.c: libFuzzer entry point for every input-file loader of the project.
 * Each input goes, with diagnostics counted but not printed, through
 *   yt_load_buffer (the tree), model_load_buffer as YAML and as config.json,
 *   topology_load_buffer, plan_load + plan_check and report_load_measured (through a
 *   scratch file, since plans and measured reports are only loaded from paths),
 * and checks what a successful load promises: a model passes model_check, a topology's
 * device table is consistent, and every string scalar survives yt_write_str and a
 * re-parse unchanged. A crash, sanitizer report, leak or failed check aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "diag.h"
#include "model.h"
#include "plan.h"
#include "report_io.h"
#include "topology.h"
#include "ytree.h"

#define FUZZ_CHECK(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz_loaders: broken promise: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static char scratch_path[64];

static void remove_scratch(void) {
    if (scratch_path[0]) unlink(scratch_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(scratch_path, sizeof scratch_path, "/tmp/fuzz_loaders_%ld_XXXXXX", (long)getpid());
    int fd = mkstemp(scratch_path);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    close(fd);
    atexit(remove_scratch);
    return 0;
}

static void quiet(attn_diag *d) {
    attn_diag_init(d);
    d->quiet = 1;
}

/* A scalar written by yt_write_str reads back as the same bytes. */
static void check_round_trip(const yt_node *n) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_CHECK(f != NULL);
    fputs("k: ", f);
    yt_write_str(f, n->str);
    fputc('\n', f);
    FUZZ_CHECK(fclose(f) == 0);
    attn_diag d;
    quiet(&d);
    yt_doc doc;
    FUZZ_CHECK(yt_load_buffer(text, len, "roundtrip", &doc, &d) == 0);
    const yt_node *v = yt_get(doc.root, "k");
    FUZZ_CHECK(v && v->kind == YT_SCALAR && v->len == n->len && !memcmp(v->str, n->str, n->len));
    yt_free(&doc);
    free(text);
}

/* Walks the tree: positions are 1-based, maps have scalar keys; round-trips a few scalars. */
static void check_tree(const yt_node *n, int depth, int *round_trips) {
    FUZZ_CHECK(n && n->line >= 1 && n->col >= 1 && depth <= YT_MAX_DEPTH + 1);
    if (n->kind == YT_SCALAR) {
        FUZZ_CHECK(n->str && strlen(n->str) == n->len);
        if ((*round_trips)++ < 8) check_round_trip(n);
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == YT_MAP) {
            FUZZ_CHECK(n->keys[i]->kind == YT_SCALAR);
            check_tree(n->keys[i], depth + 1, round_trips);
        }
        check_tree(n->vals[i], depth + 1, round_trips);
    }
}

static void check_topology(const attn_topology *t) {
    FUZZ_CHECK(t->n_devices >= 1 && t->n_nodes >= 1 && t->domain_nodes >= 1);
    for (int i = 0; i < t->n_devices; i++) {
        const attn_device *dv = &t->devices[i];
        FUZZ_CHECK(dv->node >= 0 && dv->node < t->n_nodes && dv->node_type == t->node_type_of[dv->node]);
        FUZZ_CHECK(dv->device_type == t->node_types[dv->node_type].device_type);
        FUZZ_CHECK(dv->local >= 0 && dv->local < t->node_types[dv->node_type].devices);
        FUZZ_CHECK(i == 0 || dv->node >= t->devices[i - 1].node);
    }
    int pair[2] = {0, t->n_devices - 1};
    attn_link l = topology_group_link(t, pair, 2);
    attn_link_spec s = topology_link_spec(t, l, pair[0], pair[1]);
    FUZZ_CHECK(s.bandwidth > 0 && s.latency >= 0 && s.efficiency > 0 && s.efficiency <= 1);
}

static int contains(const uint8_t *data, size_t size, const char *word) {
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= size; i++)
        if (!memcmp(data + i, word, n)) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    attn_diag d;
    quiet(&d);
    yt_doc doc;
    if (yt_load_buffer(buf, size, "fuzz.yaml", &doc, &d) == 0) {
        int round_trips = 0;
        check_tree(doc.root, 1, &round_trips);
        yt_free(&doc);
    } else {
        FUZZ_CHECK(d.nerrors > 0 && doc.root == NULL && doc.arena == NULL);
    }

    attn_model m;
    quiet(&d);
    if (model_load_buffer(buf, size, "fuzz.yaml", &m, &d) == 0) {
        attn_diag again;
        quiet(&again);
        FUZZ_CHECK(model_check(&m, NULL, &again) == 0 && d.nerrors == 0);
    } else {
        FUZZ_CHECK(d.nerrors > 0);
    }
    quiet(&d);
    if (model_load_buffer(buf, size, "fuzz.json", &m, &d) == 0) {
        attn_diag again;
        quiet(&again);
        FUZZ_CHECK(model_check(&m, NULL, &again) == 0);
    } else {
        FUZZ_CHECK(d.nerrors > 0);
    }

    attn_topology t;
    quiet(&d);
    if (topology_load_buffer(buf, size, "fuzz.yaml", &t, &d) == 0) {
        check_topology(&t);
        topology_free(&t);
    } else {
        FUZZ_CHECK(d.nerrors > 0 && t.devices == NULL);
    }

    /* Plans and measured reports only when the text could be one (fewer file writes). */
    int plan = contains(data, size, "plan_version"), measured = contains(data, size, "measured");
    if (plan || measured) {
        FILE *f = fopen(scratch_path, "wb");
        FUZZ_CHECK(f != NULL);
        FUZZ_CHECK(fwrite(data, 1, size, f) == size);
        FUZZ_CHECK(fclose(f) == 0);
    }
    if (plan) {
        attn_plan p;
        quiet(&d);
        if (plan_load(scratch_path, &p, &d) == 0) plan_check(&p, scratch_path, &d);
        plan_free(&p);
    }
    if (measured) {
        attn_report r;
        char sha[65];
        quiet(&d);
        if (report_load_measured(scratch_path, &r, sha, &d) == 0) FUZZ_CHECK(strlen(sha) == 64);
        else FUZZ_CHECK(d.nerrors > 0);
        report_free(&r);
    }
    return 0;
}
