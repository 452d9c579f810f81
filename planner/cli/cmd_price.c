/* cmd_price.c: `attnplan price TOPOLOGY MODEL --strategy SPEC [-o PLAN]`: prices one
 * strategy's even plan with the cost model and prints a readable breakdown: the metrics,
 * the physical floors, the pipeline, the per-op table of the critical rank of each phase,
 * every collective with its group, bytes and link, and memory. -o writes the plan with its
 * predicted report (plan_write: atomic). */
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "cli_input.h"
#include "commands.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnplan price TOPOLOGY MODEL --strategy SPEC [-o PLAN] [--devices N]\n"
            "                     [--batch B] [--seq-len L] [--decode-tokens T] [--microbatches K]\n"
            "                     [--isl L] [--osl T] [--rate R]  (serving names of --seq-len, --decode-tokens)\n"
            "                     [--query-chunk C] [--score-workspace BYTES]\n"
            "                     [--attention fused|unfused]\n"
            "                     [--calibration FILE]\n\n"
            "Prices one strategy with the analytic cost model (docs/cost-model.md).\n"
            "SPEC: dp=1,pp=2,n=8,m=1 or dp=1,pp=1,n=4,m=4,scheme=score-allreduce|qk-allgather|head-alltoall\n"
            "      (mb=K sets the pipeline microbatches). The strategy must use exactly the topology's\n"
            "      devices, or --devices N of them (the first N).\n"
            "--score-workspace BYTES  budget of one attention score block (K, M, G suffixes; default 1G):\n"
            "         sequences and heads are processed in blocks that fit it, as attnrun does\n"
            "--attention fused|unfused  price the fused attention op (default; none, qk-allgather and\n"
            "         head-alltoall) or the materialized scores, softmax and P.V (attnrun's flag)\n"
            "-o PLAN  write the plan file with its predicted report\n"
            "exit codes: 0 priced (a plan that does not fit is reported, not an error), 1 failure or,\n"
            "            with -o, a plan that does not fit (priced and shown, no file written),\n"
            "            2 bad usage, bad input or a strategy the model/topology cannot take\n");
}

static void print_metrics(const attn_report *r) {
    const double *v = r->metric;
    printf("metrics\n");
    printf("  %-22s %14.6g tokens/s\n", "prefill_tokens_per_s", v[MET_PREFILL_TOKENS_PER_S]);
    printf("  %-22s %14.6g s\n", "ttft_s", v[MET_TTFT_S]);
    printf("  %-22s %14.6g s   (%.4f ms)\n", "tpot_s", v[MET_TPOT_S], v[MET_TPOT_S] * 1e3);
    printf("  %-22s %14.6g tokens/s\n", "decode_tokens_per_s", v[MET_DECODE_TOKENS_PER_S]);
    printf("  %-22s %14.6g bytes (%.2f GB)\n", "peak_memory_bytes", v[MET_PEAK_MEMORY_BYTES],
           v[MET_PEAK_MEMORY_BYTES] / 1e9);
    printf("  %-22s %14.4f\n", "comm_fraction", v[MET_COMM_FRACTION]);
    /* serving (docs/metrics.md): one request's latency and the rates it gives */
    printf("  %-27s %9.6g s\n", "e2e_latency_s", v[MET_E2E_LATENCY_S]);
    printf("  %-27s %9.6g tokens/s\n", "output_tokens_per_s_per_gpu", v[MET_OUTPUT_TOKENS_PER_S_PER_GPU]);
    printf("  %-27s %9.6g tokens/s\n", "tokens_per_s_per_user", v[MET_TOKENS_PER_S_PER_USER]);
}

static void print_ops(const attn_plan *p, int rank, attn_phase ph) {
    const attn_rank_assign *a = NULL;
    int idx = 0;
    for (int i = 0; i < p->world; i++)
        if (p->ranks[i].rank == rank) a = &p->ranks[i], idx = i;
    if (!a) return;
    const attn_rank_report *rr = &p->predicted.ranks[idx];
    double total = 0;
    for (int k = 0; k < OP_COUNT; k++) total += rr->op[ph][k].time_s;
    char seq[32] = ""; /* the sequence slice, when the plan has the axis */
    if (strategy_seq(&p->strategy) > 1) snprintf(seq, sizeof seq, ", seq %d", a->seq);
    printf("\n%s, critical rank %d (replica %d, stage %d%s, head group %d, segment %d; device %d on node %d)\n",
           ph == PHASE_PREFILL ? "prefill (whole batch of its replica)" : "decode (one step)", rank, a->replica,
           a->stage, seq, a->head_group, a->seg, a->device, a->node);
    printf("  %-18s %-8s %12s %7s %12s %12s\n", "op", "class", "time ms", "share", "GFLOP", "GB");
    for (int k = 0; k < OP_COUNT; k++) {
        const attn_op_cost *c = &rr->op[ph][k];
        if (c->time_s <= 0 && c->flops <= 0 && c->bytes <= 0) continue;
        printf("  %-18s %-8s %12.4f %6.1f%% %12.3f %12.4f\n", attn_op_table[k].key,
               attn_opclass_names[attn_op_table[k].cls], c->time_s * 1e3, total > 0 ? 100 * c->time_s / total : 0,
               c->flops / 1e9, c->bytes / 1e9);
    }
    printf("  %-18s %-8s %12.4f\n", "total", "", total * 1e3);
}

