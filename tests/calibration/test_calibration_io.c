/* test_calibration_io.c: the calibration file's reader and writer (lib/calibration_io.h).
 *   - every file `attnrun --calibrate` wrote (the .yaml files of calibrations/) reads and writes back
 *     byte for byte, opening comment included;
 *   - the hand-written test files (the .yaml files of tests/calibration/) write exactly
 *     tests/calibration/written/NAME (keys they lack stay out), and what is written reads
 *     back and writes the same bytes again;
 *   - the opening comment round-trips (command line, samples, passes), the kernel table
 *     names every kernel once, and a write into a missing directory fails with a message
 *     and leaves no file.
 * usage: test_calibration_io SOURCE_DIR SCRATCH_DIR */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../check.h"
#include "calibration_io.h"

/* The whole of path, malloc'd (NUL-terminated; *len its length), or NULL. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *grown = realloc(buf, 2 * cap + 1);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown, cap *= 2;
    }
    fclose(f);
    if (buf) buf[n] = '\0', *len = n;
    return buf;
}

/* 1 when the files a and b hold the same bytes; else prints the first line that differs. */
static int same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    if (x && y && !same) {
        size_t i = 0, line = 1;
        while (i < na && i < nb && x[i] == y[i]) line += x[i++] == '\n';
        fprintf(stderr, "%s and %s differ at line %zu\n", a, b, line);
    }
    free(x);
    free(y);
    return same;
}

/* Loads in, writes it to out; 0 ok. */
static int load_write(const char *in, const char *out) {
    attn_diag d;
    attn_diag_init(&d);
    attn_calibration c;
    if (calibration_load(in, NULL, &c, &d) != 0) return -1;
    int rc = calibration_write(out, &c, &d);
    calibration_free(&c);
    return rc;
}

/* The .yaml files of dir, in name order, into names (at most max); their count. */
static int list_yaml(const char *dir, char names[][256], int max) {
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len < 6 || len >= 256 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(dp);
    for (int i = 1; i < n; i++) /* insertion sort: a stable order for the messages */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[256];
            memcpy(t, names[j], 256);
            memcpy(names[j], names[j - 1], 256);
            memcpy(names[j - 1], t, 256);
        }
    return n;
}

static char root[1024], scratch[1024];

static void test_written_files(void) {
    char dir[1100], names[64][256];
    snprintf(dir, sizeof dir, "%s/calibrations", root);
    int n = list_yaml(dir, names, 64);
    CHECK(n >= 1, "no calibration files in %s", dir);
    for (int i = 0; i < n; i++) {
        char in[1400], out[1400];
        snprintf(in, sizeof in, "%s/%.255s", dir, names[i]);
        snprintf(out, sizeof out, "%s/calibrations-%.255s", scratch, names[i]);
        CHECK(load_write(in, out) == 0, "%s: load and write", in);
        CHECK(same_bytes(in, out), "%s: written back, not byte for byte", in);
    }
}

static void test_hand_files(void) {
    char dir[1100], names[64][256];
    snprintf(dir, sizeof dir, "%s/tests/calibration", root);
    int n = list_yaml(dir, names, 64);
    CHECK(n >= 2, "only %d calibration files in %s", n, dir);
    for (int i = 0; i < n; i++) {
        char in[1400], want[1400], out[1400], again[1400];
        snprintf(in, sizeof in, "%s/%.255s", dir, names[i]);
        snprintf(want, sizeof want, "%s/written/%.255s", dir, names[i]);
        snprintf(out, sizeof out, "%s/hand-%.255s", scratch, names[i]);
        snprintf(again, sizeof again, "%s/again-%.255s", scratch, names[i]);
        CHECK(load_write(in, out) == 0, "%s: load and write", in);
        CHECK(same_bytes(want, out), "%s: written, not as %s", in, want);
        CHECK(load_write(out, again) == 0, "%s: what was written must load", out);
        CHECK(same_bytes(out, again), "%s: written twice, not the same bytes", in);
    }
}

static void test_header(void) {
    attn_calibration c, r;
    calibration_init(&c);
    c.command = malloc(64);
    if (!c.command) {
        CHECK(0, "out of memory");
        return;
    }
    snprintf(c.command, 64, "attnrun --calibrate --name \"x y\" -o a.yaml");
    c.samples = 11, c.passes = 3;
    snprintf(c.name, sizeof c.name, "x y");
    snprintf(c.backend, sizeof c.backend, "not a word");
    snprintf(c.device_type, sizeof c.device_type, "cpu-core");
    c.peak_flops = 1e11, c.elementwise_bandwidth = 1e10;
    c.gemm = calloc(1, sizeof *c.gemm);
    if (c.gemm) c.gemm[0] = (calibration_gemm){4, 8, 16, 2, CALIBRATION_GEMM_PV, 1e-6, 2.56e8, 0.5}, c.n_gemm = 1;
    char out[1100];
    snprintf(out, sizeof out, "%s/header.yaml", scratch);
    attn_diag d;
    attn_diag_init(&d);
    CHECK(calibration_write(out, &c, &d) == 0, "write %s", out);
    CHECK(calibration_load(out, NULL, &r, &d) == 0, "load %s", out);
    CHECK(r.command && !strcmp(r.command, c.command), "command '%s'", r.command ? r.command : "(none)");
    CHECK(r.samples == 11 && r.passes == 3, "samples %d, passes %d", r.samples, r.passes);
    CHECK(!strcmp(r.backend, "not a word") && !strcmp(r.name, "x y"), "backend '%s', name '%s'", r.backend, r.name);
    CHECK(r.n_gemm == 1 && r.gemm[0].reuse == 2 && r.gemm[0].kind == CALIBRATION_GEMM_PV && r.gemm[0].efficiency == 0.5,
          "the GEMM point");
    CHECK(r.dtype == DTYPE_FP32 && r.ranks == 1 && r.threads == 1 && r.rescale == 1, "defaults");
    calibration_free(&r);

    /* a missing directory: an error through the diag, nothing written */
    FILE *f = tmpfile();
    attn_diag q;
    attn_diag_init(&q);
    q.out = f;
    snprintf(out, sizeof out, "%s/no/such/dir/c.yaml", scratch);
    CHECK(calibration_write(out, &c, &q) != 0 && q.nerrors > 0, "writing into a missing directory");
    struct stat st;
    CHECK(stat(out, &st) != 0, "%s exists", out);
    if (f) fclose(f);
    calibration_free(&c);
}

static void test_kernel_table(void) {
    for (int i = 0; i < CALIBRATION_KERNEL_COUNT; i++) {
        const char *k = calibration_kernel_name((calibration_kernel)i);
        CHECK(strcmp(k, "?") != 0, "kernel %d has no name", i);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(k, calibration_kernel_name((calibration_kernel)j)) != 0, "kernels %d and %d: '%s'", j, i, k);
    }
    CHECK(!strcmp(calibration_kernel_name(CALIBRATION_KERNEL_KV_COPY), "kv_copy") &&
              !strcmp(calibration_kernel_name(CALIBRATION_KERNEL_SOFTMAX), "softmax"),
          "the file's keys");
    CHECK(!strcmp(calibration_gemm_kind_name(CALIBRATION_GEMM_SCORES), "scores"), "GEMM kinds");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_calibration_io SOURCE_DIR SCRATCH_DIR\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    mkdir(scratch, 0777);
    test_written_files();
    test_hand_files();
    test_header();
    test_kernel_table();
    return check_finish("test_calibration_io");
}
