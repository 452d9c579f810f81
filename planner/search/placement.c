/* placement.c: where ranks go and how a balanced distribution becomes rank shares.
 * Devices fall into classes (node types: identical nodes are interchangeable, so the
 * planner reasons per class, never per physical device). A placement order lists the
 * classes in some order, node-major inside each; rank r (coordinates nested replica >
 * stage > seq > head group > segment, plan_coord_rank) goes to the r-th device of the
 * order, so segment groups and stage groups, the ones with the heaviest collectives, span
 * the fewest nodes, and a seq group spans what its stride of n*m ranks reaches.
 * place_classify then finds the one level at which classes differ (lin.h) and
 * place_apply turns the solver's class totals into batch rows, layers, heads and MLP
 * columns per rank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "search_private.h"

void place_orders_free(place_orders *o) {
    for (int k = 0; k < PLACE_MAX_ORDERS; k++) free(o->dev[k]);
    free(o->cls_of_dev);
    memset(o, 0, sizeof *o);
}

/* All permutations of 0..n-1 (n <= 3) into perm[][4]; returns how many. */
static int permutations(int n, int perm[PLACE_MAX_ORDERS][4]) {
    static const int p3[6][3] = {{0, 1, 2}, {1, 0, 2}, {0, 2, 1}, {2, 0, 1}, {1, 2, 0}, {2, 1, 0}};
    static const int p2[2][2] = {{0, 1}, {1, 0}};
    if (n == 3) {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 3; j++) perm[i][j] = p3[i][j];
        return 6;
    }
    if (n == 2) {
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) perm[i][j] = p2[i][j];
        return 2;
    }
    /* one class, or more than three: the topology's class order and its reverse */
    for (int j = 0; j < n && j < 4; j++) perm[0][j] = j, perm[1][j] = n - 1 - j;
    return n == 1 ? 1 : 2;
}

int place_orders_build(const attn_topology *t, place_orders *o) {
    memset(o, 0, sizeof *o);
    int nd = t->n_devices;
    o->cls_of_dev = malloc((size_t)nd * sizeof *o->cls_of_dev);
    int *cls_of_type = malloc((size_t)(t->n_node_types > 0 ? t->n_node_types : 1) * sizeof *cls_of_type);
    int type_of_cls[64];
    if (!o->cls_of_dev || !cls_of_type) goto oom;
    for (int i = 0; i < t->n_node_types; i++) cls_of_type[i] = -1;
    for (int d = 0; d < nd; d++) {
        int ty = t->devices[d].node_type;
        if (cls_of_type[ty] < 0) {
            if (o->n_classes < 64) type_of_cls[o->n_classes] = ty;
            cls_of_type[ty] = o->n_classes++;
        }
        o->cls_of_dev[d] = cls_of_type[ty];
    }
    free(cls_of_type);
    cls_of_type = NULL;
    int perm[PLACE_MAX_ORDERS][4];
    int C = o->n_classes;
    o->n_orders = C <= 4 ? permutations(C, perm) : 1;
    for (int k = 0; k < o->n_orders; k++) {
        o->dev[k] = malloc((size_t)nd * sizeof *o->dev[k]);
        if (!o->dev[k]) goto oom;
        if (C > 4) { /* too many classes to reason about: the topology's own order */
            for (int d = 0; d < nd; d++) o->dev[k][d] = d;
            snprintf(o->name[k], sizeof o->name[k], "topology order");
            continue;
        }
        int at = 0;
        size_t len = 0;
        o->name[k][0] = '\0';
        for (int j = 0; j < C; j++) {
            int c = perm[k][j];
            for (int d = 0; d < nd; d++)
                if (o->cls_of_dev[d] == c) o->dev[k][at++] = d;
            if (C > 1 && len < sizeof o->name[k])
                len += (size_t)snprintf(o->name[k] + len, sizeof o->name[k] - len, "%s%s", j ? ", " : "",
                                        t->node_types[type_of_cls[c]].name);
        }
        if (C == 1) snprintf(o->name[k], sizeof o->name[k], "node-major");
    }
    return 0;
oom:
    free(cls_of_type);
    place_orders_free(o);
    return -1;
}

void place_map_free(place_map *pm) {
    free(pm->part_class);
    memset(pm, 0, sizeof *pm);
}

/* The class of devices dev[b..b+len) or -1 when they mix classes. */
static int run_class(const place_orders *o, const int *dev, int b, int len) {
    int c = o->cls_of_dev[dev[b]];
    for (int i = 1; i < len; i++)
        if (o->cls_of_dev[dev[b + i]] != c) return -1;
    return c;
}

