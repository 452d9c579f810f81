/* cmd_plan.c: `attnplan plan TOPOLOGY MODEL [--all] [-o PLAN]`. Two branches:
 *   --all     every strategy for the devices (enumerate.c), priced and ranked (table.c);
 *   default   the best plan: the GLPK program of planner/ilp.c (planner_solve), with the
 *             planner's own options (planner_take_arg). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "cost_cli.h"
#include "enumerate.h"
#include "ilp.h"
#include "table.h"

typedef struct plan_args {
    int all, top;
    attn_metric key;         /* --objective: prefill throughput or tpot */
    const char *out_path;
} plan_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnplan plan TOPOLOGY MODEL [--all] [--top K] [--objective throughput|tpot] [-o PLAN]\n"
            "                    [--devices N] [--batch B] [--seq-len L] [--decode-tokens T]\n"
            "                    [--microbatches K] [--query-chunk C] [--score-workspace BYTES]\n"
            "                    [--calibration FILE]\n\n"
            "--all      every strategy dp x pp x n x m = N (each intra-head scheme when m > 1) for the\n"
            "           topology's N devices (or the first --devices N), priced with the cost model and\n"
            "           ranked by prefill tokens/s (--objective tpot: by decode step latency); strategies\n"
            "           that do not fit or are invalid are listed with the reason\n"
            "--top K    show only the best K fitting strategies (default: all with --all, 10 otherwise)\n"
            "-o PLAN    write the chosen plan with its predicted report\n"
            "exit codes: 0 ok, 1 no strategy fits, 2 bad usage or bad input\n\n");
    planner_usage(f);
}

/* Prices and ranks every strategy; NULL on allocation failure. */
static plan_candidate *ranked(const cli_inputs *in, const cost_options *o, attn_metric key, int *n) {
    plan_candidate *c = NULL;
    *n = enumerate_and_price(&in->model, &in->topo, o, 0, &c);
    if (*n < 0) return NULL;
    rank_candidates(c, *n, key);
    return c;
}

static void print_header(const cli_inputs *in) {
    const attn_workload *w = &in->model.workload;
    printf("%s on %s (%d devices): batch %d, seq_len %d, decode_tokens %d, %s\n", in->model.name, in->topo.name,
           in->topo.n_devices, w->batch, w->seq_len, w->decode_tokens, dtype_name(in->model.dtype));
}

static int plan_all(const cli_inputs *in, const cost_options *o, const plan_args *a) {
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

int cmd_plan(int argc, char **argv) {
    cli_inputs in;
    cli_inputs_init(&in);
    plan_args a = {0, 0, MET_PREFILL_TOKENS_PER_S, NULL};
    planner_options po;
    planner_options_init(&po);
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i];
        if (!strcmp(x, "--help") || !strcmp(x, "-h")) {
            usage(stdout);
            return ATTN_EXIT_OK;
        }
        if (!strcmp(x, "--all")) {
            a.all = 1;
            continue;
        }
        if (!strcmp(x, "--top") && i + 1 < argc) {
            if (cli_parse_int(argv[++i], 1, 1 << 30, &a.top) != 0) {
                fprintf(stderr, "attnplan plan: --top: '%s' is not a positive integer\n", argv[i]);
                return ATTN_EXIT_BADINPUT;
            }
            continue;
        }
        if (!strcmp(x, "--objective") && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(v, "throughput")) a.key = MET_PREFILL_TOKENS_PER_S;
            else if (!strcmp(v, "tpot")) a.key = MET_TPOT_S;
            else {
                fprintf(stderr, "attnplan plan: --objective must be throughput or tpot (got '%s')\n", v);
                return ATTN_EXIT_BADINPUT;
            }
            continue;
        }
        if (!strcmp(x, "-o") && i + 1 < argc) {
            a.out_path = argv[++i];
            continue;
        }
        int r = planner_take_arg("plan", argc, argv, &i, &po);
        if (r == 1) continue;
        if (r < 0) return ATTN_EXIT_BADINPUT;
        r = cli_take_arg("plan", argc, argv, &i, &in);
        if (r == 1) continue;
        if (r == 0) fprintf(stderr, "attnplan plan: unknown or incomplete option '%s'\n", x);
        usage(stderr);
        return ATTN_EXIT_BADINPUT;
    }
    int rc = cli_load("plan", &in);
    if (rc == ATTN_EXIT_OK) {
        cost_options o;
        cli_options(&in, &o);
        po.objective = a.key == MET_TPOT_S ? OBJ_TPOT : OBJ_THROUGHPUT;
        if (a.top > 0) po.top = a.top;
        po.out_path = a.out_path;
        rc = a.all ? plan_all(&in, &o, &a) : planner_solve(&in.model, &in.topo, &o, &po);
    }
    cli_free(&in);
    return rc;
}
