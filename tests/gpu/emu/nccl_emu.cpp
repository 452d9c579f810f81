/* nccl_emu.cpp: the NCCL calls of runtime/cuda/comm_nccl.c over MPI on host memory, for
 * the emulated CUDA backend (attnrun_emu under mpirun: one process per "GPU"; device
 * memory is host memory there, tests/gpu/emu/cuda_emu_runtime.cpp). Written for this
 * project from NCCL's documented semantics (nccl.h and the NCCL user guide); it checks
 * comm_nccl.c's use of NCCL, not NCCL.
 *
 * What it checks, strictly, as NCCL would fail (or worse, hang or corrupt) on a GPU:
 *  - arguments: live communicator (a destroyed or aborted one is refused), datatype
 *    (float, half, bfloat16 only), ncclSum, null buffers, peer/root in range, counts an
 *    MPI call takes (bytes <= INT_MAX; larger ones are refused, not split);
 *  - in-place rules: AllReduce iff sendbuff == recvbuff, AllGather iff sendbuff ==
 *    recvbuff + rank*sendcount, Broadcast iff sendbuff == recvbuff (sendbuff read on the
 *    root only); any other overlap of what an operation reads and writes is an error, and
 *    so is any overlap between the operations of one group (they run concurrently);
 *  - matching: every collective is preceded by an all-reduce of its signature (kind,
 *    datatype, count, root), so members calling different collectives, counts or roots
 *    get an error naming the call instead of a hang or garbage; a receive must get
 *    exactly the count and datatype sent (the datatype travels as the MPI tag);
 *  - ordering and progress: outside a group an operation runs at once; inside
 *    ncclGroupStart/End (nested, a depth counter) operations are deferred and issued at
 *    the outermost ncclGroupEnd as nonblocking MPI operations in call order, then waited
 *    for together (a whole group in flight at once, collectives of several communicators
 *    included, which is more than NCCL documents for collectives). Sends are
 *    synchronous-mode (MPI_Issend): an NCCL send may not complete before its receive is
 *    posted, so wherever NCCL may deadlock (unfused send/recv pairs, collectives in
 *    different orders) this deadlocks every time; a watchdog (NCCL_EMU_TIMEOUT seconds,
 *    default 300, 0 = none) then names the pending operations and fails the call;
 *  - bootstrap: ncclCommInitRank needs MPI initialized, nranks and rank equal to
 *    MPI_COMM_WORLD's, and every rank holding the same id from ncclGetUniqueId (rank 0's
 *    bytes are broadcast and compared), so an id that was never shared is caught;
 *  - CUDA graphs (NCCL 2.9 and later capture collectives, point to point and groups): an
 *    operation on a stream being captured (the emulated runtime's capture, when it is
 *    linked) is checked at the call and recorded in the stream's graph, a group as one
 *    piece at its outermost ncclGroupEnd; every cudaGraphLaunch then runs it as above
 *    (signatures agreed again at each replay). A group that mixes captured and
 *    uncaptured streams is refused.
 * NCCL_DEBUG=INFO prints one line per ncclCommInitRank and, when the last communicator is
 * destroyed, the count of operations this process ran (tests assert the NCCL path ran).
 *
 * What it cannot check: stream asynchrony (everything is synchronous here: a host read of
 * a buffer before cudaStreamSynchronize, or a kernel racing a collective on another
 * stream, goes unnoticed, and a host-side MPI call made while a send is still queued on
 * the stream can deadlock here though not on a GPU); speed; real NCCL (its algorithms,
 * reduction order and rounding: half/bfloat16 sums here add pairwise in float and round
 * each partial sum, as NCCL's ring does, but not in NCCL's order); multithreaded callers. */
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

/* cuda_emu_runtime.cpp's stream capture, when it is linked (attnrun_emu); the emulation's
 * own test links no CUDA emulation, and then no stream is ever captured */
bool cuda_emu_capturing(cudaStream_t s) __attribute__((weak));
bool cuda_emu_capture_add(cudaStream_t s, std::function<cudaError_t()> work) __attribute__((weak));

struct ncclComm {
    MPI_Comm data;  /* collectives and point to point */
    MPI_Comm check; /* the signature all-reduces only: their order never interleaves with data's */
    int rank, size;
    long long collectives; /* issued on this communicator, for messages */
};

