/* rope.cu: rope_forward_cuda, the twin of rope_forward_cpu: rotate-half RoPE on a range of
 * rotation pairs of each head (a dimension segment of the two-level split holds whole
 * pairs: local k pairs with local k + HS/2). One thread per (token, head, pair); the angle
 * is formed in double (positions reach 10^5 and more, where fp32 angles drift), the
 * rotation itself in fp32. */
#include "kc_common.cuh"

template <typename T>
__global__ void rope_forward_kernel(T *x, size_t ld_t, size_t ld_h, int T_, int NH, int half, const int *pos,
                                    int pos0, const int *pos0_dev, int period, int pair_begin, int head_dim,
                                    double log_theta) {
    if (pos0_dev) pos0 = *pos0_dev; /* read when the kernel runs: a graph replays it with each step's position */
    size_t n = (size_t)T_ * NH * half;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        int k = (int)(i % half);
        size_t th = i / half;
        int h = (int)(th % NH);
        int t = (int)(th / NH);
        double freq = exp(-2.0 * (pair_begin + k) / head_dim * log_theta);
        double s, c;
        int p = pos ? pos[t] : pos0 + t % period; /* explicit positions, or sequences of `period` rows */
        sincos((double)p * freq, &s, &c);
        T *v = x + t * ld_t + h * ld_h;
        float x1 = kc_load(v[k]), x2 = kc_load(v[k + half]);
        float cf = (float)c, sf = (float)s;
        v[k] = kc_store<T>(x1 * cf - x2 * sf);
        v[k + half] = kc_store<T>(x2 * cf + x1 * sf);
    }
}

static cudaError_t rope_launch(void *x, size_t ld_t, size_t ld_h, int T, int NH, int HS, const int *pos, int pos0,
                               const int *pos0_dev, int period, int pair_begin, int head_dim, float theta, kc_dtype dt,
                               cudaStream_t stream) {
    if (T < 0 || NH < 0 || HS < 0 || HS % 2 != 0 || head_dim <= 0 || theta <= 0.0f || period <= 0)
        return cudaErrorInvalidValue;
    size_t n = (size_t)T * NH * (HS / 2);
    if (n == 0) return cudaSuccess;
    const int threads = 256;
    KC_DISPATCH(dt, E,
                (rope_forward_kernel<E><<<kc_grid(n, threads), threads, 0, stream>>>(
                    (E *)x, ld_t, ld_h, T, NH, HS / 2, pos, pos0, pos0_dev, period, pair_begin, head_dim, log((double)theta))));
    return cudaGetLastError();
}

extern "C" cudaError_t rope_forward_strided_cuda(void *x, size_t ld_t, size_t ld_h, int T, int NH, int HS,
                                                 const int *pos, int pair_begin, int head_dim, float theta,
                                                 kc_dtype dt, cudaStream_t stream) {
    if (!pos && T > 0) return cudaErrorInvalidValue;
    return rope_launch(x, ld_t, ld_h, T, NH, HS, pos, 0, NULL, 1, pair_begin, head_dim, theta, dt, stream);
}

extern "C" cudaError_t rope_forward_seq_cuda(void *x, int N, int T, int NH, int HS, int pos0, int pair_begin,
                                             int head_dim, float theta, kc_dtype dt, cudaStream_t stream) {
    return rope_launch(x, (size_t)NH * HS, (size_t)HS, N, NH, HS, NULL, pos0, NULL, T, pair_begin, head_dim, theta, dt,
                       stream);
}

extern "C" cudaError_t rope_forward_seq_dev_cuda(void *x, int N, int T, int NH, int HS, const int *pos0_dev,
                                                 int pair_begin, int head_dim, float theta, kc_dtype dt,
                                                 cudaStream_t stream) {
    if (!pos0_dev) return cudaErrorInvalidValue;
    return rope_launch(x, (size_t)NH * HS, (size_t)HS, N, NH, HS, NULL, 0, pos0_dev, T, pair_begin, head_dim, theta,
                       dt, stream);
}

extern "C" cudaError_t rope_forward_cuda(void *x, int T, int NH, int HS, const int *pos, int pair_begin, int head_dim,
                                         float theta, kc_dtype dt, cudaStream_t stream) {
    return rope_forward_strided_cuda(x, (size_t)NH * HS, (size_t)HS, T, NH, HS, pos, pair_begin, head_dim, theta, dt,
                                     stream);
}