/* Maps each part's device class to a lin class (first seen first); -1 if too many. */
static int assign_lin_classes(place_map *pm, lin_cand *lc, const int *part_dev_class, int n_parts) {
    lc->n_classes = 0;
    for (int i = 0; i < n_parts; i++) {
        int c = part_dev_class[i], k;
        for (k = 0; k < lc->n_classes; k++)
            if (pm->lin_cls_type[k] == c) break;
        if (k == lc->n_classes) {
            if (k == LIN_MAX_CLASSES) return -1;
            pm->lin_cls_type[k] = c;
            lc->cls[k].parts = 0;
            lc->n_classes++;
        }
        pm->part_class[i] = k;
        lc->cls[k].parts++;
    }
    return 0;
}

static int largest_unit(int total, int parts) {
    static const int units[] = {256, 128, 64, 32, 16, 8};
    for (int i = 0; i < 6; i++)
        if (total % units[i] == 0 && total / units[i] >= parts) return units[i];
    return 1;
}

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

int place_classify(const attn_model *md, const attn_strategy *s, const place_orders *o, int k,
                   place_map *pm, lin_cand *lc) {
    memset(pm, 0, sizeof *pm);
    memset(lc, 0, sizeof *lc);
    lc->strategy = *s;
    lc->order = k;
    lc->balance = pm->balance = LIN_EVEN;
    const int *dev = o->dev[k];
    int nm = s->n * s->m, blocks = s->dp * s->pp, world = blocks * nm;
    /* s > 1: the even split, priced exactly by the cost model and ranked beside the balanced
     * candidates (both solvers read its pre_0/dec_0); balancing rows, layers or shares of a
     * stage with a sequence axis is not in the linear model (docs/planner.md) */
    if (strategy_seq(s) > 1) return 0;
    if (run_class(o, dev, 0, world) >= 0) return 0; /* one class: even */
    int *bc = malloc((size_t)(blocks + s->n + s->m + 1) * sizeof *bc);
    int maxparts = s->dp > s->pp ? s->dp : s->pp;
    if (s->n > maxparts) maxparts = s->n;
    if (s->m > maxparts) maxparts = s->m;
    pm->part_class = malloc((size_t)maxparts * sizeof *pm->part_class);
    if (!bc || !pm->part_class) {
        free(bc);
        place_map_free(pm);
        return -1;
    }
    int *hg = bc + blocks;   /* head-group classes of block 0 */
    int *sg = hg + s->n;     /* segment classes of head group 0 */
    int all_pure = 1;
    for (int b = 0; b < blocks; b++) {
        bc[b] = run_class(o, dev, b * nm, nm);
        if (bc[b] < 0) all_pure = 0;
    }
    lin_balance bal = LIN_EVEN;
    int rc = 0;
    if (all_pure) {
        int replicas_pure = 1, same_stages = 1;
        for (int r = 0; r < s->dp; r++)
            for (int st = 0; st < s->pp; st++) {
                if (bc[r * s->pp + st] != bc[r * s->pp]) replicas_pure = 0;
                if (bc[r * s->pp + st] != bc[st]) same_stages = 0;
            }
        if (replicas_pure) {
            int *rcls = malloc((size_t)s->dp * sizeof *rcls);
            if (!rcls) rc = -1;
            for (int r = 0; rc == 0 && r < s->dp; r++) rcls[r] = bc[r * s->pp];
            if (rc == 0 && assign_lin_classes(pm, lc, rcls, s->dp) == 0) {
                bal = LIN_ROWS;
                pm->n_parts = s->dp;
                pm->row_unit = 1;
                lc->units = md->workload.batch;
                if (s->pp > 1) { /* rows move in whole microbatch rounds, or keep the microbatches */
                    int req = s->microbatches > 0 ? s->microbatches : md->workload.microbatches;
                    int M = plan_resolve_microbatches(req, md->workload.batch / s->dp, s->pp);
                    if (md->workload.batch % M == 0) pm->row_unit = M, lc->units = md->workload.batch / M;
                    else lc->min_units = M;
                }
            }
            free(rcls);
        } else if (same_stages && assign_lin_classes(pm, lc, bc, s->pp) == 0) {
            bal = LIN_LAYERS;
            pm->n_parts = s->pp;
            lc->units = md->layers;
        }
    } else {
        int ok = 1;
        for (int g = 0; g < s->n && ok; g++) {
            hg[g] = run_class(o, dev, g * s->m, s->m);
            if (hg[g] < 0) ok = 0;
        }
        for (int b = 1; b < blocks && ok; b++)
            for (int g = 0; g < s->n && ok; g++)
                if (run_class(o, dev, b * nm + g * s->m, s->m) != hg[g]) ok = 0;
        int uh = (md->kv_heads < md->heads && s->n <= md->kv_heads) ? md->heads / md->kv_heads : 1;
        if (s->scheme == SCHEME_HEAD_ALLTOALL) uh = uh / gcd(uh, s->m) * s->m;
        if (ok && md->heads % uh == 0 && md->heads / uh >= s->n && assign_lin_classes(pm, lc, hg, s->n) == 0) {
            bal = LIN_SHARES;
            pm->n_parts = s->n;
            pm->head_unit = uh;
            pm->mlp_unit = largest_unit(md->ffn_hidden, nm);
            lc->units = md->heads / uh;
            lc->f_units = md->ffn_hidden / pm->mlp_unit;
            for (int c = 0; c < lc->n_classes; c++) lc->cls[c].devices = s->m;
        }
        /* head groups that mix classes, all the same way: balance the segments' widths
         * (not for head-alltoall, whose core works on whole heads) */
        int segs = !ok && s->m > 1 && s->scheme != SCHEME_HEAD_ALLTOALL;
        for (int j = 0; j < s->m && segs; j++) sg[j] = o->cls_of_dev[dev[j]];
        for (int g = 0; g < blocks * s->n && segs; g++)
            for (int j = 0; j < s->m && segs; j++)
                if (o->cls_of_dev[dev[g * s->m + j]] != sg[j]) segs = 0;
        int span = md->arch == ARCH_LLAMA ? md->head_dim / 2 : md->head_dim; /* pairs or dims */
        int ud = md->arch == ARCH_LLAMA ? 4 : 8; /* 8 dimensions (4 pairs) for tensor cores */
        if (span % ud != 0 || span / ud < s->m) ud = 1;
        if (segs && span / ud >= s->m && assign_lin_classes(pm, lc, sg, s->m) == 0) {
            bal = LIN_SEGS;
            pm->n_parts = s->m;
            pm->dim_unit = ud;
            pm->mlp_unit = largest_unit(md->ffn_hidden, nm);
            lc->units = span / ud;
            lc->f_units = md->ffn_hidden / pm->mlp_unit;
            for (int c = 0; c < lc->n_classes; c++) lc->cls[c].devices = s->n;
        }
    }
    free(bc);
    if (bal != LIN_EVEN) {
        int parts = 0;
        for (int c = 0; c < lc->n_classes; c++) parts += lc->cls[c].parts;
        if (parts > lc->units) bal = LIN_EVEN;
    }
    if (bal == LIN_EVEN) {
        lc->n_classes = 0;
        lc->units = lc->f_units = 0;
        free(pm->part_class);
        pm->part_class = NULL;
        pm->n_parts = 0;
    }
    lc->balance = pm->balance = bal;
    return rc;
}