namespace {

const char id_magic[8] = {'n', 'c', 'c', 'l', '-', 'e', 'm', 'u'};

enum Kind { K_ALLREDUCE, K_ALLGATHER, K_BROADCAST, K_SEND, K_RECV, K_COUNT };
const char *const kind_name[K_COUNT] = {"ncclAllReduce", "ncclAllGather", "ncclBroadcast", "ncclSend", "ncclRecv"};

/* One NCCL operation, as called (deferred inside a group). */
struct Op {
    Kind kind;
    ncclComm_t comm;
    const void *send;
    void *recv;
    size_t count; /* elements: per rank for AllGather */
    ncclDataType_t type;
    int peer; /* root for Broadcast, peer for Send/Recv */
    long long seq; /* collectives: index on the communicator */
};

struct Range {
    uintptr_t lo, hi;
    bool overlaps(const Range &o) const { return lo < hi && o.lo < o.hi && lo < o.hi && o.lo < hi; }
};

std::string last_error;          /* ncclGetLastError */
std::set<ncclComm_t> live;       /* communicators not yet destroyed or aborted */
std::vector<Op> pending;         /* the open group's operations, in call order */
int group_depth = 0;
bool group_captured = false;     /* the open group's operations are on a stream being captured */
cudaStream_t group_stream;       /* that stream */
long long stats_captured;        /* operations recorded into graphs */
ncclResult_t group_error = ncclSuccess; /* the first error inside the open group */
MPI_Datatype t_half = MPI_DATATYPE_NULL, t_bf16 = MPI_DATATYPE_NULL;
MPI_Op op_half_sum = MPI_OP_NULL, op_bf16_sum = MPI_OP_NULL;
long long stats[K_COUNT], stats_groups, stats_type[3]; /* stats_type: float, half, bfloat16 operations */

int world_rank() {
    int init = 0, fin = 0, r = -1;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

bool debug_info() {
    const char *d = getenv("NCCL_DEBUG");
    if (!d) return false;
    std::string s(d);
    for (char &ch : s) ch = (char)toupper((unsigned char)ch);
    return s == "INFO" || s == "TRACE";
}

/* Records the message for ncclGetLastError and returns r. */
ncclResult_t fail(ncclResult_t r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ncclResult_t fail(ncclResult_t r, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int r_world = world_rank();
    last_error = "nccl_emu (" + (r_world < 0 ? std::string("no MPI") : "world rank " + std::to_string(r_world)) + "): " + buf;
    if (debug_info()) fprintf(stderr, "%s\n", last_error.c_str());
    return r;
}

ncclResult_t mpi_fail(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error code %d", rc);
    return fail(ncclSystemError, "%s failed: %s", what, msg);
}
#define MPI_TRY(call)                                       \
    do {                                                    \
        int rc_ = (call);                                   \
        if (rc_ != MPI_SUCCESS) return mpi_fail(rc_, #call); \
    } while (0)

ncclResult_t mpi_ready() {
    int init = 0, fin = 0;
    if (MPI_Initialized(&init) != MPI_SUCCESS || !init)
        return fail(ncclInvalidUsage, "MPI is not initialized: the emulation runs over MPI, and its caller initializes it");
    if (MPI_Finalized(&fin) != MPI_SUCCESS || fin) return fail(ncclInvalidUsage, "MPI is already finalized");
    return ncclSuccess;
}

size_t elem_bytes(ncclDataType_t t) { return t == ncclFloat ? 4 : t == ncclHalf || t == ncclBfloat16 ? 2 : 0; }
const char *type_name(ncclDataType_t t) {
    return t == ncclFloat ? "float" : t == ncclHalf ? "half" : t == ncclBfloat16 ? "bfloat16" : "unsupported";
}

ncclResult_t check_comm(ncclComm_t comm, const char *fn) {
    if (!comm) return fail(ncclInvalidArgument, "%s: comm is NULL", fn);
    if (!live.count(comm)) return fail(ncclInvalidArgument, "%s: comm %p was destroyed, aborted or never created", fn, (void *)comm);
    return ncclSuccess;
}

/* half and bfloat16 sums: each pair added in float and rounded back, as NCCL reduces */
void sum_half(void *in, void *inout, int *len, MPI_Datatype *) {
    const __half *a = (const __half *)in;
    __half *b = (__half *)inout;
    for (int i = 0; i < *len; i++) b[i] = __float2half_rn(__half2float(a[i]) + __half2float(b[i]));
}
void sum_bf16(void *in, void *inout, int *len, MPI_Datatype *) {
    const __nv_bfloat16 *a = (const __nv_bfloat16 *)in;
    __nv_bfloat16 *b = (__nv_bfloat16 *)inout;
    for (int i = 0; i < *len; i++) b[i] = __float2bfloat16_rn(__bfloat162float(a[i]) + __bfloat162float(b[i]));
}

/* Two distinct 2-byte types, so an op can never be applied to the other format. */
ncclResult_t make_types() {
    if (t_half != MPI_DATATYPE_NULL) return ncclSuccess;
    MPI_TRY(MPI_Type_contiguous(2, MPI_BYTE, &t_half));
    MPI_TRY(MPI_Type_commit(&t_half));
    MPI_TRY(MPI_Type_contiguous(2, MPI_BYTE, &t_bf16));
    MPI_TRY(MPI_Type_commit(&t_bf16));
    MPI_TRY(MPI_Op_create(sum_half, 1, &op_half_sum));
    MPI_TRY(MPI_Op_create(sum_bf16, 1, &op_bf16_sum));
    return ncclSuccess;
}

/* A communicator's pair of MPI communicators, errors returned rather than fatal. */
ncclResult_t make_comm(MPI_Comm data, ncclComm_t *out) {
    MPI_Comm check;
    MPI_TRY(MPI_Comm_set_errhandler(data, MPI_ERRORS_RETURN));
    MPI_TRY(MPI_Comm_dup(data, &check));
    MPI_TRY(MPI_Comm_set_errhandler(check, MPI_ERRORS_RETURN));
    ncclComm_t c = new ncclComm{data, check, 0, 0, 0};
    MPI_TRY(MPI_Comm_rank(data, &c->rank));
    MPI_TRY(MPI_Comm_size(data, &c->size));
    live.insert(c);
    *out = c;
    return ncclSuccess;
}

/* Checks common to every data operation, at the call. */
ncclResult_t check_op(const char *fn, ncclComm_t comm, ncclDataType_t type, size_t count) {
    if (ncclResult_t r = check_comm(comm, fn)) return r;
    if (!elem_bytes(type))
        return fail(ncclInvalidArgument, "%s: datatype %d is not emulated (ncclFloat, ncclHalf, ncclBfloat16 are)", fn, (int)type);
    if (count > (size_t)INT_MAX / elem_bytes(type))
        return fail(ncclInvalidArgument, "%s: %zu %s elements are %zu bytes, more than one MPI call takes (%d)", fn, count,
                    type_name(type), count * elem_bytes(type), INT_MAX);
    return ncclSuccess;
}

/* What an operation reads and writes on this rank (the in-place part of an operation
 * counts as written only). */
void ranges(const Op &o, std::vector<Range> &rd, std::vector<Range> &wr) {
    uintptr_t s = (uintptr_t)o.send, r = (uintptr_t)o.recv, b = o.count * elem_bytes(o.type);
    switch (o.kind) {
    case K_ALLREDUCE:
        wr.push_back({r, r + b});
        if (s != r) rd.push_back({s, s + b});
        break;
    case K_ALLGATHER:
        wr.push_back({r, r + b * o.comm->size});
        if (s != r + b * o.comm->rank) rd.push_back({s, s + b});
        break;
    case K_BROADCAST:
        wr.push_back({r, r + b});
        if (o.comm->rank == o.peer && s != r) rd.push_back({s, s + b});
        break;
    case K_SEND: rd.push_back({s, s + b}); break;
    case K_RECV: wr.push_back({r, r + b}); break;
    default: break;
    }
}

std::string describe(const Op &o) {
    char buf[256];
    if (o.kind == K_SEND || o.kind == K_RECV)
        snprintf(buf, sizeof buf, "%s of %zu %s %s peer %d (comm rank %d of %d)", kind_name[o.kind], o.count,
                 type_name(o.type), o.kind == K_SEND ? "to" : "from", o.peer, o.comm->rank, o.comm->size);
    else
        snprintf(buf, sizeof buf, "%s #%lld of %zu %s%s%s (comm rank %d of %d)", kind_name[o.kind], o.seq, o.count,
                 type_name(o.type), o.kind == K_BROADCAST ? " root " : "",
                 o.kind == K_BROADCAST ? std::to_string(o.peer).c_str() : "", o.comm->rank, o.comm->size);
    return buf;
}

/* An operation's own reads must not overlap its writes except in place (checked at the
 * call); the operations of one group run concurrently, so none may write what another
 * reads or writes. */
ncclResult_t check_group_overlaps(const std::vector<Op> &ops) {
    std::vector<std::vector<Range>> rd(ops.size()), wr(ops.size());
    for (size_t i = 0; i < ops.size(); i++) ranges(ops[i], rd[i], wr[i]);
    for (size_t i = 0; i < ops.size(); i++)
        for (size_t j = 0; j < ops.size(); j++) {
            if (i == j) continue;
            for (const Range &w : wr[i]) {
                for (const Range &x : wr[j])
                    if (j > i && w.overlaps(x))
                        return fail(ncclInvalidArgument, "ncclGroupEnd: operations %zu (%s) and %zu (%s) of one group write "
                                    "overlapping memory", i, describe(ops[i]).c_str(), j, describe(ops[j]).c_str());
                for (const Range &x : rd[j])
                    if (w.overlaps(x))
                        return fail(ncclInvalidArgument, "ncclGroupEnd: operation %zu (%s) writes memory that operation %zu "
                                    "(%s) of the same group reads", i, describe(ops[i]).c_str(), j, describe(ops[j]).c_str());
            }
        }
    return ncclSuccess;
}

double timeout_s() {
    const char *t = getenv("NCCL_EMU_TIMEOUT");
    return t && *t ? atof(t) : 300.0;
}

/* A request of a running group: an operation's data transfer, or a collective's
 * signature all-reduce. */
struct Pending {
    MPI_Request req;
    size_t op;
    bool sig, done;
};

constexpr int NSIG = 4; /* kind, datatype, count, root */
void signature(const Op &o, long long *s) {
    s[0] = o.kind, s[1] = o.type, s[2] = (long long)o.count, s[3] = o.kind == K_BROADCAST ? o.peer : -1;
}

/* A collective's data transfer, once every member has made the same call. */
ncclResult_t issue_collective(const Op &o, MPI_Request *q) {
    int bytes = (int)(o.count * elem_bytes(o.type));
    MPI_Comm c = o.comm->data;
    if (o.kind == K_ALLREDUCE) {
        MPI_Datatype t = o.type == ncclFloat ? MPI_FLOAT : o.type == ncclHalf ? t_half : t_bf16;
        MPI_Op op = o.type == ncclFloat ? MPI_SUM : o.type == ncclHalf ? op_half_sum : op_bf16_sum;
        MPI_TRY(MPI_Iallreduce(o.send == o.recv ? MPI_IN_PLACE : o.send, o.recv, (int)o.count, t, op, c, q));
    } else if (o.kind == K_ALLGATHER) {
        bool inplace = (uintptr_t)o.send == (uintptr_t)o.recv + (uintptr_t)bytes * o.comm->rank;
        MPI_TRY(MPI_Iallgather(inplace ? MPI_IN_PLACE : o.send, bytes, MPI_BYTE, o.recv, bytes, MPI_BYTE, c, q));
    } else {
        /* the root's data goes out of its recvbuff, which NCCL fills too */
        if (o.comm->rank == o.peer && o.send != o.recv) memcpy(o.recv, o.send, (size_t)bytes);
        MPI_TRY(MPI_Ibcast(o.recv, bytes, MPI_BYTE, o.peer, c, q));
    }
    return ncclSuccess;
}

/* Runs a group's operations (one, outside a group) to completion, all in flight at once
 * as NCCL's are: first, in call order, each send and receive and each collective's
 * signature all-reduce (on the communicator's second MPI communicator); a collective's
 * data transfer is issued once its signature agrees and the earlier collectives of its
 * communicator are issued, so each communicator's collectives start in call order on
 * every member and match as NCCL's do. Polls rather than blocks, so that an
 * oversubscribed machine gives the CPU to the ranks still computing; after the watchdog's
 * time it names what is pending and fails. */
ncclResult_t run_ops(std::vector<Op> &ops) {
    if (ops.empty()) return ncclSuccess;
    if (ncclResult_t r = mpi_ready()) return r;
    if (ncclResult_t r = check_group_overlaps(ops)) return r;
    for (const Op &o : ops)
        if (!live.count(o.comm)) return fail(ncclInvalidUsage, "ncclGroupEnd: a communicator of the group was destroyed");
    stats_groups++;
    const char *stage = ops.size() > 1 ? "ncclGroupEnd" : kind_name[ops[0].kind];
    std::vector<long long> sig(ops.size() * 2 * NSIG);
    std::vector<Pending> reqs;
    std::vector<int> state(ops.size(), 0); /* collectives: 0 signature pending, 1 agreed, 2 issued */
    for (size_t i = 0; i < ops.size(); i++) {
        Op &o = ops[i];
        stats[o.kind]++;
        stats_type[o.type == ncclFloat ? 0 : o.type == ncclHalf ? 1 : 2]++;
        MPI_Request q;
        if (o.kind == K_SEND || o.kind == K_RECV) {
            int bytes = (int)(o.count * elem_bytes(o.type));
            if (o.kind == K_SEND) MPI_TRY(MPI_Issend(o.send, bytes, MPI_BYTE, o.peer, (int)o.type, o.comm->data, &q));
            else MPI_TRY(MPI_Irecv(o.recv, bytes, MPI_BYTE, o.peer, MPI_ANY_TAG, o.comm->data, &q));
            reqs.push_back({q, i, false, false});
            state[i] = 2;
            continue;
        }
        /* max over members of (s, -s) gives max and -min: equal everywhere iff all agree */
        long long *s = &sig[i * 2 * NSIG];
        signature(o, s);
        for (int k = 0; k < NSIG; k++) s[NSIG + k] = -s[k];
        MPI_TRY(MPI_Iallreduce(MPI_IN_PLACE, s, 2 * NSIG, MPI_LONG_LONG, MPI_MAX, o.comm->check, &q));
        reqs.push_back({q, i, true, false});
    }
    auto t0 = std::chrono::steady_clock::now();
    double limit = timeout_s();
    for (long idle = 0;; idle++) {
        bool all_done = true;
        for (size_t k = 0; k < reqs.size(); k++) {
            Pending &p = reqs[k];
            if (p.done) continue;
            int flag = 0;
            MPI_Status st;
            int rc = MPI_Test(&p.req, &flag, &st);
            if (rc != MPI_SUCCESS) {
                mpi_fail(rc, stage);
                return fail(ncclSystemError, "%s: %s failed: %s", stage, describe(ops[p.op]).c_str(), last_error.c_str());
            }
            if (!flag) {
                all_done = false;
                continue;
            }
            p.done = true, idle = 0;
            const Op &o = ops[p.op];
            if (p.sig) {
                const long long *s = &sig[p.op * 2 * NSIG];
                long long mine[NSIG];
                signature(o, mine);
                static const char *const field[NSIG] = {"operation", "datatype", "count", "root"};
                for (int f = 0; f < NSIG; f++)
                    if (s[f] != mine[f] || -s[NSIG + f] != mine[f])
                        return fail(ncclInvalidUsage, "%s: the members of the communicator did not make the same call: %s "
                                    "ranges over [%lld, %lld] across them (NCCL would hang or corrupt memory)",
                                    describe(o).c_str(), field[f], -s[NSIG + f], s[f]);
                state[p.op] = 1;
            } else if (o.kind == K_RECV) {
                int got = 0;
                MPI_TRY(MPI_Get_count(&st, MPI_BYTE, &got));
                if (st.MPI_TAG != (int)o.type || (size_t)got != o.count * elem_bytes(o.type))
                    return fail(ncclInvalidUsage, "%s: the peer's ncclSend sent %d bytes of datatype %d (%s), not %zu %s "
                                "elements: NCCL needs the same count and datatype on both sides", describe(o).c_str(),
                                got, st.MPI_TAG, type_name((ncclDataType_t)st.MPI_TAG), o.count, type_name(o.type));
            }
        }
        /* agreed collectives whose communicator has issued every earlier one go now */
        for (size_t i = 0; i < ops.size(); i++) {
            if (state[i] != 1) continue;
            bool turn = true;
            for (size_t j = 0; j < i && turn; j++)
                if (ops[j].comm == ops[i].comm && state[j] != 2) turn = false;
            if (!turn) continue;
            MPI_Request q;
            if (ncclResult_t r = issue_collective(ops[i], &q)) return r;
            reqs.push_back({q, i, false, false});
            state[i] = 2, all_done = false, idle = 0;
        }
        if (all_done) return ncclSuccess;
        if (idle < 1000) continue;
        std::this_thread::sleep_for(std::chrono::microseconds(idle < 20000 ? 20 : 200));
        double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (limit > 0 && waited > limit) {
            std::string list;
            for (const Pending &p : reqs)
                if (!p.done)
                    list += "\n  pending: " + describe(ops[p.op]) +
                            (p.sig ? " (the other members have not made this call)" : "");
            ncclResult_t r = fail(ncclSystemError, "%s: not complete after %.0f s (NCCL_EMU_TIMEOUT): a deadlock, as NCCL "
                                  "would hang here (a send whose receive is never posted, collectives called in "
                                  "different orders, unfused send/recv pairs)?%s", stage, waited, list.c_str());
            fprintf(stderr, "%s\n", last_error.c_str());
            return r;
        }
    }
}

bool capturing(cudaStream_t st) { return cuda_emu_capturing && cuda_emu_capturing(st); }

/* Records operations (one, or a group) into the graph being captured on st: each replay
 * runs them as run_ops does now; a failure then fails the graph launch, its message on
 * stderr (NCCL reports asynchronous errors out of band too). */
ncclResult_t record(const std::vector<Op> &ops, cudaStream_t st) {
    stats_captured += (long long)ops.size();
    cuda_emu_capture_add(st, [ops = std::vector<Op>(ops)]() mutable {
        if (run_ops(ops) == ncclSuccess) return cudaSuccess;
        fprintf(stderr, "%s\n", last_error.c_str());
        return cudaErrorLaunchFailure;
    });
    return ncclSuccess;
}

/* Runs the operation now (outside a group), records it (stream being captured), or
 * defers it to the outermost ncclGroupEnd. */
ncclResult_t submit(Op o, cudaStream_t st) {
    if (o.kind != K_SEND && o.kind != K_RECV) o.seq = o.comm->collectives++;
    bool cap = capturing(st);
    if (group_depth > 0) {
        if (pending.empty()) group_captured = cap, group_stream = st;
        else if (cap != group_captured || (cap && st != group_stream))
            return fail(ncclInvalidUsage, "%s: one group holds operations on a stream being captured and on another "
                        "stream (not emulated; the project never does it)", kind_name[o.kind]);
        pending.push_back(o);
        return ncclSuccess;
    }
    std::vector<Op> one{o};
    return cap ? record(one, st) : run_ops(one);
}

/* An error inside a group also fails its ncclGroupEnd, as in NCCL. */
ncclResult_t noted(ncclResult_t r) {
    if (r != ncclSuccess && group_depth > 0 && group_error == ncclSuccess) group_error = r;
    return r;
}

ncclResult_t free_comm(ncclComm_t comm, bool collective) {
    live.erase(comm);
    for (size_t i = 0; i < pending.size();)
        if (pending[i].comm == comm) pending.erase(pending.begin() + (long)i);
        else i++;
    ncclResult_t r = ncclSuccess;
    int fin = 0;
    MPI_Finalized(&fin);
    /* an abort must not wait for peers that may be stuck: its MPI communicators are left
     * to MPI_Finalize/MPI_Abort */
    if (collective && !fin) {
        int a = MPI_Comm_free(&comm->check), b = MPI_Comm_free(&comm->data);
        if (a != MPI_SUCCESS) r = mpi_fail(a, "MPI_Comm_free");
        else if (b != MPI_SUCCESS) r = mpi_fail(b, "MPI_Comm_free");
    }
    delete comm;
    if (live.empty() && debug_info())
        fprintf(stderr, "nccl_emu: rank %d: done: allreduce %lld, allgather %lld, broadcast %lld, send %lld, recv %lld, "
                "groups %lld; by datatype: float %lld, half %lld, bfloat16 %lld; recorded into graphs %lld\n", world_rank(),
                stats[K_ALLREDUCE], stats[K_ALLGATHER], stats[K_BROADCAST], stats[K_SEND], stats[K_RECV], stats_groups,
                stats_type[0], stats_type[1], stats_type[2], stats_captured);
    return r;
}

} // namespace

extern "C" {

const char *ncclGetErrorString(ncclResult_t r) {
    switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
    }
}

const char *ncclGetLastError(ncclComm_t) { return last_error.c_str(); }

/* Bytes that differ from run to run and process to process: a magic, the pid, the clock
 * and random bytes. */
ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
    if (!id) return fail(ncclInvalidArgument, "ncclGetUniqueId: uniqueId is NULL");
    memset(id, 0, sizeof *id);
    memcpy(id->internal, id_magic, sizeof id_magic);
    long long pid = getpid(), ns = std::chrono::system_clock::now().time_since_epoch().count();
    memcpy(id->internal + 8, &pid, sizeof pid);
    memcpy(id->internal + 16, &ns, sizeof ns);
    srand((unsigned)(ns ^ (pid << 16)));
    for (size_t i = 24; i < sizeof id->internal; i++) id->internal[i] = (char)(rand() & 0xff);
    return ncclSuccess;
}

/* Every rank takes part in every MPI step, even with bad arguments, and then all agree on
 * failure, so a mistake on one rank is an error everywhere rather than a hang. */
ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
    if (ncclResult_t r = mpi_ready()) return r;
    if (!comm) return fail(ncclInvalidArgument, "ncclCommInitRank: comm is NULL");
    *comm = NULL;
    if (group_depth > 0)
        return fail(ncclInvalidUsage, "ncclCommInitRank inside ncclGroupStart/End is not emulated (the project never does it)");
    if (ncclResult_t r = make_types()) return r;
    int wsize, wrank;
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &wsize));
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &wrank));
    MPI_Comm data;
    MPI_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &data));
    MPI_TRY(MPI_Comm_set_errhandler(data, MPI_ERRORS_RETURN));
    char why[512] = "";
    if (nranks != wsize || rank != wrank)
        snprintf(why, sizeof why, "nranks %d, rank %d, but MPI_COMM_WORLD has %d ranks and this is rank %d (the "
                 "emulation maps NCCL ranks to MPI_COMM_WORLD's)", nranks, rank, wsize, wrank);
    else if (memcmp(id.internal, id_magic, sizeof id_magic) != 0)
        snprintf(why, sizeof why, "the unique id was not made by ncclGetUniqueId (uninitialized, or not shared from "
                 "the rank that made it)");
    ncclUniqueId root = id;
    MPI_TRY(MPI_Bcast(&root, (int)sizeof root, MPI_BYTE, 0, data));
    if (!*why && memcmp(&root, &id, sizeof id) != 0)
        snprintf(why, sizeof why, "this rank's unique id differs from rank 0's: the id was not shared before "
                 "ncclCommInitRank");
    int bad = *why != 0, any = 0;
    MPI_TRY(MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, data));
    if (any) {
        MPI_Comm_free(&data);
        return fail(ncclInvalidUsage, "ncclCommInitRank: %s", bad ? why : "another rank's arguments are wrong");
    }
    if (ncclResult_t r = make_comm(data, comm)) return r;
    if (debug_info())
        fprintf(stderr, "nccl_emu: rank %d: ncclCommInitRank nranks %d (emulated NCCL over MPI)\n", rank, nranks);
    return ncclSuccess;
}

ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t *newcomm, ncclConfig_t *config) {
    if (ncclResult_t r = mpi_ready()) return r;
    if (ncclResult_t r = check_comm(comm, "ncclCommSplit")) return r;
    if (!newcomm) return fail(ncclInvalidArgument, "ncclCommSplit: newcomm is NULL");
    *newcomm = NULL;
    if (group_depth > 0)
        return fail(ncclInvalidUsage, "ncclCommSplit inside ncclGroupStart/End is not emulated (the project never does it)");
    char why[256] = "";
    if (color < 0 && color != NCCL_SPLIT_NOCOLOR)
        snprintf(why, sizeof why, "color %d is negative and not NCCL_SPLIT_NOCOLOR", color);
    else if (config && (config->magic != 0xcafebeef || config->size != sizeof(ncclConfig_t)))
        snprintf(why, sizeof why, "config was not initialized with NCCL_CONFIG_INITIALIZER");
    /* the split is collective over the parent: take part even when refusing */
    MPI_Comm data;
    MPI_TRY(MPI_Comm_split(comm->data, *why || color < 0 ? MPI_UNDEFINED : color, key, &data));
    int bad = *why != 0, any = 0;
    MPI_TRY(MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, comm->data));
    if (any) {
        if (data != MPI_COMM_NULL) MPI_Comm_free(&data);
        return fail(ncclInvalidArgument, "ncclCommSplit: %s", bad ? why : "another rank's arguments are wrong");
    }
    if (data == MPI_COMM_NULL) return ncclSuccess; /* NCCL_SPLIT_NOCOLOR: no communicator */
    return make_comm(data, newcomm);
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int *count) {
    if (ncclResult_t r = check_comm(comm, "ncclCommCount")) return r;
    if (!count) return fail(ncclInvalidArgument, "ncclCommCount: count is NULL");
    *count = comm->size;
    return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank) {
    if (ncclResult_t r = check_comm(comm, "ncclCommUserRank")) return r;
    if (!rank) return fail(ncclInvalidArgument, "ncclCommUserRank: rank is NULL");
    *rank = comm->rank;
    return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
    const char *fn = "ncclAllReduce";
    if (ncclResult_t r = check_op(fn, comm, datatype, count)) return noted(r);
    if (op != ncclSum) return noted(fail(ncclInvalidArgument, "%s: reduction %d is not emulated (ncclSum is)", fn, (int)op));
    if (count == 0) return ncclSuccess;
    if (!sendbuff || !recvbuff) return noted(fail(ncclInvalidArgument, "%s: %s is NULL", fn, sendbuff ? "recvbuff" : "sendbuff"));
    size_t b = count * elem_bytes(datatype);
    Range s{(uintptr_t)sendbuff, (uintptr_t)sendbuff + b}, r{(uintptr_t)recvbuff, (uintptr_t)recvbuff + b};
    if (sendbuff != recvbuff && s.overlaps(r))
        return noted(fail(ncclInvalidArgument, "%s: sendbuff %p and recvbuff %p overlap (%zu bytes each) but are not equal: "
                          "in place means sendbuff == recvbuff", fn, sendbuff, recvbuff, b));
    return noted(submit({K_ALLREDUCE, comm, sendbuff, recvbuff, count, datatype, -1, 0}, stream));
}

