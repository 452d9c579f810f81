/* nccl_emu_test.cpp: the NCCL emulation itself (tests/gpu/emu/nccl_emu.cpp), under
 * mpirun -np 3 (at least 2): that each call comm_nccl.c makes computes what NCCL
 * documents, and that the strict checks fire, with an error code and a message, where
 * NCCL would fail, hang or corrupt memory. Every error case is made by all ranks alike
 * (or is caught by all of them), so the communicators stay usable afterwards.
 *   nccl_emu_test            the results and the checks
 *   nccl_emu_test deadlock   an exchange of unfused ncclSend/ncclRecv pairs, which hangs
 *                            on GPUs: with NCCL_EMU_TIMEOUT=2 the watchdog must report it
 *                            (each rank checks the report and prints its verdict on one line, then
 *                            aborts the job; ctest matches the verdict) */
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>
#include "../check.h"

static int me, np;

/* CALL must fail with CODE and a last-error message containing TEXT */
#define EXPECT_FAIL(call, code, text)                                                                 \
    do {                                                                                              \
        ncclResult_t r_ = (call);                                                                     \
        CHECK(r_ == (code), "%s returned %d (%s), expected %d", #call, (int)r_, ncclGetErrorString(r_), \
              (int)(code));                                                                           \
        CHECK(strstr(ncclGetLastError(NULL), text) != NULL, "%s: last error \"%s\" lacks \"%s\"", #call, \
              ncclGetLastError(NULL), text);                                                          \
    } while (0)
