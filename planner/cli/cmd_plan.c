/* cmd_plan.c: `attnplan plan TOPOLOGY MODEL [--all] [-o PLAN]`. Every option of the
 * command is read here, once (the shared inputs through cli_input.c). Two branches:
 *   --all     every strategy for the devices (enumerate.c), priced and ranked (table.c);
 *   default   the best plan: the planning pipeline of search/planner.c (planner_run),
 *             printed by plan_print.c, the plan file written here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "args.h"
#include "cli_input.h"
#include "commands.h"
#include "enumerate.h"
#include "pareto.h"
#include "plan_disagg.h"
#include "plan_print.h"
#include "planner.h"
#include "table.h"

typedef struct plan_args {
    int all, top;            /* --top K: 0 = all with --all, the planner's default otherwise */
    attn_metric key;         /* --objective: prefill throughput or tpot */
    const char *out_path;
    int objective_given;     /* --objective on the command line */
    int pareto;              /* --pareto: the front of per-GPU against per-user throughput */
    int disaggregate;        /* --disaggregate: prefill and decode pools */
} plan_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnplan plan TOPOLOGY MODEL [--all | --pareto | --disaggregate] [--top K] [--objective throughput|tpot] [-o PLAN]\n"
            "                    [--devices N] [--batch B] [--seq-len L] [--decode-tokens T]\n"
            "                    [--isl L] [--osl T] [--rate R]  (serving names of --seq-len, --decode-tokens)\n"
            "                    [--microbatches K] [--query-chunk C] [--score-workspace BYTES]\n"
            "                    [--attention fused|unfused]\n"
            "                    [--calibration FILE]\n\n"
            "--all      every strategy dp x pp x n x m = N (each intra-head scheme when m > 1) for the\n"
            "           topology's N devices (or the first --devices N), priced with the cost model and\n"
            "           ranked by prefill tokens/s (--objective tpot: by decode step latency); strategies\n"
            "           that do not fit or are invalid are listed with the reason\n"
            "--pareto   the front of output tokens/s per GPU against tokens/s per user: every strategy\n"
            "           (even split) at every batch (1, 2, 4, ... until none fits; or --batch B), within\n"
            "           the --max-* targets\n"
            "--disaggregate  a prefill pool and a decode pool on disjoint devices (cut at whole nodes):\n"
            "           each pool's best strategy, the KV transfer, the split serving the most requests/s\n"
            "--top K    show only the best K fitting strategies (--all; default all), or list K alternatives\n"
            "           to the chosen plan (default 10)\n"
            "-o PLAN    write the chosen plan with its predicted report\n"
            "--attention fused|unfused  the attention the runtime runs (default fused; score-allreduce\n"
            "           is always unfused), as attnrun's flag\n"
            "exit codes: 0 ok, 1 no strategy fits, 2 bad usage or bad input\n\n"
            "planner options (default branch, without --all):\n"
            "--objective throughput|tpot|throughput-per-gpu\n"
            "                              maximize prefill tokens/s (default), minimize the decode step (the\n"
            "                              mean over the output), or maximize output tokens/s per GPU (least\n"
            "                              request latency ttft + (osl - 1) x tpot; the default with a target)\n"
            "--max-tpot SECONDS            target: the mean decode step (tpot) at most this\n"
            "--max-ttft SECONDS            target: ttft (the whole batch's prefill) at most this\n"
            "--max-latency SECONDS         target: the request latency (e2e_latency_s) at most this\n"
            "                              (with a target and no --batch, the batch is swept over powers of\n"
            "                              two and the one with the most output tokens/s per GPU is kept)\n"
            "--max-memory-fraction F       use at most F (0 < F <= 1) of each device's memory (default 1)\n"
            "--time-limit SECONDS          solver time limit (default 10); at the limit the best plan found\n"
            "                              is reported as not proven optimal, with the gap\n"
            "--exhaustive                  enumerate every structure and distribution instead of solving the\n"
            "                              program (refused when there are more than 1e8 distributions)\n");
}

/* Prices and ranks every strategy; NULL on allocation failure. */
static plan_candidate *ranked(const cli_input *in, const cost_options *o, attn_metric key, int *n) {
    plan_candidate *c = NULL;
    *n = enumerate_and_price(&in->model, &in->topo, o, 0, &c);
    if (*n < 0) return NULL;
    enumerate_rank_candidates(c, *n, key);
    return c;
}

static void print_header(const cli_input *in) {
    const attn_workload *w = &in->model.workload;
    printf("%s on %s (%d devices): batch %d, seq_len %d, decode_tokens %d, %s\n", in->model.name, in->topo.name,
           in->topo.n_devices, w->batch, w->seq_len, w->decode_tokens, dtype_name(in->model.dtype));
}

