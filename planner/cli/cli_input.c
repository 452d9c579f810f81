/* cli_input.c: argument handling and input loading shared by `attnplan price` and
 * `attnplan plan`. Errors in the files come out as FILE:LINE:COL through the loaders;
 * bad flags in lib/args.h's one format, naming the flag. */
#include <stdio.h>
#include <string.h>
#include "cli_input.h"

void cli_input_init(cli_input *in) {
    memset(in, 0, sizeof *in);
    in->batch = in->seq_len = in->decode_tokens = in->microbatches = in->isl = in->osl = -1;
}

/* A flag with an integer value in [lo, hi]: 1 taken, -1 bad (printed). */
static int take_int(attn_args *a, long lo, long hi, int *dst) { return attn_args_int(a, lo, hi, dst) == 0 ? 1 : -1; }

int cli_input_take_arg(attn_args *a, cli_input *in) {
    if (attn_args_is(a, "--devices")) return take_int(a, 1, 1 << 20, &in->devices);
    if (attn_args_is(a, "--batch")) return take_int(a, 1, MODEL_SIZE_MAX, &in->batch);
    if (attn_args_is(a, "--seq-len")) return take_int(a, 1, MODEL_SIZE_MAX, &in->seq_len);
    if (attn_args_is(a, "--decode-tokens")) return take_int(a, 0, MODEL_SIZE_MAX, &in->decode_tokens);
    if (attn_args_is(a, "--isl")) return take_int(a, 1, MODEL_SIZE_MAX, &in->isl);
    if (attn_args_is(a, "--osl")) return take_int(a, 0, MODEL_SIZE_MAX, &in->osl);
    if (attn_args_is(a, "--rate")) return attn_args_real(a, 1e-12, 1e12, &in->rate) == 0 ? 1 : -1;
    if (attn_args_is(a, "--microbatches")) return take_int(a, 0, MODEL_SIZE_MAX, &in->microbatches);
    if (attn_args_is(a, "--query-chunk")) return take_int(a, 1, MODEL_SIZE_MAX, &in->query_chunk);
    if (attn_args_is(a, "--calibration")) {
        in->calibration_path = attn_args_value(a);
        return in->calibration_path ? 1 : -1;
    }
    if (attn_args_is(a, "--score-workspace")) return attn_args_bytes(a, &in->score_workspace) == 0 ? 1 : -1;
    if (attn_args_is(a, "--attention")) { /* attnrun's flag of the same name: what the runtime runs */
        static const char *const kinds[] = {"fused", "unfused"};
        return attn_args_choice(a, kinds, 2, &in->attention_unfused) == 0 ? 1 : -1;
    }
    if (attn_args_is_option(a)) return 0;
    const char *x = attn_args_peek(a);
    if (!x) return 0;
    if (!in->topology_path) {
        in->topology_path = x;
        attn_args_next(a);
        return 1;
    }
    if (!in->model_path) {
        in->model_path = x;
        attn_args_next(a);
        return 1;
    }
    return attn_args_reject(a);
}

int cli_input_load(const attn_args *a, cli_input *in) {
    attn_diag d;
    attn_diag_init(&d);
    if (!in->topology_path || !in->model_path) {
        attn_args_fail(a, "needs TOPOLOGY and MODEL (see --help)");
        return ATTN_EXIT_BADINPUT;
    }
    /* one length under two names: both only when they agree */
    if (in->isl >= 0 && in->seq_len >= 0 && in->isl != in->seq_len) {
        attn_args_fail(a, "--isl %d and --seq-len %d are the same length: give one, or equal values", in->isl, in->seq_len);
        return ATTN_EXIT_BADINPUT;
    }
    if (in->osl >= 0 && in->decode_tokens >= 0 && in->osl != in->decode_tokens) {
        attn_args_fail(a, "--osl %d and --decode-tokens %d are the same length: give one, or equal values", in->osl,
                       in->decode_tokens);
        return ATTN_EXIT_BADINPUT;
    }
    if (in->isl >= 0) in->seq_len = in->isl;
    if (in->osl >= 0) in->decode_tokens = in->osl;
    if (topology_load(in->topology_path, &in->topo, &d) != 0) return ATTN_EXIT_BADINPUT;
    in->loaded = 1;
    if (model_load(in->model_path, &in->model, &d) != 0) return ATTN_EXIT_BADINPUT;
    attn_workload *w = &in->model.workload;
    if (in->batch >= 0) w->batch = in->batch;
    if (in->seq_len >= 0) w->seq_len = in->seq_len;
    if (in->decode_tokens >= 0) w->decode_tokens = in->decode_tokens;
    if (in->microbatches >= 0) w->microbatches = in->microbatches;
    if (in->rate > 0) w->rate = in->rate;
    if (model_check(&in->model, NULL, &d) != 0) {
        fprintf(stderr, "%s: the workload overrides make %s inconsistent\n", a->prog, in->model_path);
        return ATTN_EXIT_BADINPUT;
    }
    if (in->devices > 0 && topology_truncate(&in->topo, in->devices) != 0) {
        fprintf(stderr, "%s: --devices %d: topology %s has %d devices\n", a->prog, in->devices, in->topo.name,
                in->topo.n_devices);
        return ATTN_EXIT_BADINPUT;
    }
    if (in->calibration_path) { /* after --devices: efficiencies are rescaled to this topology */
        if (cost_calibration_load(in->calibration_path, &in->topo, &in->cal, NULL, &d) != 0) return ATTN_EXIT_BADINPUT;
        in->cal_loaded = 1;
    }
    return ATTN_EXIT_OK;
}

void cli_input_free(cli_input *in) {
    if (in->loaded) topology_free(&in->topo);
    in->loaded = 0;
    if (in->cal_loaded) cost_calibration_free(&in->cal);
    in->cal_loaded = 0;
}

void cli_input_options(const cli_input *in, cost_options *o) {
    cost_options_default(o);
    if (in->query_chunk > 0) o->query_chunk = in->query_chunk;
    if (in->score_workspace > 0) o->score_workspace = in->score_workspace;
    o->fused_attention = !in->attention_unfused;
    if (in->cal_loaded) o->calibration = &in->cal;
}