#define OK(call)                                                                                   \
    do {                                                                                           \
        ncclResult_t r_ = (call);                                                                  \
        CHECK(r_ == ncclSuccess, "%s: %s: %s", #call, ncclGetErrorString(r_), ncclGetLastError(NULL)); \
    } while (0)

static ncclComm_t init_world(void) {
    ncclUniqueId id;
    if (me == 0) OK(ncclGetUniqueId(&id));
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    ncclComm_t c = NULL;
    OK(ncclCommInitRank(&c, np, id, me));
    return c;
}

static void test_bootstrap(void) {
    ncclUniqueId a, b;
    OK(ncclGetUniqueId(&a));
    OK(ncclGetUniqueId(&b));
    CHECK(memcmp(&a, &b, sizeof a) != 0, "two unique ids are equal");
    ncclComm_t c = (ncclComm_t)1;
    /* every rank made its own id: it was never shared */
    EXPECT_FAIL(ncclCommInitRank(&c, np, a, me), ncclInvalidUsage, me == 0 ? "another rank" : "differs from rank 0's");
    CHECK(c == NULL);
    ncclUniqueId zero;
    memset(&zero, 0, sizeof zero);
    EXPECT_FAIL(ncclCommInitRank(&c, np, zero, me), ncclInvalidUsage, "not made by ncclGetUniqueId");
    MPI_Bcast(&a, sizeof a, MPI_BYTE, 0, MPI_COMM_WORLD);
    EXPECT_FAIL(ncclCommInitRank(&c, np + 1, a, me), ncclInvalidUsage, "MPI_COMM_WORLD has");
    EXPECT_FAIL(ncclCommInitRank(&c, np, a, (me + 1) % np), ncclInvalidUsage, "MPI_COMM_WORLD has");
    OK(ncclCommInitRank(&c, np, a, me));
    int n = 0, r = -1;
    OK(ncclCommCount(c, &n));
    OK(ncclCommUserRank(c, &r));
    CHECK(n == np && r == me, "count %d rank %d", n, r);
    OK(ncclCommDestroy(c));
    EXPECT_FAIL(ncclCommCount(c, &n), ncclInvalidArgument, "destroyed");
}

static void test_split(ncclComm_t w) {
    /* colors 0/1 by parity, the last rank out; key reverses the order */
    int color = me == np - 1 ? NCCL_SPLIT_NOCOLOR : me % 2;
    ncclComm_t s = (ncclComm_t)1;
    OK(ncclCommSplit(w, color, np - me, &s, NULL));
    if (me == np - 1) {
        CHECK(s == NULL, "NCCL_SPLIT_NOCOLOR gave a communicator");
    } else {
        int n = 0, r = -1, expect_n = 0, expect_r = 0;
        for (int i = 0; i < np - 1; i++)
            if (i % 2 == me % 2) expect_n++, expect_r += i > me;
        OK(ncclCommCount(s, &n));
        OK(ncclCommUserRank(s, &r));
        CHECK(n == expect_n && r == expect_r, "split: rank %d of %d, expected %d of %d", r, n, expect_r, expect_n);
        float v = 1.0f + me;
        OK(ncclAllReduce(&v, &v, 1, ncclFloat, ncclSum, s, 0));
        float sum = 0;
        for (int i = 0; i < np - 1; i++)
            if (i % 2 == me % 2) sum += 1.0f + i;
        CHECK(v == sum, "allreduce over the split: %g, expected %g", v, sum);
        OK(ncclCommDestroy(s));
    }
    ncclConfig_t raw;
    memset(&raw, 0, sizeof raw);
    EXPECT_FAIL(ncclCommSplit(w, 0, me, &s, &raw), ncclInvalidArgument, "NCCL_CONFIG_INITIALIZER");
    EXPECT_FAIL(ncclCommSplit(w, -5, me, &s, NULL), ncclInvalidArgument, "not NCCL_SPLIT_NOCOLOR");
    ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
    OK(ncclCommSplit(w, 0, me, &s, &cfg));
    OK(ncclCommAbort(s));
    EXPECT_FAIL(ncclAllReduce(&cfg, &cfg, 1, ncclFloat, ncclSum, s, 0), ncclInvalidArgument, "aborted");
}

static void test_allreduce(ncclComm_t w) {
    /* every element sums (rank + 1) * (i + 1): exact in every format */
    const int n = 37;
    float tot = np * (np + 1) / 2.0f;
    std::vector<float> f(n), g(n);
    std::vector<__half> h(n);
    std::vector<__nv_bfloat16> b(n);
    for (int i = 0; i < n; i++) {
        f[i] = (float)((me + 1) * (i % 5 + 1));
        h[i] = __float2half_rn(f[i]);
        b[i] = __float2bfloat16_rn(f[i]);
    }
    OK(ncclAllReduce(f.data(), g.data(), n, ncclFloat, ncclSum, w, 0));
    OK(ncclAllReduce(h.data(), h.data(), n, ncclHalf, ncclSum, w, 0));
    OK(ncclAllReduce(b.data(), b.data(), n, ncclBfloat16, ncclSum, w, 0));
    OK(ncclAllReduce(f.data(), f.data(), n, ncclFloat, ncclSum, w, 0));
    for (int i = 0; i < n; i++) {
        float e = tot * (i % 5 + 1);
        CHECK(g[i] == e && f[i] == e && __half2float(h[i]) == e && __bfloat162float(b[i]) == e,
              "allreduce [%d]: float %g/%g half %g bf16 %g, expected %g", i, g[i], f[i], __half2float(h[i]),
              __bfloat162float(b[i]), e);
    }
    /* overlapping but not in place; other types and ops; sizes MPI cannot take */
    EXPECT_FAIL(ncclAllReduce(f.data(), f.data() + 1, 4, ncclFloat, ncclSum, w, 0), ncclInvalidArgument, "overlap");
    int32_t iv[2] = {0, 0};
    EXPECT_FAIL(ncclAllReduce(iv, iv, 2, ncclInt32, ncclSum, w, 0), ncclInvalidArgument, "not emulated");
    EXPECT_FAIL(ncclAllReduce(f.data(), f.data(), 2, ncclFloat, ncclMax, w, 0), ncclInvalidArgument, "ncclSum");
    EXPECT_FAIL(ncclAllReduce(f.data(), f.data(), (size_t)INT_MAX, ncclFloat, ncclSum, w, 0), ncclInvalidArgument,
                "more than one MPI call");
    EXPECT_FAIL(ncclAllReduce(f.data(), NULL, 2, ncclFloat, ncclSum, w, 0), ncclInvalidArgument, "recvbuff is NULL");
    EXPECT_FAIL(ncclAllReduce(f.data(), f.data(), 2, ncclFloat, ncclSum, NULL, 0), ncclInvalidArgument, "NULL");
    /* the members disagree on the count: caught by all of them, nothing is reduced */
    OK(ncclAllReduce(f.data(), f.data(), 0, ncclFloat, ncclSum, w, 0)); /* count 0: nothing, matched with nothing */
    EXPECT_FAIL(ncclAllReduce(f.data(), f.data(), me == 0 ? 3 : 4, ncclFloat, ncclSum, w, 0), ncclInvalidUsage,
                "count ranges over [3, 4]");
    EXPECT_FAIL(ncclAllReduce(h.data(), h.data(), 4, me == 1 ? ncclBfloat16 : ncclHalf, ncclSum, w, 0),
                ncclInvalidUsage, "datatype");
}

static void test_allgather(ncclComm_t w) {
    const int n = 5;
    std::vector<__half> send(n), recv(n * np), in(n * np);
    for (int i = 0; i < n; i++) send[i] = in[me * n + i] = __float2half_rn((float)(me * 10 + i));
    OK(ncclAllGather(send.data(), recv.data(), n, ncclHalf, w, 0));
    OK(ncclAllGather(in.data() + me * n, in.data(), n, ncclHalf, w, 0)); /* in place */
    for (int r = 0; r < np; r++)
        for (int i = 0; i < n; i++)
            CHECK(__half2float(recv[r * n + i]) == r * 10 + i && __half2float(in[r * n + i]) == r * 10 + i,
                  "allgather [%d][%d]", r, i);
    /* sendbuff inside recvbuff but not at this rank's slot */
    EXPECT_FAIL(ncclAllGather(in.data() + ((me + 1) % np) * n, in.data(), n, ncclHalf, w, 0), ncclInvalidArgument,
                "in-place rule");
    EXPECT_FAIL(ncclAllGather(in.data() + me * n + 1, in.data(), n, ncclHalf, w, 0), ncclInvalidArgument, "in-place rule");
}

static void test_broadcast(ncclComm_t w) {
    /* the uneven all-gather of comm_nccl.c: one broadcast per member into its slot, fused
     * in a group, non-roots passing sendbuff NULL; counts 1, 2, ... and member 1 none */
    std::vector<size_t> cnt(np), off(np + 1, 0);
    for (int i = 0; i < np; i++) cnt[i] = i == 1 ? 0 : (size_t)i + 1, off[i + 1] = off[i] + cnt[i];
    std::vector<float> mine(cnt[me]), all(off[np], -1.0f);
    for (size_t k = 0; k < cnt[me]; k++) mine[k] = (float)(100 * me + (int)k);
    OK(ncclGroupStart());
    for (int i = 0; i < np; i++)
        if (cnt[i]) OK(ncclBroadcast(i == me ? mine.data() : NULL, all.data() + off[i], cnt[i], ncclFloat, i, w, 0));
    OK(ncclGroupEnd());
    for (int i = 0; i < np; i++)
        for (size_t k = 0; k < cnt[i]; k++) CHECK(all[off[i] + k] == 100 * i + (int)k, "broadcast slot %d [%zu]", i, k);
    /* in place on the root */
    float v[3] = {1, 2, 3};
    if (me != 0) v[0] = v[1] = v[2] = 0;
    OK(ncclBroadcast(v, v, 3, ncclFloat, 0, w, 0));
    CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3, "in-place broadcast");
    EXPECT_FAIL(ncclBroadcast(v, v, 3, ncclFloat, np, w, 0), ncclInvalidArgument, "root");
    if (me == 0) EXPECT_FAIL(ncclBroadcast(v, v + 1, 2, ncclFloat, 0, w, 0), ncclInvalidArgument, "overlap");
    if (me == 0) EXPECT_FAIL(ncclBroadcast(NULL, v, 2, ncclFloat, 0, w, 0), ncclInvalidArgument, "sendbuff is NULL");
    /* the members name different roots */
    EXPECT_FAIL(ncclBroadcast(v, v, 3, ncclFloat, me == 0 ? 1 : 0, w, 0), ncclInvalidUsage, "root ranges over [0, 1]");
}

