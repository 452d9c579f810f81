/* link.c: link class names (link.h). */
#include "link.h"

static const char *const link_names[LINK_COUNT] = {"self", "node", "domain", "network"};

const char *link_name(attn_link l) { return (unsigned)l < LINK_COUNT ? link_names[l] : "?"; }