static void print_colls(const cost_detail *det) {
    printf("\ncollectives of the critical ranks (bytes: nccl-tests buffer size S per call)\n");
    if (det->n_coll == 0) {
        printf("  none (one device per stage and no pipeline)\n");
        return;
    }
    /* transfer: alpha-beta; wait: for the slowest member (a calibration's sync_wait, else 0);
     * their sum is the op's time in the tables above */
    /* algorithm: NCCL's choice (cost_nccl.c), or where the time came from instead */
    printf("  %-8s %-18s %-14s %-6s %5s %-8s %-16s %14s %10s %12s %10s\n", "phase", "op", "collective", "group",
           "size", "link", "algorithm", "bytes/call", "calls", "transfer ms", "wait ms");
    for (int i = 0; i < det->n_coll; i++) {
        const cost_coll_line *l = &det->coll[i];
        char algo[40];
        if (l->source == COST_COLL_ALPHA_BETA)
            snprintf(algo, sizeof algo, "alpha-beta");
        else
            snprintf(algo, sizeof algo, "%s/%s%s", coll_algo_name(l->algo), coll_proto_name(l->proto),
                     l->source == COST_COLL_MODEL ? "" : l->source == COST_COLL_MEASURED ? " (meas)" : " (cal)");
        printf("  %-8s %-18s %-14s %-6s %5d %-8s %-16s %14.6g %10.0f %12.4f %10.4f%s\n", attn_phase_names[l->phase],
               attn_op_table[l->op].key, coll_name(l->coll), plan_group_kind_name(l->group), l->group_size,
               link_name(l->link), algo, l->bytes_per_call, l->calls, l->time_s * 1e3, l->wait_s * 1e3,
               l->hierarchical ? "  (across nodes)" : "");
    }
}

static void print_memory(const attn_plan *p) {
    const attn_report *r = &p->predicted;
    int worst = 0;
    for (int i = 1; i < r->n_ranks; i++)
        if (r->ranks[i].memory_bytes > r->ranks[worst].memory_bytes) worst = i;
    const attn_rank_report *rr = &r->ranks[worst];
    printf("\nmemory, fullest device (rank %d, device %d), GB\n", p->ranks[worst].rank, p->ranks[worst].device);
    printf("  weights %.3f + kv cache %.3f + activations %.3f + comm buffers %.3f = %.3f of %.3f\n",
           rr->weights_bytes / 1e9, rr->kv_cache_bytes / 1e9, rr->activation_bytes / 1e9, rr->comm_buffer_bytes / 1e9,
           rr->memory_bytes / 1e9, rr->memory_capacity_bytes / 1e9);
    if (r->fits)
        printf("  fits on every device\n");
    else
        printf("  DOES NOT FIT: the fullest device is %.3f GB over its capacity\n", r->shortfall_bytes / 1e9);
}