static void test_sendrecv(ncclComm_t w) {
    /* the all-to-all of comm_nccl.c: a grouped send and receive with every other member,
     * nested one group deeper; two messages to the same peer arrive in order */
    std::vector<float> out(2 * np), in(2 * np, -1.0f);
    for (int i = 0; i < np; i++) out[2 * i] = (float)(me * 100 + i), out[2 * i + 1] = (float)(me * 100 + i + 50);
    OK(ncclGroupStart());
    OK(ncclGroupStart());
    for (int i = 0; i < np; i++) {
        if (i == me) continue;
        OK(ncclSend(&out[2 * i], 1, ncclFloat, i, w, 0));
        OK(ncclSend(&out[2 * i + 1], 1, ncclFloat, i, w, 0));
        OK(ncclRecv(&in[2 * i], 1, ncclFloat, i, w, 0));
        OK(ncclRecv(&in[2 * i + 1], 1, ncclFloat, i, w, 0));
    }
    OK(ncclGroupEnd());
    OK(ncclGroupEnd());
    for (int i = 0; i < np; i++)
        if (i != me)
            CHECK(in[2 * i] == i * 100 + me && in[2 * i + 1] == i * 100 + me + 50, "alltoall from %d: %g %g", i,
                  in[2 * i], in[2 * i + 1]);
    /* a ring: each sends to the next and receives from the previous */
    int next = (me + 1) % np, prev = (me + np - 1) % np;
    __nv_bfloat16 s[4], r[4];
    for (int k = 0; k < 4; k++) s[k] = __float2bfloat16_rn((float)(me + k));
    OK(ncclGroupStart());
    OK(ncclSend(s, 4, ncclBfloat16, next, w, 0));
    OK(ncclRecv(r, 4, ncclBfloat16, prev, w, 0));
    OK(ncclGroupEnd());
    CHECK(__bfloat162float(r[3]) == prev + 3, "ring");
    /* the receiver expects more than was sent, or another datatype of the same size */
    OK(ncclGroupStart());
    OK(ncclSend(s, 2, ncclBfloat16, next, w, 0));
    OK(ncclRecv(r, 3, ncclBfloat16, prev, w, 0));
    EXPECT_FAIL(ncclGroupEnd(), ncclInvalidUsage, "same count and datatype");
    OK(ncclGroupStart());
    OK(ncclSend(s, 2, ncclHalf, next, w, 0));
    OK(ncclRecv(r, 2, ncclBfloat16, prev, w, 0));
    EXPECT_FAIL(ncclGroupEnd(), ncclInvalidUsage, "datatype 6 (half)");
    /* one group's operations run concurrently: two receives into one buffer, a send of
     * what a receive overwrites */
    OK(ncclGroupStart());
    OK(ncclRecv(r, 2, ncclBfloat16, prev, w, 0));
    OK(ncclRecv(r + 1, 2, ncclBfloat16, next, w, 0));
    EXPECT_FAIL(ncclGroupEnd(), ncclInvalidArgument, "write overlapping memory");
    OK(ncclGroupStart());
    OK(ncclSend(r, 2, ncclBfloat16, next, w, 0));
    OK(ncclRecv(r, 2, ncclBfloat16, prev, w, 0));
    EXPECT_FAIL(ncclGroupEnd(), ncclInvalidArgument, "of the same group reads");
    /* an error inside a group fails its end; nothing of it was issued */
    OK(ncclGroupStart());
    EXPECT_FAIL(ncclSend(s, 2, ncclBfloat16, np, w, 0), ncclInvalidArgument, "peer");
    OK(ncclRecv(r, 2, ncclBfloat16, prev, w, 0));
    EXPECT_FAIL(ncclGroupEnd(), ncclInvalidArgument, "peer");
    EXPECT_FAIL(ncclGroupEnd(), ncclInvalidUsage, "without ncclGroupStart");
    EXPECT_FAIL(ncclRecv(NULL, 2, ncclFloat, prev, w, 0), ncclInvalidArgument, "recvbuff is NULL");
    /* a communicator cannot go while the open group holds its operations */
    OK(ncclGroupStart());
    OK(ncclSend(s, 1, ncclBfloat16, next, w, 0));
    EXPECT_FAIL(ncclCommDestroy(w), ncclInvalidUsage, "open group");
    OK(ncclRecv(r, 1, ncclBfloat16, prev, w, 0));
    OK(ncclGroupEnd());
}

