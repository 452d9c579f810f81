/* report_io.c: reading and writing a report section (`predicted:` in plan files,
 * `measured:` in measured files) and whole measured files. The layout is described in
 * docs/plan-format.md; every real is written so that it reads back bit for bit. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "plan_private.h"
#include "report_io.h"

int report_init(attn_report *r, int n_ranks) {
    memset(r, 0, sizeof *r);
    if (n_ranks < 0) return -1;
    r->fits = 1;
    if (n_ranks > 0) {
        r->ranks = calloc((size_t)n_ranks, sizeof *r->ranks);
        if (!r->ranks) return -1;
    }
    r->n_ranks = n_ranks;
    for (int i = 0; i < n_ranks; i++)
        for (int ph = 0; ph < PHASE_COUNT; ph++)
            for (int op = 0; op < OP_COUNT; op++) r->ranks[i].op[ph][op].time_s = -1;
    return 0;
}

void report_free(attn_report *r) {
    if (!r) return;
    free(r->ranks);
    r->ranks = NULL;
    r->n_ranks = 0;
}

/* ---- writing ---- */

static void write_metric_map(FILE *f, const char *key, const double *v) {
    fprintf(f, "  %s:\n", key);
    for (int i = 0; i < MET_COUNT; i++) {
        fprintf(f, "    %s: ", attn_metric_table[i].key);
        yt_write_real(f, v[i]);
        fputc('\n', f);
    }
}

static int same_real(double a, double b) {
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

static const char *const rank_memory_keys[] = {"weights_bytes", "kv_cache_bytes", "activation_bytes",
                                               "comm_buffer_bytes", "memory_bytes",
                                               "memory_capacity_bytes"};
enum { N_RANK_MEMORY = 6 };

static double *rank_memory_field(attn_rank_report *rr, int i) {
    double *f[N_RANK_MEMORY] = {&rr->weights_bytes, &rr->kv_cache_bytes, &rr->activation_bytes,
                                &rr->comm_buffer_bytes, &rr->memory_bytes, &rr->memory_capacity_bytes};
    return f[i];
}

void report_write_yaml(FILE *f, const char *section, const attn_report *r) {
    fprintf(f, "%s:\n", section);
    write_metric_map(f, "metrics", r->metric);
    /* min/max carry information only when they differ from the value (repeated
     * measurements); measured sections always show them. */
    int spread = strcmp(section, "predicted") != 0;
    for (int i = 0; i < MET_COUNT && !spread; i++)
        spread = !same_real(r->metric_min[i], r->metric[i]) || !same_real(r->metric_max[i], r->metric[i]);
    if (spread) {
        write_metric_map(f, "metrics_min", r->metric_min);
        write_metric_map(f, "metrics_max", r->metric_max);
    }
    fprintf(f, "  fits: %s\n  shortfall_bytes: ", r->fits ? "true" : "false");
    yt_write_real(f, r->shortfall_bytes);
    fputs("\n  note: ", f);
    yt_write_str(f, r->note);
    fputc('\n', f);
    if (r->n_ranks == 0) {
        fputs("  ranks: []\n", f);
        return;
    }
    fputs("  ranks:\n", f);
    for (int i = 0; i < r->n_ranks; i++) {
        attn_rank_report *rr = &r->ranks[i];
        fprintf(f, "    - rank: %d\n", i);
        for (int k = 0; k < N_RANK_MEMORY; k++) {
            fprintf(f, "      %s: ", rank_memory_keys[k]);
            yt_write_real(f, *rank_memory_field(rr, k));
            fputc('\n', f);
        }
        fputs("      ops:\n", f);
        for (int ph = 0; ph < PHASE_COUNT; ph++) {
            fprintf(f, "        %s:\n", attn_phase_names[ph]);
            for (int op = 0; op < OP_COUNT; op++) {
                const attn_op_cost *c = &rr->op[ph][op];
                fprintf(f, "          %s: [", attn_op_table[op].key);
                yt_write_real(f, c->time_s);
                fputs(", ", f);
                yt_write_real(f, c->flops);
                fputs(", ", f);
                yt_write_real(f, c->bytes);
                fputs("]\n", f);
            }
        }
    }
}

int report_write_measured(const char *path, const attn_report *r, const char *plan_sha256,
                          const char *machine, attn_diag *d) {
    yt_writer w;
    if (yt_writer_open(&w, path, d) != 0) {
        diag_plain(d, "%s: cannot open for writing: %s", path, strerror(errno));
        return -1;
    }
    fputs("# attnrun measured report (docs/plan-format.md)\nmeasured_version: 1\nplan_sha256: ", w.f);
    yt_write_str(w.f, plan_sha256 ? plan_sha256 : "");
    fputs("\nmachine: ", w.f);
    yt_write_str(w.f, machine ? machine : "");
    fputc('\n', w.f);
    report_write_yaml(w.f, "measured", r);
    if (yt_writer_commit(&w) != 0) {
        diag_plain(d, "%s: could not write the measured report", path);
        return -1;
    }
    return 0;
}

/* ---- reading ---- */

static int read_metric_map(const yt_doc *doc, const yt_node *map, double *v, attn_diag *d) {
    const char *allowed[MET_COUNT + 1];
    for (int i = 0; i < MET_COUNT; i++) allowed[i] = attn_metric_table[i].key;
    allowed[MET_COUNT] = NULL;
    if (yt_expect(doc, map, YT_MAP, "a map of metrics", d) || yt_check_keys(doc, map, allowed, d)) return -1;
    int bad = 0;
    for (int i = 0; i < MET_COUNT; i++) {
        const yt_node *n = yt_get(map, allowed[i]);
        if (!n && i >= MET_FIRST_SERVING) {
            v[i] = NAN; /* a file written before the serving metrics: unknown, not an error */
        } else if (!n) {
            diag_error(d, doc->file, map->line, map->col, "missing metric '%s'", allowed[i]);
            bad = -1;
        } else if (yt_node_real(doc, n, &v[i], d)) {
            bad = -1;
        }
    }
    return bad;
}

static int read_op_map(const yt_doc *doc, const yt_node *map, attn_op_cost *ops, attn_diag *d) {
    const char *allowed[OP_COUNT + 1];
    for (int i = 0; i < OP_COUNT; i++) allowed[i] = attn_op_table[i].key;
    allowed[OP_COUNT] = NULL;
    if (yt_expect(doc, map, YT_MAP, "a map of ops", d) || yt_check_keys(doc, map, allowed, d)) return -1;
    int bad = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        const yt_node *n = yt_get(map, allowed[i]);
        if (!n) {
            diag_error(d, doc->file, map->line, map->col, "missing op '%s'", allowed[i]);
            bad = -1;
            continue;
        }
        if (n->kind != YT_SEQ || n->n != 3) {
            diag_error(d, doc->file, n->line, n->col, "op '%s': expected [time_s, flops, bytes]", allowed[i]);
            bad = -1;
            continue;
        }
        if (yt_node_real(doc, n->vals[0], &ops[i].time_s, d) || yt_node_real(doc, n->vals[1], &ops[i].flops, d) ||
            yt_node_real(doc, n->vals[2], &ops[i].bytes, d))
            bad = -1;
    }
    return bad;
}

