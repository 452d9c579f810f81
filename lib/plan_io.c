/* plan_io.c: the plan file (plan_version: 1) on disk: plan_write emits YAML through the
 * atomic yt_writer, plan_load reads it back strictly (unknown, missing or mistyped keys are
 * FILE:LINE:COL errors) and then runs plan_check. Format: docs/plan-format.md. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"
#include "plan_private.h"

#define PLAN_MAX_WORLD (1 << 20)

/* ---- writing ---- */

static void write_pair(FILE *f, const char *key, int b, int e) { fprintf(f, ", %s: [%d, %d]", key, b, e); }

static void write_rank(FILE *f, const attn_rank_assign *a, int s) {
    fprintf(f, "  - {rank: %d, node: %d, device: %d, replica: %d, stage: %d", a->rank, a->node, a->device, a->replica,
            a->stage);
    if (s > 1) fprintf(f, ", seq: %d", a->seq); /* s = 1 plans keep their bytes */
    fprintf(f, ", head_group: %d, seg: %d", a->head_group, a->seg);
    write_pair(f, "batch", a->batch_begin, a->batch_end);
    write_pair(f, "layers", a->layer_begin, a->layer_end);
    write_pair(f, "heads", a->head_begin, a->head_end);
    write_pair(f, "kv_heads", a->kv_head_begin, a->kv_head_end);
    fputs(", dims: [", f);
    for (int i = 0; i < a->n_dim_ranges && i < 2; i++)
        fprintf(f, "%s[%d, %d]", i ? ", " : "", a->dim_begin[i], a->dim_end[i]);
    fputc(']', f);
    write_pair(f, "a2a_heads", a->a2a_head_begin, a->a2a_head_end);
    write_pair(f, "mlp", a->mlp_begin, a->mlp_end);
    fputs("}\n", f);
}

static void write_plan(FILE *f, const attn_plan *p) {
    const attn_model *m = &p->model;
    const attn_strategy *s = &p->strategy;
    fputs("# attnplan plan file (docs/plan-format.md)\nplan_version: 1\nmodel:\n  name: ", f);
    yt_write_str(f, m->name);
    fprintf(f, "\n  arch: %s\n  layers: %d\n  heads: %d\n  kv_heads: %d\n  head_dim: %d\n  hidden: %d\n"
               "  ffn_hidden: %d\n  norm_eps: ",
            arch_name(m->arch), m->layers, m->heads, m->kv_heads, m->head_dim, m->hidden, m->ffn_hidden);
    yt_write_real(f, m->norm_eps);
    fputs("\n  rope_theta: ", f);
    yt_write_real(f, m->rope_theta);
    fprintf(f, "\n  dtype: %s\n", dtype_name(m->dtype));
    /* the ends only when the model has them: plans of models without keep their bytes */
    if (m->vocab_size > 0)
        fprintf(f, "  vocab_size: %d\n  tie_word_embeddings: %s\n", m->vocab_size, m->tie_word_embeddings ? "true" : "false");
    if (m->qkv_bias) fputs("  qkv_bias: true\n", f); /* only when set: other plans keep their bytes */
    if (m->qk_norm) fputs("  qk_norm: true\n", f);
    fprintf(f, "  workload: {batch: %d, seq_len: %d, decode_tokens: %d, microbatches: %d",
            m->workload.batch, m->workload.seq_len, m->workload.decode_tokens,
            m->workload.microbatches);
    /* the request rate only when given: plans without one keep their bytes */
    if (m->workload.rate > 0) {
        fputs(", rate: ", f);
        yt_write_real(f, m->workload.rate);
    }
    fputs("}\n  path: ", f);
    yt_write_str(f, m->path);
    fputs("\n  sha256: ", f);
    yt_write_str(f, m->sha256);
    fputs("\ntopology:\n  name: ", f);
    yt_write_str(f, p->topology_name);
    fputs("\n  path: ", f);
    yt_write_str(f, p->topology_path);
    fputs("\n  sha256: ", f);
    yt_write_str(f, p->topology_sha256);
    fprintf(f, "\nstrategy: {dp: %d, pp: %d, ", s->dp, s->pp);
    if (s->s > 1) fprintf(f, "s: %d, cp: %s, weights: %s, ", s->s, cp_name(s->cp), weights_name(s->weights));
    fprintf(f, "n: %d, m: %d, scheme: %s, microbatches: %d}\nobjective: ", s->n, s->m, scheme_name(s->scheme),
            s->microbatches);
    yt_write_str(f, p->objective);
    fprintf(f, "\nproven_optimal: %s\nworld: %d\nranks:\n", p->proven_optimal ? "true" : "false", p->world);
    for (int r = 0; r < p->world; r++) write_rank(f, &p->ranks[r], strategy_seq(s));
    fputs(p->n_groups ? "groups:\n" : "groups: []\n", f);
    for (int i = 0; i < p->n_groups; i++) {
        const attn_group *g = &p->groups[i];
        fprintf(f, "  - {kind: %s, coll: %s, link: %s, ranks: [", plan_group_kind_name(g->kind), coll_name(g->coll),
                link_name(g->link));
        for (int k = 0; k < g->n_ranks; k++) fprintf(f, "%s%d", k ? ", " : "", g->ranks[k]);
        fputs("]}\n", f);
    }
    if (p->has_predicted) report_write_yaml(f, "predicted", &p->predicted);
}

