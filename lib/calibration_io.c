/* calibration_io.c: the calibration file (docs/calibration.md) on disk: calibration_write
 * emits it through the atomic yt_writer in the layout `attnrun --calibrate` has always
 * written (figures with %.6g, a comment after the keys that need one), calibration_load
 * reads it back strictly through the project's one YAML loader, every problem at
 * FILE:LINE:COL. The opening comment (the command line, samples and passes) is read back
 * from the text itself, as the YAML tree drops comments, so that a written file round-trips
 * byte for byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "calibration_io.h"
#include "ytree.h"

/* The one kernel table: keys in calibration_kernel order. */
static const char *const kernel_keys[CALIBRATION_KERNEL_COUNT + 1] = {
    "layernorm", "rmsnorm", "rope", "gelu", "swiglu", "residual", "kv_copy", "softmax", NULL};
static const char *const gemm_kinds[CALIBRATION_GEMM_KIND_COUNT + 1] = {"proj", "scores", "pv", NULL};

const char *calibration_kernel_name(calibration_kernel k) {
    return k >= 0 && k < CALIBRATION_KERNEL_COUNT ? kernel_keys[k] : "?";
}

const char *calibration_gemm_kind_name(calibration_gemm_kind k) {
    return k >= 0 && k < CALIBRATION_GEMM_KIND_COUNT ? gemm_kinds[k] : "?";
}

void calibration_init(attn_calibration *c) {
    memset(c, 0, sizeof *c);
    c->dtype = DTYPE_FP32;
    c->ranks = c->threads = 1;
    c->rescale = 1;
}

void calibration_free(attn_calibration *c) {
    if (!c) return;
    free(c->command);
    free(c->gemm);
    free(c->attention);
    for (int i = 0; i < c->n_coll; i++) free(c->coll[i].samples);
    free(c->coll);
    calibration_init(c);
}

/* ---- writing ---- */

/* The opening comment. Its lines are fixed text around the command and two counts:
 * header_line fills line i (0..4), so the reader can match what the writer wrote. */
static const char *const header_fmt[5] = {
    "# Written by attnrun --calibrate (docs/calibration.md). Command:",
    "#   %s",
    "# Every figure below is a measurement of this run (per point the median of %d samples, the",
    "# slowest rank's when several ranks measured at once; kernels and GEMMs: the median over %d",
    "# passes spread over the run).",
};

static void write_header(FILE *f, const attn_calibration *c) {
    fprintf(f, "%s\n", header_fmt[0]);
    fprintf(f, header_fmt[1], c->command);
    fputc('\n', f);
    fprintf(f, header_fmt[2], c->samples);
    fputc('\n', f);
    fprintf(f, header_fmt[3], c->passes);
    fprintf(f, "\n%s\n", header_fmt[4]);
}

/* A backend name is written bare (as `attnrun --calibrate` always wrote "cpu" or "cuda");
 * anything that is not a plain word is quoted so that it reads back as itself. */
static void write_word(FILE *f, const char *s) {
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                *p == '-' || *p == '.';
    if (plain) fputs(s, f);
    else yt_write_str(f, s);
}