static int plan_all(const cli_input *in, const cost_options *o, const plan_args *a) {
    int n;
    plan_candidate *c = ranked(in, o, a->key, &n);
    if (!c) {
        fprintf(stderr, "attnplan plan: out of memory\n");
        return ATTN_EXIT_FAIL;
    }
    print_header(in);
    printf("ranked by %s (cost model, even shares)\n", attn_metric_table[a->key].key);
    table_print_candidates(stdout, c, n, a->top);
    int any = n > 0 && c[0].status == CAND_OK;
    free(c);
    return any ? ATTN_EXIT_OK : ATTN_EXIT_FAIL;
}

/* --pareto: the front (pareto.c), fastest per user first. */
static int plan_pareto(const cli_input *in, const cost_options *co, const planner_options *po) {
    pareto_limits lim = {po->max_ttft_s, po->max_tpot_s, po->max_e2e_s};
    pareto_point *pts;
    int n, priced;
    if (pareto_front(&in->model, &in->topo, co, in->batch > 0, &lim, &pts, &n, &priced) != 0) {
        fprintf(stderr, "attnplan plan: out of memory\n");
        return ATTN_EXIT_FAIL;
    }
    print_header(in);
    printf("Pareto front: output tokens/s per GPU against tokens/s per user, every strategy (even split) at every batch\n"
           "%s%s over %d devices\n", lim.max_ttft_s > 0 || lim.max_tpot_s > 0 || lim.max_e2e_s > 0 ? "meeting the targets, " : "",
           in->batch > 0 ? "the given batch" : "batches 1, 2, 4, ... until none fits", in->topo.n_devices);
    printf("%14s %18s %8s %10s  %s\n", "tok/s per user", "out tok/s per GPU", "batch", "e2e s", "strategy");
    for (int i = 0; i < n; i++) {
        char st[96];
        strategy_format(&pts[i].strategy, st, sizeof st);
        printf("%14.4g %18.4g %8ld %10.4g  %s\n", pts[i].user, pts[i].gpu, pts[i].batch, pts[i].e2e, st);
    }
    printf("%d points on the front of %d priced\n", n, priced);
    free(pts);
    return n > 0 ? ATTN_EXIT_OK : ATTN_EXIT_FAIL;
}

/* The batch as a decision (a target given, --batch not): the whole batch over powers of
 * two from 1, each solved, until none fits memory (the KV cache holds the whole output:
 * cost_rank.c) or meets the targets, which only grow harder with the batch; keeps the most
 * output tokens/s per GPU (the smaller batch on a tie). *m gets the chosen batch, *r its
 * result. 0 ok (r->status says what was found), -1 solver failure (r holds it). */
static int sweep_batch(const cli_input *in, const cost_options *co, const planner_options *po, attn_model *m,
                       planner_result *r) {
    planner_options q = *po;
    q.progress = 0;
    int have = 0, best_batch = 0;
    printf("batch sweep (no --batch; the most output tokens/s per GPU meeting the targets):\n");
    for (long b = 1; b <= MODEL_SIZE_MAX; b *= 2) {
        attn_model mb = in->model;
        mb.workload.batch = (int)b;
        if (mb.workload.microbatches > b) mb.workload.microbatches = (int)b;
        attn_diag d;
        attn_diag_init(&d);
        d.quiet = 1;
        if (model_check(&mb, NULL, &d) != 0) break; /* batch x seq_len x hidden too large to count */
        planner_result t;
        if (planner_run(&mb, &in->topo, co, &q, &t) != 0 && t.status == PLANNER_ERROR) {
            if (have) planner_result_free(r);
            *r = t;
            return -1;
        }
        if (t.status != PLANNER_FOUND) {
            printf("  batch %ld: %s; the sweep stops\n", b,
                   t.n_limit > 0 ? "no plan meets the targets" : "nothing fits the devices");
            if (!have) { /* nothing at all: report batch 1's reasons */
                *r = t;
                *m = mb;
                return 0;
            }
            planner_result_free(&t);
            break;
        }
        double v = t.best.metric[MET_OUTPUT_TOKENS_PER_S_PER_GPU];
        char s[128];
        strategy_format(&t.best.strategy, s, sizeof s);
        printf("  batch %ld: %.6g output tokens/s per GPU, e2e latency %.4g s, %s\n", b, v,
               t.best.metric[MET_E2E_LATENCY_S], s);
        if (!have || v > r->best.metric[MET_OUTPUT_TOKENS_PER_S_PER_GPU]) {
            if (have) planner_result_free(r);
            *r = t;
            *m = mb;
            best_batch = (int)b;
            have = 1;
        } else {
            planner_result_free(&t);
        }
    }
    int dp = r->best.strategy.dp > 0 ? r->best.strategy.dp : 1;
    printf("chosen batch: %d (%d per replica over dp=%d)\n\n", best_batch, best_batch / dp, dp);
    return 0;
}