static int read_rank(const yt_doc *doc, const yt_node *item, int index, attn_rank_report *rr, attn_diag *d) {
    static const char *const allowed[] = {"rank", "weights_bytes", "kv_cache_bytes", "activation_bytes",
                                          "comm_buffer_bytes", "memory_bytes", "memory_capacity_bytes",
                                          "ops", NULL};
    if (yt_expect(doc, item, YT_MAP, "a rank's report", d) || yt_check_keys(doc, item, allowed, d)) return -1;
    long long rank;
    int bad = 0;
    if (yt_int(doc, item, "rank", 1, 0, 1 << 30, &rank, d)) bad = -1;
    else if (rank != index) {
        const yt_node *n = yt_get(item, "rank");
        diag_error(d, doc->file, n->line, n->col, "entry %d has rank %lld; ranks must be listed in order", index, rank);
        bad = -1;
    }
    for (int k = 0; k < N_RANK_MEMORY; k++) {
        const yt_node *n = yt_get(item, rank_memory_keys[k]);
        if (!n) {
            diag_error(d, doc->file, item->line, item->col, "missing '%s'", rank_memory_keys[k]);
            bad = -1;
        } else if (yt_node_real(doc, n, rank_memory_field(rr, k), d)) {
            bad = -1;
        }
    }
    const yt_node *ops = yt_get(item, "ops");
    static const char *const phases[PHASE_COUNT + 1] = {"prefill", "decode", NULL};
    if (!ops) {
        diag_error(d, doc->file, item->line, item->col, "missing 'ops'");
        return -1;
    }
    if (yt_expect(doc, ops, YT_MAP, "a map of phases", d) || yt_check_keys(doc, ops, phases, d)) return -1;
    for (int ph = 0; ph < PHASE_COUNT; ph++) {
        const yt_node *pm = yt_get(ops, attn_phase_names[ph]);
        if (!pm) {
            diag_error(d, doc->file, ops->line, ops->col, "missing phase '%s'", attn_phase_names[ph]);
            bad = -1;
        } else if (read_op_map(doc, pm, rr->op[ph], d)) {
            bad = -1;
        }
    }
    return bad;
}

