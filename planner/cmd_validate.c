/* cmd_validate.c: placeholder until the validate command lands. */
#include <stdio.h>
#include "commands.h"
#include "diag.h"
int cmd_validate(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "attnplan validate: not implemented yet\n"); return ATTN_EXIT_FAIL; }