static void write_body(FILE *f, const attn_calibration *c) {
    if (c->command) write_header(f, c);
    fprintf(f, "calibration_version: 1\nname: ");
    yt_write_str(f, c->name);
    fprintf(f, "\nmachine: ");
    yt_write_str(f, c->machine);
    fprintf(f, "\ndate: ");
    yt_write_str(f, c->date);
    fprintf(f, "\nbackend: ");
    write_word(f, c->backend);
    fprintf(f, "\ndtype: %s\ndevice_type: ", dtype_name(c->dtype));
    yt_write_str(f, c->device_type);
    fprintf(f, "\nranks: %d\nthreads: %d\npeak_flops: %.6g\n", c->ranks, c->threads, c->peak_flops);
    fprintf(f, "launch_overhead: %.6g          # s: the kernels' median fixed cost per call\n", c->launch_overhead_s);
    fprintf(f, "elementwise_bandwidth: %.6g    # bytes/s: residual (a plain memory-bound kernel)\n",
            c->elementwise_bandwidth);
    /* optional figures a file may lack (0) are left out: written as 0 they would not read back */
    if (c->softmax_bandwidth > 0)
        fprintf(f, "softmax_bandwidth: %.6g        # bytes/s: causal square blocks (prefill)\n", c->softmax_bandwidth);
    if (c->softmax_decode_bandwidth > 0)
        fprintf(f, "softmax_decode_bandwidth: %.6g # bytes/s: one query row over every key (decode)\n",
                c->softmax_decode_bandwidth);
    int n_kernels = 0;
    for (int i = 0; i < CALIBRATION_KERNEL_COUNT; i++) n_kernels += c->kernel[i].bandwidth > 0;
    if (n_kernels)
        fprintf(f, "kernels:                         # t = fixed + bytes / bandwidth, bytes as the cost model counts them\n");
    for (int i = 0; i < CALIBRATION_KERNEL_COUNT; i++)
        if (c->kernel[i].bandwidth > 0)
            fprintf(f, "  %s: {bandwidth: %.6g, fixed: %.6g}\n", kernel_keys[i], c->kernel[i].bandwidth,
                    c->kernel[i].fixed_s);
    fprintf(f, "gemm:                            # efficiency = 2mnk x reuse / (seconds - launch_overhead) / peak_flops\n");
    for (int i = 0; i < c->n_gemm; i++) {
        const calibration_gemm *g = &c->gemm[i];
        /* seconds: one call, which covers `reuse` GEMMs on one B (written only when > 1:
         * files without it load as reuse 1) */
        fprintf(f, "  - {m: %d, n: %d, k: %d,", g->m, g->n, g->k);
        if (g->reuse > 1) fprintf(f, " reuse: %d,", g->reuse);
        fprintf(f, " kind: %s,", calibration_gemm_kind_name(g->kind));
        if (g->seconds > 0) fprintf(f, " seconds: %.6g,", g->seconds);
        if (g->flops_per_s > 0) fprintf(f, " flops_per_s: %.6g,", g->flops_per_s);
        fprintf(f, " efficiency: %.6g}\n", g->efficiency);
    }
    if (c->n_attention > 0)
        fprintf(f, "attention:                       # the fused op: efficiency = 2 (d_qk + d_v) x computed pairs / "
                   "(seconds - launch_overhead) / peak_flops\n");
    for (int i = 0; i < c->n_attention; i++) {
        const calibration_attention *a = &c->attention[i];
        fprintf(f, "  - {tq: %d, tk: %d, d_qk: %d, d_v: %d, seqs: %d, heads: %d, qpk: %d, seconds: %.6g, efficiency: %.6g}\n",
                a->tq, a->tk, a->d_qk, a->d_v, a->seqs, a->heads, a->qpk, a->seconds, a->efficiency);
    }
    fprintf(f, "collectives:%s\n", c->n_coll ? "" : " []");
    for (int i = 0; i < c->n_coll; i++) {
        const calibration_coll *k = &c->coll[i];
        fprintf(f, "  - coll: %s\n    link: %s\n    group_size: %d\n    alpha: %.6g\n    bus_bandwidth: %.6g\n",
                coll_name(k->coll), link_name(k->link), k->group_size, k->alpha_s, k->bus_bandwidth);
        if (k->n_samples > 0) fprintf(f, "    samples:                       # [S bytes, seconds]\n");
        for (int j = 0; j < k->n_samples; j++)
            fprintf(f, "      - [%.0f, %.6g]\n", k->samples[j].bytes, k->samples[j].seconds);
    }
    fprintf(f, "sync_wait:%s\n", c->n_sync ? "                       # s: mean extra time a collective waits for its slowest member\n"
                                             "  # after `work` s of the same work on every rank (back-to-back latency excluded)" : " []");
    for (int i = 0; i < c->n_sync; i++) fprintf(f, "  - {work: %.6g, wait: %.6g}\n", c->sync_work_s[i], c->sync_wait_s[i]);
}

