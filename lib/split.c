/* split.c: the even split of split.h. */
#include "split.h"

void split_sizes(int total, int parts, int *base, int *extra) {
    if (parts < 1) parts = 1;
    if (total < 0) total = 0;
    *base = total / parts;
    *extra = total % parts;
}

void split_part(int total, int parts, int i, int *begin, int *count) {
    int base, extra;
    split_sizes(total, parts, &base, &extra);
    *count = base + (i < extra ? 1 : 0);
    *begin = i * base + (i < extra ? i : extra);
}

void split_range(int total, int parts, int i, int *begin, int *end) {
    int count;
    split_part(total, parts, i, begin, &count);
    *end = *begin + count;
}

int split_count(int total, int parts, int i) {
    int begin, count;
    split_part(total, parts, i, &begin, &count);
    return count;
}
