/* cost_cli.h: the command-line plumbing `attnplan price` and `attnplan plan` share:
 * TOPOLOGY and MODEL positionals, --devices and the workload overrides, loading both
 * files with FILE:LINE:COL errors, and strict integer parsing. */
#ifndef ATTN_COST_CLI_H
#define ATTN_COST_CLI_H
#include "cost.h"

typedef struct cli_inputs {
    const char *topology_path, *model_path;
    int devices;                  /* --devices N; 0 = all of the topology */
    int batch, seq_len, decode_tokens, microbatches; /* -1 = the model file's value */
    int query_chunk;              /* --query-chunk; 0 = default */
    double score_workspace;       /* --score-workspace BYTES; 0 = default (attn_tiling.h) */
    const char *calibration_path; /* --calibration FILE (docs/calibration.md); NULL: topology defaults */
    cost_calibration cal;         /* loaded by cli_load against the topology */
    int cal_loaded;
    attn_topology topo;
    attn_model model;
    int loaded;
} cli_inputs;

void cli_inputs_init(cli_inputs *in);
/* Strict decimal integer in [lo, hi]; 0 ok. */
int cli_parse_int(const char *s, long lo, long hi, int *out);
/* Consumes argv[*i] (and its value) when it is a shared option or a positional:
 * returns 1 consumed, 0 not ours, -1 bad usage (message printed, prefixed by cmd). */
int cli_take_arg(const char *cmd, int argc, char **argv, int *i, cli_inputs *in);
/* Loads both files, applies the overrides and --devices. Returns ATTN_EXIT_OK, or
 * ATTN_EXIT_BADINPUT with the errors printed. */
int cli_load(const char *cmd, cli_inputs *in);
void cli_free(cli_inputs *in);
/* Fills o from the inputs (query chunk, score workspace); calibration stays NULL until a file is given. */
void cli_options(const cli_inputs *in, cost_options *o);

#endif
