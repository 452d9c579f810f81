/* cli_input.h: the command-line plumbing `attnplan price` and `attnplan plan` share:
 * TOPOLOGY and MODEL positionals, --devices and the workload overrides, and loading both
 * files with FILE:LINE:COL errors. Options are read with lib/args.h, so every complaint
 * has its one format. */
#ifndef ATTN_CLI_INPUT_H
#define ATTN_CLI_INPUT_H
#include "args.h"
#include "cost.h"

typedef struct cli_input {
    const char *topology_path, *model_path;
    int devices;                  /* --devices N; 0 = all of the topology */
    int batch, seq_len, decode_tokens, microbatches; /* -1 = the model file's value */
    int isl, osl;                 /* --isl/--osl, the serving names of --seq-len/--decode-tokens; -1 = not given */
    double rate;                  /* --rate requests/s; 0 = the model file's value */
    int query_chunk;              /* --query-chunk; 0 = default */
    double score_workspace;       /* --score-workspace BYTES; 0 = default (attn_tiling.h) */
    int attention_unfused;        /* --attention unfused (default fused; cost_options.fused_attention) */
    const char *calibration_path; /* --calibration FILE (docs/calibration.md); NULL: topology defaults */
    cost_calibration cal;         /* loaded by cli_input_load against the topology */
    int cal_loaded;
    attn_topology topo;
    attn_model model;
    int loaded;
} cli_input;

void cli_input_init(cli_input *in);
/* Takes the argument under a's cursor (and its value) when it is a shared option or a
 * positional: returns 1 taken, 0 not ours (the cursor stays), -1 bad usage (printed in
 * args.h's format, a->prog first). */
int cli_input_take_arg(attn_args *a, cli_input *in);
/* Loads both files, applies the overrides and --devices. Returns ATTN_EXIT_OK, or
 * ATTN_EXIT_BADINPUT with the errors printed. a: the command's parser, for the usage
 * error of a missing TOPOLOGY or MODEL; prog names the command in the other messages. */
int cli_input_load(const attn_args *a, cli_input *in);
void cli_input_free(cli_input *in);
/* Fills o from the inputs (query chunk, score workspace, --attention); calibration stays NULL until a file is given. */
void cli_input_options(const cli_input *in, cost_options *o);

#endif
