/* cmd_compare.c: placeholder until the compare command lands (replaced by its implementation). */
#include <stdio.h>
#include "commands.h"
#include "diag.h"
int cmd_compare(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "attnplan compare: not implemented yet\n"); return ATTN_EXIT_FAIL; }