int cmd_price(int argc, char **argv) {
    cli_input in;
    cli_input_init(&in);
    const char *spec = NULL, *out_path = NULL;
    attn_args p;
    attn_args_init(&p, "attnplan price", argc, argv, 1);
    while (attn_args_peek(&p)) {
        if (attn_args_is(&p, "--help") || attn_args_is(&p, "-h")) {
            usage(stdout);
            return ATTN_EXIT_OK;
        }
        int r;
        if (attn_args_is(&p, "--strategy")) r = (spec = attn_args_value(&p)) ? 1 : -1;
        else if (attn_args_is(&p, "-o")) r = (out_path = attn_args_value(&p)) ? 1 : -1;
        else if ((r = cli_input_take_arg(&p, &in)) == 0) r = attn_args_reject(&p);
        if (r < 0) return ATTN_EXIT_BADINPUT;
    }
    if (!spec) {
        attn_args_fail(&p, "--strategy SPEC is required (see --help)");
        return ATTN_EXIT_BADINPUT;
    }
    attn_strategy s;
    char err[256];
    if (strategy_parse(spec, &s, err, sizeof err) != 0) {
        attn_args_fail(&p, "--strategy '%s': %s", spec, err);
        return ATTN_EXIT_BADINPUT;
    }
    int rc = cli_input_load(&p, &in);
    if (rc != ATTN_EXIT_OK) {
        cli_input_free(&in);
        return rc;
    }
    if (strategy_devices(&s) != in.topo.n_devices) {
        fprintf(stderr, "attnplan price: strategy %s uses %d devices; topology %s has %d (use --devices N)\n", spec,
                strategy_devices(&s), in.topo.name, in.topo.n_devices);
        cli_input_free(&in);
        return ATTN_EXIT_BADINPUT;
    }
    cost_options o;
    cli_input_options(&in, &o);
    attn_plan plan;
    cost_detail det;
    if (cost_price_strategy(&in.model, &in.topo, &s, &o, &plan, &det, err, sizeof err) != 0) {
        fprintf(stderr, "attnplan price: strategy %s on %s: %s\n", spec, in.model.name, err);
        cli_input_free(&in);
        return ATTN_EXIT_BADINPUT;
    }
    char sbuf[128];
    strategy_format(&plan.strategy, sbuf, sizeof sbuf);
    const attn_workload *w = &in.model.workload;
    printf("%s on %s (%d devices): %s\n", in.model.name, in.topo.name, in.topo.n_devices, sbuf);
    printf("workload: batch %d, seq_len %d, decode_tokens %d, %s; query chunk %d, scores %d-byte, "
           "score workspace %.0f MiB; attention %s\n\n", w->batch, w->seq_len, w->decode_tokens,
           dtype_name(in.model.dtype), o.query_chunk, o.score_bytes, o.score_workspace / (1024.0 * 1024.0),
           o.fused_attention && plan.strategy.scheme != SCHEME_SCORE_ALLREDUCE ? "fused" : "unfused");
    print_metrics(&plan.predicted);
    printf("\nfloors: prefill compute floor %.6g s (fullest device's FLOPs / peak); "
           "TPOT HBM floor %.6g s (weights + KV at seq_len / bandwidth)\n",
           det.compute_floor_s, det.hbm_floor_s);
    printf("pipeline: %d microbatch(es) x %d stage(s); slowest stage %d: %.4f ms per microbatch; "
           "p2p %.4f ms; bubble %.4f ms\n",
           det.microbatches, plan.strategy.pp, det.critical_stage, det.stage_time_s * 1e3, det.p2p_time_s * 1e3,
           det.bubble_s * 1e3);
    for (int ph = 0; ph < PHASE_COUNT; ph++)
        if (det.attention_calls[ph] <= 0) /* the fused op has no score blocks */
            printf("score blocks (%s): %d per query chunk of %d sequence(s) x %d head(s), workspace %.4g MB\n",
                   attn_phase_names[ph], det.score_blocks[ph], det.block_seqs[ph], det.block_heads[ph],
                   det.score_ws_bytes[ph] / 1e6);
    printf("attention GEMM calls of rank %d: prefill %.0f scores + %.0f P.V; rank %d: decode step %.0f + %.0f "
           "(all its layers; prefill: all microbatches)\n",
           det.critical_rank[PHASE_PREFILL], det.scores_calls[PHASE_PREFILL], det.pv_calls[PHASE_PREFILL],
           det.critical_rank[PHASE_DECODE], det.scores_calls[PHASE_DECODE], det.pv_calls[PHASE_DECODE]);
    for (int ph = 0; ph < PHASE_COUNT; ph++)
        if (det.attention_calls[ph] > 0)
            printf("fused attention (%s): %.0f launches of rank %d, tiles %d x %d, %.6g tiles per sequence x head, "
                   "%d kv split(s)\n",
                   attn_phase_names[ph], det.attention_calls[ph], det.critical_rank[ph], det.attention_q_tile[ph],
                   det.attention_k_tile[ph], det.attention_tiles[ph], det.attention_kv_splits[ph]);
    printf("decode step launch overhead of rank %d: %.4f ms (%s)\n", det.critical_rank[PHASE_DECODE],
           det.decode_launch_s * 1e3, det.graph_decode ? "one CUDA graph launch and its kernel nodes" : "eager launches");
    print_ops(&plan, det.critical_rank[PHASE_PREFILL], PHASE_PREFILL);
    print_ops(&plan, det.critical_rank[PHASE_DECODE], PHASE_DECODE);
    print_colls(&det);
    print_memory(&plan);
    rc = ATTN_EXIT_OK;
    if (out_path && !plan.predicted.fits) {
        /* A plan over a device's capacity is priced and shown, but no plan file is written:
         * attnplan validate and attnrun refuse it (plan_check), so writing one would only
         * hand the user a file that fails later. */
        fprintf(stderr, "attnplan price: %s not written: the plan does not fit (%.3f GB over on the fullest device)\n",
                out_path, plan.predicted.shortfall_bytes / 1e9);
        rc = ATTN_EXIT_FAIL;
    } else if (out_path) {
        attn_diag d;
        attn_diag_init(&d);
        if (plan_write(out_path, &plan, &d) != 0) {
            fprintf(stderr, "attnplan price: could not write %s\n", out_path);
            rc = ATTN_EXIT_FAIL;
        } else {
            printf("\nplan written to %s\n", out_path);
        }
    }
    plan_free(&plan);
    cli_input_free(&in);
    return rc;
}
