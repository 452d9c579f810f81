/* planfile_util.c: helpers for the plan-file tests (see planfile_util.h). */
#include "planfile_util.h"
#include <stdlib.h>
#include <string.h>

attn_model pf_model(attn_arch arch, int layers, int heads, int kv_heads, int head_dim, int ffn, int batch) {
    attn_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "test-%s-%dx%d", arch_name(arch), heads, head_dim);
    m.arch = arch;
    m.layers = layers;
    m.heads = heads;
    m.kv_heads = kv_heads;
    m.head_dim = head_dim;
    m.hidden = heads * head_dim;
    m.ffn_hidden = ffn;
    m.norm_eps = 1e-5;
    m.rope_theta = 10000;
    m.dtype = DTYPE_FP32;
    m.workload.batch = batch;
    m.workload.seq_len = 16;
    m.workload.decode_tokens = 2;
    return m;
}

attn_strategy pf_strategy(int dp, int pp, int n, int m, attn_scheme scheme) {
    attn_strategy s = {dp, pp, n, m, scheme, 0, 1, CP_AUTO, WEIGHTS_AUTO};
    return s;
}

void pf_topology(attn_topology *t, int nodes, int per_node, double memory_bytes) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "test-%dx%d", nodes, per_node);
    snprintf(t->path, sizeof t->path, "topologies/%s.yaml", t->name);
    memset(t->sha256, 'a', 64);
    t->n_dev_types = 1;
    t->dev_types = calloc(1, sizeof *t->dev_types);
    t->n_node_types = 1;
    t->node_types = calloc(1, sizeof *t->node_types);
    t->n_nodes = nodes;
    t->node_type_of = calloc((size_t)nodes, sizeof *t->node_type_of);
    t->n_devices = nodes * per_node;
    t->devices = calloc((size_t)t->n_devices, sizeof *t->devices);
    if (!t->dev_types || !t->node_types || !t->node_type_of || !t->devices) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    snprintf(t->dev_types[0].name, sizeof t->dev_types[0].name, "test-device");
    t->dev_types[0].memory_bytes = memory_bytes;
    snprintf(t->node_types[0].name, sizeof t->node_types[0].name, "test-node");
    t->node_types[0].devices = per_node;
    t->domain_nodes = 1;
    for (int i = 0; i < t->n_devices; i++) {
        t->devices[i].node = i / per_node;
        t->devices[i].local = i % per_node;
        t->devices[i].domain = i / per_node;
    }
}

void pf_topology_free(attn_topology *t) {
    free(t->dev_types);
    free(t->node_types);
    free(t->node_type_of);
    free(t->devices);
    memset(t, 0, sizeof *t);
}

void pf_diag_begin(pf_diag *c) {
    attn_diag_init(&c->d);
    c->d.max_errors = 1000;
    c->d.out = tmpfile();
    c->text[0] = '\0';
    if (!c->d.out) {
        perror("tmpfile");
        exit(1);
    }
}

const char *pf_diag_text(pf_diag *c) {
    fflush(c->d.out);
    rewind(c->d.out);
    size_t n = fread(c->text, 1, sizeof c->text - 1, c->d.out);
    c->text[n] = '\0';
    fseek(c->d.out, 0, SEEK_END);
    return c->text;
}

void pf_diag_end(pf_diag *c) {
    if (c->d.out) fclose(c->d.out);
    c->d.out = NULL;
}

const char *pf_path(char *buf, size_t len, const char *dir, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

char *pf_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

int pf_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

char *pf_edit(const char *text, const char *anchor, const char *from, const char *to) {
    const char *start = text, *stop = text + strlen(text);
    if (anchor) {
        const char *a = strstr(text, anchor);
        if (!a) return NULL;
        start = a;
        while (start > text && start[-1] != '\n') start--;
        const char *nl = strchr(a, '\n');
        stop = nl ? nl : stop;
    }
    const char *hit = strstr(start, from);
    if (!hit || hit + strlen(from) > stop) return NULL;
    size_t head = (size_t)(hit - text), nfrom = strlen(from), nto = strlen(to), total = strlen(text);
    char *out = malloc(total - nfrom + nto + 1);
    if (!out) return NULL;
    memcpy(out, text, head);
    memcpy(out + head, to, nto);
    memcpy(out + head + nto, hit + nfrom, total - head - nfrom + 1);
    return out;
}

int pf_line_of(const char *text, const char *s) {
    const char *hit = strstr(text, s);
    if (!hit) return 0;
    int line = 1;
    for (const char *p = text; p < hit; p++) line += *p == '\n';
    return line;
}
