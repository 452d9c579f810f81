/* cost_cli.c: argument handling and input loading shared by `attnplan price` and
 * `attnplan plan`. Errors in the files come out as FILE:LINE:COL through the loaders;
 * bad flags as one line naming the flag. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cost_cli.h"

void cli_inputs_init(cli_inputs *in) {
    memset(in, 0, sizeof *in);
    in->batch = in->seq_len = in->decode_tokens = in->microbatches = -1;
}

int cli_parse_int(const char *s, long lo, long hi, int *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* A flag with an integer value in [lo, hi]. */
static int take_int(const char *cmd, int argc, char **argv, int *i, long lo, long hi, int *dst) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "attnplan %s: %s needs a value\n", cmd, argv[*i]);
        return -1;
    }
    if (cli_parse_int(argv[*i + 1], lo, hi, dst) != 0) {
        fprintf(stderr, "attnplan %s: %s: '%s' is not an integer in [%ld, %ld]\n", cmd, argv[*i], argv[*i + 1], lo, hi);
        return -1;
    }
    *i += 1;
    return 1;
}

int cli_take_arg(const char *cmd, int argc, char **argv, int *i, cli_inputs *in) {
    const char *a = argv[*i];
    if (!strcmp(a, "--devices")) return take_int(cmd, argc, argv, i, 1, 1 << 20, &in->devices);
    if (!strcmp(a, "--batch")) return take_int(cmd, argc, argv, i, 1, 1 << 24, &in->batch);
    if (!strcmp(a, "--seq-len")) return take_int(cmd, argc, argv, i, 1, 1 << 24, &in->seq_len);
    if (!strcmp(a, "--decode-tokens")) return take_int(cmd, argc, argv, i, 0, 1 << 24, &in->decode_tokens);
    if (!strcmp(a, "--microbatches")) return take_int(cmd, argc, argv, i, 0, 1 << 24, &in->microbatches);
    if (!strcmp(a, "--query-chunk")) return take_int(cmd, argc, argv, i, 1, 1 << 24, &in->query_chunk);
    if (!strcmp(a, "--calibration")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "attnplan %s: --calibration needs a file\n", cmd);
            return -1;
        }
        in->calibration_path = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--score-workspace")) {
        if (*i + 1 >= argc || attn_parse_bytes(argv[*i + 1], &in->score_workspace) != 0) {
            fprintf(stderr, "attnplan %s: --score-workspace needs a byte count (digits, optional K, M or G suffix)\n", cmd);
            return -1;
        }
        *i += 1;
        return 1;
    }
    if (a[0] == '-' && a[1] != '\0') return 0;
    if (!in->topology_path) {
        in->topology_path = a;
        return 1;
    }
    if (!in->model_path) {
        in->model_path = a;
        return 1;
    }
    fprintf(stderr, "attnplan %s: unexpected argument '%s'\n", cmd, a);
    return -1;
}

int cli_load(const char *cmd, cli_inputs *in) {
    attn_diag d;
    attn_diag_init(&d);
    if (!in->topology_path || !in->model_path) {
        fprintf(stderr, "attnplan %s: needs TOPOLOGY and MODEL (see --help)\n", cmd);
        return ATTN_EXIT_BADINPUT;
    }
    if (topology_load(in->topology_path, &in->topo, &d) != 0) return ATTN_EXIT_BADINPUT;
    in->loaded = 1;
    if (model_load(in->model_path, &in->model, &d) != 0) return ATTN_EXIT_BADINPUT;
    attn_workload *w = &in->model.workload;
    if (in->batch >= 0) w->batch = in->batch;
    if (in->seq_len >= 0) w->seq_len = in->seq_len;
    if (in->decode_tokens >= 0) w->decode_tokens = in->decode_tokens;
    if (in->microbatches >= 0) w->microbatches = in->microbatches;
    if (model_check(&in->model, NULL, &d) != 0) {
        fprintf(stderr, "attnplan %s: the workload overrides make %s inconsistent\n", cmd, in->model_path);
        return ATTN_EXIT_BADINPUT;
    }
    if (in->devices > 0 && topology_truncate(&in->topo, in->devices) != 0) {
        fprintf(stderr, "attnplan %s: --devices %d: topology %s has %d devices\n", cmd, in->devices, in->topo.name,
                in->topo.n_devices);
        return ATTN_EXIT_BADINPUT;
    }
    if (in->calibration_path) { /* after --devices: efficiencies are rescaled to this topology */
        if (cost_calibration_load(in->calibration_path, &in->topo, &in->cal, NULL, &d) != 0) return ATTN_EXIT_BADINPUT;
        in->cal_loaded = 1;
    }
    return ATTN_EXIT_OK;
}

void cli_free(cli_inputs *in) {
    if (in->loaded) topology_free(&in->topo);
    in->loaded = 0;
    if (in->cal_loaded) cost_calibration_free(&in->cal);
    in->cal_loaded = 0;
}

void cli_options(const cli_inputs *in, cost_options *o) {
    cost_options_default(o);
    if (in->query_chunk > 0) o->query_chunk = in->query_chunk;
    if (in->score_workspace > 0) o->score_workspace = in->score_workspace;
    if (in->cal_loaded) o->calibration = &in->cal;
}
