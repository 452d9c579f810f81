/* attention_bench.cu: the fused attention kernels (kernels/cuda/attention.cu) at the
 * shapes issue 13 sets targets for, with lib/attn_tiling.h's tiles (the ones the backend
 * launches and the cost model prices), bf16 storage:
 *   - causal prefill, head_dim 128, L 4096 (batch 4) and 8192 (batch 2), 16 heads (the
 *     FlashAttention-2 paper's benchmark shapes: batch x L = 16k, hidden 2048; Dao 2023,
 *     arXiv:2307.08691, section 4.1), in TFLOP/s with the causal convention
 *     4 * L * L / 2 * d * heads * batch (the L x L / 2 visible scores, two GEMMs), and with
 *     the FLOPs of the tiles the kernel computes (whole tiles on the diagonal included);
 *   - decode, batch 8, 32 query heads over 8 kv heads, one query row at the end of a
 *     context of 4096..32768 keys (split-KV where the plan splits), as the K and V bytes read
 *     per second, beside a device-to-device copy measured in the same run (bytes read plus
 *     written, as bench/gpu/gpu_ceilings.cu counts it).
 * Random inputs (a hash of the index, never zeros); 3 warm-ups, then the median of `reps`
 * event-timed runs. One line per figure, `key=value` pairs, for bench/gpu/attention_compare.py
 * (which times PyTorch's scaled_dot_product_attention on the same shapes and prints both
 * against the targets). --shapes prints the shape lines only (no GPU needed), --quick runs
 * small shapes (the ctest). Exits 77 without a usable GPU.
 * usage: attention_bench [--shapes] [--quick] [--reps R] */
#include <cuda_bf16.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "attn_tiling.h"
#include "cuda_check.h"
#include "kernels_cuda.h"

__global__ void bench_fill_kernel(__nv_bfloat16 *x, size_t n, unsigned seed) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 15, h *= 2246822519u, h ^= h >> 13, h *= 3266489917u, h ^= h >> 16;
        x[i] = __float2bfloat16((float)(h >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
}

typedef struct bench_shape {
    const char *kind; /* "prefill" or "decode" */
    int batch, heads, kv_heads, Tq, Tk, d;
} bench_shape;

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static void *bench_alloc_random(size_t n, unsigned seed) {
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, n * 2));
    bench_fill_kernel<<<1024, 256>>>((__nv_bfloat16 *)p, n, seed);
    CUDA_CHECK(cudaGetLastError());
    return p;
}

/* median milliseconds of one fused call at shape s (Q, O head-major [B][H][Tq][d], K, V
 * [B][Hkv][Tk][d], as PyTorch lays them out) */
static float bench_attention(const bench_shape *s, int reps, kc_attn_tiles *tiles, double *tile_flops) {
    size_t nq = (size_t)s->batch * s->heads * s->Tq * s->d, nk = (size_t)s->batch * s->kv_heads * s->Tk * s->d;
    void *q = bench_alloc_random(nq, 1), *k = bench_alloc_random(nk, 2), *v = bench_alloc_random(nk, 3), *o = NULL;
    float *lse = NULL, *work = NULL;
    CUDA_CHECK(cudaMalloc(&o, nq * 2));
    CUDA_CHECK(cudaMalloc(&lse, (size_t)s->batch * s->heads * s->Tq * 4));
    int q0 = s->Tk - s->Tq; /* the queries are the context's last rows */
    kc_attn_args a = {s->batch, s->heads, 0, s->heads / s->kv_heads, 0, s->Tq, s->Tk, q0, 0, s->d, s->d,
                      1.0f / sqrtf((float)s->d),
                      q, (size_t)s->d, (size_t)s->Tq * s->d, (size_t)s->heads * s->Tq * s->d,
                      k, (size_t)s->d, (size_t)s->Tk * s->d, (size_t)s->kv_heads * s->Tk * s->d,
                      v, (size_t)s->d, (size_t)s->Tk * s->d, (size_t)s->kv_heads * s->Tk * s->d,
                      o, (size_t)s->d, (size_t)s->Tq * s->d, (size_t)s->heads * s->Tq * s->d, lse};
    int dev = 0, sms = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    attn_fused_tiling t;
    attn_fused_plan(&t, ATTN_FUSED_GPU, s->batch, s->heads, s->Tq, s->Tk, q0, 0, s->d, s->d, sms);
    *tiles = (kc_attn_tiles){t.q_tile, t.k_tile, t.kv_splits, t.split_keys};
    *tile_flops = t.tiles * (double)t.q_tile * t.k_tile * 2.0 * (2.0 * s->d) * s->batch * s->heads;
    size_t wf = attention_fused_cuda_workspace(&a, tiles);
    if (wf) CUDA_CHECK(cudaMalloc(&work, wf * 4));
    cudaEvent_t *ev = (cudaEvent_t *)malloc(2 * reps * sizeof *ev);
    for (int i = 0; i < 2 * reps; i++) CUDA_CHECK(cudaEventCreate(&ev[i]));
    for (int i = 0; i < 3; i++) CUDA_CHECK(attention_fused_cuda(&a, tiles, work, wf, KC_BF16, 0));
    for (int i = 0; i < reps; i++) {
        CUDA_CHECK(cudaEventRecord(ev[2 * i], 0));
        CUDA_CHECK(attention_fused_cuda(&a, tiles, work, wf, KC_BF16, 0));
        CUDA_CHECK(cudaEventRecord(ev[2 * i + 1], 0));
    }
    CUDA_CHECK(cudaDeviceSynchronize());
    float *ms = (float *)malloc(reps * sizeof *ms);
    for (int i = 0; i < reps; i++) CUDA_CHECK(cudaEventElapsedTime(&ms[i], ev[2 * i], ev[2 * i + 1]));
    qsort(ms, reps, sizeof *ms, cmp_float);
    float med = ms[reps / 2];
    for (int i = 0; i < 2 * reps; i++) cudaEventDestroy(ev[i]);
    free(ev), free(ms);
    cudaFree(q), cudaFree(k), cudaFree(v), cudaFree(o), cudaFree(lse);
    if (work) cudaFree(work);
    return med;
}

