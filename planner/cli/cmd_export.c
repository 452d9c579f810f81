/* cmd_export.c: attnplan export PLAN --engine vllm|sglang|trtllm [--model-path PATH] [-o FILE]
 * Writes the one-line launch command of a serving engine for the part of the strategy
 * space engines express: dp replicas x pp stages x head-wise tensor parallelism over n
 * (m = 1, s = 1) with the even split, the batch limit and the maximum model length.
 * What a plan holds beyond that (the head-dimension split m > 1 and its schemes, the
 * sequence axis s > 1, uneven shares on mixed clusters, an option an engine does not
 * document) is refused with exit 2 and the part named: an engine given a plan it cannot
 * run must not get a command line that silently runs something else.
 * The option names come from each engine's own documentation, cited next to its writer
 * and in docs/planner.md ("Export to serving engines"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "diag.h"
#include "model.h"
#include "plan.h"
#include "strategy.h"
#include "ytree.h"

static void export_usage(FILE *f) {
    fprintf(f,
            "usage: attnplan export PLAN --engine vllm|sglang|trtllm [--model-path PATH] [-o FILE]\n"
            "  PLAN              a plan file (attnplan plan/price -o)\n"
            "  --engine E        vllm (vllm serve), sglang (python3 -m sglang.launch_server),\n"
            "                    trtllm (trtllm-serve)\n"
            "  --model-path PATH the checkpoint the engine loads (default: the plan's model name)\n"
            "  -o FILE           write the command line to FILE (atomically) instead of stdout\n"
            "Maps dp, pp and n (head-wise tensor parallelism) to the engine's parallel sizes, the\n"
            "workload's batch rows per replica to its batch limit, seq_len + decode_tokens to its\n"
            "maximum model length and dtype to its dtype option. A plan the engine cannot express\n"
            "(m > 1, s > 1, uneven shares, dp for an engine without data parallelism) is refused\n"
            "with the reason.\n"
            "exit codes: 0 written, 1 cannot write the output, 2 bad usage, bad plan or a plan\n"
            "the engine cannot express\n");
}

/* What every engine is told: the plan reduced to the few numbers serving engines take. */
typedef struct export_shape {
    int dp, pp, tp;
    int batch_limit;   /* the most batch rows any replica serves */
    int max_len;       /* prompt plus generated tokens of one sequence */
    attn_dtype dtype;
    const char *model; /* --model-path or the plan's model name */
} export_shape;

/* A bounded line builder: overflow is remembered rather than truncating silently. */
typedef struct export_line {
    char buf[4096];
    size_t len;
    int overflow;
} export_line;