ncclResult_t ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream) {
    const char *fn = "ncclAllGather";
    if (ncclResult_t r = check_op(fn, comm, datatype, sendcount)) return noted(r);
    if (sendcount == 0) return ncclSuccess;
    if (!sendbuff || !recvbuff) return noted(fail(ncclInvalidArgument, "%s: %s is NULL", fn, sendbuff ? "recvbuff" : "sendbuff"));
    uintptr_t b = sendcount * elem_bytes(datatype), rb = (uintptr_t)recvbuff, sb = (uintptr_t)sendbuff;
    if (b * comm->size > UINTPTR_MAX - rb)
        return noted(fail(ncclInvalidArgument, "%s: recvbuff + nranks*sendcount wraps around", fn));
    Range s{sb, sb + b}, r{rb, rb + b * comm->size};
    if (sb != rb + b * comm->rank && s.overlaps(r))
        return noted(fail(ncclInvalidArgument, "%s: sendbuff %p overlaps recvbuff [%p, +%zu bytes) but is not this rank's "
                          "slot recvbuff + rank*sendcount (%p): NCCL's in-place rule", fn, sendbuff, recvbuff,
                          (size_t)(b * comm->size), (void *)(rb + b * comm->rank)));
    return noted(submit({K_ALLGATHER, comm, sendbuff, recvbuff, sendcount, datatype, -1, 0}, stream));
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream) {
    const char *fn = "ncclBroadcast";
    if (ncclResult_t r = check_op(fn, comm, datatype, count)) return noted(r);
    if (root < 0 || root >= comm->size)
        return noted(fail(ncclInvalidArgument, "%s: root %d is not a rank of the communicator (0..%d)", fn, root, comm->size - 1));
    if (count == 0) return ncclSuccess;
    if (!recvbuff) return noted(fail(ncclInvalidArgument, "%s: recvbuff is NULL", fn));
    if (comm->rank == root) {
        if (!sendbuff) return noted(fail(ncclInvalidArgument, "%s: sendbuff is NULL on the root (rank %d)", fn, root));
        size_t b = count * elem_bytes(datatype);
        Range s{(uintptr_t)sendbuff, (uintptr_t)sendbuff + b}, r{(uintptr_t)recvbuff, (uintptr_t)recvbuff + b};
        if (sendbuff != recvbuff && s.overlaps(r))
            return noted(fail(ncclInvalidArgument, "%s: on the root, sendbuff %p and recvbuff %p overlap (%zu bytes) but are "
                              "not equal: in place means sendbuff == recvbuff", fn, sendbuff, recvbuff, b));
    }
    return noted(submit({K_BROADCAST, comm, sendbuff, recvbuff, count, datatype, root, 0}, stream));
}