int calibration_write(const char *path, const attn_calibration *c, attn_diag *d) {
    yt_writer w;
    if (yt_writer_open(&w, path, d) != 0) {
        diag_plain(d, "%s: cannot open for writing: %s", path, strerror(errno));
        return -1;
    }
    write_body(w.f, c);
    if (yt_writer_commit(&w) != 0) {
        diag_plain(d, "%s: could not write the calibration", path);
        return -1;
    }
    return 0;
}

/* ---- reading ---- */

/* Index of s in a NULL-terminated list, or -1. */
static int index_of(const char *const *list, const char *s) {
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], s)) return i;
    return -1;
}

typedef struct reader {
    const yt_doc *doc;
    attn_diag *d;
} reader;

static int enum_value(reader *r, const yt_node *map, const char *key, const char *const *names, int n_names,
                      const char *(*name_of)(int), int *out) {
    char buf[64];
    if (yt_str(r->doc, map, key, 1, buf, sizeof buf, r->d) != 0) return -1;
    for (int i = 0; i < n_names; i++)
        if (!strcmp(buf, names ? names[i] : name_of(i))) {
            *out = i;
            return 0;
        }
    const yt_node *v = yt_get(map, key);
    char shown[64];
    yt_printable(buf, shown, sizeof shown);
    diag_error(r->d, r->doc->file, v->line, v->col, "unknown %s '%s'", key, shown);
    return -1;
}

static const char *coll_name_i(int i) { return coll_name((attn_coll)i); }
static const char *dtype_name_i(int i) { return dtype_name((attn_dtype)i); }
static const char *link_name_i(int i) { return link_name((attn_link)i); }

static int read_kernels(reader *r, const yt_node *map, attn_calibration *c) {
    if (yt_expect(r->doc, map, YT_MAP, "'kernels'", r->d) || yt_check_keys(r->doc, map, kernel_keys, r->d)) return -1;
    static const char *const keys[] = {"bandwidth", "fixed", NULL};
    int bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const yt_node *k = map->vals[i];
        double bw = 0, fixed = 0;
        if (yt_expect(r->doc, k, YT_MAP, map->keys[i]->str, r->d) || yt_check_keys(r->doc, k, keys, r->d) ||
            yt_num_positive(r->doc, k, "bandwidth", 1, 1e18, &bw, r->d) ||
            yt_num(r->doc, k, "fixed", 1, 0, 1, &fixed, r->d)) {
            bad++;
            continue;
        }
        int idx = index_of(kernel_keys, map->keys[i]->str);
        c->kernel[idx] = (calibration_kernel_fit){bw, fixed};
    }
    return bad ? -1 : 0;
}

