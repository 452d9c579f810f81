/* cmd_plan.c: placeholder until the plan command lands (replaced by its implementation). */
#include <stdio.h>
#include "commands.h"
#include "diag.h"
int cmd_plan(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "attnplan plan: not implemented yet\n"); return ATTN_EXIT_FAIL; }
