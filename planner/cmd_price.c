/* cmd_price.c: placeholder until the price command lands (replaced by its implementation). */
#include <stdio.h>
#include "commands.h"
#include "diag.h"
int cmd_price(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "attnplan price: not implemented yet\n"); return ATTN_EXIT_FAIL; }
