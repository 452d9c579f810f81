/* plan_check.c: the structural checks on a plan, in memory or loaded from a file:
 * ranks unique and in order with coordinates matching the rank formula, every (head,
 * dimension) element owned exactly once per (replica, stage), layers, batch rows and MLP
 * columns covered exactly once, kv heads and head-alltoall ranges consistent, groups equal
 * to those the ranks imply, predicted memory within capacity. Each problem is reported
 * with the position of the offending entry when the plan came from a file. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"
#include "plan_private.h"

typedef struct checker {
    const attn_plan *p;
    const plan_positions *pos;
    attn_diag *d;
    int problems;
} checker;

/* The node of ranks[i] (or of its key) in seq, or NULL. */
static const yt_node *entry_node(const yt_node *seq, int i, const char *key) {
    if (!seq || seq->kind != YT_SEQ || i < 0 || (size_t)i >= seq->n) return NULL;
    const yt_node *item = seq->vals[i];
    const yt_node *v = key ? yt_get(item, key) : NULL;
    return v ? v : item;
}

static void vproblem(checker *c, const yt_node *at, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    c->problems++;
    if (c->pos && c->pos->file)
        diag_error(c->d, c->pos->file, at ? at->line : 0, at ? at->col : 0, "%s", msg);
    else
        diag_plain(c->d, "plan: %s", msg);
}

