/* tensors.c: safetensors reading (mmap; header parsed as JSON by the project's YAML tree
 * loader; only the requested block of a tensor is touched), the seeded random source,
 * and the F32 safetensors writer used by --dump. Format: 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, ...}
 * (offsets relative to the end of the header), then the data. */
#include "tensors.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "diag.h"
#include "ytree.h"

#define MAX_DIMS 8
typedef enum { ST_F32 = 0, ST_F16 = 1, ST_BF16 = 2, ST_OTHER = 3 } st_dtype;

typedef struct st_entry {
    char *name;
    st_dtype dtype;
    char dtype_name[16];
    int ndim;
    long long shape[MAX_DIMS];
    size_t begin, end;  /* byte offsets into the data area */
} st_entry;

struct tensor_source {
    char *path;              /* NULL: seeded random */
    uint64_t seed;
    const unsigned char *map;
    size_t map_len;
    const unsigned char *data; /* start of the data area */
    size_t data_len;
    int n_entries;
    st_entry *entries;
};

/* --- seeded random values --- */
static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

tensor_random tensor_random_init(uint64_t seed, const char *name, long long cols) {
    tensor_random tr = {splitmix64(seed ^ fnv1a64(name)) - 0x9E3779B97F4A7C15ull, 1.0, 0.0};
    /* key is stored minus splitmix64's increment so tensor_random_at can add (index + 1)
     * increments: the value at index is splitmix64(splitmix64(seed ^ h(name)) + index*golden). */
    if (ends_with(name, "norm.weight")) { tr.offset = 1.0; tr.scale = 0.1; } /* the layers' and model.norm */
    else if (ends_with(name, ".bias")) tr.scale = 0.1;
    else if (ends_with(name, "_proj.weight") || !strcmp(name, "lm_head.weight"))
        tr.scale = sqrt(3.0 / (double)cols); /* variance 1/in */
    return tr;
}

double tensor_random_value(uint64_t seed, const char *name, long long cols, uint64_t index) {
    tensor_random tr = tensor_random_init(seed, name, cols);
    return tensor_random_at(&tr, index);
}

/* --- safetensors header --- */
static const char *dtype_names[] = {"F32", "F16", "BF16"};
static const int dtype_sizes[] = {4, 2, 2};

static int parse_u64(const yt_node *n, unsigned long long *out) {
    if (!n || n->kind != YT_SCALAR || n->quoted || n->len == 0 || n->len > 20) return -1;
    for (size_t i = 0; i < n->len; i++)
        if (n->str[i] < '0' || n->str[i] > '9') return -1;
    errno = 0;
    *out = strtoull(n->str, NULL, 10);
    return errno ? -1 : 0;
}