int place_even_plan(const attn_model *m, const attn_topology *t, const attn_strategy *s,
                    const place_orders *o, int k, int with_groups, attn_plan *p, char *err, size_t errlen) {
    if (plan_build_even_ranks(p, m, t, s, err, errlen) != 0) return -1;
    for (int r = 0; r < p->world; r++) {
        int d = o->dev[k][r]; /* ranks are in coordinate order in an even plan */
        p->ranks[r].device = d;
        p->ranks[r].node = t->devices[d].node;
    }
    if (with_groups && plan_build_groups(p, t) != 0) {
        plan_free(p);
        snprintf(err, errlen, "out of memory building the communication groups");
        return -1;
    }
    return 0;
}

/* Splits each class's total over its parts (in part order, remainders first) and writes
 * the running [begin, end) of every part, in units times `unit`. */
static int split_by_class(const place_map *pm, const int *total, int n_classes, int per_part_devices,
                          int unit, int *begin, int *end) {
    int seen[LIN_MAX_CLASSES] = {0}, count[LIN_MAX_CLASSES] = {0};
    for (int i = 0; i < pm->n_parts; i++) count[pm->part_class[i]] += per_part_devices;
    int at = 0;
    for (int i = 0; i < pm->n_parts; i++) {
        int c = pm->part_class[i];
        if (c < 0 || c >= n_classes) return -1;
        for (int j = 0; j < per_part_devices; j++) {
            int q = total[c] / count[c], r = total[c] % count[c];
            int u = q + (seen[c] < r ? 1 : 0);
            seen[c]++;
            if (u < 1) return -1;
            begin[i * per_part_devices + j] = at * unit;
            at += u;
            end[i * per_part_devices + j] = at * unit;
        }
    }
    return 0;
}