/* The default branch: runs the pipeline, prints its result, writes -o. */
static int plan_best(const cli_input *in, const cost_options *co, const planner_options *po, const char *out_path) {
    planner_result r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    attn_model chosen = in->model;
    int sweep = in->batch < 0 && (po->max_tpot_s > 0 || po->max_ttft_s > 0 || po->max_e2e_s > 0);
    if (sweep ? sweep_batch(in, co, po, &chosen, &r) != 0
              : planner_run(&in->model, &in->topo, co, po, &r) != 0 && r.status == PLANNER_ERROR) {
        fprintf(stderr, "attnplan plan: %s\n", r.message);
        planner_result_free(&r);
        return ATTN_EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    int rc = plan_print_result(&chosen, &in->topo, po, &r, secs);
    if (rc == ATTN_EXIT_OK && out_path) {
        attn_diag d;
        attn_diag_init(&d);
        if (plan_check(&r.plan, NULL, &d) != 0) {
            fprintf(stderr, "attnplan plan: internal error: the chosen plan fails its own checks; not written\n");
            rc = ATTN_EXIT_FAIL;
        } else if (plan_write(out_path, &r.plan, &d) != 0) {
            rc = ATTN_EXIT_FAIL;
        } else {
            printf("\nplan written to %s\n", out_path);
        }
    }
    planner_result_free(&r);
    return rc;
}

/* Reads every option of the command into a, po and in. 0 ok, 1 --help printed, -1 bad
 * usage (printed). */
static int parse_args(attn_args *p, plan_args *a, planner_options *po, cli_input *in) {
    static const char *const objectives[] = {"throughput", "tpot", "throughput-per-gpu"};
    while (attn_args_peek(p)) {
        int r = 0, obj;
        if (attn_args_is(p, "--help") || attn_args_is(p, "-h")) {
            usage(stdout);
            return 1;
        } else if (attn_args_is(p, "--all")) {
            a->all = 1;
            attn_args_next(p);
        } else if (attn_args_is(p, "--pareto")) {
            a->pareto = 1;
            attn_args_next(p);
        } else if (attn_args_is(p, "--disaggregate")) {
            a->disaggregate = 1;
            attn_args_next(p);
        } else if (attn_args_is(p, "--exhaustive")) {
            po->exhaustive = 1;
            attn_args_next(p);
        } else if (attn_args_is(p, "--top")) {
            r = attn_args_int(p, 1, 1 << 30, &a->top);
        } else if (attn_args_is(p, "--objective")) {
            r = attn_args_choice(p, objectives, 3, &obj);
            if (r == 0)
                a->key = obj == 1 ? MET_TPOT_S : obj == 2 ? MET_OUTPUT_TOKENS_PER_S_PER_GPU : MET_PREFILL_TOKENS_PER_S;
            a->objective_given = r == 0;
        } else if (attn_args_is(p, "-o")) {
            a->out_path = attn_args_value(p);
            r = a->out_path ? 0 : -1;
        } else if (attn_args_is(p, "--max-tpot")) {
            r = attn_args_real(p, 1e-12, 1e6, &po->max_tpot_s);
        } else if (attn_args_is(p, "--max-ttft")) {
            r = attn_args_real(p, 1e-12, 1e6, &po->max_ttft_s);
        } else if (attn_args_is(p, "--max-latency")) {
            r = attn_args_real(p, 1e-12, 1e6, &po->max_e2e_s);
        } else if (attn_args_is(p, "--max-memory-fraction")) {
            r = attn_args_real(p, 1e-6, 1, &po->max_memory_fraction);
        } else if (attn_args_is(p, "--time-limit")) {
            r = attn_args_real(p, 1e-3, 1e6, &po->time_limit_s);
        } else {
            int t = cli_input_take_arg(p, in);
            if (t == 0) t = attn_args_reject(p);
            r = t < 0 ? -1 : 0;
        }
        if (r != 0) return -1;
    }
    return 0;
}

int cmd_plan(int argc, char **argv) {
    cli_input in;
    cli_input_init(&in);
    plan_args a = {0, 0, MET_PREFILL_TOKENS_PER_S, NULL, 0, 0, 0};
    planner_options po;
    planner_options_init(&po);
    attn_args p;
    attn_args_init(&p, "attnplan plan", argc, argv, 1);
    int pr = parse_args(&p, &a, &po, &in);
    int rc = pr == 1 ? ATTN_EXIT_OK : pr < 0 ? ATTN_EXIT_BADINPUT : cli_input_load(&p, &in);
    if (pr == 0 && rc == ATTN_EXIT_OK) {
        cost_options o;
        cli_input_options(&in, &o);
        po.objective = a.key == MET_TPOT_S ? OBJ_TPOT : a.key == MET_OUTPUT_TOKENS_PER_S_PER_GPU ? OBJ_PER_GPU : OBJ_THROUGHPUT;
        /* a serving target asks for the serving objective unless another was named */
        if (!a.objective_given && (po.max_tpot_s > 0 || po.max_ttft_s > 0 || po.max_e2e_s > 0)) po.objective = OBJ_PER_GPU;
        if (a.top > 0) po.top = a.top;
        rc = a.disaggregate ? plan_disaggregate(&in, &o, &po)
             : a.pareto     ? plan_pareto(&in, &o, &po)
             : a.all        ? plan_all(&in, &o, &a)
                            : plan_best(&in, &o, &po, a.out_path);
    }
    cli_input_free(&in);
    return rc;
}