static void export_line_add(export_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void export_line_add(export_line *l, const char *fmt, ...) {
    if (l->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof l->buf - l->len) l->overflow = 1;
    else l->len += (size_t)n;
}

/* One shell word: left bare when it holds only characters no shell treats specially,
 * otherwise single-quoted (a single quote inside becomes '\''), so the line can be pasted
 * or run with sh -c whatever the path holds. */
static void export_line_word(export_line *l, const char *w) {
    int plain = w[0] != '\0';
    for (const char *c = w; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-", *c)) plain = 0;
    if (plain) {
        export_line_add(l, " %s", w);
        return;
    }
    export_line_add(l, " '");
    for (const char *c = w; *c; c++) {
        if (*c == '\'') export_line_add(l, "'\\''");
        else export_line_add(l, "%c", *c);
    }
    export_line_add(l, "'");
}

/* The dtype names vLLM and SGLang both list for --dtype (float16, bfloat16, float32). */
static const char *export_torch_dtype(attn_dtype t) {
    switch (t) {
    case DTYPE_FP16: return "float16";
    case DTYPE_BF16: return "bfloat16";
    case DTYPE_FP32: return "float32";
    default: return "auto";
    }
}

/* 0 with l filled, -1 with why set (the part of the plan the engine cannot express). */
typedef int (*export_writer)(const export_shape *s, export_line *l, char *why, size_t whylen);

/* vLLM: `vllm serve MODEL` and its engine arguments, from
 *   https://docs.vllm.ai/en/v0.8.5/serving/engine_args.html (vLLM v0.8.5): --dtype
 *     {auto,half,float16,bfloat16,float,float32}, --max-model-len, --pipeline-parallel-size,
 *     --tensor-parallel-size, --max-num-seqs;
 *   https://docs.vllm.ai/en/latest/serving/data_parallel_deployment/ (read 2026-12-03):
 *     --data-parallel-size, one engine core per DP rank, so --max-num-seqs is per replica. */
static int export_write_vllm(const export_shape *s, export_line *l, char *why, size_t whylen) {
    (void)why;
    (void)whylen;
    export_line_add(l, "vllm serve");
    export_line_word(l, s->model);
    export_line_add(l, " --tensor-parallel-size %d --pipeline-parallel-size %d --data-parallel-size %d", s->tp, s->pp,
                    s->dp);
    export_line_add(l, " --max-num-seqs %d --max-model-len %d --dtype %s", s->batch_limit, s->max_len,
                    export_torch_dtype(s->dtype));
    return 0;
}

/* SGLang: `python3 -m sglang.launch_server`, from its server arguments, read 2026-12-03:
 *   https://docs.sglang.io/advanced_features/server_arguments.html (launch_server, --tp, --dp);
 *   https://docs.sglang.io/cookbook/base/reference/server_arguments (--tp-size, --dp-size,
 *     the long forms used here);
 *   https://www.mintlify.com/sgl-project/sglang/backend/server-arguments (--model-path,
 *     --context-length, --dtype, --max-running-requests, --pp-size).
 * Each data-parallel worker runs its own scheduler, so --max-running-requests is the
 * batch limit of one replica. */
static int export_write_sglang(const export_shape *s, export_line *l, char *why, size_t whylen) {
    (void)why;
    (void)whylen;
    export_line_add(l, "python3 -m sglang.launch_server --model-path");
    export_line_word(l, s->model);
    export_line_add(l, " --tp-size %d --pp-size %d --dp-size %d", s->tp, s->pp, s->dp);
    export_line_add(l, " --max-running-requests %d --context-length %d --dtype %s", s->batch_limit, s->max_len,
                    export_torch_dtype(s->dtype));
    return 0;
}

/* TensorRT-LLM: `trtllm-serve MODEL`, from
 *   https://nvidia.github.io/TensorRT-LLM/0.18.2/commands/trtllm-serve.html (TensorRT-LLM
 *     0.18.2): --tp_size, --pp_size, --max_batch_size ("maximum number of requests that the
 *     engine can schedule"), --max_seq_len ("maximum total length of one request,
 *     including prompt and outputs").
 * That page documents no data-parallel option (one server is one tp x pp model), so dp > 1
 * is refused rather than given an invented flag; and no dtype option: the engine takes the
 * checkpoint's dtype, so none is written (docs/planner.md says so). */
static int export_write_trtllm(const export_shape *s, export_line *l, char *why, size_t whylen) {
    if (s->dp > 1) {
        snprintf(why, whylen,
                 "the plan has dp=%d data-parallel replicas, which trtllm-serve cannot express (its documented "
                 "options have no data-parallel size; run %d servers with dp=1 plans behind a load balancer)",
                 s->dp, s->dp);
        return -1;
    }
    export_line_add(l, "trtllm-serve");
    export_line_word(l, s->model);
    export_line_add(l, " --tp_size %d --pp_size %d --max_batch_size %d --max_seq_len %d", s->tp, s->pp, s->batch_limit,
                    s->max_len);
    return 0;
}

typedef struct export_engine {
    const char *name;
    export_writer write;
} export_engine;

static const export_engine export_engines[] = {
    {"vllm", export_write_vllm},
    {"sglang", export_write_sglang},
    {"trtllm", export_write_trtllm},
};
#define EXPORT_N_ENGINES ((int)(sizeof export_engines / sizeof export_engines[0]))

/* The first range of rank a that differs from the even split's rank e: its name and both
 * ranges; 0 when batch, layers, heads and MLP columns all match. */
static int export_range_differs(const attn_rank_assign *a, const attn_rank_assign *e, const char **what, int got[2],
                                int want[2]) {
    const struct {
        const char *name;
        int ab, ae, eb, ee;
    } r[] = {
        {"batch rows", a->batch_begin, a->batch_end, e->batch_begin, e->batch_end},
        {"layers", a->layer_begin, a->layer_end, e->layer_begin, e->layer_end},
        {"heads", a->head_begin, a->head_end, e->head_begin, e->head_end},
        {"MLP columns", a->mlp_begin, a->mlp_end, e->mlp_begin, e->mlp_end},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        if (r[i].ab != r[i].eb || r[i].ae != r[i].ee) {
            *what = r[i].name;
            got[0] = r[i].ab, got[1] = r[i].ae;
            want[0] = r[i].eb, want[1] = r[i].ee;
            return 1;
        }
    }
    return 0;
}

/* Reduces the plan to what engine expresses: 0 with *out filled, -1 with why naming the
 * part it cannot express. */
static int export_shape_plan(const attn_plan *p, const char *engine, const char *model_path, export_shape *out,
                             char *why, size_t whylen) {
    const attn_strategy *st = &p->strategy;
    const attn_model *m = &p->model;
    if (st->m > 1) {
        snprintf(why, whylen,
                 "the plan splits each head's dimension over m=%d (scheme %s), which %s cannot express (its tensor "
                 "parallelism splits whole heads)",
                 st->m, scheme_name(st->scheme), engine);
        return -1;
    }
    if (strategy_seq(st) > 1) {
        snprintf(why, whylen,
                 "the plan splits the sequence axis over s=%d (cp=%s, weights=%s), which %s cannot express",
                 st->s, cp_name(st->cp), weights_name(st->weights), engine);
        return -1;
    }
    /* Engines split heads and MLP columns evenly over their tensor-parallel ranks; a remainder
     * the even split hands to the lowest groups is a split they do not make. */
    if (m->heads % st->n != 0 || m->ffn_hidden % st->n != 0) {
        snprintf(why, whylen,
                 "the plan's n=%d head groups do not divide the %d heads and %d MLP columns evenly, which %s's "
                 "tensor parallelism cannot express",
                 st->n, m->heads, m->ffn_hidden, engine);
        return -1;
    }
    attn_plan even;
    char err[256];
    if (plan_build_even_ranks(&even, m, NULL, st, err, sizeof err) != 0) {
        snprintf(why, whylen, "the plan's strategy has no even split (%s), which %s cannot express", err, engine);
        return -1;
    }
    int rc = 0;
    if (even.world != p->world) {
        snprintf(why, whylen, "the plan has %d ranks where its strategy's even split has %d", p->world, even.world);
        rc = -1;
    }
    for (int r = 0; rc == 0 && r < p->world; r++) {
        const attn_rank_assign *a = plan_rank_entry(p, r), *e = plan_rank_entry(&even, r);
        const char *what;
        int got[2], want[2];
        if (!a || !e) {
            snprintf(why, whylen, "the plan has no entry for rank %d", r);
            rc = -1;
        } else if (export_range_differs(a, e, &what, got, want)) {
            snprintf(why, whylen,
                     "the plan has uneven shares: rank %d holds %s [%d, %d) where the even split of its strategy holds [%d, %d) "
                     "(balanced for a mixed cluster), which %s cannot express",
                     r, what, got[0], got[1], want[0], want[1], engine);
            rc = -1;
        }
    }
    plan_free(&even);
    if (rc != 0) return -1;
    out->dp = st->dp;
    out->pp = st->pp;
    out->tp = st->n;
    out->batch_limit = 0;
    for (int r = 0; r < p->world; r++) {
        const attn_rank_assign *a = plan_rank_entry(p, r);
        if (a->batch_end - a->batch_begin > out->batch_limit) out->batch_limit = a->batch_end - a->batch_begin;
    }
    out->max_len = m->workload.seq_len + m->workload.decode_tokens;
    out->dtype = m->dtype;
    out->model = model_path ? model_path : m->name;
    return 0;
}

int cmd_export(int argc, char **argv) {
    const char *plan_path = NULL, *model_path = NULL, *out_path = NULL;
    int engine = -1;
    attn_args a;
    attn_args_init(&a, "attnplan export", argc, argv, 1);
    const char *names[EXPORT_N_ENGINES];
    for (int i = 0; i < EXPORT_N_ENGINES; i++) names[i] = export_engines[i].name;
    while (attn_args_peek(&a)) {
        if (attn_args_is(&a, "--help") || attn_args_is(&a, "-h")) {
            export_usage(stdout);
            return ATTN_EXIT_OK;
        } else if (attn_args_is(&a, "--engine")) {
            if (attn_args_choice(&a, names, EXPORT_N_ENGINES, &engine) != 0) return ATTN_EXIT_BADINPUT;
        } else if (attn_args_is(&a, "--model-path")) {
            if (!(model_path = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
            if (!model_path[0]) {
                attn_args_fail(&a, "--model-path: bad value '' (a path or model name)");
                return ATTN_EXIT_BADINPUT;
            }
        } else if (attn_args_is(&a, "-o")) {
            if (!(out_path = attn_args_value(&a))) return ATTN_EXIT_BADINPUT;
        } else if (!attn_args_is_option(&a) && !plan_path) {
            plan_path = attn_args_peek(&a);
            attn_args_next(&a);
        } else {
            attn_args_reject(&a);
            return ATTN_EXIT_BADINPUT;
        }
    }
    if (!plan_path) {
        attn_args_fail(&a, "needs PLAN (see --help)");
        return ATTN_EXIT_BADINPUT;
    }
    if (engine < 0) {
        attn_args_fail(&a, "needs --engine vllm|sglang|trtllm (see --help)");
        return ATTN_EXIT_BADINPUT;
    }
    attn_diag d;
    attn_diag_init(&d);
    attn_plan plan;
    memset(&plan, 0, sizeof plan);
    if (plan_load(plan_path, &plan, &d) != 0) {
        plan_free(&plan);
        return ATTN_EXIT_BADINPUT;
    }
    /* the loader's checks are structural per field; the cover rules are plan_check's */
    if (plan_check(&plan, plan_path, &d) != 0) {
        plan_free(&plan);
        return ATTN_EXIT_BADINPUT;
    }
    const export_engine *eng = &export_engines[engine];
    export_shape shape;
    char why[768];
    export_line line;
    memset(&line, 0, sizeof line);
    if (export_shape_plan(&plan, eng->name, model_path, &shape, why, sizeof why) != 0 ||
        eng->write(&shape, &line, why, sizeof why) != 0) {
        attn_args_fail(&a, "%s: %s", plan_path, why);
        plan_free(&plan);
        return ATTN_EXIT_BADINPUT;
    }
    plan_free(&plan);
    if (line.overflow) {
        attn_args_fail(&a, "the command line is longer than %zu bytes (is --model-path that long?)", sizeof line.buf);
        return ATTN_EXIT_BADINPUT;
    }
    yt_writer w;
    if (yt_writer_open(&w, out_path ? out_path : "-", &d) != 0) return ATTN_EXIT_FAIL;
    fprintf(w.f, "%s\n", line.buf);
    if (yt_writer_commit(&w) != 0) return ATTN_EXIT_FAIL;
    return ATTN_EXIT_OK;
}
