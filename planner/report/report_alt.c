/* report_alt.c: the ranked alternatives `attnplan report` draws beside the plan: every
 * strategy for the plan's device count priced by the cost model on the plan's topology
 * (enumerate_and_price, the same list as `attnplan plan --all`), or the strategies of an
 * alternatives file written by hand or by another tool (format in docs/report.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enumerate.h"
#include "report_alt.h"
#include "ytree.h"

int report_alt_from_candidates(const plan_candidate *c, int n, report_alternative **out) {
    *out = calloc((size_t)(n > 0 ? n : 1), sizeof **out);
    if (!*out) return -1;
    for (int i = 0; i < n; i++) {
        report_alternative *a = &(*out)[i];
        a->parsed = c[i].strategy;
        report_strategy_label(&c[i].strategy, a->strategy, sizeof a->strategy);
        a->status = c[i].status == CAND_OK ? REPORT_ALT_OK : c[i].status == CAND_NOFIT ? REPORT_ALT_NOFIT
                                                                                        : REPORT_ALT_INVALID;
        for (int k = 0; k < MET_COUNT; k++) a->metric[k] = c[i].metric[k];
        a->shortfall_bytes = c[i].shortfall_bytes;
        snprintf(a->reason, sizeof a->reason, "%s", c[i].reason);
    }
    return n;
}

int report_alt_price(const attn_model *m, const attn_topology *t, attn_metric key, report_alternative **out,
                     char *err, size_t errlen) {
    cost_options o;
    cost_options_default(&o);
    plan_candidate *c = NULL;
    int n = enumerate_and_price(m, t, &o, 0, &c);
    if (n < 0) {
        snprintf(err, errlen, "pricing the alternatives failed (out of memory)");
        free(c);
        return -1;
    }
    enumerate_rank_candidates(c, n, key);
    int rc = report_alt_from_candidates(c, n, out);
    free(c);
    if (rc < 0) snprintf(err, errlen, "out of memory");
    return rc;
}

/* Best first: fitting by key (its direction), then not fitting by shortfall, then invalid. */
static attn_metric sort_key;
static int cmp_alt(const void *pa, const void *pb) {
    const report_alternative *a = pa, *b = pb;
    if (a->status != b->status) return a->status < b->status ? -1 : 1;
    double x, y;
    if (a->status == REPORT_ALT_OK) {
        x = a->metric[sort_key];
        y = b->metric[sort_key];
        if (attn_metric_table[sort_key].higher_is_better) { double t = x; x = y; y = t; }
    } else if (a->status == REPORT_ALT_NOFIT) {
        x = a->shortfall_bytes;
        y = b->shortfall_bytes;
    } else return 0;
    if (isnan(x) != isnan(y)) return isnan(x) ? 1 : -1;
    return x < y ? -1 : x > y ? 1 : 0;
}

void report_alt_sort(report_alternative *a, int n, attn_metric key) {
    sort_key = key;
    if (n > 1) qsort(a, (size_t)n, sizeof *a, cmp_alt);
}

static int read_one(const yt_doc *doc, const yt_node *item, report_alternative *a, attn_diag *d) {
    static const char *const allowed[] = {"strategy", "fits", "shortfall_bytes", "reason",
                                          "prefill_tokens_per_s", "ttft_s", "tpot_s", "decode_tokens_per_s",
                                          "peak_memory_bytes", "comm_fraction", NULL};
    if (yt_expect(doc, item, YT_MAP, "an alternative (a map)", d) != 0) return -1;
    if (yt_check_keys(doc, item, allowed, d) != 0) return -1;
    memset(a, 0, sizeof *a);
    for (int k = 0; k < MET_COUNT; k++) a->metric[k] = NAN;
    if (yt_str(doc, item, "strategy", 1, a->strategy, sizeof a->strategy, d) != 0) return -1;
    char err[160];
    if (strategy_parse(a->strategy, &a->parsed, err, sizeof err) != 0) {
        const yt_node *s = yt_get(item, "strategy");
        diag_error(d, doc->file, s ? s->line : item->line, s ? s->col : item->col, "%s", err);
        return -1;
    }
    char fits[8] = "true";
    if (yt_str(doc, item, "fits", 0, fits, sizeof fits, d) != 0) return -1;
    if (strcmp(fits, "true") && strcmp(fits, "false")) {
        const yt_node *f = yt_get(item, "fits");
        diag_error(d, doc->file, f->line, f->col, "fits: expected true or false");
        return -1;
    }
    a->status = fits[0] == 't' ? REPORT_ALT_OK : REPORT_ALT_NOFIT;
    if (yt_num(doc, item, "shortfall_bytes", 0, 0, 1e30, &a->shortfall_bytes, d) != 0) return -1;
    if (yt_str(doc, item, "reason", 0, a->reason, sizeof a->reason, d) != 0) return -1;
    for (int k = 0; k < MET_COUNT; k++) {
        double v = NAN;
        int required = k == MET_PREFILL_TOKENS_PER_S || k == MET_TPOT_S;
        if (yt_num(doc, item, attn_metric_table[k].key, required, 0, 1e30, &v, d) != 0) return -1;
        a->metric[k] = v;
    }
    return 0;
}

int report_alt_load(const char *path, attn_metric key, report_alternative **out, attn_diag *d) {
    yt_doc doc;
    *out = NULL;
    if (yt_load_file(path, &doc, d) != 0) return -1;
    static const char *const top_keys[] = {"alternatives", NULL};
    int n = -1;
    const yt_node *list = yt_get(doc.root, "alternatives");
    if (yt_expect(&doc, doc.root, YT_MAP, "a map with `alternatives:`", d) != 0 ||
        yt_check_keys(&doc, doc.root, top_keys, d) != 0)
        goto done;
    if (!list) {
        diag_error(d, path, doc.root->line, doc.root->col, "missing `alternatives:` (a list of strategies)");
        goto done;
    }
    if (yt_expect(&doc, list, YT_SEQ, "a list of strategies", d) != 0) goto done;
    if (list->n > 100000) {
        diag_error(d, path, list->line, list->col, "too many alternatives (%zu; at most 100000)", list->n);
        goto done;
    }
    *out = calloc(list->n ? list->n : 1, sizeof **out);
    if (!*out) {
        diag_plain(d, "attnplan report: out of memory");
        goto done;
    }
    for (size_t i = 0; i < list->n; i++)
        if (read_one(&doc, list->vals[i], &(*out)[i], d) != 0) goto done;
    n = (int)list->n;
    report_alt_sort(*out, n, key);
done:
    if (n < 0) {
        free(*out);
        *out = NULL;
    }
    yt_free(&doc);
    return n;
}
