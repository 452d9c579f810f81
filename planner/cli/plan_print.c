/* plan_print.c: what `attnplan plan` prints for people (the default branch; the result
 * comes from planner_run, planner/search/). The choice with the program's figure beside the
 * full cost model's, the ranked alternatives, the seed's baseline TP8 x PP2, why the winner
 * wins (which term dominates: compute, memory traffic, communication, pipeline bubble), the
 * rejected structures with the reason, and, when nothing fits, the smallest shortfall and
 * what would make it fit. What these rest on is computed in search/planner.c. */
#include <math.h>
#include <stdio.h>
#include "plan_print.h"

static const char *const term_names[4] = {"compute", "memory traffic", "communication", "pipeline bubble"};

static void print_terms(const char *label, const planner_alt *a, int ph) {
    double tot = 0;
    for (int j = 0; j < 4; j++) tot += a->terms[ph][j];
    printf("  %-34s", label);
    for (int j = 0; j < 4; j++) {
        if (ph == PHASE_DECODE && j == 3) continue;
        printf(" %s %4.1f%%%s", term_names[j], tot > 0 ? 100 * a->terms[ph][j] / tot : 0, j < (ph ? 2 : 3) ? "," : "");
    }
    printf("\n");
}

static void fmt_strategy(const attn_strategy *s, char *buf, size_t len) { strategy_format(s, buf, len); }

/* The objective's figure as printed: its name, unit and scale from seconds. */
static const char *obj_label(lin_objective o) { return o == OBJ_TPOT ? "tpot" : o == OBJ_PER_GPU ? "e2e latency" : "ttft"; }
static const char *obj_unit(lin_objective o) { return o == OBJ_TPOT ? "ms" : "s"; }
static double obj_scale(lin_objective o) { return o == OBJ_TPOT ? 1e3 : 1; }

/* One sentence: by how much a beats b, and the term that makes most of the difference. */
static void compare_line(const char *what, const planner_alt *a, const planner_alt *b, lin_objective obj) {
    int ph = obj == OBJ_TPOT ? PHASE_DECODE : PHASE_PREFILL;
    double va = planner_alt_objective(a, obj), vb = planner_alt_objective(b, obj);
    double best;
    int k = planner_alt_largest_saving(a, b, ph, &best);
    char s[128];
    fmt_strategy(&b->strategy, s, sizeof s);
    printf("  vs %s %s: %s %.4g %s vs %.4g %s (%.1f%% %s)", what, s, obj_label(obj), va * obj_scale(obj), obj_unit(obj),
           vb * obj_scale(obj), obj_unit(obj), vb > 0 ? 100 * fabs(vb - va) / vb : 0, va <= vb ? "faster" : "slower");
    if (best > 0) printf("; the largest saving is %s, %.3g ms less on the critical device", term_names[k], best * 1e3);
    else if (b->strategy.pp > 1 && va <= vb)
        printf("; its critical device is lighter, but its %d pipeline stages add up", b->strategy.pp);
    printf("\n");
}

static void print_alt_row(int rank, const planner_alt *a, lin_objective obj, int mixed) {
    char s[128];
    fmt_strategy(&a->strategy, s, sizeof s);
    int ph = obj == OBJ_TPOT ? PHASE_DECODE : PHASE_PREFILL;
    double prog = a->program_obj_s;
    printf("%4d  %-44s", rank, s);
    static const char *const short_names[LIN_BALANCE_COUNT] = {"even", "rows", "layers", "heads+mlp", "dims+mlp"};
    if (mixed) printf(" %-18.18s %-9s", a->order_name, short_names[a->balance]);
    printf(" %10.4g %13.0f %9.4g %9.4g %6.1f  %s\n", prog, a->metric[MET_PREFILL_TOKENS_PER_S], a->metric[MET_TTFT_S],
           a->metric[MET_TPOT_S] * 1e3, 100 * a->peak_mem_fraction, term_names[planner_alt_dominant(a, ph)]);
}

