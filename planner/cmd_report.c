/* cmd_report.c: placeholder until the report command lands (replaced by its implementation). */
#include <stdio.h>
#include "commands.h"
#include "diag.h"
int cmd_report(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "attnplan report: not implemented yet\n"); return ATTN_EXIT_FAIL; }