int plan_write(const char *path, const attn_plan *p, attn_diag *d) {
    if (!p->ranks || p->world < 1) {
        diag_plain(d, "%s: refusing to write a plan without ranks", path);
        return -1;
    }
    yt_writer w;
    if (yt_writer_open(&w, path, d) != 0) {
        diag_plain(d, "%s: cannot open for writing: %s", path, strerror(errno));
        return -1;
    }
    write_plan(w.f, p);
    if (yt_writer_commit(&w) != 0) {
        diag_plain(d, "%s: could not write the plan", path);
        return -1;
    }
    return 0;
}

/* ---- reading ---- */

typedef struct reader {
    const yt_doc *doc;
    attn_diag *d;
    int bad;              /* problems found so far */
} reader;

static void at_error(reader *rd, const yt_node *n, const char *msg, const char *what) {
    diag_error(rd->d, rd->doc->file, n ? n->line : 0, n ? n->col : 0, msg, what);
    rd->bad++;
}

/* A required sub-map with exactly the allowed keys; NULL (reported) otherwise. */
static const yt_node *get_map(reader *rd, const yt_node *parent, const char *key, const char *const *allowed) {
    const yt_node *n = yt_get(parent, key);
    if (!n) {
        at_error(rd, parent, "missing '%s'", key);
        return NULL;
    }
    if (yt_expect(rd->doc, n, YT_MAP, key, rd->d) || yt_check_keys(rd->doc, n, allowed, rd->d)) {
        rd->bad++;
        return NULL;
    }
    return n;
}

static void get_int(reader *rd, const yt_node *map, const char *key, long long lo, int *out) {
    long long v;
    if (yt_int(rd->doc, map, key, 1, lo, INT_MAX, &v, rd->d)) rd->bad++;
    else *out = (int)v;
}

static void get_str(reader *rd, const yt_node *map, const char *key, char *out, size_t len) {
    if (yt_str(rd->doc, map, key, 1, out, len, rd->d)) rd->bad++;
}

static void get_real(reader *rd, const yt_node *map, const char *key, double *out) {
    const yt_node *n = yt_get(map, key);
    if (!n) at_error(rd, map, "missing '%s'", key);
    else if (yt_node_real(rd->doc, n, out, rd->d)) rd->bad++;
}