/* A target and how much room the choice leaves under it: (target - value) / target. */
static void print_margin(const char *what, double v, double target, double scale, const char *unit) {
    if (target <= 0) return;
    printf("  target: %s %.4g %s <= %.4g %s (margin %.0f%%)\n", what, v * scale, unit, target * scale, unit,
           100 * (target - v) / target);
}

static void print_rejected(const planner_result *r) {
    if (r->n_rejected == 0) return;
    printf("\nrejected: %d structures (%d invalid, %d do not fit, %d violate a limit)\n", r->n_rejected, r->n_invalid,
           r->n_nofit, r->n_limit);
    int shown = 0;
    for (int kind = REJ_NOFIT; kind >= REJ_INVALID; kind = kind == REJ_NOFIT ? REJ_LIMIT : kind == REJ_LIMIT ? REJ_INVALID : -1) {
        int n = 0;
        for (int i = 0; i < r->n_rejected; i++) {
            if ((int)r->rejected[i].kind != kind) continue;
            if (n++ >= 6) continue;
            char s[128];
            fmt_strategy(&r->rejected[i].strategy, s, sizeof s);
            printf("  %-44s %s\n", s, r->rejected[i].reason);
            shown++;
        }
        if (n > 6) printf("  ... and %d more %s\n", n - 6, kind == REJ_NOFIT ? "that do not fit" : kind == REJ_LIMIT ? "over a limit" : "invalid");
    }
    (void)shown;
}

static void print_nofit(const attn_topology *t, const attn_model *m, const planner_options *o, const planner_result *r) {
    if (r->n_limit > 0 && r->min_limit_tpot_s <= 0) { /* --max-ttft or --max-latency */
        fprintf(stderr, "attnplan plan: no plan meets the targets (%s%s%s): %d structures fit but miss one (see rejected);\n"
                "  relax a target, or give more devices or a smaller batch\n",
                o->max_tpot_s > 0 ? "--max-tpot " : "", o->max_ttft_s > 0 ? "--max-ttft " : "",
                o->max_e2e_s > 0 ? "--max-latency" : "", r->n_limit);
        return;
    }
    if (r->n_limit > 0 && r->min_limit_tpot_s > 0) {
        char s[128];
        fmt_strategy(&r->fastest, s, sizeof s);
        fprintf(stderr, "attnplan plan: no plan meets --max-tpot %.4g ms: %d structures fit but are slower; the fastest, %s,\n"
                "  has tpot %.4g ms at its even split: relax --max-tpot to at least that\n", o->max_tpot_s * 1e3,
                r->n_limit, s, r->min_limit_tpot_s * 1e3);
        return;
    }
    fprintf(stderr, "attnplan plan: no plan fits: %s\n", r->message);
    if (r->min_shortfall_bytes > 0) {
        char s[128];
        fmt_strategy(&r->closest, s, sizeof s);
        double allowed = planner_allowed_memory(t, o->max_memory_fraction);
        fprintf(stderr, "  the closest, %s, is %.2f GB over on its fullest device (%.1f GB allowed per device)\n", s,
                r->min_shortfall_bytes / 1e9, allowed / 1e9);
        fprintf(stderr, "  to make it fit: devices with at least %.1f GB each", (allowed + r->min_shortfall_bytes) / 1e9);
        if (isfinite(allowed) && allowed > 0)
            fprintf(stderr, "; or more devices (memory per device falls roughly in proportion: about %d devices)",
                    (int)ceil(t->n_devices * (allowed + r->min_shortfall_bytes) / allowed));
        if (r->fit_batch > 0) fprintf(stderr, "; or a smaller batch (--batch %d fits with %s)", r->fit_batch, s);
        else if (m->workload.batch > 1) fprintf(stderr, "; a smaller batch alone does not make it fit");
        if (o->max_memory_fraction < 1) fprintf(stderr, "; or a larger --max-memory-fraction");
        fprintf(stderr, "\n");
    }
}

