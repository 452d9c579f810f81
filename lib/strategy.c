/* strategy.c: parse and format one point of the strategy space,
 * e.g. "dp=1,pp=2,n=8,m=1" or "n=4,m=4,scheme=score-allreduce,mb=4".
 * Strict: unknown keys, repeated keys, non-positive or non-decimal values are errors,
 * and the scheme must agree with m (a scheme only exists when m > 1). */
#include <stdio.h>
#include <string.h>
#include "strategy.h"

/* Large enough for any real cluster, small enough that dp*pp*n*m cannot overflow int. */
#define STRATEGY_MAX_FACTOR (1 << 20)

static const char *const scheme_names[SCHEME_COUNT] = {
    [SCHEME_NONE] = "none",
    [SCHEME_SCORE_ALLREDUCE] = "score-allreduce",
    [SCHEME_QK_ALLGATHER] = "qk-allgather",
    [SCHEME_HEAD_ALLTOALL] = "head-alltoall",
};

const char *scheme_name(attn_scheme s) {
    if ((int)s < 0 || s >= SCHEME_COUNT) return "?";
    return scheme_names[s];
}

int scheme_parse(const char *s, attn_scheme *out) {
    if (!s) return -1;
    for (int i = 0; i < SCHEME_COUNT; i++)
        if (!strcmp(s, scheme_names[i])) {
            *out = (attn_scheme)i;
            return 0;
        }
    return -1;
}

/* The m > 1 schemes, for error messages. */
static const char *schemes_list(void) { return "score-allreduce, qk-allgather, head-alltoall"; }

/* Strict positive decimal in [1, STRATEGY_MAX_FACTOR]; 0 ok. */
static int parse_factor(const char *s, size_t len, int *out) {
    if (len == 0 || len > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > STRATEGY_MAX_FACTOR) return -1;
    *out = (int)v;
    return 0;
}

int strategy_parse(const char *spec, attn_strategy *s, char *err, size_t errlen) {
    enum { K_DP, K_PP, K_N, K_M, K_SCHEME, K_MB, K_COUNT };
    static const char *const key_names[K_COUNT] = {"dp", "pp", "n", "m", "scheme", "mb"};
    int seen[K_COUNT] = {0};
    int value[K_COUNT] = {1, 1, 0, 1, 0, 0};
    attn_scheme scheme = SCHEME_NONE;
    if (!spec || !*spec) {
        snprintf(err, errlen, "empty strategy (expected e.g. dp=1,pp=2,n=8,m=1)");
        return -1;
    }
    const char *p = spec;
    while (1) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq) {
            snprintf(err, errlen, "'%.*s' is not KEY=VALUE (keys: dp, pp, n, m, scheme, mb)", (int)len, p);
            return -1;
        }
        size_t klen = (size_t)(eq - p);
        const char *val = eq + 1;
        size_t vlen = len - klen - 1;
        int k = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (strlen(key_names[i]) == klen && !strncmp(p, key_names[i], klen)) k = i;
        if (k < 0) {
            snprintf(err, errlen, "unknown key '%.*s' (keys: dp, pp, n, m, scheme, mb)", (int)klen, p);
            return -1;
        }
        if (seen[k]) {
            snprintf(err, errlen, "key '%s' given twice", key_names[k]);
            return -1;
        }
        seen[k] = 1;
        if (k == K_SCHEME) {
            char name[32];
            if (vlen >= sizeof name) vlen = sizeof name - 1;
            memcpy(name, val, vlen);
            name[vlen] = '\0';
            if (scheme_parse(name, &scheme) != 0) {
                snprintf(err, errlen, "unknown scheme '%s' (schemes: none, %s)", name, schemes_list());
                return -1;
            }
        } else if (parse_factor(val, vlen, &value[k]) != 0) {
            snprintf(err, errlen, "%s must be a positive integer <= %d, got '%.*s'", key_names[k],
                     STRATEGY_MAX_FACTOR, (int)vlen, val);
            return -1;
        }
        if (!end) break;
        p = end + 1;
    }
    if (!seen[K_N]) {
        snprintf(err, errlen, "missing n (head groups), e.g. n=8");
        return -1;
    }
    long long devices = (long long)value[K_DP] * value[K_PP] * value[K_N] * value[K_M];
    if (devices > STRATEGY_MAX_FACTOR) {
        snprintf(err, errlen, "dp*pp*n*m = %lld devices is more than %d", devices, STRATEGY_MAX_FACTOR);
        return -1;
    }
    if (value[K_M] > 1 && scheme == SCHEME_NONE) {
        snprintf(err, errlen, "m=%d splits each head's dimension: choose scheme=%s", value[K_M],
                 "score-allreduce|qk-allgather|head-alltoall");
        return -1;
    }
    if (value[K_M] == 1 && scheme != SCHEME_NONE) {
        snprintf(err, errlen, "scheme=%s needs m > 1 (with m=1 heads are not split)", scheme_name(scheme));
        return -1;
    }
    s->dp = value[K_DP];
    s->pp = value[K_PP];
    s->n = value[K_N];
    s->m = value[K_M];
    s->scheme = scheme;
    s->microbatches = seen[K_MB] ? value[K_MB] : 0;
    return 0;
}

void strategy_format(const attn_strategy *s, char *buf, size_t len) {
    int w = snprintf(buf, len, "dp=%d,pp=%d,n=%d,m=%d", s->dp, s->pp, s->n, s->m);
    if (w < 0 || (size_t)w >= len) return;
    if (s->scheme != SCHEME_NONE) {
        int more = snprintf(buf + w, len - (size_t)w, ",scheme=%s", scheme_name(s->scheme));
        if (more < 0 || (size_t)(w + more) >= len) return;
        w += more;
    }
    if (s->microbatches > 0) snprintf(buf + w, len - (size_t)w, ",mb=%d", s->microbatches);
}