int report_read_yaml(const yt_doc *doc, const yt_node *section, attn_report *r, attn_diag *d) {
    static const char *const allowed[] = {"metrics", "metrics_min", "metrics_max", "fits",
                                          "shortfall_bytes", "note", "ranks", NULL};
    memset(r, 0, sizeof *r);
    if (yt_expect(doc, section, YT_MAP, "a report section", d) || yt_check_keys(doc, section, allowed, d))
        return -1;
    const yt_node *ranks = yt_get(section, "ranks");
    const yt_node *metrics = yt_get(section, "metrics");
    const yt_node *fits = yt_get(section, "fits");
    const yt_node *shortfall = yt_get(section, "shortfall_bytes");
    const char *missing = !metrics ? "metrics" : !fits ? "fits" : !shortfall ? "shortfall_bytes" : !ranks ? "ranks" : NULL;
    if (missing) {
        diag_error(d, doc->file, section->line, section->col, "report: missing '%s'", missing);
        return -1;
    }
    if (yt_expect(doc, ranks, YT_SEQ, "a list of ranks", d)) return -1;
    if (ranks->n > (1u << 20)) {
        diag_error(d, doc->file, ranks->line, ranks->col, "report lists %zu ranks, more than %d", ranks->n, 1 << 20);
        return -1;
    }
    if (report_init(r, (int)ranks->n) != 0) {
        diag_plain(d, "%s: out of memory for %zu ranks", doc->file, ranks->n);
        return -1;
    }
    int bad = 0;
    if (read_metric_map(doc, metrics, r->metric, d)) bad = -1;
    const yt_node *mn = yt_get(section, "metrics_min"), *mx = yt_get(section, "metrics_max");
    if (!mn != !mx) {
        const yt_node *one = mn ? mn : mx;
        diag_error(d, doc->file, one->line, one->col, "metrics_min and metrics_max go together");
        bad = -1;
    }
    if (mn && read_metric_map(doc, mn, r->metric_min, d)) bad = -1;
    if (mx && read_metric_map(doc, mx, r->metric_max, d)) bad = -1;
    if (!mn) memcpy(r->metric_min, r->metric, sizeof r->metric);
    if (!mx) memcpy(r->metric_max, r->metric, sizeof r->metric);
    if (yt_node_bool(doc, fits, &r->fits, d)) bad = -1;
    if (yt_node_real(doc, shortfall, &r->shortfall_bytes, d)) bad = -1;
    if (yt_str(doc, section, "note", 0, r->note, sizeof r->note, d)) bad = -1;
    for (size_t i = 0; i < ranks->n; i++)
        if (read_rank(doc, ranks->vals[i], (int)i, &r->ranks[i], d)) bad = -1;
    if (bad) report_free(r);
    return bad;
}

static int is_sha256_hex(const char *s) {
    if (strlen(s) != 64) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return 0;
    return 1;
}

int report_load_measured(const char *path, attn_report *r, char *plan_sha256, attn_diag *d) {
    static const char *const allowed[] = {"measured_version", "plan_sha256", "machine", "measured", NULL};
    yt_doc doc;
    memset(r, 0, sizeof *r);
    if (yt_load_file(path, &doc, d) != 0) return -1;
    const yt_node *root = doc.root;
    int rc = -1;
    long long version;
    char sha[65] = "", machine[1024];
    if (yt_expect(&doc, root, YT_MAP, "a measured report (a map)", d) || yt_check_keys(&doc, root, allowed, d))
        goto done;
    if (yt_int(&doc, root, "measured_version", 1, 0, 1 << 30, &version, d)) goto done;
    if (version != 1) {
        const yt_node *n = yt_get(root, "measured_version");
        diag_error(d, doc.file, n->line, n->col, "measured_version %lld is not supported (this build reads 1)", version);
        goto done;
    }
    if (yt_str(&doc, root, "plan_sha256", 1, sha, sizeof sha, d)) goto done;
    if (!is_sha256_hex(sha)) {
        const yt_node *n = yt_get(root, "plan_sha256");
        diag_error(d, doc.file, n->line, n->col, "plan_sha256 must be 64 lowercase hex digits");
        goto done;
    }
    if (yt_str(&doc, root, "machine", 0, machine, sizeof machine, d)) goto done;
    const yt_node *sec = yt_get(root, "measured");
    if (!sec) {
        diag_error(d, doc.file, root->line, root->col, "missing 'measured'");
        goto done;
    }
    if (report_read_yaml(&doc, sec, r, d)) goto done;
    if (plan_sha256) memcpy(plan_sha256, sha, sizeof sha);
    rc = 0;
done:
    yt_free(&doc);
    return rc;
}