static int read_gemm(reader *r, const yt_node *seq, attn_calibration *c) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'gemm'", r->d)) return -1;
    static const char *const keys[] = {"m", "n", "k", "reuse", "kind", "seconds", "flops_per_s", "efficiency", NULL};
    c->gemm = calloc(seq->n ? seq->n : 1, sizeof *c->gemm);
    if (!c->gemm) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *g = seq->vals[i];
        long long m = 0, n = 0, k = 0, reuse = 1; /* files before the reuse key: 1 */
        double secs = 0, fps = 0, eff = 0;
        int kind = 0;
        if (yt_expect(r->doc, g, YT_MAP, "a GEMM entry", r->d) || yt_check_keys(r->doc, g, keys, r->d)) {
            bad++;
            continue;
        }
        int e = yt_int(r->doc, g, "m", 1, 1, 1 << 24, &m, r->d) | yt_int(r->doc, g, "n", 1, 1, 1 << 24, &n, r->d) |
                yt_int(r->doc, g, "k", 1, 1, 1 << 24, &k, r->d) | yt_int(r->doc, g, "reuse", 0, 1, 1 << 16, &reuse, r->d) |
                enum_value(r, g, "kind", gemm_kinds, CALIBRATION_GEMM_KIND_COUNT, NULL, &kind) |
                yt_num_positive(r->doc, g, "seconds", 0, 1e6, &secs, r->d) |
                yt_num_positive(r->doc, g, "flops_per_s", 0, 1e20, &fps, r->d) |
                yt_num_positive(r->doc, g, "efficiency", 1, 1.5, &eff, r->d);
        if (e) {
            bad++;
            continue;
        }
        /* a point measured twice would make the table ambiguous (the cost model takes the
         * first exact hit); kinds share the table, as the cost model keys it by shape and
         * reuse only */
        for (int j = 0; j < c->n_gemm; j++)
            if (c->gemm[j].m == m && c->gemm[j].n == n && c->gemm[j].k == k && c->gemm[j].reuse == reuse) {
                diag_error(r->d, r->doc->file, g->line, g->col, "GEMM %lldx%lldx%lld (reuse %lld) is listed twice", m,
                           n, k, reuse);
                e = 1;
            }
        if (e) {
            bad++;
            continue;
        }
        c->gemm[c->n_gemm++] =
            (calibration_gemm){(int)m, (int)n, (int)k, (int)reuse, (calibration_gemm_kind)kind, secs, fps, eff};
    }
    return bad ? -1 : 0;
}

/* attention: [{tq, tk, d_qk, d_v, seqs, heads, qpk, seconds, efficiency}, ...], tq <= tk,
 * no shape twice. */
static int read_attention(reader *r, const yt_node *seq, attn_calibration *c) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'attention'", r->d)) return -1;
    static const char *const keys[] = {"tq", "tk", "d_qk", "d_v", "seqs", "heads", "qpk", "seconds", "efficiency", NULL};
    c->attention = calloc(seq->n ? seq->n : 1, sizeof *c->attention);
    if (!c->attention) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *g = seq->vals[i];
        long long v[7] = {0};
        static const char *const ints[7] = {"tq", "tk", "d_qk", "d_v", "seqs", "heads", "qpk"};
        static const long long hi[7] = {1 << 24, 1 << 24, 4096, 4096, 1 << 24, 1 << 20, 1 << 20};
        double secs = 0, eff = 0;
        if (yt_expect(r->doc, g, YT_MAP, "an attention entry", r->d) || yt_check_keys(r->doc, g, keys, r->d)) {
            bad++;
            continue;
        }
        int e = 0;
        for (int k = 0; k < 7; k++) e |= yt_int(r->doc, g, ints[k], 1, 1, hi[k], &v[k], r->d);
        e |= yt_num_positive(r->doc, g, "seconds", 1, 1e6, &secs, r->d) |
             yt_num_positive(r->doc, g, "efficiency", 1, 1.5, &eff, r->d);
        if (!e && v[0] > v[1]) {
            const yt_node *tq = yt_get(g, "tq");
            diag_error(r->d, r->doc->file, tq->line, tq->col, "tq (%lld) must be at most tk (%lld)", v[0], v[1]);
            e = 1;
        }
        for (int j = 0; j < c->n_attention && !e; j++) {
            const calibration_attention *a = &c->attention[j];
            if (a->tq == v[0] && a->tk == v[1] && a->d_qk == v[2] && a->d_v == v[3] && a->seqs == v[4] &&
                a->heads == v[5] && a->qpk == v[6]) {
                diag_error(r->d, r->doc->file, g->line, g->col, "attention shape tq %lld, tk %lld is listed twice", v[0],
                           v[1]);
                e = 1;
            }
        }
        if (e) {
            bad++;
            continue;
        }
        c->attention[c->n_attention++] = (calibration_attention){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4],
                                                                 (int)v[5], (int)v[6], secs, eff};
    }
    return bad ? -1 : 0;
}

