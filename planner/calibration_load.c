/* calibration_load.c: the calibration file (docs/calibration.md) into cost_calibration,
 * through the project's one YAML loader (ytree.h), every problem at FILE:LINE:COL.
 * Efficiencies are stored as fractions of the file's peak_flops; against a topology they
 * are rescaled to its device type's peak so that the measured FLOP/s are what is priced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "calibration_load.h"
#include "ytree.h"

static const char *const gemm_kinds[] = {"proj", "scores", "pv", NULL};
/* Kernel keys in cost_kernel order (cost.h), then the softmax, which has its own fields. */
static const char *const kernel_keys[] = {"layernorm", "rmsnorm", "rope", "gelu", "swiglu", "residual",
                                          "kv_copy",   "softmax", NULL};
#define N_KERNEL_KEYS 8

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

static int read_kernels(reader *r, const yt_node *map, cost_calibration *cal) {
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
        if (idx < COST_KERNEL_COUNT) cal->kernel_bandwidth[idx] = bw;
    }
    return bad ? -1 : 0;
}

static int read_gemm(reader *r, const yt_node *seq, cost_calibration *cal) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'gemm'", r->d)) return -1;
    static const char *const keys[] = {"m", "n", "k", "reuse", "kind", "seconds", "flops_per_s", "efficiency", NULL};
    cal->gemm = calloc(seq->n ? seq->n : 1, sizeof *cal->gemm);
    if (!cal->gemm) {
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
                enum_value(r, g, "kind", gemm_kinds, 3, NULL, &kind) |
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
        for (int j = 0; j < cal->n_gemm; j++)
            if (cal->gemm[j].m == m && cal->gemm[j].n == n && cal->gemm[j].k == k && cal->gemm[j].reuse == reuse) {
                diag_error(r->d, r->doc->file, g->line, g->col, "GEMM %lldx%lldx%lld (reuse %lld) is listed twice", m,
                           n, k, reuse);
                e = 1;
            }
        if (e) {
            bad++;
            continue;
        }
        cal->gemm[cal->n_gemm++] = (cost_gemm_point){(double)m, (double)n, (double)k, eff, (double)reuse};
    }
    return bad ? -1 : 0;
}

/* sync_wait: [{work: s, wait: s}, ...], work ascending (cost_sync_wait interpolates). */
static int read_sync(reader *r, const yt_node *seq, cost_calibration *cal) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'sync_wait'", r->d)) return -1;
    static const char *const keys[] = {"work", "wait", NULL};
    if (seq->n > COST_MAX_SYNC_POINTS) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "'sync_wait' has %d points, at most %d", (int)seq->n,
                   COST_MAX_SYNC_POINTS);
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
        if (cal->n_sync > 0 && work <= cal->sync_work_s[cal->n_sync - 1]) {
            diag_error(r->d, r->doc->file, p->line, p->col, "sync_wait: work %g s is not above the entry before it (%g s)",
                       work, cal->sync_work_s[cal->n_sync - 1]);
            bad++;
            continue;
        }
        cal->sync_work_s[cal->n_sync] = work;
        cal->sync_wait_s[cal->n_sync] = wait;
        cal->n_sync++;
    }
    return bad ? -1 : 0;
}

static int read_samples(reader *r, const yt_node *seq) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'samples'", r->d)) return -1;
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *p = seq->vals[i];
        double v;
        if (p->kind != YT_SEQ || p->n != 2) {
            diag_error(r->d, r->doc->file, p->line, p->col, "a sample must be a pair [bytes, seconds]");
            bad++;
            continue;
        }
        if (yt_node_num(r->doc, p->vals[0], 0, 1e15, &v, r->d) || yt_node_num(r->doc, p->vals[1], 0, 1e6, &v, r->d))
            bad++;
    }
    return bad ? -1 : 0;
}

