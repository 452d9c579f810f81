/* cmd_report.c: `attnplan report PLAN [MEASURED ...] [--alternatives ALT.yaml]
 * [--topology FILE] [--top N] [--force] -o report.html`: one self-contained HTML page about a plan:
 * summary, ranked strategies, time per device by op, memory against capacity, and predicted
 * against measured for each measured file. The alternatives are priced by the cost model on
 * the plan's topology (the path the plan records, or --topology) unless a file is given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "pareto.h"
#include "report_alt.h"
#include "sha256.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnplan report PLAN [MEASURED ...] -o REPORT.html\n"
            "                      [--alternatives ALT.yaml | --topology FILE] [--top N] [--force]\n\n"
            "Writes one self-contained HTML page (inline SVG and CSS; no scripts, nothing fetched):\n"
            "a summary, the ranked strategies (prefill tokens/s and TPOT), time per device by op,\n"
            "memory per device against capacity, and predicted against measured for each MEASURED\n"
            "file (attnrun -o). The alternatives are every strategy for the plan's devices, priced by\n"
            "the cost model on the topology the plan records (--topology FILE overrides it), or the\n"
            "strategies listed in ALT.yaml (docs/report.md). --top N draws the N best (default 10).\n"
            "Each MEASURED file must name this plan file's sha256 and have its rank count, as for\n"
            "attnplan compare; --force reports a measurement of another plan file anyway (flagged).\n"
            "-o - writes the page to stdout.\n"
            "exit codes: 0 written, 1 failure (writing), 2 bad usage or bad input\n");
}

typedef struct report_args {
    const char *plan_path, *out_path, *alt_path, *topology_path;
    int top;
    int force;                   /* report measurements of another plan file (a warning) */
    int n_measured;
    const char **measured_paths;
} report_args;

/* 0 ok, 1 --help printed, -1 bad usage (message printed). */
static int parse_args(int argc, char **argv, report_args *a) {
    memset(a, 0, sizeof *a);
    a->top = 10;
    a->measured_paths = calloc((size_t)(argc > 0 ? argc : 1), sizeof *a->measured_paths);
    if (!a->measured_paths) { fprintf(stderr, "attnplan report: out of memory\n"); return -1; }
    attn_args p;
    attn_args_init(&p, "attnplan report", argc, argv, 1);
    while (attn_args_peek(&p)) {
        const char *s = attn_args_peek(&p);
        if (attn_args_is(&p, "--help") || attn_args_is(&p, "-h")) { usage(stdout); return 1; }
        if (attn_args_is(&p, "--force")) {
            a->force = 1;
            attn_args_next(&p);
        } else if (attn_args_is(&p, "--top")) {
            if (attn_args_int(&p, 1, 50, &a->top) != 0) return -1;
        } else if (attn_args_is(&p, "-o") || attn_args_is(&p, "--output") || attn_args_is(&p, "--alternatives") ||
                   attn_args_is(&p, "--topology")) {
            const char *v = attn_args_value(&p);
            if (!v) return -1;
            if (!strcmp(s, "--alternatives")) a->alt_path = v;
            else if (!strcmp(s, "--topology")) a->topology_path = v;
            else a->out_path = v;
        } else if (attn_args_is_option(&p)) {
            return attn_args_reject(&p);
        } else {
            if (!a->plan_path) a->plan_path = s;
            else a->measured_paths[a->n_measured++] = s;
            attn_args_next(&p);
        }
    }
    if (!a->plan_path || !a->out_path) {
        attn_args_fail(&p, "%s (see --help)", !a->plan_path ? "missing PLAN" : "missing -o REPORT.html");
        return -1;
    }
    if (a->alt_path && a->topology_path) return attn_args_fail(&p, "--alternatives and --topology exclude each other");
    return 0;
}

/* Prices the alternatives on the plan's topology into in. A topology named on the command
 * line that does not load is bad input (2); the one the plan records may have moved since the
 * plan was written, so then the report says so and goes on without alternatives. */