/* sync_wait: [{work: s, wait: s}, ...], work ascending (the cost model interpolates). */
static int read_sync(reader *r, const yt_node *seq, attn_calibration *c) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'sync_wait'", r->d)) return -1;
    static const char *const keys[] = {"work", "wait", NULL};
    if (seq->n > CALIBRATION_MAX_SYNC_POINTS) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "'sync_wait' has %d points, at most %d", (int)seq->n,
                   CALIBRATION_MAX_SYNC_POINTS);
        return -1;
    }
    int bad = 0;
    for (int i = 0; i < (int)seq->n; i++) {
        const yt_node *p = seq->vals[i];
        double work = 0, wait = 0;
        if (yt_expect(r->doc, p, YT_MAP, "a sync_wait entry", r->d) || yt_check_keys(r->doc, p, keys, r->d) ||
            yt_num_positive(r->doc, p, "work", 1, 1e6, &work, r->d) | yt_num(r->doc, p, "wait", 1, 0, 1e6, &wait, r->d)) {
            bad++;
            continue;
        }
        if (c->n_sync > 0 && work <= c->sync_work_s[c->n_sync - 1]) {
            diag_error(r->d, r->doc->file, p->line, p->col, "sync_wait: work %g s is not above the entry before it (%g s)",
                       work, c->sync_work_s[c->n_sync - 1]);
            bad++;
            continue;
        }
        c->sync_work_s[c->n_sync] = work;
        c->sync_wait_s[c->n_sync] = wait;
        c->n_sync++;
    }
    return bad ? -1 : 0;
}

static int read_samples(reader *r, const yt_node *seq, calibration_coll *out) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'samples'", r->d)) return -1;
    out->samples = calloc(seq->n ? seq->n : 1, sizeof *out->samples);
    if (!out->samples) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *p = seq->vals[i];
        double bytes, secs;
        if (p->kind != YT_SEQ || p->n != 2) {
            diag_error(r->d, r->doc->file, p->line, p->col, "a sample must be a pair [bytes, seconds]");
            bad++;
            continue;
        }
        if (yt_node_num(r->doc, p->vals[0], 0, 1e15, &bytes, r->d) ||
            yt_node_num(r->doc, p->vals[1], 0, 1e6, &secs, r->d)) {
            bad++;
            continue;
        }
        out->samples[out->n_samples++] = (calibration_sample){bytes, secs};
    }
    return bad ? -1 : 0;
}

static int read_collectives(reader *r, const yt_node *seq, attn_calibration *c) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'collectives'", r->d)) return -1;
    static const char *const keys[] = {"coll", "link", "group_size", "alpha", "bus_bandwidth", "samples", NULL};
    c->coll = calloc(seq->n ? seq->n : 1, sizeof *c->coll);
    if (!c->coll) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *cn = seq->vals[i];
        int coll = 0, link = 0;
        long long p = 0;
        double alpha = 0, bw = 0;
        if (yt_expect(r->doc, cn, YT_MAP, "a collective entry", r->d) || yt_check_keys(r->doc, cn, keys, r->d)) {
            bad++;
            continue;
        }
        int e = enum_value(r, cn, "coll", NULL, COLL_COUNT, coll_name_i, &coll) |
                enum_value(r, cn, "link", NULL, LINK_COUNT, link_name_i, &link) |
                yt_int(r->doc, cn, "group_size", 1, 2, 1 << 20, &p, r->d) |
                yt_num(r->doc, cn, "alpha", 1, 0, 1, &alpha, r->d) |
                yt_num_positive(r->doc, cn, "bus_bandwidth", 1, 1e18, &bw, r->d);
        /* the samples go into the next free entry, kept only when the entry is */
        calibration_coll *out = &c->coll[c->n_coll];
        const yt_node *s = yt_get(cn, "samples");
        if (s && read_samples(r, s, out)) e = 1;
        for (int j = 0; j < c->n_coll && !e; j++)
            if ((int)c->coll[j].coll == coll && (int)c->coll[j].link == link && c->coll[j].group_size == p) {
                diag_error(r->d, r->doc->file, cn->line, cn->col, "%s over %lld ranks on link '%s' is listed twice",
                           coll_name((attn_coll)coll), p, link_name((attn_link)link));
                e = 1;
            }
        if (e) {
            free(out->samples);
            *out = (calibration_coll){0};
            bad++;
            continue;
        }
        out->coll = (attn_coll)coll;
        out->link = (attn_link)link;
        out->group_size = (int)p;
        out->alpha_s = alpha;
        out->bus_bandwidth = bw;
        c->n_coll++;
    }
    return bad ? -1 : 0;
}