/* A group's operations are in flight together (the emulation's model of a fused group;
 * NCCL documents it for sends and receives): rank 0 fuses collectives of two
 * communicators and a send, which the others call one by one in another order. The
 * signature check must not add an order of its own (it did once: a false deadlock). */
static void test_group_across_comms(ncclComm_t w) {
    ncclComm_t s = NULL;
    OK(ncclCommSplit(w, 0, me, &s, NULL));
    float a = 1.0f, b = 2.0f, x = 7.0f, y = 0.0f;
    if (me == 0) {
        OK(ncclGroupStart());
        OK(ncclAllReduce(&a, &a, 1, ncclFloat, ncclSum, w, 0));
        OK(ncclAllReduce(&b, &b, 1, ncclFloat, ncclSum, s, 0));
        OK(ncclSend(&x, 1, ncclFloat, 1, w, 0));
        OK(ncclGroupEnd());
    } else {
        if (me == 1) OK(ncclRecv(&y, 1, ncclFloat, 0, w, 0));
        OK(ncclAllReduce(&b, &b, 1, ncclFloat, ncclSum, s, 0));
        OK(ncclAllReduce(&a, &a, 1, ncclFloat, ncclSum, w, 0));
    }
    CHECK(a == np && b == 2.0f * np && (me != 1 || y == 7.0f), "a %g b %g y %g", a, b, y);
    OK(ncclCommDestroy(s));
}