ncclResult_t ncclSend(const void *sendbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
    const char *fn = "ncclSend";
    if (ncclResult_t r = check_op(fn, comm, datatype, count)) return noted(r);
    if (peer < 0 || peer >= comm->size)
        return noted(fail(ncclInvalidArgument, "%s: peer %d is not a rank of the communicator (0..%d)", fn, peer, comm->size - 1));
    if (count == 0) return ncclSuccess;
    if (!sendbuff) return noted(fail(ncclInvalidArgument, "%s: sendbuff is NULL", fn));
    return noted(submit({K_SEND, comm, sendbuff, NULL, count, datatype, peer, 0}, stream));
}

ncclResult_t ncclRecv(void *recvbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm, cudaStream_t stream) {
    const char *fn = "ncclRecv";
    if (ncclResult_t r = check_op(fn, comm, datatype, count)) return noted(r);
    if (peer < 0 || peer >= comm->size)
        return noted(fail(ncclInvalidArgument, "%s: peer %d is not a rank of the communicator (0..%d)", fn, peer, comm->size - 1));
    if (count == 0) return ncclSuccess;
    if (!recvbuff) return noted(fail(ncclInvalidArgument, "%s: recvbuff is NULL", fn));
    return noted(submit({K_RECV, comm, NULL, recvbuff, count, datatype, peer, 0}, stream));
}

