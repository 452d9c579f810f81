/* compare_dumps.c: compares two attnrun --dump files (hidden_states [B, L, C] and, when
 * TDEC > 0, decode_output [B, TDEC, C]) by norm-relative error ||a - b|| / ||b||, b being
 * the reference (the CPU backend's dump). Exits 1 when either error exceeds BOUND or any
 * value of a is not finite, 2 on bad usage or unreadable files.
 * usage: compare_dumps A.safetensors REF.safetensors B L TDEC C BOUND */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "tensors.h"

/* 0 ok (error in *err), -1 after a message */
static int compare(tensor_source *a, tensor_source *ref, const char *name, long long B, long long T, long long cols,
                   double *err, long long *nonfinite) {
    long long rows = B * T, shp[3] = {B, T, cols};
    char msg[512];
    float *x = malloc((size_t)(rows * cols) * sizeof *x), *y = malloc((size_t)(rows * cols) * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "compare_dumps: out of memory\n");
        return -1;
    }
    if (tensor_read_block(a, name, 3, shp, 0, rows, 0, cols, x, msg, sizeof msg) != 0 ||
        tensor_read_block(ref, name, 3, shp, 0, rows, 0, cols, y, msg, sizeof msg) != 0) {
        fprintf(stderr, "compare_dumps: %s\n", msg);
        free(x), free(y);
        return -1;
    }
    double num = 0.0, den = 0.0;
    *nonfinite = 0;
    for (long long i = 0; i < rows * cols; i++) {
        if (!isfinite(x[i])) {
            (*nonfinite)++;
            continue;
        }
        num += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        den += (double)y[i] * y[i];
    }
    *err = den > 0.0 ? sqrt(num / den) : sqrt(num);
    free(x), free(y);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: compare_dumps A.safetensors REF.safetensors B L TDEC C BOUND\n");
        return 2;
    }
    long long B = atoll(argv[3]), L = atoll(argv[4]), TDEC = atoll(argv[5]), C = atoll(argv[6]);
    double bound = atof(argv[7]);
    char msg[512];
    tensor_source *a = tensor_source_create(argv[1], 0, msg, sizeof msg);
    if (!a) return fprintf(stderr, "compare_dumps: %s\n", msg), 2;
    tensor_source *ref = tensor_source_create(argv[2], 0, msg, sizeof msg);
    if (!ref) return fprintf(stderr, "compare_dumps: %s\n", msg), tensor_source_destroy(a), 2;
    int fail = 0;
    const char *names[2] = {"hidden_states", "decode_output"};
    long long steps[2] = {L, TDEC};
    for (int k = 0; k < (TDEC > 0 ? 2 : 1); k++) {
        double err;
        long long bad;
        if (compare(a, ref, names[k], B, steps[k], C, &err, &bad) != 0) {
            fail = 2;
            break;
        }
        int ok = bad == 0 && err <= bound;
        printf("%s %-14s rel_err %.3e (bound %.1e) non-finite %lld\n", ok ? "ok  " : "FAIL", names[k], err, bound, bad);
        if (!ok) fail = 1;
    }
    tensor_source_destroy(a);
    tensor_source_destroy(ref);
    return fail;
}