/* Both ranks send first, each outside a group: NCCL's sends wait for their receives, so
 * on GPUs this hangs; here the watchdog must say so. */
static int deadlock(ncclComm_t w) {
    float s = 1.0f, r = 0.0f;
    int peer = me ^ 1;
    if (peer >= np) { /* an odd rank out waits until the others abort the job */
        MPI_Barrier(MPI_COMM_WORLD);
        return 1;
    }
    ncclResult_t e = ncclSend(&s, 1, ncclFloat, peer, w, 0);
    if (e == ncclSuccess) e = ncclRecv(&r, 1, ncclFloat, peer, w, 0);
    /* The verdict on one line: mpirun interleaves the ranks' output line by line, so a
     * pattern spanning the message's lines would match or not by chance. */
    char want[64];
    snprintf(want, sizeof want, "pending: ncclSend of 1 float to peer %d", peer);
    const char *why = ncclGetLastError(w);
    int reported = e == ncclSystemError && strstr(why, "not complete after") && strstr(why, want);
    printf("rank %d: the watchdog %s\n", me, reported ? "reported the deadlock" : "did NOT report the deadlock");
    if (!reported) printf("rank %d: %s: %s\n", me, ncclGetErrorString(e), why);
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, e == ncclSuccess ? 1 : 3);
    return 1;
}

int main(int argc, char **argv) {
    /* before MPI_Init: the emulation needs MPI */
    ncclUniqueId id;
    ncclGetUniqueId(&id);
    ncclComm_t c = NULL;
    ncclResult_t e = ncclCommInitRank(&c, 1, id, 0);
    if (e != ncclInvalidUsage || !strstr(ncclGetLastError(NULL), "not initialized")) {
        fprintf(stderr, "ncclCommInitRank before MPI_Init: %d %s\n", (int)e, ncclGetLastError(NULL));
        return 1;
    }
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    if (np < 2) {
        fprintf(stderr, "nccl_emu_test: run it under mpirun with 2 or more ranks\n");
        MPI_Finalize();
        return 2;
    }
    ncclComm_t w = init_world();
    if (argc > 1 && strcmp(argv[1], "deadlock") == 0) return deadlock(w);
    test_bootstrap();
    test_split(w);
    test_allreduce(w);
    test_allgather(w);
    test_broadcast(w);
    test_sendrecv(w);
    test_group_across_comms(w);
    OK(ncclCommDestroy(w));
    int bad = check_failures, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    if (me != 0) return bad ? 1 : 0;
    return any && !bad ? (fprintf(stderr, "nccl_emu_test: another rank failed\n"), 1) : check_finish("nccl_emu_test");
}