static int parse_header(tensor_source *ts, const char *json, size_t len, char *err, size_t errlen) {
    attn_diag quiet;
    attn_diag_init(&quiet);
    quiet.quiet = 1;
    yt_doc doc;
    if (yt_load_buffer(json, len, ts->path, &doc, &quiet) != 0) {
        attn_format_err(err, errlen, "%s: malformed safetensors header (not a JSON object)", ts->path);
        return -1;
    }
    int rc = -1;
    const yt_node *root = doc.root;
    if (!root || root->kind != YT_MAP) {
        attn_format_err(err, errlen, "%s: malformed safetensors header (not a JSON object)", ts->path);
        goto done;
    }
    ts->entries = calloc(root->n ? root->n : 1, sizeof *ts->entries);
    if (!ts->entries) {
        attn_format_err(err, errlen, "%s: out of memory reading the header", ts->path);
        goto done;
    }
    for (size_t i = 0; i < root->n; i++) {
        const char *name = root->keys[i]->str;
        if (strcmp(name, "__metadata__") == 0) continue;
        const yt_node *t = root->vals[i];
        const yt_node *dt = yt_get(t, "dtype"), *shape = yt_get(t, "shape"), *off = yt_get(t, "data_offsets");
        if (!t || t->kind != YT_MAP || !dt || dt->kind != YT_SCALAR || !shape || shape->kind != YT_SEQ ||
            !off || off->kind != YT_SEQ || off->n != 2) {
            attn_format_err(err, errlen, "%s: tensor '%s': malformed header entry (needs dtype, shape, data_offsets)", ts->path, name);
            goto done;
        }
        st_entry *e = &ts->entries[ts->n_entries];
        e->name = strdup(name);
        if (!e->name) {
            attn_format_err(err, errlen, "%s: out of memory reading the header", ts->path);
            goto done;
        }
        ts->n_entries++;
        snprintf(e->dtype_name, sizeof e->dtype_name, "%s", dt->str);
        e->dtype = ST_OTHER;
        for (int k = 0; k < 3; k++)
            if (strcmp(dt->str, dtype_names[k]) == 0) e->dtype = (st_dtype)k;
        if (shape->n > MAX_DIMS) {
            attn_format_err(err, errlen, "%s: tensor '%s': %zu dimensions (at most %d)", ts->path, name, shape->n, MAX_DIMS);
            goto done;
        }
        e->ndim = (int)shape->n;
        for (size_t k = 0; k < shape->n; k++) {
            unsigned long long v;
            if (parse_u64(shape->vals[k], &v) != 0 || v > (1ull << 40)) {
                attn_format_err(err, errlen, "%s: tensor '%s': malformed shape", ts->path, name);
                goto done;
            }
            e->shape[k] = (long long)v;
        }
        unsigned long long b, en;
        if (parse_u64(off->vals[0], &b) != 0 || parse_u64(off->vals[1], &en) != 0 || b > en) {
            attn_format_err(err, errlen, "%s: tensor '%s': malformed data_offsets", ts->path, name);
            goto done;
        }
        if (en > ts->data_len) {
            attn_format_err(err, errlen, "%s: tensor '%s': data_offsets [%llu, %llu] run past the %zu data bytes of the file (truncated?)",
                    ts->path, name, b, en, ts->data_len);
            goto done;
        }
        e->begin = (size_t)b;
        e->end = (size_t)en;
    }
    rc = 0;
done:
    yt_free(&doc);
    return rc;
}

