/* plan_build.c: building a plan in memory: the even split of a strategy over a model
 * (plan_build_even), the communication groups implied by the ranks (plan_build_groups),
 * and freeing a plan. The file format lives in plan_io.c, the checks in plan_check.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"
#include "plan_private.h"
#include "split.h"
#include "topology.h"

/* A plan never addresses more devices than a topology may hold. */
#define PLAN_MAX_WORLD (1 << 20)

static const char *const group_kind_names[GROUP_KIND_COUNT] = {"seg", "stage", "pipe", "replica", "seq", "shard"};

const char *plan_group_kind_name(attn_group_kind k) {
    return (k >= 0 && k < GROUP_KIND_COUNT) ? group_kind_names[k] : "?";
}

void plan_copy_str(char *dst, size_t dstlen, const char *src) {
    if (dstlen == 0) return;
    size_t n = src ? strlen(src) : 0;
    if (n >= dstlen) n = dstlen - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

int plan_rank_width(const attn_rank_assign *a) {
    int w = 0;
    for (int i = 0; i < a->n_dim_ranges && i < 2; i++) w += a->dim_end[i] - a->dim_begin[i];
    return w;
}

void plan_rank_set_a2a_heads(attn_rank_assign *a, attn_scheme scheme, int m) {
    if (scheme == SCHEME_HEAD_ALLTOALL && m > 0) { /* plan_check: m divides the group's heads */
        int per = (a->head_end - a->head_begin) / m;
        a->a2a_head_begin = a->head_begin + a->seg * per;
        a->a2a_head_end = a->a2a_head_begin + per;
    } else {
        a->a2a_head_begin = a->head_begin;
        a->a2a_head_end = a->head_end;
    }
}

int plan_kv_range(int qpk, int hb, int he, int *kb, int *ke) {
    if (qpk < 1) qpk = 1;
    int b = hb / qpk, e = he > hb ? (he - 1) / qpk + 1 : b;
    if (kb) *kb = b;
    if (ke) *ke = e;
    return e - b;
}

int plan_vocab_range(int vocab_size, int n, int m, int head_group, int seg, int *begin, int *end) {
    int b = 0, e = 0;
    if (vocab_size > 0) split_range(vocab_size, n * m, head_group * m + seg, &b, &e);
    if (begin) *begin = b;
    if (end) *end = e;
    return e - b;
}

int plan_coord_rank(const attn_strategy *s, int replica, int stage, int seq, int head_group, int seg) {
    return (((replica * s->pp + stage) * strategy_seq(s) + seq) * s->n + head_group) * s->m + seg;
}

int plan_seq_chunk_range(int L, int s, int seq, int *b0, int *e0, int *b1, int *e1) {
    int a = 0, b = 0, c = 0, d = 0;
    if (s <= 1) {
        b = L > 0 ? L : 0;
    } else {
        split_range(L, 2 * s, seq, &a, &b);
        split_range(L, 2 * s, 2 * s - 1 - seq, &c, &d);
    }
    if (b0) *b0 = a;
    if (e0) *e0 = b;
    if (b1) *b1 = c;
    if (e1) *e1 = d;
    return (b - a) + (d - c);
}

int plan_seq_decode_owner(int step, int s) { return s > 1 && step > 0 ? step % s : 0; }

int plan_seq_proj_range(int cols, int s, int seq, int *begin, int *end) {
    int b = 0, e = cols > 0 ? cols : 0;
    if (s > 1 && cols > 0) split_range(cols, s, seq, &b, &e);
    if (begin) *begin = b;
    if (end) *end = e;
    return e - b;
}

int plan_seq_supported(const attn_strategy *s, const attn_model *m, char *why, size_t whylen) {
    int sq = strategy_seq(s);
    if (sq == 1) return 1;
    if (s->cp != CP_RING && s->cp != CP_ALLGATHER) {
        snprintf(why, whylen, "s=%d needs cp=ring or cp=allgather", sq);
        return 0;
    }
    if (s->weights != WEIGHTS_REPLICATED && s->weights != WEIGHTS_SHARDED) {
        snprintf(why, whylen, "s=%d needs weights=replicated or weights=sharded", sq);
        return 0;
    }
    if (s->scheme == SCHEME_SCORE_ALLREDUCE) {
        snprintf(why, whylen, "s=%d with scheme score-allreduce: its m devices sum partial scores before the "
                 "softmax, so it has no fused (O, LSE) result to merge across sequence slices", sq);
        return 0;
    }
    if (m && m->workload.seq_len < 2 * sq) {
        snprintf(why, whylen, "s=%d cuts each prompt into 2s=%d chunks but seq_len=%d is shorter", sq, 2 * sq,
                 m->workload.seq_len);
        return 0;
    }
    return 1;
}

int plan_resolve_microbatches(int requested, int rows, int pp) {
    if (rows < 1) return 1;
    if (requested > 0) return requested < rows ? requested : rows;
    if (pp <= 1) return 1;
    int best = 1;
    for (int k = 1; k <= 4 * pp && k <= rows; k++)
        if (rows % k == 0) best = k;
    return best;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* The divisibility and limit rules of an even split; 0 ok. */
static int check_even_rules(const attn_model *m, const attn_topology *t, const attn_strategy *s,
                            char *err, size_t errlen) {
    if (s->dp < 1) FAIL("dp=%d must be >= 1", s->dp);
    if (s->pp < 1) FAIL("pp=%d must be >= 1", s->pp);
    if (s->n < 1) FAIL("n=%d must be >= 1", s->n);
    if (s->m < 1) FAIL("m=%d must be >= 1", s->m);
    if (s->scheme < 0 || s->scheme >= SCHEME_COUNT) FAIL("unknown scheme %d", (int)s->scheme);
    if (s->microbatches < 0) FAIL("microbatches=%d must be >= 0", s->microbatches);
    if (s->s < 0) FAIL("s=%d must be >= 1", s->s);
    long long world = (long long)s->dp * s->pp * strategy_seq(s) * s->n * s->m;
    if (world > PLAN_MAX_WORLD) FAIL("strategy needs %lld devices, more than the limit %d", world, PLAN_MAX_WORLD);
    if (s->m == 1 && s->scheme != SCHEME_NONE)
        FAIL("m=1 requires scheme none (got %s)", scheme_name(s->scheme));
    if (s->m > 1 && s->scheme == SCHEME_NONE)
        FAIL("m=%d requires a scheme (score-allreduce, qk-allgather or head-alltoall)", s->m);
    if (m->layers < 1 || m->heads < 1 || m->kv_heads < 1 || m->head_dim < 1 || m->ffn_hidden < 1 ||
        m->workload.batch < 1)
        FAIL("model %s has a non-positive size", m->name);
    if ((long long)m->heads * m->head_dim != m->hidden)
        FAIL("hidden=%d is not heads*head_dim=%lld", m->hidden, (long long)m->heads * m->head_dim);
    if (m->heads % m->kv_heads != 0) FAIL("kv_heads=%d does not divide heads=%d", m->kv_heads, m->heads);
    if (m->arch == ARCH_LLAMA && m->head_dim % 2 != 0) FAIL("llama needs an even head_dim (got %d)", m->head_dim);
    if (m->qk_norm && s->m > 1)
        FAIL("m=%d splits each head's dimension, but qk_norm normalizes q and k over whole heads", s->m);
    if (s->dp > m->workload.batch) FAIL("dp=%d exceeds batch=%d", s->dp, m->workload.batch);
    if (s->pp > m->layers) FAIL("pp=%d exceeds layers=%d", s->pp, m->layers);
    if (s->n > m->heads) FAIL("n=%d exceeds heads=%d", s->n, m->heads);
    if (m->arch == ARCH_LLAMA) {
        if (s->m > m->head_dim / 2)
            FAIL("m=%d exceeds the %d rotation pairs of head_dim=%d (llama splits pairs)", s->m,
                 m->head_dim / 2, m->head_dim);
    } else if (s->m > m->head_dim) {
        FAIL("m=%d exceeds head_dim=%d", s->m, m->head_dim);
    }
    if ((long long)s->n * s->m > m->ffn_hidden)
        FAIL("n*m=%lld exceeds ffn_hidden=%d", (long long)s->n * s->m, m->ffn_hidden);
    if (strategy_seq(s) == 1 && (s->cp != CP_AUTO || s->weights != WEIGHTS_AUTO))
        FAIL("cp and weights only exist with s > 1 (s=1, cp=%s, weights=%s)", cp_name(s->cp), weights_name(s->weights));
    char why[256];
    if (!plan_seq_supported(s, m, why, sizeof why)) FAIL("%s", why);
    if (strategy_seq(s) > 1 && s->weights == WEIGHTS_SHARDED && (long long)s->s * s->n * s->m > m->ffn_hidden)
        FAIL("weights=sharded splits the MLP over s*n*m=%lld ranks, more than ffn_hidden=%d",
             (long long)s->s * s->n * s->m, m->ffn_hidden);
    if (s->scheme == SCHEME_HEAD_ALLTOALL) {
        for (int g = 0; g < s->n; g++) {
            int hb, he;
            split_range(m->heads, s->n, g, &hb, &he);
            if ((he - hb) % s->m != 0)
                FAIL("head-alltoall needs m | heads per group (group %d has %d heads, m=%d)", g, he - hb, s->m);
        }
    }
    if (t && world > t->n_devices)
        FAIL("strategy needs %lld devices, topology %s has %d", world, t->name, t->n_devices);
    return 0;
}

int plan_build_even(attn_plan *p, const attn_model *m, const attn_topology *t,
                    const attn_strategy *s, char *err, size_t errlen) {
    if (plan_build_even_ranks(p, m, t, s, err, errlen) != 0) return -1;
    if (plan_build_groups(p, t) != 0) {
        plan_free(p);
        FAIL("could not build the communication groups (out of memory?)");
    }
    return 0;
}

int plan_build_even_ranks(attn_plan *p, const attn_model *m, const attn_topology *t,
                          const attn_strategy *s, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    if (check_even_rules(m, t, s, err, errlen) != 0) return -1;
    int min_rows = m->workload.batch / s->dp;
    int requested = s->microbatches > 0 ? s->microbatches : m->workload.microbatches;
    if (requested > min_rows)
        FAIL("microbatches=%d exceeds the smallest replica's batch rows=%d", requested, min_rows);
    int mb = plan_resolve_microbatches(requested, min_rows, s->pp);

    p->version = 1;
    p->model = *m;
    if (t) {
        plan_copy_str(p->topology_name, sizeof p->topology_name, t->name);
        plan_copy_str(p->topology_path, sizeof p->topology_path, t->path);
        plan_copy_str(p->topology_sha256, sizeof p->topology_sha256, t->sha256);
    }
    p->strategy = *s;
    p->strategy.s = strategy_seq(s);
    p->strategy.microbatches = mb;
    p->world = strategy_devices(s);
    plan_copy_str(p->objective, sizeof p->objective, "none");
    p->ranks = calloc((size_t)p->world, sizeof *p->ranks);
    if (!p->ranks) FAIL("out of memory for %d ranks", p->world);

    int group_size = m->heads / m->kv_heads; /* query heads per kv head */
    int pairs = m->head_dim / 2;
    for (int r = 0; r < p->world; r++) {
        attn_rank_assign *a = &p->ranks[r];
        a->rank = r;
        int sq = strategy_seq(s);
        a->seg = r % s->m;
        a->head_group = (r / s->m) % s->n;
        a->seq = (r / (s->m * s->n)) % sq;
        a->stage = (r / (s->m * s->n * sq)) % s->pp;
        a->replica = r / (s->m * s->n * sq * s->pp);
        a->device = r;
        a->node = t ? t->devices[r].node : r;
        split_range(m->workload.batch, s->dp, a->replica, &a->batch_begin, &a->batch_end);
        split_range(m->layers, s->pp, a->stage, &a->layer_begin, &a->layer_end);
        split_range(m->heads, s->n, a->head_group, &a->head_begin, &a->head_end);
        plan_kv_range(group_size, a->head_begin, a->head_end, &a->kv_head_begin, &a->kv_head_end);
        if (m->arch == ARCH_LLAMA) {
            int b, e;
            split_range(pairs, s->m, a->seg, &b, &e);
            a->n_dim_ranges = 2;
            a->dim_begin[0] = b;
            a->dim_end[0] = e;
            a->dim_begin[1] = b + pairs;
            a->dim_end[1] = e + pairs;
        } else {
            a->n_dim_ranges = 1;
            split_range(m->head_dim, s->m, a->seg, &a->dim_begin[0], &a->dim_end[0]);
        }
        plan_rank_set_a2a_heads(a, s->scheme, s->m);
        if (sq > 1 && s->weights == WEIGHTS_SHARDED)
            split_range(m->ffn_hidden, sq * s->n * s->m, (a->seq * s->n + a->head_group) * s->m + a->seg,
                        &a->mlp_begin, &a->mlp_end);
        else
            split_range(m->ffn_hidden, s->n * s->m, a->head_group * s->m + a->seg, &a->mlp_begin, &a->mlp_end);
    }
    return 0;
}
#undef FAIL

/* The rank at each coordinate, from the entries' own coordinates; -1 if the entries do not
 * cover the coordinate space exactly once. Caller frees. */
static int *rank_table(const attn_plan *p) {
    const attn_strategy *s = &p->strategy;
    if (p->world < 1 || !p->ranks || s->dp < 1 || s->pp < 1 || s->n < 1 || s->m < 1 ||
        (long long)s->dp * s->pp * strategy_seq(s) * s->n * s->m != p->world)
        return NULL;
    int *at = malloc((size_t)p->world * sizeof *at);
    if (!at) return NULL;
    for (int i = 0; i < p->world; i++) at[i] = -1;
    for (int i = 0; i < p->world; i++) {
        const attn_rank_assign *a = &p->ranks[i];
        if (a->replica < 0 || a->replica >= s->dp || a->stage < 0 || a->stage >= s->pp ||
            a->head_group < 0 || a->head_group >= s->n || a->seg < 0 || a->seg >= s->m || a->seq < 0 ||
            a->seq >= strategy_seq(s))
            goto bad;
        int c = plan_coord_rank(s, a->replica, a->stage, a->seq, a->head_group, a->seg);
        if (at[c] != -1) goto bad;
        at[c] = i;
    }
    return at;
bad:
    free(at);
    return NULL;
}

static void free_groups(attn_group *g, int n) {
    for (int i = 0; i < n; i++) free(g[i].ranks);
    free(g);
}

/* Adds one group whose members are the entries at[coord[0..k)]; 0 ok. */
static int add_group(attn_group *g, attn_group_kind kind, attn_coll coll, const attn_plan *p,
                     const int *at, const int *coords, int k, const attn_topology *t) {
    g->kind = kind;
    g->coll = coll;
    g->n_ranks = k;
    g->link = LINK_SELF;
    g->ranks = malloc((size_t)k * sizeof *g->ranks);
    if (!g->ranks) return -1;
    for (int i = 0; i < k; i++) g->ranks[i] = p->ranks[at[coords[i]]].rank;
    if (t) {
        int *devs = malloc((size_t)k * sizeof *devs);
        if (!devs) return -1;
        for (int i = 0; i < k; i++) {
            devs[i] = p->ranks[at[coords[i]]].device;
            if (devs[i] < 0 || devs[i] >= t->n_devices) {
                free(devs);
                return -1;
            }
        }
        g->link = topology_group_link(t, devs, k);
        free(devs);
    }
    return 0;
}

int plan_build_groups_into(const attn_plan *p, const attn_topology *t, attn_group **out, int *n_out) {
    const attn_strategy *s = &p->strategy;
    *out = NULL;
    *n_out = 0;
    int *at = rank_table(p);
    if (!at) return -1;
    int dp = s->dp, pp = s->pp, sq = strategy_seq(s), n = s->n, m = s->m;
    int sharded = sq > 1 && s->weights == WEIGHTS_SHARDED;
    long long count = 0;
    if (m > 1) count += (long long)dp * pp * sq * n;
    if (n * m > 1) count += (long long)dp * pp * sq;
    if (pp > 1) count += (long long)dp * sq * n * m;
    if (dp > 1) count += dp;
    if (sq > 1) count += (long long)dp * pp * n * m;
    if (sharded) count += (long long)dp * pp;
    attn_group *g = calloc(count ? (size_t)count : 1, sizeof *g);
    int *coords = malloc((size_t)p->world * sizeof *coords);
    int ng = 0, rc = -1;
    if (!g || !coords) goto done;
#define COORD(rep, st, q, hg, sg) plan_coord_rank(s, rep, st, q, hg, sg)
    if (m > 1) {
        attn_coll c = s->scheme == SCHEME_SCORE_ALLREDUCE ? COLL_ALLREDUCE
                    : s->scheme == SCHEME_QK_ALLGATHER    ? COLL_ALLGATHER
                                                          : COLL_ALLTOALL;
        for (int rep = 0; rep < dp; rep++)
            for (int st = 0; st < pp; st++)
                for (int q = 0; q < sq; q++)
                    for (int hg = 0; hg < n; hg++) {
                        for (int sg = 0; sg < m; sg++) coords[sg] = COORD(rep, st, q, hg, sg);
                        if (add_group(&g[ng++], GROUP_SEG, c, p, at, coords, m, t)) goto done;
                    }
    }
    if (n * m > 1)
        for (int rep = 0; rep < dp; rep++)
            for (int st = 0; st < pp; st++)
                for (int q = 0; q < sq; q++) {
                    for (int k = 0; k < n * m; k++) coords[k] = COORD(rep, st, q, 0, 0) + k;
                    if (add_group(&g[ng++], GROUP_STAGE, COLL_ALLREDUCE, p, at, coords, n * m, t)) goto done;
                }
    if (pp > 1)
        for (int rep = 0; rep < dp; rep++)
            for (int q = 0; q < sq; q++)
                for (int hg = 0; hg < n; hg++)
                    for (int sg = 0; sg < m; sg++) {
                        for (int st = 0; st < pp; st++) coords[st] = COORD(rep, st, q, hg, sg);
                        if (add_group(&g[ng++], GROUP_PIPE, COLL_SENDRECV, p, at, coords, pp, t)) goto done;
                    }
    if (dp > 1)
        for (int rep = 0; rep < dp; rep++) {
            int k = pp * sq * n * m;
            for (int i = 0; i < k; i++) coords[i] = COORD(rep, 0, 0, 0, 0) + i;
            if (add_group(&g[ng++], GROUP_REPLICA, COLL_ALLGATHER, p, at, coords, k, t)) goto done;
        }
    /* the sequence axis' groups come after today's, so s = 1 plans list exactly what they did */
    if (sq > 1)
        for (int rep = 0; rep < dp; rep++)
            for (int st = 0; st < pp; st++)
                for (int hg = 0; hg < n; hg++)
                    for (int sg = 0; sg < m; sg++) {
                        for (int q = 0; q < sq; q++) coords[q] = COORD(rep, st, q, hg, sg);
                        attn_coll c = s->cp == CP_ALLGATHER ? COLL_ALLGATHER : COLL_SENDRECV;
                        if (add_group(&g[ng++], GROUP_SEQ, c, p, at, coords, sq, t)) goto done;
                    }
    if (sharded)
        for (int rep = 0; rep < dp; rep++)
            for (int st = 0; st < pp; st++) {
                int k = sq * n * m;
                for (int i = 0; i < k; i++) coords[i] = COORD(rep, st, 0, 0, 0) + i;
                if (add_group(&g[ng++], GROUP_SHARD, COLL_ALLREDUCE, p, at, coords, k, t)) goto done;
            }
#undef COORD
    rc = 0;
done:
    free(at);
    free(coords);
    if (rc != 0) {
        if (g) free_groups(g, ng);
        return -1;
    }
    *out = g;
    *n_out = ng;
    return 0;
}

int plan_build_groups(attn_plan *p, const attn_topology *t) {
    attn_group *g;
    int ng;
    if (plan_build_groups_into(p, t, &g, &ng) != 0) return -1;
    free_groups(p->groups, p->n_groups);
    p->groups = g;
    p->n_groups = ng;
    return 0;
}

void plan_free(attn_plan *p) {
    if (!p) return;
    free(p->ranks);
    p->ranks = NULL;
    free_groups(p->groups, p->n_groups);
    p->groups = NULL;
    p->n_groups = 0;
    if (p->has_predicted) report_free(&p->predicted);
    p->has_predicted = 0;
}

const attn_rank_assign *plan_rank_entry(const attn_plan *p, int r) {
    for (int i = 0; i < p->world; i++)
        if (p->ranks[i].rank == r) return &p->ranks[i];
    return NULL;
}