static int read_collectives(reader *r, const yt_node *seq, cost_calibration *cal) {
    if (yt_expect(r->doc, seq, YT_SEQ, "'collectives'", r->d)) return -1;
    static const char *const keys[] = {"coll", "link", "group_size", "alpha", "bus_bandwidth", "samples", NULL};
    cal->coll = calloc(seq->n ? seq->n : 1, sizeof *cal->coll);
    if (!cal->coll) {
        diag_error(r->d, r->doc->file, seq->line, seq->col, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < seq->n; i++) {
        const yt_node *c = seq->vals[i];
        int coll = 0, link = 0;
        long long p = 0;
        double alpha = 0, bw = 0;
        if (yt_expect(r->doc, c, YT_MAP, "a collective entry", r->d) || yt_check_keys(r->doc, c, keys, r->d)) {
            bad++;
            continue;
        }
        int e = enum_value(r, c, "coll", NULL, COLL_COUNT, coll_name_i, &coll) |
                enum_value(r, c, "link", NULL, LINK_COUNT, link_name_i, &link) |
                yt_int(r->doc, c, "group_size", 1, 2, 1 << 20, &p, r->d) | yt_num(r->doc, c, "alpha", 1, 0, 1, &alpha, r->d) |
                yt_num_positive(r->doc, c, "bus_bandwidth", 1, 1e18, &bw, r->d);
        const yt_node *s = yt_get(c, "samples");
        if (s && read_samples(r, s)) e = 1;
        if (e) {
            bad++;
            continue;
        }
        for (int j = 0; j < cal->n_coll; j++)
            if ((int)cal->coll[j].coll == coll && (int)cal->coll[j].link == link && cal->coll[j].group_size == p) {
                diag_error(r->d, r->doc->file, c->line, c->col, "%s over %lld ranks on link '%s' is listed twice",
                           coll_name((attn_coll)coll), p, link_name((attn_link)link));
                e = 1;
            }
        if (e) {
            bad++;
            continue;
        }
        cal->coll[cal->n_coll++] = (cost_coll_fit){(attn_coll)coll, (attn_link)link, (int)p, alpha, bw};
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

static int read_root(reader *r, const yt_node *root, const attn_topology *t, cost_calibration *cal,
                     calibration_info *info) {
    static const char *const keys[] = {"calibration_version", "name", "machine", "date", "backend", "dtype",
                                       "device_type", "ranks", "threads", "peak_flops", "launch_overhead",
                                       "elementwise_bandwidth", "softmax_bandwidth", "softmax_decode_bandwidth",
                                       "kernels", "gemm", "collectives", "sync_wait", NULL};
    if (yt_expect(r->doc, root, YT_MAP, "a map (the calibration file's keys)", r->d) ||
        yt_check_keys(r->doc, root, keys, r->d))
        return -1;
    long long version = 0, ranks = 1, threads = 1;
    char buf[1024];
    double decode_bw = 0, launch = 0;
    int e = 0;
    if (yt_int(r->doc, root, "calibration_version", 1, 1, 1, &version, r->d)) e = 1;
    e |= yt_str(r->doc, root, "name", 1, info->name, sizeof info->name, r->d) |
         yt_str(r->doc, root, "machine", 0, buf, sizeof buf, r->d) | yt_str(r->doc, root, "date", 0, buf, sizeof buf, r->d) |
         yt_str(r->doc, root, "backend", 0, buf, sizeof buf, r->d) |
         yt_str(r->doc, root, "device_type", 1, info->device_type, sizeof info->device_type, r->d) |
         yt_int(r->doc, root, "ranks", 0, 1, 1 << 20, &ranks, r->d) | yt_int(r->doc, root, "threads", 0, 1, 4096, &threads, r->d) |
         yt_num_positive(r->doc, root, "peak_flops", 1, 1e20, &info->peak_flops, r->d) |
         yt_num(r->doc, root, "launch_overhead", 1, 0, 1, &launch, r->d) |
         yt_num_positive(r->doc, root, "elementwise_bandwidth", 1, 1e18, &cal->elementwise_bandwidth, r->d) |
         yt_num_positive(r->doc, root, "softmax_bandwidth", 0, 1e18, &cal->softmax_bandwidth, r->d) |
         yt_num_positive(r->doc, root, "softmax_decode_bandwidth", 0, 1e18, &decode_bw, r->d);
    cal->launch_overhead_s = launch;
    info->ranks = (int)ranks;
    info->threads = (int)threads;
    int dtype = DTYPE_FP32;
    if (yt_get(root, "dtype") && enum_value(r, root, "dtype", NULL, DTYPE_COUNT, dtype_name_i, &dtype)) e = 1;
    cal->softmax_decode_bandwidth = decode_bw;
    const yt_node *k = yt_get(root, "kernels"), *g = yt_get(root, "gemm"), *c = yt_get(root, "collectives");
    if (k && read_kernels(r, k, cal)) e = 1;
    if (!g) {
        diag_error(r->d, r->doc->file, root->line, root->col, "missing required key 'gemm'");
        e = 1;
    } else if (read_gemm(r, g, cal))
        e = 1;
    if (c && read_collectives(r, c, cal)) e = 1;
    const yt_node *sw = yt_get(root, "sync_wait");
    if (sw && read_sync(r, sw, cal)) e = 1;
    if (e) return -1;
    info->rescale = 1;
    if (t) {
        double peak = 0;
        if (topology_peak(r, root, t, info->device_type, (attn_dtype)dtype, &peak)) return -1;
        info->rescale = info->peak_flops / peak;
        for (int i = 0; i < cal->n_gemm; i++) cal->gemm[i].efficiency *= info->rescale;
    }
    return 0;
}

void calibration_free(cost_calibration *cal) {
    if (!cal) return;
    free(cal->gemm);
    free(cal->coll);
    memset(cal, 0, sizeof *cal);
    cal->launch_overhead_s = -1;
}

int calibration_load(const char *path, const attn_topology *t, cost_calibration *cal, calibration_info *info,
                     attn_diag *d) {
    calibration_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    memset(cal, 0, sizeof *cal);
    cal->launch_overhead_s = -1;
    snprintf(cal->source, sizeof cal->source, "%s", path);
    yt_doc doc;
    if (yt_load_file(path, &doc, d) != 0) return -1;
    reader r = {&doc, d};
    int rc = read_root(&r, doc.root, t, cal, info);
    yt_free(&doc);
    if (rc) {
        calibration_free(cal);
        return -1;
    }
    return 0;
}
