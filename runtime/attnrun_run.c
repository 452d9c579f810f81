/* attnrun_run.c: the body of an attnrun execution once the plan, backend and comm exist:
 * weights and inputs (each rank reads only its shard), warm-up and timed runs, gathering
 * the outputs to rank 0 for --check (float64 reference) and --dump, and the measured
 * report. Every failure is agreed on by all ranks (run_agree), so none hangs, and returned
 * to main (attnrun.c), which ends the process. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "attnrun.h"
#include "diag.h"
#include "measure.h"
#include "reference.h"
#include "report_io.h"

/* Every rank calls this with its own status; if any failed, the lowest failing rank prints
 * its message and every rank gets the worst code back (0 when all are 0). Needs a comm. */
static int run_agree(run_state *st, int code, const char *msg) {
    int worst = st->comm->host_max_int(st->comm, code);
    if (worst == 0) return 0;
    int first = st->comm->world - st->comm->host_max_int(st->comm, code ? st->comm->world - st->comm->rank : 0);
    if (st->comm->rank == first && msg && *msg) fprintf(stderr, "attnrun: error: %s\n", msg);
    return worst;
}

static float *alloc_floats(size_t n, float fill) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = fill;
    return p;
}

/* rows [r0, r1) of an input tensor [batch, T, C] viewed as [batch*T, C] */
static int read_input(tensor_source *ts, const char *name, int batch, int T, int C, long long r0, long long r1, float *dst,
                      char *err, size_t errlen) {
    long long shape[3] = {batch, T, C};
    return tensor_read_block(ts, name, 3, shape, r0, r1, 0, C, dst, err, errlen);
}

static double rel_error(const float *out, const double *ref, size_t n, size_t *unwritten) {
    double num = 0.0, den = 0.0;
    *unwritten = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(out[i])) (*unwritten)++;
        double e = out[i] - ref[i];
        num += e * e;
        den += ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Outputs of every replica to rank 0: each replica's last-stage rank of head group 0,
 * segment 0 holds its rows after the stage all-reduce. */
static void gather_outputs(run_state *st, const float *pre, const float *dec, float *all_pre, float *all_dec) {
    const attn_plan *p = &st->plan;
    const attn_strategy *s = &p->strategy;
    attn_comm *c = st->comm;
    size_t LC = forward_output_elems(p, 0); /* one sequence's outputs: hidden states or logits */
    size_t DC = (size_t)p->model.workload.decode_tokens * forward_output_elems(p, 1);
    for (int r = 0; r < s->dp; r++) {
        int src = plan_coord_rank(s, r, s->pp - 1, 0, 0, 0); /* the last stage's slice 0 holds the outputs */
        const attn_rank_assign *a = plan_rank_entry(p, src);
        size_t rows = (size_t)(a->batch_end - a->batch_begin);
        if (c->rank == src && src == 0) {
            memcpy(all_pre + a->batch_begin * LC, pre, rows * LC * sizeof *pre);
            if (DC) memcpy(all_dec + a->batch_begin * DC, dec, rows * DC * sizeof *dec);
        } else if (c->rank == src) {
            c->host_send_float(c, pre, rows * LC, 0);
            if (DC) c->host_send_float(c, dec, rows * DC, 0);
        } else if (c->rank == 0) {
            c->host_recv_float(c, all_pre + a->batch_begin * LC, rows * LC, src);
            if (DC) c->host_recv_float(c, all_dec + a->batch_begin * DC, rows * DC, src);
        }
    }
}

/* rows [r0, r1) of a token-id input [batch, T] */
static int read_ids(tensor_source *ts, const char *name, int batch, int T, int vocab, long long r0, long long r1, int32_t *dst,
                    char *err, size_t errlen) {
    long long shape[2] = {batch, T};
    return tensor_read_ids(ts, name, 2, shape, r0, r1, vocab, dst, err, errlen);
}