/* A problem with rank entry i (key names the field, NULL for the whole entry). */
__attribute__((format(printf, 4, 5))) static void rank_problem(checker *c, int i, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, entry_node(c->pos ? c->pos->ranks : NULL, i, key), fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void top_problem(checker *c, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const yt_node *root = c->pos ? c->pos->root : NULL;
    const yt_node *n = root ? yt_get(root, key) : NULL;
    vproblem(c, n ? n : root, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void seq_problem(checker *c, const yt_node *seq, int i, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vproblem(c, entry_node(seq, i, NULL), fmt, ap);
    va_end(ap);
}


static int check_header(checker *c) {
    const attn_plan *p = c->p;
    const attn_strategy *s = &p->strategy;
    int before = c->problems;
    if (p->version != 1) top_problem(c, "plan_version", "plan_version %d is not supported (this build reads 1)", p->version);
    const yt_node *model_map = c->pos && c->pos->root ? yt_get(c->pos->root, "model") : NULL;
    int nm = model_check_at(&p->model, c->pos ? c->pos->file : NULL, model_map, c->d);
    c->problems += nm;
    if (s->dp < 1 || s->pp < 1 || s->n < 1 || s->m < 1 || s->s < 1) {
        top_problem(c, "strategy", "dp, pp, s, n and m must be >= 1 (dp=%d pp=%d s=%d n=%d m=%d)", s->dp, s->pp, s->s,
                    s->n, s->m);
        return -1;
    }
    long long world = (long long)s->dp * s->pp * s->s * s->n * s->m;
    if (world != p->world || !p->ranks)
        top_problem(c, "world", "world=%d but dp*pp*s*n*m=%lld", p->world, world);
    if (s->s == 1 && (s->cp != CP_AUTO || s->weights != WEIGHTS_AUTO))
        top_problem(c, "strategy", "cp and weights only exist with s > 1%s", "");
    char why[256];
    if (s->s > 1 && !plan_seq_supported(s, &p->model, why, sizeof why)) top_problem(c, "strategy", "%s", why);
    if (p->model.qk_norm && s->m > 1)
        top_problem(c, "strategy", "m=%d splits each head's dimension, but qk_norm normalizes q and k over whole heads", s->m);
    if (s->scheme < 0 || s->scheme >= SCHEME_COUNT) top_problem(c, "strategy", "unknown scheme %d", (int)s->scheme);
    else if ((s->m == 1) != (s->scheme == SCHEME_NONE))
        top_problem(c, "strategy", "m=%d with scheme %s: m=1 goes with none, m>1 needs a scheme", s->m,
                    scheme_name(s->scheme));
    if (s->microbatches < 1) top_problem(c, "strategy", "microbatches=%d must be >= 1 in a plan", s->microbatches);
    if ((long long)p->model.heads * p->model.head_dim > (1 << 26) || p->model.heads < 1 || p->model.head_dim < 1 ||
        p->model.kv_heads < 1 || p->model.heads % p->model.kv_heads != 0 ||
        (p->model.arch == ARCH_LLAMA && p->model.head_dim % 2))
        top_problem(c, "model", "the model's head shape is unusable (heads=%d kv_heads=%d head_dim=%d)",
                    p->model.heads, p->model.kv_heads, p->model.head_dim);
    return c->problems == before ? 0 : -1;
}

/* Ranks unique, complete, in order. */
static int check_rank_ids(checker *c) {
    const attn_plan *p = c->p;
    int before = c->problems;
    int *first = malloc((size_t)p->world * sizeof *first);
    if (!first) {
        top_problem(c, "ranks", "out of memory checking %d ranks", p->world);
        return -1;
    }
    for (int r = 0; r < p->world; r++) first[r] = -1;
    for (int i = 0; i < p->world; i++) {
        int r = p->ranks[i].rank;
        if (r < 0 || r >= p->world) rank_problem(c, i, "rank", "rank %d is out of range 0..%d", r, p->world - 1);
        else if (first[r] >= 0) rank_problem(c, i, "rank", "rank %d is listed twice (entries %d and %d)", r, first[r], i);
        else first[r] = i;
    }
    for (int r = 0; r < p->world; r++)
        if (first[r] < 0) top_problem(c, "ranks", "rank %d is missing", r);
    free(first);
    if (c->problems != before) return -1;
    for (int i = 0; i < p->world; i++)
        if (p->ranks[i].rank != i) {
            rank_problem(c, i, "rank", "entry %d has rank %d: ranks must be listed in order", i, p->ranks[i].rank);
            return -1;
        }
    return 0;
}

static int range_ok(int b, int e, int limit, int allow_empty) {
    return b >= 0 && e <= limit && (allow_empty ? b <= e : b < e);
}

static int cmp_int_pair(const void *a, const void *b) {
    const int *x = a, *y = b;
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* Coordinates, range bounds, llama pairs, kv heads, a2a ranges, unique devices. */
static int check_rank_fields(checker *c) {
    const attn_plan *p = c->p;
    const attn_strategy *s = &p->strategy;
    const attn_model *m = &p->model;
    int before = c->problems, half = m->head_dim / 2, per_kv = m->heads / m->kv_heads;
    for (int i = 0; i < p->world; i++) {
        const attn_rank_assign *a = &p->ranks[i];
        if (a->replica < 0 || a->replica >= s->dp || a->stage < 0 || a->stage >= s->pp || a->head_group < 0 ||
            a->head_group >= s->n || a->seg < 0 || a->seg >= s->m || a->seq < 0 || a->seq >= s->s) {
            rank_problem(c, i, NULL,
                         "rank %d: coordinates (replica %d, stage %d, seq %d, head_group %d, seg %d) are out of range",
                         i, a->replica, a->stage, a->seq, a->head_group, a->seg);
            continue;
        }
        int want = plan_coord_rank(s, a->replica, a->stage, a->seq, a->head_group, a->seg);
        if (want != i)
            rank_problem(c, i, NULL,
                         "rank %d: coordinates (replica %d, stage %d, seq %d, head_group %d, seg %d) belong to rank %d",
                         i, a->replica, a->stage, a->seq, a->head_group, a->seg, want);
        if (a->node < 0 || a->device < 0) rank_problem(c, i, "device", "rank %d: negative node or device", i);
#define RANGE(key, b, e, lim, empty)                                                                          \
    if (!range_ok(b, e, lim, empty))                                                                          \
        rank_problem(c, i, key, "rank %d: %s [%d,%d) is not a %srange within [0,%d)", i, key, b, e,           \
                     empty ? "" : "non-empty ", lim);
        RANGE("batch", a->batch_begin, a->batch_end, m->workload.batch, 0)
        RANGE("layers", a->layer_begin, a->layer_end, m->layers, 0)
        RANGE("heads", a->head_begin, a->head_end, m->heads, 0)
        RANGE("mlp", a->mlp_begin, a->mlp_end, m->ffn_hidden, 1)
        RANGE("a2a_heads", a->a2a_head_begin, a->a2a_head_end, m->heads, 0)
#undef RANGE
        if (a->head_begin < a->head_end && a->head_begin >= 0 && a->head_end <= m->heads) {
            int kb, ke;
            plan_kv_range(per_kv, a->head_begin, a->head_end, &kb, &ke);
            if (a->kv_head_begin != kb || a->kv_head_end != ke)
                rank_problem(c, i, "kv_heads", "rank %d: kv_heads [%d,%d) do not match heads [%d,%d) (expected [%d,%d))",
                             i, a->kv_head_begin, a->kv_head_end, a->head_begin, a->head_end, kb, ke);
        }
        if (m->arch == ARCH_LLAMA) {
            if (a->n_dim_ranges != 2 || !range_ok(a->dim_begin[0], a->dim_end[0], half, 0) ||
                a->dim_begin[1] != a->dim_begin[0] + half || a->dim_end[1] != a->dim_end[0] + half)
                rank_problem(c, i, "dims", "rank %d: llama dims must be a range of rotation pairs [b,e) with e <= %d "
                             "and its partner [b+%d,e+%d)", i, half, half, half);
        } else if (a->n_dim_ranges != 1 || !range_ok(a->dim_begin[0], a->dim_end[0], m->head_dim, 0)) {
            rank_problem(c, i, "dims", "rank %d: gpt dims must be one non-empty range within [0,%d)", i, m->head_dim);
        }
        if (s->scheme != SCHEME_HEAD_ALLTOALL &&
            (a->a2a_head_begin != a->head_begin || a->a2a_head_end != a->head_end))
            rank_problem(c, i, "a2a_heads", "rank %d: a2a_heads must equal heads unless the scheme is head-alltoall", i);
    }
    int *pairs = malloc((size_t)p->world * 2 * sizeof *pairs);
    if (!pairs) {
        top_problem(c, "ranks", "out of memory checking devices");
        return -1;
    }
    for (int i = 0; i < p->world; i++) {
        pairs[2 * i] = p->ranks[i].device;
        pairs[2 * i + 1] = i;
    }
    qsort(pairs, (size_t)p->world, 2 * sizeof *pairs, cmp_int_pair);
    for (int k = 1; k < p->world; k++)
        if (pairs[2 * k] == pairs[2 * k - 2])
            rank_problem(c, pairs[2 * k + 1], "device", "ranks %d and %d are both placed on device %d",
                         pairs[2 * k - 1], pairs[2 * k + 1], pairs[2 * k]);
    free(pairs);
    return c->problems == before ? 0 : -1;
}

/* Items in order must tile [origin,total): item k covers [b[k],e[k]) of rank who[k]. */
static void check_chain(checker *c, const char *what, const char *where, int k_items, const int *b, const int *e,
                        const int *who, int origin, int total, const char *key) {
    int at = origin, prev = -1;
    for (int k = 0; k < k_items; k++) {
        if (b[k] == e[k]) continue; /* an empty share */
        if (b[k] > at)
            rank_problem(c, who[k], key, "%s: %s [%d,%d) owned by no rank", where, what, at, b[k]);
        else if (b[k] < at)
            rank_problem(c, who[k], key, "%s: %s [%d,%d) owned by both rank %d and rank %d", where, what, b[k],
                         e[k] < at ? e[k] : at, prev, who[k]);
        at = e[k] > at ? e[k] : at;
        prev = who[k];
    }
    if (at < total)
        rank_problem(c, prev >= 0 ? prev : 0, key, "%s: %s [%d,%d) owned by no rank", where, what, at, total);
}

static int cmp_interval(const void *a, const void *b) { return cmp_int_pair(a, b); }

/* Same-share consistency and exact coverage of batch, layers, heads x dims, MLP, a2a. */
static void check_coverage(checker *c) {
    const attn_plan *p = c->p;
    const attn_strategy *s = &p->strategy;
    const attn_model *m = &p->model;
    const attn_rank_assign *R = p->ranks;
    int dp = s->dp, pp = s->pp, sq = s->s, n = s->n, mm = s->m, nm = n * mm;
    int sharded = sq > 1 && s->weights == WEIGHTS_SHARDED;
    int mlp_ranks = sharded ? sq * nm : nm; /* the ranks whose mlp columns tile ffn_hidden */
    size_t big = (size_t)(dp > pp ? dp : pp) + (size_t)mlp_ranks + 1;
    int *b = calloc(big, sizeof *b), *e = calloc(big, sizeof *e), *who = calloc(big, sizeof *who);
    int *iv = malloc((size_t)mlp_ranks * 3 * sizeof *iv);
    uint8_t *own = calloc((size_t)m->heads * m->head_dim, 1);
    char where[96];
    if (!b || !e || !who || !iv || !own) {
        top_problem(c, "ranks", "out of memory checking coverage");
        goto done;
    }
    for (int i = 0; i < p->world; i++) { /* shares that must agree inside a replica / stage / group */
        const attn_rank_assign *a = &R[i], *r0 = &R[plan_coord_rank(s, a->replica, 0, 0, 0, 0)];
        const attn_rank_assign *s0 = &R[plan_coord_rank(s, a->replica, a->stage, 0, 0, 0)];
        const attn_rank_assign *g0 = &R[plan_coord_rank(s, a->replica, a->stage, 0, a->head_group, 0)];
        const attn_rank_assign *q0 = &R[plan_coord_rank(s, a->replica, a->stage, 0, a->head_group, a->seg)];
        if (a->batch_begin != r0->batch_begin || a->batch_end != r0->batch_end)
            rank_problem(c, i, "batch", "rank %d: batch [%d,%d) differs from rank %d's in the same replica", i,
                         a->batch_begin, a->batch_end, r0->rank);
        if (a->layer_begin != s0->layer_begin || a->layer_end != s0->layer_end)
            rank_problem(c, i, "layers", "rank %d: layers [%d,%d) differ from rank %d's in the same stage", i,
                         a->layer_begin, a->layer_end, s0->rank);
        if (a->head_begin != g0->head_begin || a->head_end != g0->head_end)
            rank_problem(c, i, "heads", "rank %d: heads [%d,%d) differ from rank %d's in the same head group", i,
                         a->head_begin, a->head_end, g0->rank);
        /* the s slices of one (head group, seg) hold the same dims, and without sharded
         * weights the same mlp columns: a slice differs from another only in its positions */
        if (a->seq > 0) {
            int same = a->n_dim_ranges == q0->n_dim_ranges;
            for (int k = 0; same && k < a->n_dim_ranges && k < 2; k++)
                same = a->dim_begin[k] == q0->dim_begin[k] && a->dim_end[k] == q0->dim_end[k];
            if (!same) rank_problem(c, i, "dims", "rank %d: dims differ from rank %d's, its twin in slice 0", i, q0->rank);
            if (!sharded && (a->mlp_begin != q0->mlp_begin || a->mlp_end != q0->mlp_end))
                rank_problem(c, i, "mlp", "rank %d: mlp [%d,%d) differs from rank %d's, its twin in slice 0 (weights "
                             "replicated)", i, a->mlp_begin, a->mlp_end, q0->rank);
        }
    }
    for (int rep = 0; rep < dp; rep++) {
        int r = plan_coord_rank(s, rep, 0, 0, 0, 0);
        b[rep] = R[r].batch_begin, e[rep] = R[r].batch_end, who[rep] = r;
    }
    check_chain(c, "batch rows", "replicas", dp, b, e, who, 0, m->workload.batch, "batch");
    for (int rep = 0; rep < dp; rep++) {
        for (int st = 0; st < pp; st++) {
            int r = plan_coord_rank(s, rep, st, 0, 0, 0);
            b[st] = R[r].layer_begin, e[st] = R[r].layer_end, who[st] = r;
        }
        snprintf(where, sizeof where, "replica %d", rep);
        check_chain(c, "layers", where, pp, b, e, who, 0, m->layers, "layers");
    }
    for (int rep = 0; rep < dp; rep++)
        for (int st = 0; st < pp; st++) {
            snprintf(where, sizeof where, "replica %d stage %d", rep, st);
            /* slice 0's ranks (all s slices when sharded); the other slices equal slice 0's */
            int base = plan_coord_rank(s, rep, st, 0, 0, 0);
            for (int k = 0; k < mlp_ranks; k++) {
                iv[3 * k] = R[base + k].mlp_begin, iv[3 * k + 1] = R[base + k].mlp_end, iv[3 * k + 2] = base + k;
            }
            qsort(iv, (size_t)mlp_ranks, 3 * sizeof *iv, cmp_interval);
            for (int k = 0; k < mlp_ranks; k++) b[k] = iv[3 * k], e[k] = iv[3 * k + 1], who[k] = iv[3 * k + 2];
            check_chain(c, "mlp columns", where, mlp_ranks, b, e, who, 0, m->ffn_hidden, "mlp");
            /* every (head, dim) element exactly once; counts saturate at 2 */
            memset(own, 0, (size_t)m->heads * m->head_dim);
            for (int k = 0; k < nm; k++) {
                const attn_rank_assign *a = &R[base + k];
                for (int h = a->head_begin; h < a->head_end; h++)
                    for (int q = 0; q < a->n_dim_ranges; q++)
                        for (int x = a->dim_begin[q]; x < a->dim_end[q]; x++) {
                            uint8_t *o = &own[(size_t)h * m->head_dim + x];
                            if (*o < 2) (*o)++;
                        }
            }
            int reported_gap = 0, reported_overlap = 0;
            for (size_t el = 0; el < (size_t)m->heads * m->head_dim; el++) {
                int h = (int)(el / m->head_dim), x = (int)(el % m->head_dim);
                if (own[el] == 0 && !reported_gap) {
                    reported_gap = 1;
                    top_problem(c, "ranks", "%s: head %d dim %d is owned by no rank", where, h, x);
                } else if (own[el] > 1 && !reported_overlap) {
                    reported_overlap = 1;
                    int first = -1, second = -1;
                    for (int k = 0; k < nm && second < 0; k++) {
                        const attn_rank_assign *a = &R[base + k];
                        int has = h >= a->head_begin && h < a->head_end;
                        int in_dim = 0;
                        for (int q = 0; q < a->n_dim_ranges; q++) in_dim |= x >= a->dim_begin[q] && x < a->dim_end[q];
                        if (has && in_dim) {
                            if (first < 0) first = base + k;
                            else second = base + k;
                        }
                    }
                    rank_problem(c, second, "dims", "%s: head %d dim %d is owned by both rank %d and rank %d", where,
                                 h, x, first, second);
                }
            }
            if (s->scheme == SCHEME_HEAD_ALLTOALL)
                for (int hg = 0; hg < n; hg++) {
                    int g = plan_coord_rank(s, rep, st, 0, hg, 0);
                    for (int sg = 0; sg < mm; sg++)
                        b[sg] = R[g + sg].a2a_head_begin, e[sg] = R[g + sg].a2a_head_end, who[sg] = g + sg;
                    snprintf(where, sizeof where, "replica %d stage %d head group %d", rep, st, hg);
                    check_chain(c, "a2a heads", where, mm, b, e, who, R[g].head_begin, R[g].head_end, "a2a_heads");
                }
        }
done:
    free(b), free(e), free(who), free(iv), free(own);
}

static void check_groups(checker *c) {
    const attn_plan *p = c->p;
    const yt_node *seq = c->pos ? c->pos->groups : NULL;
    attn_group *g;
    int ng;
    if (plan_build_groups_into(p, NULL, &g, &ng) != 0) {
        top_problem(c, "groups", "could not derive the groups from the ranks");
        return;
    }
    if (ng != p->n_groups) {
        top_problem(c, "groups", "the ranks imply %d groups, the plan lists %d", ng, p->n_groups);
    } else {
        for (int i = 0; i < ng; i++) {
            const attn_group *x = &p->groups[i], *want = &g[i];
            int same = x->kind == want->kind && x->coll == want->coll && x->n_ranks == want->n_ranks && x->ranks;
            for (int k = 0; same && k < x->n_ranks; k++) same = x->ranks[k] == want->ranks[k];
            if (!same)
                seq_problem(c, seq, i, "group %d should be %s %s over %d ranks starting at rank %d", i,
                            plan_group_kind_name(want->kind), coll_name(want->coll), want->n_ranks, want->ranks[0]);
            if (x->link < 0 || x->link >= LINK_COUNT) seq_problem(c, seq, i, "group %d: unknown link class", i);
        }
    }
    for (int i = 0; i < ng; i++) free(g[i].ranks);
    free(g);
}

static void check_predicted(checker *c) {
    const attn_plan *p = c->p;
    const attn_report *r = &p->predicted;
    const yt_node *seq = c->pos ? c->pos->pred_ranks : NULL;
    if (r->n_ranks != p->world) {
        top_problem(c, "predicted", "predicted lists %d ranks, world is %d", r->n_ranks, p->world);
        return;
    }
    for (int i = 0; i < r->n_ranks; i++) {
        const attn_rank_report *rr = &r->ranks[i];
        if (rr->memory_capacity_bytes > 0 && rr->memory_bytes > rr->memory_capacity_bytes)
            seq_problem(c, seq, i, "rank %d needs %.0f bytes of memory but its device holds %.0f", i, rr->memory_bytes,
                        rr->memory_capacity_bytes);
    }
}

int plan_check_at(const attn_plan *p, const plan_positions *pos, attn_diag *d) {
    checker c = {p, pos, d, 0};
    if (check_header(&c) != 0) return c.problems;
    if (check_rank_ids(&c) != 0) return c.problems;
    if (check_rank_fields(&c) != 0) return c.problems;
    check_coverage(&c);
    if (p->strategy.microbatches > 0) {
        int min_rows = p->model.workload.batch;
        for (int i = 0; i < p->world; i++) {
            int rows = p->ranks[i].batch_end - p->ranks[i].batch_begin;
            if (rows < min_rows) min_rows = rows;
        }
        if (p->strategy.microbatches > min_rows)
            top_problem(&c, "strategy", "microbatches=%d exceeds the smallest replica's batch rows=%d",
                        p->strategy.microbatches, min_rows);
    }
    check_groups(&c);
    if (p->has_predicted) check_predicted(&c);
    return c.problems;
}

void plan_positions_from_doc(plan_positions *pos, const char *file, const yt_doc *doc) {
    memset(pos, 0, sizeof *pos);
    pos->file = file;
    const yt_node *root = doc ? doc->root : NULL;
    if (!root || root->kind != YT_MAP) return;
    pos->root = root;
    const yt_node *r = yt_get(root, "ranks"), *g = yt_get(root, "groups"), *pr = yt_get(root, "predicted");
    pos->ranks = r && r->kind == YT_SEQ ? r : NULL;
    pos->groups = g && g->kind == YT_SEQ ? g : NULL;
    const yt_node *prr = pr ? yt_get(pr, "ranks") : NULL;
    pos->pred_ranks = prr && prr->kind == YT_SEQ ? prr : NULL;
}

int plan_check(const attn_plan *p, const char *file, attn_diag *d) {
    plan_positions pos;
    if (!file) {
        memset(&pos, 0, sizeof pos);
        return plan_check_at(p, &pos, d);
    }
    /* Re-read the file only for positions; if it cannot be read, report without them. */
    attn_diag quiet;
    attn_diag_init(&quiet);
    quiet.quiet = 1;
    yt_doc doc;
    int have_doc = yt_load_file(file, &doc, &quiet) == 0;
    plan_positions_from_doc(&pos, file, have_doc ? &doc : NULL);
    int problems = plan_check_at(p, &pos, d);
    if (have_doc) yt_free(&doc);
    return problems;
}