/* The serving front over every strategy and batch on t (search/pareto.c) into *front
 * (malloc'd) and in; a plan without output tokens has none. 0 ok, -1 out of memory. */
static int price_front(const attn_plan *p, const attn_topology *t, report_input *in, report_front_point **front) {
    *front = NULL;
    if (p->model.workload.decode_tokens < 1) return 0;
    cost_options co;
    cost_options_default(&co);
    pareto_limits lim = {0, 0, 0};
    pareto_point *pts;
    int n, priced;
    if (pareto_front(&p->model, t, &co, 0, &lim, &pts, &n, &priced) != 0) return -1;
    *front = calloc((size_t)(n > 0 ? n : 1), sizeof **front);
    if (!*front) {
        free(pts);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        (*front)[i] = (report_front_point){pts[i].user, pts[i].gpu, pts[i].batch, ""};
        strategy_format(&pts[i].strategy, (*front)[i].strategy, sizeof (*front)[i].strategy);
    }
    free(pts);
    in->front = *front, in->n_front = n, in->front_priced = priced;
    return 0;
}

static int price_alternatives(const report_args *a, const attn_plan *p, report_input *in,
                              report_alternative **alt, report_front_point **front, attn_diag *d) {
    const char *topo_path = a->topology_path ? a->topology_path : p->topology_path;
    if (!topo_path[0]) {
        snprintf(in->alt_source, sizeof in->alt_source,
                 "The plan records no topology file, so no alternatives were priced (pass --topology FILE).");
        in->alt_missing = 1;
        return 0;
    }
    attn_topology t;
    attn_diag quiet = *d;
    quiet.quiet = a->topology_path == NULL; /* the recorded path: one warning below instead */
    if (topology_load(topo_path, &t, &quiet) != 0) {
        if (a->topology_path) return ATTN_EXIT_BADINPUT;
        fprintf(stderr, "attnplan report: warning: the plan's topology %s does not load; no alternatives "
                        "(pass --topology FILE)\n", topo_path);
        snprintf(in->alt_source, sizeof in->alt_source,
                 "No alternatives: the topology the plan records (%.400s) did not load; pass --topology FILE.",
                 topo_path);
        in->alt_missing = 1;
        return 0;
    }
    if (!a->topology_path && p->topology_sha256[0] && t.sha256[0] && strcmp(t.sha256, p->topology_sha256))
        fprintf(stderr, "attnplan report: warning: %s changed since the plan was written (sha256 differs)\n",
                topo_path);
    int rc = 0;
    if (p->world < t.n_devices && topology_truncate(&t, p->world) != 0) rc = -1;
    if (rc == 0 && p->world > t.n_devices) {
        fprintf(stderr, "attnplan report: %s has %d devices, the plan uses %d\n", topo_path, t.n_devices, p->world);
        topology_free(&t);
        return ATTN_EXIT_BADINPUT;
    }
    char err[256] = "";
    int n = rc == 0 ? report_alt_price(&p->model, &t, in->rank_key, alt, err, sizeof err) : -1;
    if (n < 0) {
        fprintf(stderr, "attnplan report: %s\n", err[0] ? err : "cannot restrict the topology to the plan's devices");
        topology_free(&t);
        return ATTN_EXIT_FAIL;
    }
    in->alt = *alt;
    in->n_alt = n;
    if (price_front(p, &t, in, front) != 0) {
        fprintf(stderr, "attnplan report: out of memory pricing the serving front\n");
        topology_free(&t);
        return ATTN_EXIT_FAIL;
    }
    snprintf(in->alt_source, sizeof in->alt_source,
             "Alternatives: every strategy for %d devices, even splits priced by the cost model on %.200s (%.250s).",
             p->world, t.name, topo_path);
    topology_free(&t);
    return 0;
}