/* the reference of a model with a vocabulary: its token ids through the ends as well */
static int reference_tokens(run_state *st, double *ref_pre, double *ref_dec, char *err, size_t errlen) {
    const attn_model *m = &st->plan.model;
    int B = m->workload.batch, L = m->workload.seq_len, TD = m->workload.decode_tokens, V = m->vocab_size;
    int32_t *ids_pre = malloc((size_t)B * L * sizeof *ids_pre), *ids_dec = malloc(((size_t)B * TD + 1) * sizeof *ids_dec);
    int rc = -1;
    if (!ids_pre || !ids_dec) snprintf(err, errlen, "out of memory for the reference");
    else if (read_ids(st->inputs, "input_ids", B, L, V, 0, B, ids_pre, err, errlen) == 0 &&
             (!TD || read_ids(st->inputs, "decode_input_ids", B, TD, V, 0, B, ids_dec, err, errlen) == 0))
        rc = reference_forward_logits(m, st->weights, ids_pre, TD ? ids_dec : NULL, ref_pre, ref_dec, err, errlen);
    free(ids_pre);
    free(ids_dec);
    return rc;
}

/* rank 0: the float64 reference and the relative errors; returns the exit code */
static int check_outputs(run_state *st, const float *all_pre, const float *all_dec) {
    const attn_model *m = &st->plan.model;
    int B = m->workload.batch, L = m->workload.seq_len, TD = m->workload.decode_tokens, C = m->hidden;
    int vocab = m->vocab_size > 0;
    size_t np = (size_t)B * forward_output_elems(&st->plan, 0), nd = (size_t)B * TD * forward_output_elems(&st->plan, 1);
    float *in_pre = alloc_floats(vocab ? 0 : np, 0), *in_dec = alloc_floats(vocab ? 0 : nd, 0);
    double *ref_pre = malloc((np ? np : 1) * sizeof *ref_pre), *ref_dec = malloc((nd ? nd : 1) * sizeof *ref_dec);
    char err[1024] = "";
    int code = 0;
    if (!in_pre || !in_dec || !ref_pre || !ref_dec) {
        fprintf(stderr, "attnrun: error: out of memory for the reference\n");
        code = 1;
    } else if (vocab ? reference_tokens(st, ref_pre, ref_dec, err, sizeof err) != 0
                     : (read_input(st->inputs, "hidden_states", B, L, C, 0, (long long)B * L, in_pre, err, sizeof err) != 0 ||
                        (TD && read_input(st->inputs, "decode_hidden_states", B, TD, C, 0, (long long)B * TD, in_dec, err,
                                          sizeof err) != 0) ||
                        reference_forward(m, st->weights, in_pre, in_dec, ref_pre, ref_dec, err, sizeof err) != 0)) {
        fprintf(stderr, "attnrun: error: %s\n", err);
        code = 1;
    } else {
        size_t miss_p, miss_d = 0;
        double tol = check_tolerance(st->be->dtype);
        double ep = rel_error(all_pre, ref_pre, np, &miss_p);
        double ed = TD ? rel_error(all_dec, ref_dec, nd, &miss_d) : 0.0;
        printf("check: prefill relative error %.3e (%zu elements%s)\n", ep, np, vocab ? ", last-position logits" : "");
        if (TD) printf("check: decode  relative error %.3e (%zu elements, %d steps)\n", ed, nd, TD);
        if (miss_p || miss_d) {
            printf("check: FAILED: %zu prefill and %zu decode output elements were never written\n", miss_p, miss_d);
            code = 1;
        } else if (!(ep <= tol) || !(ed <= tol)) {
            printf("check: FAILED: above the tolerance %g (%s storage)\n", tol, dtype_name(st->be->dtype));
            code = 1;
        } else {
            printf("check: ok (tolerance %g, %s storage)\n", tol, dtype_name(st->be->dtype));
        }
        fflush(stdout);
    }
    free(in_pre);
    free(in_dec);
    free(ref_pre);
    free(ref_dec);
    return code;
}