/* device-to-device copy of `bytes`, GB/s of bytes read plus written */
static double bench_copy(size_t bytes, int reps) {
    void *a = bench_alloc_random(bytes / 2, 4), *b = NULL;
    CUDA_CHECK(cudaMalloc(&b, bytes));
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    float *ms = (float *)malloc(reps * sizeof *ms);
    for (int i = 0; i < 3; i++) CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0));
    for (int i = 0; i < reps; i++) {
        CUDA_CHECK(cudaEventRecord(e0, 0));
        CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0));
        CUDA_CHECK(cudaEventRecord(e1, 0));
        CUDA_CHECK(cudaEventSynchronize(e1));
        CUDA_CHECK(cudaEventElapsedTime(&ms[i], e0, e1));
    }
    qsort(ms, reps, sizeof *ms, cmp_float);
    double gbps = 2.0 * bytes / (ms[reps / 2] * 1e-3) / 1e9;
    free(ms);
    cudaEventDestroy(e0), cudaEventDestroy(e1);
    cudaFree(a), cudaFree(b);
    return gbps;
}

static void bench_print_shape(const bench_shape *s) {
    printf("%s batch=%d heads=%d kv_heads=%d Tq=%d Tk=%d d=%d", s->kind, s->batch, s->heads, s->kv_heads, s->Tq, s->Tk,
           s->d);
}

int main(int argc, char **argv) {
    int shapes_only = 0, quick = 0, reps = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shapes")) shapes_only = 1;
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: attention_bench [--shapes] [--quick] [--reps R]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 1000) {
        fprintf(stderr, "attention_bench: error: --reps: bad value (1..1000)\n");
        return 2;
    }
    static const bench_shape full[] = {
        {"prefill", 4, 16, 16, 4096, 4096, 128}, {"prefill", 2, 16, 16, 8192, 8192, 128},
        {"decode", 8, 32, 8, 1, 4096, 128},      {"decode", 8, 32, 8, 1, 8192, 128},
        {"decode", 8, 32, 8, 1, 16384, 128},     {"decode", 8, 32, 8, 1, 32768, 128},
    };
    static const bench_shape small[] = {{"prefill", 1, 4, 4, 1024, 1024, 128}, {"decode", 2, 8, 2, 1, 4096, 128}};
    const bench_shape *sh = quick ? small : full;
    int n = quick ? 2 : 6;
    if (shapes_only) {
        for (int i = 0; i < n; i++) bench_print_shape(&sh[i]), printf("\n");
        return 0;
    }
    if (!cuda_have_device()) {
        printf("SKIP: no usable CUDA device\n");
        return ATTN_EXIT_SKIP;
    }
    size_t copy_bytes = (size_t)1 << (quick ? 26 : 30);
    printf("copy bytes=%zu gbps=%.1f\n", copy_bytes, bench_copy(copy_bytes, reps));
    for (int i = 0; i < n; i++) {
        const bench_shape *s = &sh[i];
        kc_attn_tiles t;
        double tile_flops;
        float ms = bench_attention(s, reps, &t, &tile_flops);
        bench_print_shape(s);
        printf(" ms=%.4f q_tile=%d k_tile=%d kv_splits=%d", ms, t.q_tile, t.k_tile, t.kv_splits);
        if (!strcmp(s->kind, "prefill")) {
            double flops = 4.0 * s->Tq * (double)s->Tk / 2.0 * s->d * s->heads * s->batch;
            printf(" tflops=%.1f tile_tflops=%.1f\n", flops / (ms * 1e-3) / 1e12, tile_flops / (ms * 1e-3) / 1e12);
        } else {
            double kv_bytes = 2.0 * s->batch * s->kv_heads * (double)s->Tk * s->d * 2.0;
            printf(" kv_bytes=%.0f kv_gbps=%.1f\n", kv_bytes, kv_bytes / (ms * 1e-3) / 1e9);
        }
        fflush(stdout);
    }
    return 0;
}
