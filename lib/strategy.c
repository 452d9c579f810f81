/* strategy.c: parse and format one point of the strategy space,
 * e.g. "dp=1,pp=2,n=8,m=1", "n=4,m=4,scheme=score-allreduce,mb=4" or
 * "s=2,n=4,m=1,cp=ring,weights=sharded".
 * Strict: unknown keys, repeated keys, non-positive or non-decimal values are errors,
 * the scheme must agree with m (a scheme only exists when m > 1) and cp/weights with s
 * (they only exist when s > 1). */
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

static const char *const cp_names[CP_COUNT] = {[CP_AUTO] = "auto", [CP_RING] = "ring", [CP_ALLGATHER] = "allgather"};
static const char *const weights_names[WEIGHTS_COUNT] = {
    [WEIGHTS_AUTO] = "auto", [WEIGHTS_REPLICATED] = "replicated", [WEIGHTS_SHARDED] = "sharded"};

const char *cp_name(attn_cp c) { return ((int)c >= 0 && c < CP_COUNT) ? cp_names[c] : "?"; }
const char *weights_name(attn_weights w) { return ((int)w >= 0 && w < WEIGHTS_COUNT) ? weights_names[w] : "?"; }

/* Index of name in names[1..count) ("auto", index 0, is never written by hand); -1 if none. */
static int parse_named(const char *s, const char *const *names, int count) {
    if (!s) return -1;
    for (int i = 1; i < count; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

int cp_parse(const char *s, attn_cp *out) {
    int i = parse_named(s, cp_names, CP_COUNT);
    if (i < 0) return -1;
    *out = (attn_cp)i;
    return 0;
}

int weights_parse(const char *s, attn_weights *out) {
    int i = parse_named(s, weights_names, WEIGHTS_COUNT);
    if (i < 0) return -1;
    *out = (attn_weights)i;
    return 0;
}

attn_strategy strategy_make(int dp, int pp, int n, int m, attn_scheme scheme) {
    attn_strategy s = {.dp = dp, .pp = pp, .n = n, .m = m, .scheme = scheme, .s = 1};
    return s;
}

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
    enum { K_DP, K_PP, K_N, K_M, K_SCHEME, K_MB, K_S, K_CP, K_WEIGHTS, K_COUNT };
    static const char *const key_names[K_COUNT] = {"dp", "pp", "n", "m", "scheme", "mb", "s", "cp", "weights"};
    static const char *const keys_list = "dp, pp, s, n, m, scheme, mb, cp, weights";
    int seen[K_COUNT] = {0};
    int value[K_COUNT] = {1, 1, 0, 1, 0, 0, 1, 0, 0};
    attn_scheme scheme = SCHEME_NONE;
    attn_cp cp = CP_AUTO;
    attn_weights weights = WEIGHTS_AUTO;
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
            snprintf(err, errlen, "'%.*s' is not KEY=VALUE (keys: %s)", (int)len, p, keys_list);
            return -1;
        }
        size_t klen = (size_t)(eq - p);
        const char *val = eq + 1;
        size_t vlen = len - klen - 1;
        int k = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (strlen(key_names[i]) == klen && !strncmp(p, key_names[i], klen)) k = i;
        if (k < 0) {
            snprintf(err, errlen, "unknown key '%.*s' (keys: %s)", (int)klen, p, keys_list);
            return -1;
        }
        if (seen[k]) {
            snprintf(err, errlen, "key '%s' given twice", key_names[k]);
            return -1;
        }
        seen[k] = 1;
        if (k == K_SCHEME || k == K_CP || k == K_WEIGHTS) {
            char name[32];
            if (vlen >= sizeof name) vlen = sizeof name - 1;
            memcpy(name, val, vlen);
            name[vlen] = '\0';
            if (k == K_SCHEME && scheme_parse(name, &scheme) != 0) {
                snprintf(err, errlen, "unknown scheme '%s' (schemes: none, %s)", name, schemes_list());
                return -1;
            }
            if (k == K_CP && cp_parse(name, &cp) != 0) {
                snprintf(err, errlen, "unknown cp '%s' (ring or allgather)", name);
                return -1;
            }
            if (k == K_WEIGHTS && weights_parse(name, &weights) != 0) {
                snprintf(err, errlen, "unknown weights '%s' (replicated or sharded)", name);
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
    long long devices = (long long)value[K_DP] * value[K_PP] * value[K_S] * value[K_N] * value[K_M];
    if (devices > STRATEGY_MAX_FACTOR) {
        snprintf(err, errlen, "dp*pp*s*n*m = %lld devices is more than %d", devices, STRATEGY_MAX_FACTOR);
        return -1;
    }
    if (value[K_S] == 1 && (seen[K_CP] || seen[K_WEIGHTS])) {
        snprintf(err, errlen, "%s needs s > 1 (with s=1 sequences are not split)", seen[K_CP] ? "cp" : "weights");
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
    s->s = value[K_S];
    s->cp = cp;
    s->weights = weights;
    return 0;
}

void strategy_format(const attn_strategy *s, char *buf, size_t len) {
    int w = strategy_seq(s) > 1
                ? snprintf(buf, len, "dp=%d,pp=%d,s=%d,n=%d,m=%d", s->dp, s->pp, s->s, s->n, s->m)
                : snprintf(buf, len, "dp=%d,pp=%d,n=%d,m=%d", s->dp, s->pp, s->n, s->m);
    if (w < 0 || (size_t)w >= len) return;
    if (s->scheme != SCHEME_NONE) {
        int more = snprintf(buf + w, len - (size_t)w, ",scheme=%s", scheme_name(s->scheme));
        if (more < 0 || (size_t)(w + more) >= len) return;
        w += more;
    }
    if (strategy_seq(s) > 1)
        for (int k = 0; k < 2; k++) {
            const char *v = k == 0 ? (s->cp != CP_AUTO ? cp_name(s->cp) : NULL)
                                   : (s->weights != WEIGHTS_AUTO ? weights_name(s->weights) : NULL);
            if (!v) continue;
            int more = snprintf(buf + w, len - (size_t)w, k == 0 ? ",cp=%s" : ",weights=%s", v);
            if (more < 0 || (size_t)(w + more) >= len) return;
            w += more;
        }
    if (s->microbatches > 0) snprintf(buf + w, len - (size_t)w, ",mb=%d", s->microbatches);
}