int run_plan(run_state *st) {
    const attnrun_options *o = &st->opt;
    attn_comm *c = st->comm;
    char err[1024] = "";
    int rc;
    int share = o->rank_share;
    int me = share >= 0 ? share : c->rank;
    int lead = share >= 0 || c->rank == 0; /* the process that prints and writes */

    /* a file that cannot be read as safetensors is a bad input */
    st->weights = tensor_source_create(o->weights, o->seed, err, sizeof err);
    if ((rc = run_agree(st, st->weights ? 0 : ATTN_EXIT_BADINPUT, err)) != 0) return rc;
    st->inputs = tensor_source_create(o->input, o->seed, err, sizeof err);
    if ((rc = run_agree(st, st->inputs ? 0 : ATTN_EXIT_BADINPUT, err)) != 0) return rc;
    attn_error fe;
    st->fw = forward_create(&st->plan, me, st->be, c, st->weights, o->query_chunk, o->score_workspace, o->attention, &fe);
    if ((rc = run_agree(st, st->fw ? 0 : fe.kind, fe.msg)) != 0) return rc;
    attn_forward *fw = st->fw;
    fw->nan_fill = o->check;
    fw->graph.wanted = !o->no_decode_graph;
    /* --rank-share skips every receive: seeded random data instead of zeros (forward.h) */
    if (share >= 0 && forward_fill_skipped_receives(fw, o->seed) != 0) {
        attn_format_err(err, sizeof err, "rank %d: filling the skipped receive buffers failed", me);
        if ((rc = run_agree(st, ATTN_EXIT_FAIL, err)) != 0) return rc;
    }

    if (lead && !fw->attention_fused) { /* say so when --score-workspace (or a large run) splits the attention into blocks */
        attn_tiling tp, td;
        fw_tiling(fw, fw->max_mb_rows, 0, &tp);
        fw_tiling(fw, fw->B, 1, &td);
        if (attn_tiling_blocks(&tp) > 1 || attn_tiling_blocks(&td) > 1)
            printf("attnrun: rank %d score blocks: prefill %d per query chunk (%d sequence(s) x %d head(s)), "
                   "decode %d (%d x %d)\n", me, attn_tiling_blocks(&tp), tp.block_seqs, tp.block_heads,
                   attn_tiling_blocks(&td), td.block_seqs, td.block_heads);
    }

    const attn_model *m = &st->plan.model;
    int B = fw->B, L = fw->L, TD = fw->TDEC, C = fw->C, first = forward_is_first_stage(fw), last = forward_is_last_stage(fw);
    const attn_rank_assign *a = fw->me;
    int V = m->vocab_size; /* > 0: token ids in, logits out (the model's ends) */
    size_t out_seq = forward_output_elems(&st->plan, 0), out_tok = forward_output_elems(&st->plan, 1);
    float *in_pre = NULL, *in_dec = NULL, *out_pre = NULL, *out_dec = NULL, *in_step = NULL, *out_step = NULL;
    int32_t *ids_pre = NULL, *ids_dec = NULL, *ids_step = NULL;
    run_sample *runs = NULL;
    int code = 0;
    if (first && V > 0) {
        ids_pre = malloc(((size_t)B * L + 1) * sizeof *ids_pre);
        ids_dec = malloc(((size_t)B * TD + 1) * sizeof *ids_dec);
        ids_step = malloc(((size_t)B + 1) * sizeof *ids_step);
        if (!ids_pre || !ids_dec || !ids_step) {
            attn_format_err(err, sizeof err, "rank %d: out of memory for inputs", me);
            code = ATTN_EXIT_FAIL;
        } else if (read_ids(st->inputs, "input_ids", m->workload.batch, L, V, a->batch_begin, a->batch_end, ids_pre, err,
                            sizeof err) != 0 ||
                   (TD && read_ids(st->inputs, "decode_input_ids", m->workload.batch, TD, V, a->batch_begin, a->batch_end,
                                   ids_dec, err, sizeof err) != 0)) {
            code = ATTN_EXIT_BADINPUT; /* the input file lacks the ids, has the wrong shape or an id out of the vocabulary */
        }
    } else if (first) {
        in_pre = alloc_floats((size_t)B * L * C, 0);
        in_dec = alloc_floats((size_t)B * TD * C, 0);
        if (!in_pre || !in_dec) {
            attn_format_err(err, sizeof err, "rank %d: out of memory for inputs", me);
            code = ATTN_EXIT_FAIL;
        } else if (read_input(st->inputs, "hidden_states", m->workload.batch, L, C, (long long)a->batch_begin * L,
                              (long long)a->batch_end * L, in_pre, err, sizeof err) != 0 ||
                   (TD && read_input(st->inputs, "decode_hidden_states", m->workload.batch, TD, C, (long long)a->batch_begin * TD,
                                     (long long)a->batch_end * TD, in_dec, err, sizeof err) != 0)) {
            code = ATTN_EXIT_BADINPUT; /* the input file lacks a tensor or has the wrong shape */
        }
    }
    out_pre = alloc_floats((size_t)B * out_seq, NAN);
    out_dec = alloc_floats((size_t)B * TD * out_tok, NAN);
    in_step = alloc_floats((size_t)B * C, 0);
    out_step = alloc_floats((size_t)B * out_tok, NAN);
    runs = calloc((size_t)o->repeat, sizeof *runs);
    if (!code && (!out_pre || !out_dec || !in_step || !out_step || !runs)) {
        attn_format_err(err, sizeof err, "rank %d: out of memory for outputs", me);
        code = ATTN_EXIT_FAIL;
    }
    if ((rc = run_agree(st, code, err)) != 0) goto done;

    int progress = lead && isatty(2);
    double scratch[OP_COUNT];
    for (int run = 0; run < o->warmup + o->repeat; run++) {
        if (run == o->warmup) { /* counters and timers restart for the timed runs */
            memset(fw->flops, 0, sizeof fw->flops);
            memset(fw->comm_bytes, 0, sizeof fw->comm_bytes);
            memset(fw->gemm_calls, 0, sizeof fw->gemm_calls);
            for (int i = 0; i < OP_COUNT; i++) scratch[i] = 0;
            st->be->op_times(st->be->ctx, scratch);
        }
        run_sample smp;
        memset(&smp, 0, sizeof smp);
        if (progress) fprintf(stderr, "\rattnrun: %s run %d/%d: prefill   ", run < o->warmup ? "warm-up" : "timed",
                              run < o->warmup ? run + 1 : run - o->warmup + 1, run < o->warmup ? o->warmup : o->repeat);
        c->barrier(c, GROUP_KIND_COUNT);
        double t0 = measure_now();
        forward_prefill(fw, in_pre, ids_pre, last ? out_pre : NULL);
        st->be->synchronize(st->be->ctx);
        smp.ttft_s = c->host_max_double(c, measure_now() - t0);
        st->be->op_times(st->be->ctx, smp.op_s[PHASE_PREFILL]);
        if (TD > 0) {
            /* tpot_s is the mean step over the whole output, contexts L .. L+TD-1, as
             * serving benchmarks define TPOT (docs/metrics.md): the loop's wall time over
             * TD; the op times are the first step's (synchronized after it) */
            if (progress) fprintf(stderr, "\b\b\b\b\b\b\b\b\b\bdecode    ");
            for (int step = 0; step < TD; step++) {
                if (step == 0) {
                    c->barrier(c, GROUP_KIND_COUNT);
                    t0 = measure_now();
                }
                if (first && V > 0)
                    for (int b = 0; b < B; b++) ids_step[b] = ids_dec[(size_t)b * TD + step];
                else if (first)
                    for (int b = 0; b < B; b++)
                        memcpy(in_step + (size_t)b * C, in_dec + ((size_t)b * TD + step) * C, (size_t)C * sizeof(float));
                fw->counting = step == 0;
                forward_decode_step(fw, step, in_step, ids_step, last ? out_step : NULL);
                if (step == 0) {
                    st->be->synchronize(st->be->ctx);
                    st->be->op_times(st->be->ctx, smp.op_s[PHASE_DECODE]);
                    /* a graph-launched step has no per-op times (events cannot be
                     * timed inside a graph): tpot_s is the whole step */
                    if (forward_decode_graphed(fw))
                        for (int op = 0; op < OP_COUNT; op++) smp.op_s[PHASE_DECODE][op] = -1.0;
                }
                if (last)
                    for (int b = 0; b < B; b++)
                        memcpy(out_dec + ((size_t)b * TD + step) * out_tok, out_step + (size_t)b * out_tok, out_tok * sizeof(float));
            }
            st->be->synchronize(st->be->ctx);
            smp.tpot_s = c->host_max_double(c, measure_now() - t0) / TD;
            for (int i = 0; i < OP_COUNT; i++) scratch[i] = 0;
            st->be->op_times(st->be->ctx, scratch); /* discard the later steps' op times */
            fw->counting = 1;
        }
        if (run >= o->warmup) runs[run - o->warmup] = smp;
    }
    if (progress) fprintf(stderr, "\rattnrun: done%40s\n", "");

    /* outputs to rank 0 */
    if (o->check || o->dump) {
        size_t np = (size_t)m->workload.batch * out_seq, nd = (size_t)m->workload.batch * TD * out_tok;
        float *all_pre = NULL, *all_dec = NULL;
        if (c->rank == 0) {
            all_pre = alloc_floats(np, NAN);
            all_dec = alloc_floats(nd, NAN);
            if (!all_pre || !all_dec) {
                fprintf(stderr, "attnrun: error: out of memory gathering outputs\n");
                c->abort(c, 1);
            }
        }
        gather_outputs(st, out_pre, out_dec, all_pre, all_dec);
        if (c->rank == 0 && o->check) code = check_outputs(st, all_pre, all_dec);
        if (c->rank == 0 && o->dump) {
            tensor_out t[2] = {{"hidden_states", 3, {m->workload.batch, L, C}, all_pre},
                               {"decode_output", 3, {m->workload.batch, TD, C}, all_dec}};
            if (V > 0) { /* the ends: the last prompt position's logits and each decode position's */
                t[0] = (tensor_out){"logits", 2, {m->workload.batch, V}, all_pre};
                t[1] = (tensor_out){"decode_logits", 3, {m->workload.batch, TD, V}, all_dec};
            }
            if (safetensors_write(o->dump, t, 2, err, sizeof err) != 0) {
                fprintf(stderr, "attnrun: error: %s\n", err);
                code = 1;
            }
        }
        free(all_pre);
        free(all_dec);
    }

    /* the measured report */
    attn_report rep;
    if (measure_build_report(&rep, fw, c, runs, o->repeat, share) != 0) {
        fprintf(stderr, "attnrun: error: rank %d: out of memory building the report\n", me);
        c->abort(c, 1);
    }
    if (lead && share >= 0) {
        double *t = malloc((size_t)o->repeat * sizeof *t);
        if (t) {
            for (int i = 0; i < o->repeat; i++) t[i] = runs[i].ttft_s;
            for (int i = 1; i < o->repeat; i++) /* insertion sort: a handful of runs */
                for (int j = i; j > 0 && t[j] < t[j - 1]; j--) { double x = t[j]; t[j] = t[j - 1]; t[j - 1] = x; }
            printf("attnrun: %s, rank %d of %d alone (collectives skipped): local prefill %.6f s (median of %d)", st->opt.plan,
                   share, st->plan.world, t[o->repeat / 2], o->repeat);
            free(t);
        }
        printf(", peak memory %.0f bytes\n", rep.metric[MET_PEAK_MEMORY_BYTES]);
    } else if (lead) {
        printf("attnrun: %s, %d rank%s (backend %s, comm %s): ttft %.6f s (min %.6f, max %.6f)", st->opt.plan,
               st->plan.world, st->plan.world == 1 ? "" : "s", st->be->name, st->comm->name, rep.metric[MET_TTFT_S],
               rep.metric_min[MET_TTFT_S], rep.metric_max[MET_TTFT_S]);
        if (TD) printf(", tpot %.6f s", rep.metric[MET_TPOT_S]);
        printf(", peak memory %.0f bytes\n", rep.metric[MET_PEAK_MEMORY_BYTES]);
    }
    if (lead && o->stats) { /* per timed run; decode: the first step, as the counters count */
        double(*g)[OP_COUNT] = fw->gemm_calls;
        printf("attnrun: rank %d attention GEMM calls: prefill scores %.0f pv %.0f attention %.0f, decode step scores %.0f "
               "pv %.0f attention %.0f (all the rank's layers; prefill: all microbatches; attention: fused calls)\n",
               me, g[PHASE_PREFILL][OP_SCORES] / o->repeat, g[PHASE_PREFILL][OP_PV] / o->repeat,
               g[PHASE_PREFILL][OP_ATTENTION] / o->repeat, TD ? g[PHASE_DECODE][OP_SCORES] / o->repeat : 0.0,
               TD ? g[PHASE_DECODE][OP_PV] / o->repeat : 0.0, TD ? g[PHASE_DECODE][OP_ATTENTION] / o->repeat : 0.0);
        if (TD) {
            char how[256];
            forward_graph_describe(fw, how, sizeof how);
            printf("attnrun: rank %d decode step: %s\n", me, how);
        }
    }
    if (lead) {
        if (o->out) {
            char machine[1024];
            measure_machine(machine, sizeof machine, st->be->name, share >= 0 ? 1 : st->plan.world, o->threads);
            attn_diag d;
            attn_diag_init(&d);
            if (report_write_measured(o->out, &rep, st->plan_sha, machine, &d) != 0) code = 1;
        }
    }
    report_free(&rep);
    rc = run_agree(st, code, "");
done:
    free(in_pre);
    free(in_dec);
    free(out_pre);
    free(out_dec);
    free(in_step);
    free(out_step);
    free(ids_pre);
    free(ids_dec);
    free(ids_step);
    free(runs);
    return rc;
}