/* SEGS: MLP units of each class spread over that class's devices, in (head group, segment)
 * order; the segment's class is the device's. */
static int split_mlp_by_segment(const place_map *pm, const int *total, int n_classes, int n, int m, int unit,
                                int *begin, int *end) {
    int seen[LIN_MAX_CLASSES] = {0}, count[LIN_MAX_CLASSES] = {0};
    for (int j = 0; j < m; j++) count[pm->part_class[j]] += n;
    int at = 0;
    for (int g = 0; g < n; g++)
        for (int j = 0; j < m; j++) {
            int c = pm->part_class[j];
            if (c < 0 || c >= n_classes) return -1;
            int u = total[c] / count[c] + (seen[c] < total[c] % count[c] ? 1 : 0);
            seen[c]++;
            if (u < 1) return -1;
            begin[g * m + j] = at * unit;
            at += u;
            end[g * m + j] = at * unit;
        }
    return 0;
}

int place_apply(attn_plan *p, const attn_topology *t, const place_map *pm, const lin_cand *lc,
                const lin_solution *sol, char *err, size_t errlen) {
    (void)t;
    if (pm->balance == LIN_EVEN) return 0;
    const attn_model *md = &p->model;
    const attn_strategy *s = &p->strategy;
    int n = pm->n_parts + s->n * s->m; /* parts, and one MLP share per device of a block */
    int *b = malloc((size_t)n * 2 * sizeof *b);
    int *fb = malloc((size_t)n * 2 * sizeof *fb);
    if (!b || !fb) {
        free(b), free(fb);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int *e = b + n, *fe = fb + n, rc = 0;
    int unit = pm->balance == LIN_SHARES ? pm->head_unit
             : pm->balance == LIN_SEGS   ? pm->dim_unit
             : pm->balance == LIN_ROWS && pm->row_unit > 1 ? pm->row_unit : 1;
    if (split_by_class(pm, sol->X, lc->n_classes, 1, unit, b, e) != 0 ||
        (pm->balance == LIN_SHARES && split_by_class(pm, sol->XF, lc->n_classes, s->m, pm->mlp_unit, fb, fe) != 0) ||
        (pm->balance == LIN_SEGS &&
         split_mlp_by_segment(pm, sol->XF, lc->n_classes, s->n, s->m, pm->mlp_unit, fb, fe) != 0)) {
        snprintf(err, errlen, "the distribution leaves a part without work");
        rc = -1;
    }
    int min_rows = md->workload.batch;
    for (int r = 0; rc == 0 && r < p->world; r++) {
        attn_rank_assign *a = &p->ranks[r];
        int j = a->head_group * s->m + a->seg;
        if (pm->balance == LIN_ROWS) {
            a->batch_begin = b[a->replica], a->batch_end = e[a->replica];
            if (e[a->replica] - b[a->replica] < min_rows) min_rows = e[a->replica] - b[a->replica];
        } else if (pm->balance == LIN_LAYERS) {
            a->layer_begin = b[a->stage], a->layer_end = e[a->stage];
        } else if (pm->balance == LIN_SEGS) { /* pair ranges for llama (rotate-half), else dims */
            int half = md->head_dim / 2;
            a->dim_begin[0] = b[a->seg], a->dim_end[0] = e[a->seg];
            a->n_dim_ranges = md->arch == ARCH_LLAMA ? 2 : 1;
            if (md->arch == ARCH_LLAMA) a->dim_begin[1] = b[a->seg] + half, a->dim_end[1] = e[a->seg] + half;
            a->mlp_begin = fb[j], a->mlp_end = fe[j];
        } else {
            int g = md->heads / md->kv_heads;
            a->head_begin = b[a->head_group], a->head_end = e[a->head_group];
            plan_kv_range(g, a->head_begin, a->head_end, &a->kv_head_begin, &a->kv_head_end);
            plan_rank_set_a2a_heads(a, s->scheme, s->m);
            a->mlp_begin = fb[j], a->mlp_end = fe[j];
        }
    }
    if (rc == 0 && pm->balance == LIN_ROWS) { /* keep the even split's microbatches when they fit */
        int req = lc->strategy.microbatches > 0 ? lc->strategy.microbatches : md->workload.microbatches;
        int keep = pm->row_unit > 1 ? pm->row_unit : lc->min_units;
        p->strategy.microbatches = keep > 1 && keep <= min_rows ? keep : plan_resolve_microbatches(req, min_rows, s->pp);
    }
    free(b), free(fb);
    return rc;
}