int plan_print_result(const attn_model *m, const attn_topology *t, const planner_options *o, const planner_result *r,
                      double secs) {
    const attn_workload *w = &m->workload;
    printf("%s on %s (%d devices): batch %d, seq_len %d, decode_tokens %d, %s\n", m->name, t->name, t->n_devices,
           w->batch, w->seq_len, w->decode_tokens, dtype_name(m->dtype));
    printf("objective: %s; memory <= %.0f%% of each device",
           o->objective == OBJ_TPOT      ? "decode step latency (tpot)"
           : o->objective == OBJ_PER_GPU ? "output tokens/s per GPU (least e2e latency)"
                                         : "prefill throughput (ttft)",
           100 * (o->max_memory_fraction > 0 ? o->max_memory_fraction : 1));
    if (o->max_tpot_s > 0) printf("; tpot <= %.4g ms", o->max_tpot_s * 1e3);
    if (o->max_ttft_s > 0) printf("; ttft <= %.4g s", o->max_ttft_s);
    if (o->max_e2e_s > 0) printf("; e2e latency <= %.4g s", o->max_e2e_s);
    printf("\n");
    if (r->status == PLANNER_BAD_INPUT || r->status == PLANNER_ERROR) {
        fprintf(stderr, "attnplan plan: %s\n", r->message);
        return r->status == PLANNER_BAD_INPUT ? ATTN_EXIT_BADINPUT : ATTN_EXIT_FAIL;
    }
    if (r->status == PLANNER_NOTHING_FITS) {
        print_rejected(r);
        print_nofit(t, m, o, r);
        return ATTN_EXIT_FAIL;
    }
    int mixed = !topology_homogeneous(t);
    char s[128];
    fmt_strategy(&r->best.strategy, s, sizeof s);
    printf("search: %d candidates (structure x placement order) priced and linearized, %s in %.2f s\n", r->n_cands,
           r->exhaustive ? "exhaustive search" : "GLPK program", secs);
    printf("\nchosen: %s\n", s);
    printf("  placement: %s; distribution: %s\n", r->best.order_name,
           r->best.balance == LIN_EVEN ? "even" : lin_balance_name(r->best.balance));
    printf("  program (linear model): ttft %.6g s, tpot %.6g ms%s\n", r->best.program_pre_s, r->best.program_dec_s * 1e3,
           r->refined ? " (its own distribution)" : "");
    printf("  re-priced (cost model): prefill %.0f tokens/s, ttft %.6g s, tpot %.6g ms, decode %.0f tokens/s,\n"
           "                          peak memory %.2f GB (%.1f%% of the device), communication %.1f%%\n",
           r->best.metric[MET_PREFILL_TOKENS_PER_S], r->best.metric[MET_TTFT_S], r->best.metric[MET_TPOT_S] * 1e3,
           r->best.metric[MET_DECODE_TOKENS_PER_S], r->best.metric[MET_PEAK_MEMORY_BYTES] / 1e9,
           100 * r->best.peak_mem_fraction, 100 * r->best.metric[MET_COMM_FRACTION]);
    printf("  serving: e2e latency %.6g s, %.6g output tokens/s per GPU, %.6g tokens/s per user\n",
           r->best.metric[MET_E2E_LATENCY_S], r->best.metric[MET_OUTPUT_TOKENS_PER_S_PER_GPU],
           r->best.metric[MET_TOKENS_PER_S_PER_USER]);
    print_margin("tpot", r->best.metric[MET_TPOT_S], o->max_tpot_s, 1e3, "ms");
    print_margin("ttft", r->best.metric[MET_TTFT_S], o->max_ttft_s, 1, "s");
    print_margin("e2e latency", r->best.metric[MET_E2E_LATENCY_S], o->max_e2e_s, 1, "s");
    if (r->proven_optimal) printf("  proven optimal (for the program's linear model)\n");
    else if (isfinite(r->gap))
        printf("  NOT proven optimal: the solver stopped at its time limit (%.3g s), gap %.3g%%\n", o->time_limit_s, 100 * r->gap);
    else
        printf("  NOT proven optimal: the solver stopped at its time limit (%.3g s), gap unknown\n", o->time_limit_s);
    if (r->note[0]) printf("  note: %s\n", r->note);
    if (r->n_ties > 0) printf("  the program had several equal optima; re-priced, the cost model prefers this one\n");
    if (r->n_neighbours > 0 && r->refined)
        printf("  %d distribution neighbours re-priced with the cost model: one beat the program's distribution\n"
               "  (%s %.6g -> %.6g %s) and replaced it; the figures above are the replacement's\n",
               r->n_neighbours, obj_label(o->objective), r->unrefined_s * obj_scale(o->objective),
               planner_alt_objective(&r->best, o->objective) * obj_scale(o->objective), obj_unit(o->objective));
    else if (r->n_neighbours > 0)
        printf("  %d distribution neighbours re-priced with the cost model: none beats the program's distribution\n",
               r->n_neighbours);

    if (r->exhaustive && r->has_full) {
        char f[128];
        fmt_strategy(&r->full_best.strategy, f, sizeof f);
        double vb = planner_alt_objective(&r->best, o->objective), vf = planner_alt_objective(&r->full_best, o->objective);
        printf("  full cost model over the same space (%ld plans priced): best %s (%s, %s), %s %.6g %s;\n",
               r->full_priced, f, r->full_best.order_name, lin_balance_name(r->full_best.balance),
               obj_label(o->objective), vf * obj_scale(o->objective), obj_unit(o->objective));
        if (vb <= vf * (1 + 1e-9)) printf("  the choice re-priced is as good\n");
        else printf("  the choice re-priced is slower by %.2f%%\n", 100 * (vb / vf - 1));
    } else if (r->exhaustive && r->full_note[0]) {
        printf("  full cost model over the same space: not priced (%s)\n", r->full_note);
    }
    printf("\nalternatives (program: the linear model's %s in s; the rest re-priced by the cost model)\n",
           obj_label(o->objective));
    printf("rank  %-44s", "strategy");
    if (mixed) printf(" %-18s %-9s", "placement", "balanced");
    printf(" %10s %13s %9s %9s %6s  %s\n", "program", "prefill tok/s", "ttft s", "tpot ms", "mem %", "dominant term");
    for (int i = 0; i < r->n_alts; i++) print_alt_row(i + 1, &r->alts[i], o->objective, mixed);
    int better = planner_better_alt(r, o->objective); /* an alternative the full cost model prefers */
    if (better > 0) {
        fmt_strategy(&r->alts[better].strategy, s, sizeof s);
        printf("note: re-priced by the full cost model, rank %d (%s) is %.1f%% faster than the choice; the linear\n"
               "      model (anchored at each structure's even split) misjudges its balancing; consider it\n",
               better + 1, s,
               100 * (1 - planner_alt_objective(&r->alts[better], o->objective) /
                              planner_alt_objective(&r->best, o->objective)));
    }
    if (r->has_baseline) {
        fmt_strategy(&r->baseline.strategy, s, sizeof s);
        printf("baseline (the seed's TP8 x PP2): %s, rank %d of %d, ", s, r->baseline_rank, r->n_feasible);
        printf("prefill %.0f tokens/s, tpot %.4g ms\n", r->baseline.metric[MET_PREFILL_TOKENS_PER_S],
               r->baseline.metric[MET_TPOT_S] * 1e3);
    } else {
        printf("baseline (the seed's TP8 x PP2): not priced: %s\n", r->baseline_note);
    }

    int ph = o->objective == OBJ_TPOT ? PHASE_DECODE : PHASE_PREFILL;
    printf("\nwhy the winner wins (%s time of the critical device, by kind):\n", ph ? "decode step" : "prefill");
    print_terms("winner", &r->best, ph);
    if (r->n_alts > 1) print_terms("runner-up", &r->alts[1], ph);
    if (r->has_baseline && r->baseline_rank != 1) print_terms("baseline TP8 x PP2", &r->baseline, ph);
    if (r->n_alts > 1) compare_line("runner-up", &r->best, &r->alts[1], o->objective);
    if (r->has_baseline && r->baseline_rank != 1) compare_line("baseline", &r->best, &r->baseline, o->objective);
    print_rejected(r);

    return ATTN_EXIT_OK;
}
