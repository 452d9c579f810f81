/* softmax.cu: softmax_causal_forward_cuda, the twin of softmax_causal_forward_cpu. The
 * runtime calls it per query chunk [q0, q0 + Tq) of scores s[NH, Tq, Tk], so the full
 * L x L matrix never exists. One block per (head, query row): one pass over the visible
 * keys j <= q0 + i for the max and the sum (online, rescaled as the max grows), then one
 * pass writing probabilities, with exact zeros at masked keys. Scores may be fp32 (as the score all-reduce sums them) and the
 * probabilities fp16/bf16 for the P.V GEMM. */
#include "kc_common.cuh"

static const int SOFTMAX_THREADS = 256;

template <typename TO, typename TS>
__global__ void softmax_causal_forward_kernel(TO *out, const TS *s, int Tq, int Tk, int q0, const int *q0_dev,
                                              float scale) {
    __shared__ float scratch[32];
    if (q0_dev) q0 = *q0_dev; /* read when the kernel runs: a graph replays it with each step's position */
    int i = blockIdx.x % Tq; /* row inside the chunk; blockIdx.x = h*Tq + i */
    const TS *row = s + (size_t)blockIdx.x * Tk;
    TO *dst = out + (size_t)blockIdx.x * Tk;
    int last = q0 + i; /* last visible key, inclusive */
    if (last > Tk - 1) last = Tk - 1;
    /* one pass for both statistics: each thread keeps its running max m and its sum of
     * exp(v - m), rescaled when m grows; the block then brings every sum to the row max */
    float m = -INFINITY, sum = 0.0f;
    for (int j = threadIdx.x; j <= last; j += blockDim.x) {
        float v = kc_load(row[j]) * scale;
        if (v > m) {
            sum = sum * expf(m - v) + 1.0f; /* expf(-inf) = 0 on the first element */
            m = v;
        } else {
            sum += expf(v - m);
        }
    }
    float maxv = kc_block_max(m, scratch);
    sum = kc_block_sum(m == -INFINITY ? 0.0f : sum * expf(m - maxv), scratch);
    float inv = sum > 0.0f ? 1.0f / sum : 0.0f; /* no visible key (q0 + i < 0): all zeros */
    /* When out aliases s (same type), each element is read before it is written by the
     * same thread, and no other thread touches it in this pass. */
    for (int j = threadIdx.x; j < Tk; j += blockDim.x) {
        float p = j <= last ? expf(kc_load(row[j]) * scale - maxv) * inv : 0.0f;
        dst[j] = kc_store<TO>(p);
    }
}

template <typename TS>
static cudaError_t softmax_launch(void *out, kc_dtype out_dt, const TS *s, int NH, int Tq, int Tk, int q0,
                                  const int *q0_dev, float scale, cudaStream_t stream) {
    unsigned blocks = (unsigned)((size_t)NH * Tq);
    KC_DISPATCH(out_dt, TO,
                (softmax_causal_forward_kernel<TO, TS><<<blocks, SOFTMAX_THREADS, 0, stream>>>((TO *)out, s, Tq, Tk,
                                                                                                q0, q0_dev, scale)));
    return cudaGetLastError();
}

static cudaError_t softmax_any(void *out, kc_dtype out_dt, const void *s, kc_dtype s_dt, int NH, int Tq, int Tk,
                               int q0, const int *q0_dev, float scale, cudaStream_t stream) {
    if (NH < 0 || Tq < 0 || Tk < 0) return cudaErrorInvalidValue;
    if ((size_t)NH * Tq > 0x7fffffffu) return cudaErrorInvalidValue;
    if (out == s && out_dt != s_dt) return cudaErrorInvalidValue;
    if (NH == 0 || Tq == 0 || Tk == 0) return cudaSuccess;
    KC_DISPATCH(s_dt, TS, return softmax_launch<TS>(out, out_dt, (const TS *)s, NH, Tq, Tk, q0, q0_dev, scale, stream));
    return cudaSuccess;
}

extern "C" cudaError_t softmax_causal_forward_cuda(void *out, kc_dtype out_dt, const void *s, kc_dtype s_dt, int NH,
                                                   int Tq, int Tk, int q0, float scale, cudaStream_t stream) {
    return softmax_any(out, out_dt, s, s_dt, NH, Tq, Tk, q0, NULL, scale, stream);
}

extern "C" cudaError_t softmax_causal_forward_dev_cuda(void *out, kc_dtype out_dt, const void *s, kc_dtype s_dt, int NH,
                                                       int Tq, int Tk, const int *q0_dev, float scale,
                                                       cudaStream_t stream) {
    if (!q0_dev) return cudaErrorInvalidValue;
    return softmax_any(out, out_dt, s, s_dt, NH, Tq, Tk, 0, q0_dev, scale, stream);
}
