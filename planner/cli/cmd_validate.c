/* cmd_validate.c: `attnplan validate FILE...`: checks model, topology and plan files
 * with the same loaders every other command uses, and says what each file is.
 * The kind of a file, from its top-level keys: plan_version makes it a plan,
 * measured_version or measured a measured report (attnrun -o), device_types or
 * node_types a topology, anything else a model (the model loader reads *.json, or
 * text starting with '{', as a Hugging Face config.json).
 * Exit codes: 0 every file is valid; 2 at least one file is invalid or unreadable
 * (an unreadable file is bad input too, so a script needs to test only one code). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "diag.h"
#include "model.h"
#include "plan.h"
#include "report_io.h"
#include "strategy.h"
#include "topology.h"
#include "ytree.h"

static void validate_usage(FILE *f) {
    fprintf(f,
            "usage: attnplan validate FILE...\n"
            "\n"
            "Checks model files (models/*.yaml or a Hugging Face config.json), topology files\n"
            "(topologies/*.yaml), plan files (attnplan plan -o) and measured reports (attnrun -o).\n"
            "Every problem is reported on stderr as FILE:LINE:COL: error: message; valid files\n"
            "get one line on stdout.\n"
            "\n"
            "exit codes: 0 all files valid, 2 a file is invalid or cannot be read\n");
}

typedef enum { KIND_MODEL, KIND_TOPOLOGY, KIND_PLAN, KIND_MEASURED } file_kind;

static int validate_model(const char *buf, size_t len, const char *path, attn_diag *d) {
    attn_model m;
    if (model_load_buffer(buf, len, path, &m, d)) return -1;
    char kv[32] = "";
    if (m.kv_heads != m.heads) snprintf(kv, sizeof kv, " (%d kv)", m.kv_heads);
    char ends[96] = "";
    if (m.vocab_size > 0)
        snprintf(ends, sizeof ends, ", vocab %d%s (%.4g parameters in the ends)", m.vocab_size,
                 m.tie_word_embeddings ? " tied" : "", model_ends_params(&m));
    printf("%s: ok (model %s: %s, %d layers, %d heads%s x %d, hidden %d, ffn %d, %s; %.4g parameters in the layers%s; "
           "batch %d x seq_len %d, %d decode tokens)\n",
           path, m.name, arch_name(m.arch), m.layers, m.heads, kv, m.head_dim, m.hidden, m.ffn_hidden,
           dtype_name(m.dtype), model_layer_params(&m) * m.layers, ends, m.workload.batch, m.workload.seq_len,
           m.workload.decode_tokens);
    return 0;
}

static int validate_topology(const char *buf, size_t len, const char *path, attn_diag *d) {
    attn_topology t;
    if (topology_load_buffer(buf, len, path, &t, d)) return -1;
    printf("%s: ok (topology %s: %d device%s on %d node%s, %d device type%s, %d node type%s%s)\n", path, t.name,
           t.n_devices, t.n_devices == 1 ? "" : "s", t.n_nodes, t.n_nodes == 1 ? "" : "s", t.n_dev_types, t.n_dev_types == 1 ? "" : "s", t.n_node_types,
           t.n_node_types == 1 ? "" : "s", t.domain_nodes > 1 ? ", multi-node NVLink domains" : "");
    topology_free(&t);
    return 0;
}

static int validate_plan(const char *path, attn_diag *d) {
    attn_plan p;
    memset(&p, 0, sizeof p);
    if (plan_load(path, &p, d)) {
        plan_free(&p);
        return -1;
    }
    int problems = plan_check(&p, path, d);
    if (problems == 0) {
        char strat[128];
        strategy_format(&p.strategy, strat, sizeof strat);
        printf("%s: ok (plan: model %s on %s, %s, %d ranks)\n", path, p.model.name, p.topology_name, strat, p.world);
    }
    plan_free(&p);
    return problems ? -1 : 0;
}

static int validate_measured(const char *path, attn_diag *d) {
    attn_report r;
    char plan_sha[65] = "";
    if (report_load_measured(path, &r, plan_sha, d)) {
        report_free(&r);
        return -1;
    }
    printf("%s: ok (measured report: %d ranks, of the plan with sha256 %.12s...)\n", path, r.n_ranks, plan_sha);
    report_free(&r);
    return 0;
}

static int validate_file(const char *path, attn_diag *d) {
    char *buf;
    size_t len;
    if (yt_read_file(path, &buf, &len, d)) return -1;
    /* Parse once to see the top-level keys (JSON is YAML too); the loaders then parse
     * again, so what is checked here is exactly what every other command loads. */
    yt_doc doc;
    int rc = yt_load_buffer(buf, len, path, &doc, d);
    if (rc == 0) {
        file_kind kind = KIND_MODEL;
        if (yt_get(doc.root, "plan_version")) kind = KIND_PLAN;
        else if (yt_get(doc.root, "measured_version") || yt_get(doc.root, "measured")) kind = KIND_MEASURED;
        else if (yt_get(doc.root, "device_types") || yt_get(doc.root, "node_types")) kind = KIND_TOPOLOGY;
        yt_free(&doc);
        if (kind == KIND_PLAN) rc = validate_plan(path, d);
        else if (kind == KIND_MEASURED) rc = validate_measured(path, d);
        else if (kind == KIND_TOPOLOGY) rc = validate_topology(buf, len, path, d);
        else rc = validate_model(buf, len, path, d);
    }
    free(buf);
    return rc;
}

int cmd_validate(int argc, char **argv) {
    int options_done = 0, nfiles = 0;
    attn_args p;
    attn_args_init(&p, "attnplan validate", argc, argv, 1);
    for (; attn_args_peek(&p); attn_args_next(&p)) {
        if (!options_done && (attn_args_is(&p, "--help") || attn_args_is(&p, "-h"))) {
            validate_usage(stdout);
            return ATTN_EXIT_OK;
        }
        if (!options_done && attn_args_is(&p, "--")) {
            options_done = 1;
            continue;
        }
        if (!options_done && attn_args_is_option(&p)) {
            attn_args_reject(&p);
            validate_usage(stderr);
            return ATTN_EXIT_BADINPUT;
        }
        nfiles++;
    }
    if (nfiles == 0) {
        attn_args_fail(&p, "no files given");
        validate_usage(stderr);
        return ATTN_EXIT_BADINPUT;
    }
    int bad = 0;
    options_done = 0;
    for (int i = 1; i < argc; i++) {
        if (!options_done && !strcmp(argv[i], "--")) {
            options_done = 1;
            continue;
        }
        attn_diag d;
        attn_diag_init(&d);
        if (validate_file(argv[i], &d) != 0 || d.nerrors > 0) bad++;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "attnplan validate: cannot write to standard output\n");
        return ATTN_EXIT_FAIL;
    }
    return bad ? ATTN_EXIT_BADINPUT : ATTN_EXIT_OK;
}
