/* commands.h: the attnplan subcommands; cli/main.c dispatches argv[1] to one of these.
 * Each returns an exit code (ATTN_EXIT_*) and prints its own --help. */
#ifndef ATTN_COMMANDS_H
#define ATTN_COMMANDS_H
#ifdef __cplusplus
extern "C" {
#endif
int cmd_validate(int argc, char **argv);
int cmd_price(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_export(int argc, char **argv);
#ifdef __cplusplus
}
#endif
#endif