/* The file's device type in t and its peak for dtype; -1 (reported) when t has no such type. */
static int topology_peak(reader *r, const yt_node *root, const attn_topology *t, const char *device_type,
                         attn_dtype dtype, double *peak) {
    for (int i = 0; i < t->n_dev_types; i++)
        if (!strcmp(t->dev_types[i].name, device_type)) {
            const attn_device_type *dt = &t->dev_types[i];
            *peak = dt->peak_flops[dtype] > 0 ? dt->peak_flops[dtype] : dt->peak_flops[DTYPE_FP32];
            return 0;
        }
    const yt_node *v = yt_get(root, "device_type");
    char shown[64];
    yt_printable(device_type, shown, sizeof shown);
    diag_error(r->d, r->doc->file, v->line, v->col, "topology %s has no device type '%s'", t->name, shown);
    return -1;
}

static int read_root(reader *r, const yt_node *root, const attn_topology *t, attn_calibration *c) {
    static const char *const keys[] = {"calibration_version", "name", "machine", "date", "backend", "dtype",
                                       "device_type", "ranks", "threads", "peak_flops", "launch_overhead",
                                       "elementwise_bandwidth", "softmax_bandwidth", "softmax_decode_bandwidth",
                                       "kernels", "gemm", "attention", "collectives", "sync_wait", NULL};
    if (yt_expect(r->doc, root, YT_MAP, "a map (the calibration file's keys)", r->d) ||
        yt_check_keys(r->doc, root, keys, r->d))
        return -1;
    long long version = 0, ranks = 1, threads = 1;
    int e = 0;
    if (yt_int(r->doc, root, "calibration_version", 1, 1, 1, &version, r->d)) e = 1;
    e |= yt_str(r->doc, root, "name", 1, c->name, sizeof c->name, r->d) |
         yt_str(r->doc, root, "machine", 0, c->machine, sizeof c->machine, r->d) |
         yt_str(r->doc, root, "date", 0, c->date, sizeof c->date, r->d) |
         yt_str(r->doc, root, "backend", 0, c->backend, sizeof c->backend, r->d) |
         yt_str(r->doc, root, "device_type", 1, c->device_type, sizeof c->device_type, r->d) |
         yt_int(r->doc, root, "ranks", 0, 1, 1 << 20, &ranks, r->d) | yt_int(r->doc, root, "threads", 0, 1, 4096, &threads, r->d) |
         yt_num_positive(r->doc, root, "peak_flops", 1, 1e20, &c->peak_flops, r->d) |
         yt_num(r->doc, root, "launch_overhead", 1, 0, 1, &c->launch_overhead_s, r->d) |
         yt_num_positive(r->doc, root, "elementwise_bandwidth", 1, 1e18, &c->elementwise_bandwidth, r->d) |
         yt_num_positive(r->doc, root, "softmax_bandwidth", 0, 1e18, &c->softmax_bandwidth, r->d) |
         yt_num_positive(r->doc, root, "softmax_decode_bandwidth", 0, 1e18, &c->softmax_decode_bandwidth, r->d);
    c->ranks = (int)ranks;
    c->threads = (int)threads;
    int dtype = DTYPE_FP32;
    if (yt_get(root, "dtype") && enum_value(r, root, "dtype", NULL, DTYPE_COUNT, dtype_name_i, &dtype)) e = 1;
    c->dtype = (attn_dtype)dtype;
    const yt_node *k = yt_get(root, "kernels"), *g = yt_get(root, "gemm"), *cl = yt_get(root, "collectives");
    if (k && read_kernels(r, k, c)) e = 1;
    if (!g) {
        diag_error(r->d, r->doc->file, root->line, root->col, "missing required key 'gemm'");
        e = 1;
    } else if (read_gemm(r, g, c))
        e = 1;
    if (cl && read_collectives(r, cl, c)) e = 1;
    const yt_node *at = yt_get(root, "attention");
    if (at && read_attention(r, at, c)) e = 1;
    const yt_node *sw = yt_get(root, "sync_wait");
    if (sw && read_sync(r, sw, c)) e = 1;
    if (e) return -1;
    if (t) {
        double peak = 0;
        if (topology_peak(r, root, t, c->device_type, c->dtype, &peak)) return -1;
        c->rescale = c->peak_flops / peak;
    }
    return 0;
}