ncclResult_t ncclGroupStart() {
    if (group_depth++ == 0) group_error = ncclSuccess;
    return ncclSuccess;
}

/* The outermost end issues the group; an error inside it drops the whole group (its
 * peers then wait: the caller aborts, as it must after an NCCL error). */
ncclResult_t ncclGroupEnd() {
    if (group_depth == 0) return fail(ncclInvalidUsage, "ncclGroupEnd without ncclGroupStart");
    if (--group_depth > 0) return ncclSuccess;
    std::vector<Op> ops;
    ops.swap(pending);
    if (group_error != ncclSuccess) {
        ncclResult_t r = group_error;
        group_error = ncclSuccess;
        return r; /* ncclGetLastError still says why */
    }
    return group_captured && !ops.empty() ? record(ops, group_stream) : run_ops(ops);
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
    if (!comm) return ncclSuccess;
    if (ncclResult_t r = check_comm(comm, "ncclCommDestroy")) return r;
    for (const Op &o : pending)
        if (o.comm == comm)
            return fail(ncclInvalidUsage, "ncclCommDestroy: the open group still holds %s", describe(o).c_str());
    return free_comm(comm, true);
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
    if (!comm) return ncclSuccess;
    if (ncclResult_t r = check_comm(comm, "ncclCommAbort")) return r;
    return free_comm(comm, false);
}

} // extern "C"
