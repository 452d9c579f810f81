/* link.h: the link classes a group of devices crosses, cheapest first. Its own header so
 * a plan (plan.h, whose groups name their link) does not pull in the topology. */
#ifndef ATTN_LINK_H
#define ATTN_LINK_H
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LINK_SELF = 0, LINK_NODE = 1, LINK_DOMAIN = 2, LINK_NETWORK = 3, LINK_COUNT = 4 } attn_link;
const char *link_name(attn_link l);

#ifdef __cplusplus
}
#endif
#endif