int cmd_report(int argc, char **argv) {
    report_args a;
    int prc = parse_args(argc, argv, &a);
    if (prc != 0) {
        free(a.measured_paths);
        return prc > 0 ? ATTN_EXIT_OK : ATTN_EXIT_BADINPUT;
    }
    attn_diag d;
    attn_diag_init(&d);
    attn_plan plan;
    memset(&plan, 0, sizeof plan);
    report_alternative *alt = NULL;
    report_front_point *front = NULL;
    report_measured *meas = calloc((size_t)(a.n_measured > 0 ? a.n_measured : 1), sizeof *meas);
    int rc = ATTN_EXIT_OK, loaded = 0;
    report_input in;
    memset(&in, 0, sizeof in);
    if (!meas) { fprintf(stderr, "attnplan report: out of memory\n"); rc = ATTN_EXIT_FAIL; goto done; }
    if (plan_load(a.plan_path, &plan, &d) != 0) { rc = ATTN_EXIT_BADINPUT; goto done; }
    if (!plan.has_predicted || plan.predicted.n_ranks != plan.world) {
        fprintf(stderr, "attnplan report: %s has no predicted section for its %d ranks (write it with attnplan "
                        "price or plan -o)\n", a.plan_path, plan.world);
        rc = ATTN_EXIT_BADINPUT;
        goto done;
    }
    in.plan = &plan;
    in.plan_path = a.plan_path;
    in.rank_key = !strcmp(plan.objective, "tpot")                 ? MET_TPOT_S
                  : !strcmp(plan.objective, "throughput-per-gpu") ? MET_OUTPUT_TOKENS_PER_S_PER_GPU
                                                                  : MET_PREFILL_TOKENS_PER_S;
    in.top = a.top;

    if (a.alt_path) {
        int n = report_alt_load(a.alt_path, in.rank_key, &alt, &d);
        if (n < 0) { rc = ATTN_EXIT_BADINPUT; goto done; }
        in.alt = alt;
        in.n_alt = n;
        snprintf(in.alt_source, sizeof in.alt_source, "Alternatives: from %.480s.", a.alt_path);
    } else if ((rc = price_alternatives(&a, &plan, &in, &alt, &front, &d)) != 0) {
        goto done;
    }

    char plan_sha[65] = "";
    if (sha256_file(a.plan_path, plan_sha) != 0) plan_sha[0] = '\0';
    for (int k = 0; k < a.n_measured; k++) {
        char sha[65] = "";
        meas[k].path = a.measured_paths[k];
        loaded = k + 1; /* report_free is safe on a report that failed to load */
        if (report_load_measured(a.measured_paths[k], &meas[k].report, sha, &d) != 0) {
            rc = ATTN_EXIT_BADINPUT;
            goto done;
        }
        /* the same rules as attnplan compare: the measurement must be of this plan file
         * (--force: a warning, and the page says so) and cover its ranks */
        meas[k].plan_matches = sha[0] && plan_sha[0] ? !strcmp(sha, plan_sha) : -1;
        if (meas[k].plan_matches == 0) {
            fprintf(stderr, "%s: %s: measured on plan sha256 %.12s..., but %s has sha256 %.12s...%s\n",
                    a.measured_paths[k], a.force ? "warning" : "error", sha, a.plan_path, plan_sha,
                    a.force ? "" : " (--force reports it anyway)");
            if (!a.force) { rc = ATTN_EXIT_BADINPUT; goto done; }
        }
        if (meas[k].report.n_ranks != plan.world) {
            fprintf(stderr, "%s: error: %d ranks measured, the plan has %d\n", a.measured_paths[k],
                    meas[k].report.n_ranks, plan.world);
            rc = ATTN_EXIT_BADINPUT;
            goto done;
        }
    }
    in.measured = meas;
    in.n_measured = a.n_measured;
    if (report_html_write(a.out_path, &in, &d) != 0) rc = ATTN_EXIT_FAIL;
done:
    for (int k = 0; k < loaded; k++) report_free(&meas[k].report);
    free(meas);
    free(alt);
    free(front);
    plan_free(&plan);
    free(a.measured_paths);
    return rc;
}
