/* main.c: attnplan's entry point. Subcommands live in cmd_*.c files; this file only
 * dispatches. Exit codes: 0 success, 1 failure, 2 bad usage or bad input. */
#include <stdio.h>
#include <string.h>
#include "args.h"
#include "commands.h"
#include "diag.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"validate", cmd_validate, "check model, topology and plan files (FILE:LINE:COL errors)"},
    {"price", cmd_price, "price one strategy on a topology: per-device, per-op breakdown"},
    {"plan", cmd_plan, "choose the best plan (GLPK); --all ranks every strategy"},
    {"compare", cmd_compare, "predicted (plan) against measured (attnrun -o) per metric and op"},
    {"report", cmd_report, "write a self-contained HTML report of a plan and measurements"},
    {"export", cmd_export, "the launch command of vLLM, SGLang or TensorRT-LLM for a plan they can express"},
    {"predict", cmd_predict, "one kernel, transfer or collective priced on a device: time and achieved rate"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: attnplan COMMAND [ARGS]   (attnplan COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit codes: 0 success, 1 failure, 2 bad usage or bad input\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return ATTN_EXIT_BADINPUT; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { usage(stdout); return ATTN_EXIT_OK; }
    if (!strcmp(argv[1], "--version")) { printf("attnplan %s\n", ATTN_VERSION); return ATTN_EXIT_OK; }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    attn_args a;
    attn_args_init(&a, "attnplan", argc, argv, 1);
    attn_args_fail(&a, "unknown command '%s'", argv[1]);
    usage(stderr);
    return ATTN_EXIT_BADINPUT;
}