static void check_sha(reader *rd, const yt_node *map, const char *sha) {
    size_t len = strlen(sha);
    int ok = len == 0 || len == 64;
    for (size_t i = 0; i < len && ok; i++) ok = (sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f');
    if (!ok) at_error(rd, yt_get(map, "sha256"), "%s must be empty or 64 lowercase hex digits", "sha256");
}

/* Reads a [begin, end] pair of non-negative ints from node n. */
static int read_pair_node(reader *rd, const yt_node *n, int *b, int *e) {
    long long v[2];
    if (!n || n->kind != YT_SEQ || n->n != 2) {
        at_error(rd, n, "expected a [begin, end] pair%s", "");
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (yt_node_int(rd->doc, n->vals[i], 0, INT_MAX, &v[i], rd->d)) {
            rd->bad++;
            return -1;
        }
    *b = (int)v[0];
    *e = (int)v[1];
    return 0;
}

static void read_pair(reader *rd, const yt_node *map, const char *key, int *b, int *e) {
    const yt_node *n = yt_get(map, key);
    if (!n) at_error(rd, map, "missing '%s'", key);
    else read_pair_node(rd, n, b, e);
}

static void read_model(reader *rd, const yt_node *root, attn_model *m) {
    static const char *const keys[] = {"name", "arch", "layers", "heads", "kv_heads", "head_dim", "hidden",
                                       "ffn_hidden", "norm_eps", "rope_theta", "dtype", "vocab_size",
                                       "tie_word_embeddings", "qkv_bias", "qk_norm", "workload", "path", "sha256", NULL};
    static const char *const wkeys[] = {"batch", "seq_len", "decode_tokens", "microbatches", "rate", NULL};
    const yt_node *mm = get_map(rd, root, "model", keys);
    if (!mm) return;
    char buf[32];
    get_str(rd, mm, "name", m->name, sizeof m->name);
    if (yt_str(rd->doc, mm, "arch", 1, buf, sizeof buf, rd->d) == 0) {
        if (!strcmp(buf, arch_name(ARCH_GPT))) m->arch = ARCH_GPT;
        else if (!strcmp(buf, arch_name(ARCH_LLAMA))) m->arch = ARCH_LLAMA;
        else at_error(rd, yt_get(mm, "arch"), "unknown arch '%s' (gpt or llama)", buf);
    } else {
        rd->bad++;
    }
    get_int(rd, mm, "layers", 1, &m->layers);
    get_int(rd, mm, "heads", 1, &m->heads);
    get_int(rd, mm, "kv_heads", 1, &m->kv_heads);
    get_int(rd, mm, "head_dim", 1, &m->head_dim);
    get_int(rd, mm, "hidden", 1, &m->hidden);
    get_int(rd, mm, "ffn_hidden", 1, &m->ffn_hidden);
    get_real(rd, mm, "norm_eps", &m->norm_eps);
    get_real(rd, mm, "rope_theta", &m->rope_theta);
    if (yt_str(rd->doc, mm, "dtype", 1, buf, sizeof buf, rd->d) == 0) {
        if (dtype_parse(buf, &m->dtype) != 0) at_error(rd, yt_get(mm, "dtype"), "unknown dtype '%s'", buf);
    } else {
        rd->bad++;
    }
    if (yt_get(mm, "vocab_size")) get_int(rd, mm, "vocab_size", 1, &m->vocab_size); /* optional: the ends */
    const yt_node *tie = yt_get(mm, "tie_word_embeddings");
    if (tie && yt_node_bool(rd->doc, tie, &m->tie_word_embeddings, rd->d)) rd->bad++;
    const yt_node *qb = yt_get(mm, "qkv_bias");
    if (qb && yt_node_bool(rd->doc, qb, &m->qkv_bias, rd->d)) rd->bad++;
    const yt_node *qn = yt_get(mm, "qk_norm");
    if (qn && yt_node_bool(rd->doc, qn, &m->qk_norm, rd->d)) rd->bad++;
    const yt_node *w = get_map(rd, mm, "workload", wkeys);
    if (w) {
        get_int(rd, w, "batch", 1, &m->workload.batch);
        get_int(rd, w, "seq_len", 1, &m->workload.seq_len);
        get_int(rd, w, "decode_tokens", 0, &m->workload.decode_tokens);
        get_int(rd, w, "microbatches", 0, &m->workload.microbatches);
        if (yt_get(w, "rate")) { /* optional: requests/s, written only when given */
            get_real(rd, w, "rate", &m->workload.rate);
            if (!(m->workload.rate > 0 && isfinite(m->workload.rate))) at_error(rd, yt_get(w, "rate"), "%s must be > 0", "rate");
        }
    }
    get_str(rd, mm, "path", m->path, sizeof m->path);
    get_str(rd, mm, "sha256", m->sha256, sizeof m->sha256);
    check_sha(rd, mm, m->sha256);
}

static void read_head(reader *rd, const yt_node *root, attn_plan *p) {
    static const char *const tkeys[] = {"name", "path", "sha256", NULL};
    static const char *const skeys[] = {"dp", "pp", "s", "cp", "weights", "n", "m", "scheme", "microbatches", NULL};
    read_model(rd, root, &p->model);
    const yt_node *t = get_map(rd, root, "topology", tkeys);
    if (t) {
        get_str(rd, t, "name", p->topology_name, sizeof p->topology_name);
        get_str(rd, t, "path", p->topology_path, sizeof p->topology_path);
        get_str(rd, t, "sha256", p->topology_sha256, sizeof p->topology_sha256);
        check_sha(rd, t, p->topology_sha256);
    }
    const yt_node *s = get_map(rd, root, "strategy", skeys);
    if (s) {
        attn_strategy *st = &p->strategy;
        get_int(rd, s, "dp", 1, &st->dp);
        get_int(rd, s, "pp", 1, &st->pp);
        get_int(rd, s, "n", 1, &st->n);
        get_int(rd, s, "m", 1, &st->m);
        get_int(rd, s, "microbatches", 1, &st->microbatches);
        char buf[32];
        if (yt_str(rd->doc, s, "scheme", 1, buf, sizeof buf, rd->d) == 0) {
            if (scheme_parse(buf, &st->scheme) != 0) at_error(rd, yt_get(s, "scheme"), "unknown scheme '%s'", buf);
        } else {
            rd->bad++;
        }
        /* the sequence axis: s optional (1), cp and weights present exactly when s > 1 */
        long long sv = 1;
        if (yt_int(rd->doc, s, "s", 0, 1, INT_MAX, &sv, rd->d)) rd->bad++;
        st->s = (int)sv;
        st->cp = CP_AUTO;
        st->weights = WEIGHTS_AUTO;
        const yt_node *cpn = yt_get(s, "cp"), *wn = yt_get(s, "weights");
        if (st->s == 1) {
            if (cpn) at_error(rd, cpn, "cp only exists with s > 1%s", "");
            if (wn) at_error(rd, wn, "weights only exists with s > 1%s", "");
        } else {
            if (!cpn) at_error(rd, s, "missing '%s' (s > 1: ring or allgather)", "cp");
            else if (yt_str(rd->doc, s, "cp", 1, buf, sizeof buf, rd->d)) rd->bad++;
            else if (cp_parse(buf, &st->cp)) at_error(rd, cpn, "unknown cp '%s' (ring or allgather)", buf);
            if (!wn) at_error(rd, s, "missing '%s' (s > 1: replicated or sharded)", "weights");
            else if (yt_str(rd->doc, s, "weights", 1, buf, sizeof buf, rd->d)) rd->bad++;
            else if (weights_parse(buf, &st->weights))
                at_error(rd, wn, "unknown weights '%s' (replicated or sharded)", buf);
        }
    }
    get_str(rd, root, "objective", p->objective, sizeof p->objective);
    if (strcmp(p->objective, "throughput") && strcmp(p->objective, "tpot") && strcmp(p->objective, "throughput-per-gpu") &&
        strcmp(p->objective, "none"))
        at_error(rd, yt_get(root, "objective"), "objective '%s' is not throughput, tpot, throughput-per-gpu or none",
                 p->objective);
    const yt_node *po = yt_get(root, "proven_optimal");
    if (!po) at_error(rd, root, "missing '%s'", "proven_optimal");
    else if (yt_node_bool(rd->doc, po, &p->proven_optimal, rd->d)) rd->bad++;
}

static void read_rank(reader *rd, const yt_node *item, attn_rank_assign *a) {
    static const char *const keys[] = {"rank", "node", "device", "replica", "stage", "seq", "head_group", "seg",
                                       "batch", "layers", "heads", "kv_heads", "dims", "a2a_heads", "mlp", NULL};
    if (yt_expect(rd->doc, item, YT_MAP, "a rank entry", rd->d) || yt_check_keys(rd->doc, item, keys, rd->d)) {
        rd->bad++;
        return;
    }
    get_int(rd, item, "rank", 0, &a->rank);
    get_int(rd, item, "node", 0, &a->node);
    get_int(rd, item, "device", 0, &a->device);
    get_int(rd, item, "replica", 0, &a->replica);
    get_int(rd, item, "stage", 0, &a->stage);
    get_int(rd, item, "head_group", 0, &a->head_group);
    get_int(rd, item, "seg", 0, &a->seg);
    long long q = 0; /* seq: optional (0), only meaningful with s > 1; plan_check bounds it */
    if (yt_int(rd->doc, item, "seq", 0, 0, INT_MAX, &q, rd->d)) rd->bad++;
    a->seq = (int)q;
    read_pair(rd, item, "batch", &a->batch_begin, &a->batch_end);
    read_pair(rd, item, "layers", &a->layer_begin, &a->layer_end);
    read_pair(rd, item, "heads", &a->head_begin, &a->head_end);
    read_pair(rd, item, "kv_heads", &a->kv_head_begin, &a->kv_head_end);
    read_pair(rd, item, "a2a_heads", &a->a2a_head_begin, &a->a2a_head_end);
    read_pair(rd, item, "mlp", &a->mlp_begin, &a->mlp_end);
    const yt_node *dims = yt_get(item, "dims");
    if (!dims) {
        at_error(rd, item, "missing '%s'", "dims");
    } else if (dims->kind != YT_SEQ || dims->n < 1 || dims->n > 2) {
        at_error(rd, dims, "dims must be a list of one or two [begin, end] pairs%s", "");
    } else {
        a->n_dim_ranges = (int)dims->n;
        for (size_t i = 0; i < dims->n; i++) read_pair_node(rd, dims->vals[i], &a->dim_begin[i], &a->dim_end[i]);
    }
}

/* Names the missing and repeated rank numbers when the list's length is not the world. */
static void explain_rank_count(reader *rd, const yt_node *ranks, int world) {
    unsigned char *seen = calloc((size_t)world, 1);
    if (!seen) return;
    for (size_t i = 0; i < ranks->n; i++) {
        const yt_node *r = ranks->vals[i]->kind == YT_MAP ? yt_get(ranks->vals[i], "rank") : NULL;
        long long v;
        if (r && r->kind == YT_SCALAR && yt_node_int(rd->doc, r, 0, world - 1, &v, rd->d) == 0) {
            if (seen[v]) diag_error(rd->d, rd->doc->file, r->line, r->col, "rank %lld is listed twice", v);
            seen[v] = 1;
        }
    }
    for (int r = 0; r < world; r++)
        if (!seen[r]) diag_error(rd->d, rd->doc->file, ranks->line, ranks->col, "rank %d is missing", r);
    free(seen);
}

static void read_groups(reader *rd, const yt_node *root, attn_plan *p) {
    static const char *const keys[] = {"kind", "coll", "link", "ranks", NULL};
    const yt_node *gs = yt_get(root, "groups");
    if (!gs) {
        at_error(rd, root, "missing '%s'", "groups");
        return;
    }
    if (yt_expect(rd->doc, gs, YT_SEQ, "a list of groups", rd->d)) {
        rd->bad++;
        return;
    }
    p->groups = calloc(gs->n ? gs->n : 1, sizeof *p->groups);
    if (!p->groups) {
        at_error(rd, gs, "out of memory for %s", "groups");
        return;
    }
    p->n_groups = (int)gs->n;
    for (size_t i = 0; i < gs->n; i++) {
        const yt_node *g = gs->vals[i];
        attn_group *ag = &p->groups[i];
        if (yt_expect(rd->doc, g, YT_MAP, "a group", rd->d) || yt_check_keys(rd->doc, g, keys, rd->d)) {
            rd->bad++;
            continue;
        }
        char buf[32];
        int k;
        if (yt_str(rd->doc, g, "kind", 1, buf, sizeof buf, rd->d) == 0) {
            for (k = 0; k < GROUP_KIND_COUNT && strcmp(buf, plan_group_kind_name(k)); k++) {}
            if (k == GROUP_KIND_COUNT) at_error(rd, yt_get(g, "kind"), "unknown group kind '%s'", buf);
            ag->kind = k;
        } else rd->bad++;
        if (yt_str(rd->doc, g, "coll", 1, buf, sizeof buf, rd->d) == 0) {
            for (k = 0; k < COLL_COUNT && strcmp(buf, coll_name(k)); k++) {}
            if (k == COLL_COUNT) at_error(rd, yt_get(g, "coll"), "unknown collective '%s'", buf);
            ag->coll = k;
        } else rd->bad++;
        if (yt_str(rd->doc, g, "link", 1, buf, sizeof buf, rd->d) == 0) {
            for (k = 0; k < LINK_COUNT && strcmp(buf, link_name(k)); k++) {}
            if (k == LINK_COUNT) at_error(rd, yt_get(g, "link"), "unknown link class '%s'", buf);
            ag->link = k;
        } else rd->bad++;
        const yt_node *rs = yt_get(g, "ranks");
        if (!rs) {
            at_error(rd, g, "missing '%s'", "ranks");
            continue;
        }
        if (yt_expect(rd->doc, rs, YT_SEQ, "a list of ranks", rd->d) || rs->n == 0 ||
            rs->n > (size_t)PLAN_MAX_WORLD) {
            at_error(rd, rs, "a group needs 1 to 1048576 ranks%s", "");
            continue;
        }
        ag->ranks = malloc(rs->n * sizeof *ag->ranks);
        if (!ag->ranks) {
            at_error(rd, rs, "out of memory for %s", "a group");
            continue;
        }
        ag->n_ranks = (int)rs->n;
        for (size_t j = 0; j < rs->n; j++) {
            long long v;
            if (yt_node_int(rd->doc, rs->vals[j], 0, p->world - 1, &v, rd->d)) rd->bad++;
            else ag->ranks[j] = (int)v;
        }
    }
}

int plan_load(const char *path, attn_plan *p, attn_diag *d) {
    static const char *const keys[] = {"plan_version", "model", "topology", "strategy", "objective",
                                       "proven_optimal", "world", "ranks", "groups", "predicted", NULL};
    memset(p, 0, sizeof *p);
    yt_doc doc;
    if (yt_load_file(path, &doc, d) != 0) return -1;
    reader rd = {&doc, d, 0};
    const yt_node *root = doc.root;
    if (yt_expect(&doc, root, YT_MAP, "a plan (a map)", d) || yt_check_keys(&doc, root, keys, d)) {
        yt_free(&doc);
        return -1;
    }
    long long version;
    if (yt_int(&doc, root, "plan_version", 1, 0, INT_MAX, &version, d)) {
        yt_free(&doc);
        return -1;
    }
    if (version != 1) {
        at_error(&rd, yt_get(root, "plan_version"), "plan_version %s is not supported (this build reads 1)",
                 yt_get(root, "plan_version")->str);
        yt_free(&doc);
        return -1;
    }
    p->version = 1;
    read_head(&rd, root, p);
    get_int(&rd, root, "world", 1, &p->world);
    const attn_strategy *s = &p->strategy;
    if (rd.bad == 0 && (long long)s->dp * s->pp * s->s * s->n * s->m != p->world)
        at_error(&rd, yt_get(root, "world"), "world does not equal dp*pp*s*n*m of the strategy%s", "");
    if (rd.bad == 0 && p->world > PLAN_MAX_WORLD)
        at_error(&rd, yt_get(root, "world"), "world exceeds the limit of 1048576 devices%s", "");
    const yt_node *ranks = yt_get(root, "ranks");
    if (rd.bad == 0) {
        if (!ranks) at_error(&rd, root, "missing '%s'", "ranks");
        else if (yt_expect(&doc, ranks, YT_SEQ, "a list of ranks", d)) rd.bad++;
        else if (ranks->n != (size_t)p->world) {
            diag_error(d, doc.file, ranks->line, ranks->col, "ranks lists %zu entries but world is %d", ranks->n,
                       p->world);
            rd.bad++;
            explain_rank_count(&rd, ranks, p->world);
        }
    }
    if (rd.bad == 0) {
        p->ranks = calloc((size_t)p->world, sizeof *p->ranks);
        if (!p->ranks) at_error(&rd, ranks, "out of memory for %s", "ranks");
        else
            for (int i = 0; i < p->world; i++) read_rank(&rd, ranks->vals[i], &p->ranks[i]);
    }
    if (rd.bad == 0) read_groups(&rd, root, p);
    const yt_node *pred = yt_get(root, "predicted");
    if (rd.bad == 0 && pred) {
        if (report_read_yaml(&doc, pred, &p->predicted, d)) rd.bad++;
        else p->has_predicted = 1;
    }
    if (rd.bad == 0) {
        plan_positions pos;
        plan_positions_from_doc(&pos, path, &doc);
        rd.bad += plan_check_at(p, &pos, d);
    }
    yt_free(&doc);
    if (rd.bad) {
        plan_free(p);
        return -1;
    }
    return 0;
}