tensor_source *tensor_source_create(const char *path, uint64_t seed, char *err, size_t errlen) {
    tensor_source *ts = calloc(1, sizeof *ts);
    if (!ts) {
        attn_format_err(err, errlen, "out of memory");
        return NULL;
    }
    ts->seed = seed;
    if (!path) return ts;
    ts->path = strdup(path);
    int fd = open(path, O_RDONLY);
    if (!ts->path || fd < 0) {
        attn_format_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        attn_format_err(err, errlen, "%s: not a regular file", path);
        close(fd);
        goto fail;
    }
    ts->map_len = (size_t)st.st_size;
    if (ts->map_len < 8) {
        attn_format_err(err, errlen, "%s: too short for a safetensors file (%zu bytes)", path, ts->map_len);
        close(fd);
        goto fail;
    }
    void *m = mmap(NULL, ts->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        attn_format_err(err, errlen, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    ts->map = m;
    unsigned long long hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | ts->map[i];
    if (hlen == 0 || hlen > ts->map_len - 8 || hlen > YT_MAX_BYTES) {
        attn_format_err(err, errlen, "%s: malformed safetensors file: header length %llu does not fit the %zu-byte file", path,
                hlen, ts->map_len);
        goto fail;
    }
    ts->data = ts->map + 8 + hlen;
    ts->data_len = ts->map_len - 8 - (size_t)hlen;
    if (parse_header(ts, (const char *)ts->map + 8, (size_t)hlen, err, errlen) != 0) goto fail;
    return ts;
fail:
    tensor_source_destroy(ts);
    return NULL;
}

void tensor_source_destroy(tensor_source *ts) {
    if (!ts) return;
    if (ts->map) munmap((void *)ts->map, ts->map_len);
    for (int i = 0; i < ts->n_entries; i++) free(ts->entries[i].name);
    free(ts->entries);
    free(ts->path);
    free(ts);
}

const char *tensor_source_name(const tensor_source *ts) { return ts->path ? ts->path : "seeded random"; }

static const st_entry *find_entry(const tensor_source *ts, const char *name) {
    for (int i = 0; i < ts->n_entries; i++)
        if (strcmp(ts->entries[i].name, name) == 0) return &ts->entries[i];
    return NULL;
}

int tensor_source_has(const tensor_source *ts, const char *name) { return !ts->path || find_entry(ts, name) != NULL; }

static float f16_to_float(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0) v = ldexp(mant, -24);                      /* subnormal */
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = ldexp(mant + 1024, exp - 25);
    return (float)(sign ? -v : v);
}

static float bf16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void format_shape(char *buf, size_t len, int ndim, const long long *shape) {
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && o < len; i++) o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", shape[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

/* The file's entry `name` with exactly the shape asked for, its shape written into got;
 * NULL after writing why into err. */
static const st_entry *entry_shaped(const tensor_source *ts, const char *name, int ndim, const long long *shape,
                                    char *got, size_t gotlen, char *err, size_t errlen) {
    const st_entry *e = find_entry(ts, name);
    if (!e) {
        attn_format_err(err, errlen, "%s: tensor '%s' is missing", ts->path, name);
        return NULL;
    }
    char want[128];
    format_shape(want, sizeof want, ndim, shape);
    format_shape(got, gotlen, e->ndim, e->shape);
    if (strcmp(want, got) != 0) {
        attn_format_err(err, errlen, "%s: tensor '%s' has shape %s, expected %s", ts->path, name, got, want);
        return NULL;
    }
    return e;
}

int tensor_read_block(tensor_source *ts, const char *name, int ndim, const long long *shape,
                      long long r0, long long r1, long long c0, long long c1, float *dst,
                      char *err, size_t errlen) {
    long long cols = shape[ndim - 1], rows = 1;
    for (int i = 0; i < ndim - 1; i++) rows *= shape[i];
    if (r0 < 0 || r1 > rows || r0 > r1 || c0 < 0 || c1 > cols || c0 > c1) {
        attn_format_err(err, errlen, "%s: tensor '%s': block out of range (internal error)", tensor_source_name(ts), name);
        return -1;
    }
    long long w = c1 - c0;
    if (!ts->path) {
        tensor_random tr = tensor_random_init(ts->seed, name, cols);
        for (long long r = r0; r < r1; r++)
            for (long long c = c0; c < c1; c++)
                dst[(r - r0) * w + (c - c0)] = (float)tensor_random_at(&tr, (uint64_t)(r * cols + c));
        return 0;
    }
    char got[128];
    const st_entry *e = entry_shaped(ts, name, ndim, shape, got, sizeof got, err, errlen);
    if (!e) return -1;
    if (e->dtype == ST_OTHER) {
        attn_format_err(err, errlen, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 are read)", ts->path, name, e->dtype_name);
        return -1;
    }
    size_t esize = (size_t)dtype_sizes[e->dtype];
    if (e->end - e->begin != (size_t)(rows * cols) * esize) {
        attn_format_err(err, errlen, "%s: tensor '%s': data_offsets span %zu bytes, its shape %s of %s needs %zu", ts->path, name,
                e->end - e->begin, got, e->dtype_name, (size_t)(rows * cols) * esize);
        return -1;
    }
    const unsigned char *base = ts->data + e->begin;
    for (long long r = r0; r < r1; r++) {
        const unsigned char *src = base + ((size_t)r * (size_t)cols + (size_t)c0) * esize;
        float *out = dst + (r - r0) * w;
        for (long long c = 0; c < w; c++) {
            const unsigned char *p = src + (size_t)c * esize;
            if (e->dtype == ST_F32) {
                uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
                memcpy(&out[c], &bits, sizeof(float));
            } else {
                uint16_t h = (uint16_t)(p[0] | p[1] << 8);
                out[c] = e->dtype == ST_F16 ? f16_to_float(h) : bf16_to_float(h);
            }
        }
    }
    return 0;
}

int tensor_read_ids(tensor_source *ts, const char *name, int ndim, const long long *shape, long long r0, long long r1,
                    int vocab, int32_t *dst, char *err, size_t errlen) {
    long long cols = shape[ndim - 1], rows = 1;
    for (int i = 0; i < ndim - 1; i++) rows *= shape[i];
    if (r0 < 0 || r1 > rows || r0 > r1 || vocab < 1) {
        attn_format_err(err, errlen, "%s: tensor '%s': block out of range (internal error)", tensor_source_name(ts), name);
        return -1;
    }
    if (!ts->path) { /* uniform ids: r in [-1, 1) mapped onto [0, vocab) */
        tensor_random tr = tensor_random_init(ts->seed, name, cols);
        for (long long i = r0 * cols; i < r1 * cols; i++) {
            long long id = (long long)floor((tensor_random_at(&tr, (uint64_t)i) + 1.0) * 0.5 * vocab);
            dst[i - r0 * cols] = (int32_t)(id < vocab ? id : vocab - 1);
        }
        return 0;
    }
    char got[128];
    const st_entry *e = entry_shaped(ts, name, ndim, shape, got, sizeof got, err, errlen);
    if (!e) return -1;
    size_t esize = !strcmp(e->dtype_name, "I64") ? 8 : !strcmp(e->dtype_name, "I32") ? 4 : 0;
    if (!esize) {
        attn_format_err(err, errlen, "%s: tensor '%s' has dtype %s (token ids are I64 or I32)", ts->path, name, e->dtype_name);
        return -1;
    }
    if (e->end - e->begin != (size_t)(rows * cols) * esize) {
        attn_format_err(err, errlen, "%s: tensor '%s': data_offsets span %zu bytes, its shape %s of %s needs %zu", ts->path, name,
                        e->end - e->begin, got, e->dtype_name, (size_t)(rows * cols) * esize);
        return -1;
    }
    const unsigned char *base = ts->data + e->begin;
    for (long long i = r0 * cols; i < r1 * cols; i++) {
        const unsigned char *p = base + (size_t)i * esize;
        uint64_t u = 0;
        for (size_t b = esize; b-- > 0;) u = u << 8 | p[b];
        int64_t v = esize == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u; /* little-endian, two's complement */
        if (v < 0 || v >= vocab) {
            attn_format_err(err, errlen, "%s: tensor '%s': token id %lld at element %lld is outside the vocabulary [0, %d)",
                            ts->path, name, (long long)v, i, vocab);
            return -1;
        }
        dst[i - r0 * cols] = (int32_t)v;
    }
    return 0;
}

/* --- writer --- */
int safetensors_write(const char *path, const tensor_out *tensors, int count, char *err, size_t errlen) {
    size_t cap = 256 + (size_t)count * 256, len = 0, offset = 0;
    char *hdr = malloc(cap);
    if (!hdr) {
        attn_format_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (int i = 0; i < count; i++) {
        size_t n = 1;
        for (int k = 0; k < tensors[i].ndim; k++) n *= (size_t)tensors[i].shape[k];
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "", tensors[i].name);
        for (int k = 0; k < tensors[i].ndim; k++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", k ? "," : "", tensors[i].shape[k]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", offset, offset + n * 4);
        offset += n * 4;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8 != 0 && len + 1 < cap) hdr[len++] = ' '; /* the data area starts 8-aligned */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        attn_format_err(err, errlen, "%s: cannot open for writing: %s", tmp, strerror(errno));
        free(hdr);
        return -1;
    }
    unsigned char lenbytes[8];
    for (int i = 0; i < 8; i++) lenbytes[i] = (unsigned char)((unsigned long long)len >> (8 * i));
    int ok = fwrite(lenbytes, 1, 8, f) == 8 && fwrite(hdr, 1, len, f) == len;
    for (int i = 0; i < count && ok; i++) {
        size_t n = 1;
        for (int k = 0; k < tensors[i].ndim; k++) n *= (size_t)tensors[i].shape[k];
        for (size_t j = 0; j < n && ok; j++) { /* little-endian bytes, whatever the host */
            uint32_t bits;
            memcpy(&bits, &tensors[i].data[j], 4);
            unsigned char b[4] = {(unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16),
                                  (unsigned char)(bits >> 24)};
            ok = fwrite(b, 1, 4, f) == 4;
        }
    }
    free(hdr);
    if (fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        attn_format_err(err, errlen, "%s: write failed: %s", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}