/* The opening comment as write_header writes it, from the start of the text; anything
 * else (a hand-written file) leaves c without one. 0 ok, -1 out of memory. */
static int read_header(const char *buf, size_t len, attn_calibration *c) {
    const char *p = buf, *end = buf + len, *line[5];
    size_t n[5];
    for (int i = 0; i < 5; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return 0;
        line[i] = p, n[i] = (size_t)(nl - p);
        p = nl + 1;
    }
    const size_t cmd_at = 4; /* "#   " */
    if (n[0] != strlen(header_fmt[0]) || memcmp(line[0], header_fmt[0], n[0]) || n[1] < cmd_at ||
        memcmp(line[1], "#   ", cmd_at) || n[4] != strlen(header_fmt[4]) || memcmp(line[4], header_fmt[4], n[4]))
        return 0;
    /* the counts: parsed, then printed again and compared, so only the writer's text matches */
    int counts[2];
    for (int i = 0; i < 2; i++) {
        char text[256], again[256];
        if (n[2 + i] >= sizeof text) return 0;
        memcpy(text, line[2 + i], n[2 + i]);
        text[n[2 + i]] = '\0';
        const char *digits = strpbrk(text, "0123456789");
        if (!digits) return 0;
        counts[i] = atoi(digits);
        snprintf(again, sizeof again, header_fmt[2 + i], counts[i]);
        if (strcmp(text, again)) return 0;
    }
    c->command = malloc(n[1] - cmd_at + 1);
    if (!c->command) return -1;
    memcpy(c->command, line[1] + cmd_at, n[1] - cmd_at);
    c->command[n[1] - cmd_at] = '\0';
    c->samples = counts[0];
    c->passes = counts[1];
    return 0;
}

int calibration_load(const char *path, const attn_topology *t, attn_calibration *c, attn_diag *d) {
    calibration_init(c);
    char *buf;
    size_t len;
    if (yt_read_file(path, &buf, &len, d)) return -1;
    yt_doc doc;
    int rc = yt_load_buffer(buf, len, path, &doc, d);
    if (rc == 0) {
        reader r = {&doc, d};
        rc = read_root(&r, doc.root, t, c);
        yt_free(&doc);
    }
    if (rc == 0 && read_header(buf, len, c) != 0) {
        diag_plain(d, "%s: out of memory", path);
        rc = -1;
    }
    free(buf);
    if (rc) calibration_free(c);
    return rc;
}
