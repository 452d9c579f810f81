/* test_calibration.c: the calibration loader and its effect on prices.
 *   - good.yaml loads with every figure where the cost model reads it; against a topology
 *     whose peak is a quarter of the file's, efficiencies are rescaled (x4); a topology
 *     without the file's device type is an error at device_type;
 *   - every file of bad/ fails with its first error at the FILE:LINE:COL its first line
 *     names ("# expect LINE:COL text");
 *   - pricing in the expected direction: half the GEMM efficiency makes a compute-bound
 *     prefill slower, half the bus bandwidth makes the all-reduces slower.
 * usage: test_calibration SOURCE_DIR (the project root), or --load FILE [TOPOLOGY] to check
 * one file (calibrate_smoke.sh). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../check.h"
#include "calibration_io.h"
#include "cost.h"

static char root[1024];

static void path_of(char *buf, size_t len, const char *rel) { snprintf(buf, len, "%s/%s", root, rel); }

static void test_good(void) {
    char p[1200], tp[1200];
    path_of(p, sizeof p, "tests/calibration/good.yaml");
    attn_diag d;
    attn_diag_init(&d);
    cost_calibration c;
    attn_calibration info; /* what the file says (calibration_io.h) */
    CHECK(cost_calibration_load(p, NULL, &c, &info, &d) == 0, "good.yaml must load");
    CHECK(c.n_gemm == 3 && c.n_coll == 3, "%d GEMM points, %d collectives", c.n_gemm, c.n_coll);
    CHECK(c.elementwise_bandwidth == 10e9 && c.softmax_bandwidth == 1e9, "bandwidths");
    CHECK(fabs(c.launch_overhead_s - 2e-7) < 1e-12, "launch %g", c.launch_overhead_s);
    CHECK(info.peak_flops == 94.4e9 && info.rescale == 1 && !strcmp(info.device_type, "cpu-core"), "info");
    if (c.n_gemm == 3) CHECK(c.gemm[1].m == 4 && c.gemm[1].n == 768 && c.gemm[1].efficiency == 0.42, "gemm[1]");
    if (c.n_coll == 3) {
        CHECK(c.coll[0].coll == COLL_ALLREDUCE && c.coll[0].link == LINK_NODE && c.coll[0].group_size == 2, "coll[0]");
        CHECK(c.coll[0].alpha_s == 1e-6 && c.coll[0].bus_bandwidth == 5e9, "coll[0] fit");
        CHECK(c.coll[2].coll == COLL_SENDRECV, "coll[2] is send/recv");
    }
    CHECK(c.kernel_bandwidth[CALIBRATION_KERNEL_GELU] == 3.5e8 && c.kernel_bandwidth[CALIBRATION_KERNEL_KV_COPY] == 20e9,
          "kernels");
    CHECK(c.softmax_decode_bandwidth == 5e8, "decode softmax");
    cost_calibration_free(&c);
    calibration_free(&info);

    /* cpu-local's rank is a quarter core: the measured FLOP/s are 4x its peak's fraction */
    attn_topology t;
    path_of(tp, sizeof tp, "topologies/cpu-local.yaml");
    if (topology_load(tp, &t, &d) == 0) {
        CHECK(cost_calibration_load(p, &t, &c, &info, &d) == 0, "good.yaml against cpu-local");
        CHECK(fabs(info.rescale - 4) < 1e-12, "rescale %g", info.rescale);
        if (c.n_gemm) CHECK(fabs(c.gemm[0].efficiency - 3.4) < 1e-9, "rescaled efficiency %g", c.gemm[0].efficiency);
        cost_calibration_free(&c);
        calibration_free(&info);
        topology_free(&t);
    } else CHECK(0, "cannot load %s", tp);

    /* no device type cpu-core on an H100: an error at the file's device_type */
    path_of(tp, sizeof tp, "topologies/single-h100.yaml");
    if (topology_load(tp, &t, &d) == 0) {
        FILE *f = tmpfile();
        attn_diag q;
        attn_diag_init(&q);
        q.out = f;
        CHECK(cost_calibration_load(p, &t, &c, NULL, &q) != 0, "cpu-core calibration on an H100 topology");
        char line[2048] = "", want[1300];
        if (f) {
            rewind(f);
            if (!fgets(line, sizeof line, f)) line[0] = '\0';
            fclose(f);
        }
        snprintf(want, sizeof want, "%s:8:14: error: topology", p);
        CHECK(strncmp(line, want, strlen(want)) == 0, "got '%s', want '%s...'", line, want);
        topology_free(&t);
    } else CHECK(0, "cannot load %s", tp);

    attn_diag_init(&d);
    d.quiet = 1;
    CHECK(cost_calibration_load("/nonexistent/calibration.yaml", NULL, &c, NULL, &d) != 0 && d.nerrors > 0, "missing file");
}

/* One bad file: the first error line must be PATH:LINE:COL: error: ...TEXT... */
static void check_bad(const char *path) {
    FILE *in = fopen(path, "r");
    char first[512] = "", want_pos[64], text[256] = "";
    if (!in || !fgets(first, sizeof first, in)) {
        CHECK(0, "cannot read %s", path);
        if (in) fclose(in);
        return;
    }
    fclose(in);
    first[strcspn(first, "\n")] = '\0';
    if (sscanf(first, "# expect %63s %255[^\n]", want_pos, text) != 2) {
        CHECK(0, "%s: first line must be '# expect LINE:COL text'", path);
        return;
    }
    FILE *f = tmpfile();
    if (!f) {
        CHECK(0, "tmpfile");
        return;
    }
    attn_diag d;
    attn_diag_init(&d);
    d.out = f;
    cost_calibration c;
    int rc = cost_calibration_load(path, NULL, &c, NULL, &d);
    CHECK(rc != 0, "%s must be refused", path);
    if (rc == 0) cost_calibration_free(&c);
    char line[4096] = "", want[2600];
    rewind(f);
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    snprintf(want, sizeof want, "%s:%s: error: ", path, want_pos);
    CHECK(strncmp(line, want, strlen(want)) == 0 && strstr(line, text), "%s: got '%s', want '%s...%s'", path, line,
          want, text);
}

static void test_bad(void) {
    char dir[1200];
    path_of(dir, sizeof dir, "tests/calibration/bad");
    DIR *dp = opendir(dir);
    CHECK(dp != NULL, "cannot open %s", dir);
    if (!dp) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        char p[2400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        check_bad(p);
        n++;
    }
    closedir(dp);
    CHECK(n >= 15, "only %d bad files", n);
}

/* small on cpu-local-2, strategy spec, priced with cal (NULL: topology defaults), the
 * attention fused (the default) or not. */
static int decode_first_step; /* cost_options.decode_first_step for price_attention */

static int price_attention(const attn_model *m, const attn_topology *t, const char *spec, const cost_calibration *cal,
                           int fused, attn_report *out) {
    attn_strategy s;
    char err[256];
    if (strategy_parse(spec, &s, err, sizeof err) != 0) return -1;
    cost_options o;
    cost_options_default(&o);
    o.calibration = cal;
    o.fused_attention = fused;
    o.decode_first_step = decode_first_step;
    attn_plan plan;
    memset(&plan, 0, sizeof plan);
    if (cost_price_strategy(m, t, &s, &o, &plan, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "price %s: %s\n", spec, err);
        return -1;
    }
    *out = plan.predicted;
    plan.has_predicted = 0;
    memset(&plan.predicted, 0, sizeof plan.predicted);
    plan_free(&plan);
    return 0;
}

static int price(const attn_model *m, const attn_topology *t, const char *spec, const cost_calibration *cal,
                 attn_report *out) {
    return price_attention(m, t, spec, cal, 1, out);
}

/* models/MODEL.yaml and topologies/cpu-local-2.yaml; 0 ok (a failed check otherwise). */
static int load_on_cpu_local_2(const char *model, attn_model *m, attn_topology *t) {
    char mp[1400], tp[1200], rel[64];
    snprintf(rel, sizeof rel, "models/%.40s.yaml", model);
    path_of(mp, sizeof mp, rel);
    path_of(tp, sizeof tp, "topologies/cpu-local-2.yaml");
    attn_diag d;
    attn_diag_init(&d);
    if (model_load(mp, m, &d) != 0) {
        CHECK(0, "cannot load %s", mp);
        return -1;
    }
    if (topology_load(tp, t, &d) != 0) {
        CHECK(0, "cannot load %s", tp);
        return -1;
    }
    return 0;
}

static void test_direction(void) {
    char cp[1200];
    path_of(cp, sizeof cp, "tests/calibration/good.yaml");
    attn_diag d;
    attn_diag_init(&d);
    attn_model m;
    attn_topology t;
    cost_calibration c;
    if (load_on_cpu_local_2("small", &m, &t) != 0) return;
    if (cost_calibration_load(cp, &t, &c, NULL, &d) != 0) {
        CHECK(0, "cannot load %s", cp);
        topology_free(&t);
        return;
    }
    attn_report none, base, slow, comm;
    const char *tp2 = "dp=1,pp=1,n=2,m=1";
    int ok = price(&m, &t, tp2, NULL, &none) == 0 && price(&m, &t, tp2, &c, &base) == 0;
    CHECK(ok, "pricing %s", tp2);
    if (ok) {
        CHECK(base.metric[MET_TTFT_S] != none.metric[MET_TTFT_S], "a calibration must change the prediction");
        for (int i = 0; i < c.n_gemm; i++) c.gemm[i].efficiency *= 0.5;
        CHECK(price(&m, &t, tp2, &c, &slow) == 0, "pricing at half the efficiency");
        /* prefill of small is GEMM-bound: at half the efficiency its GEMMs take twice as long */
        double gemm_base = 0, gemm_slow = 0;
        static const int gemms[] = {OP_QKV_PROJ, OP_SCORES, OP_PV, OP_O_PROJ, OP_MLP_UP, OP_MLP_DOWN};
        for (size_t i = 0; i < sizeof gemms / sizeof gemms[0]; i++) {
            gemm_base += base.ranks[0].op[PHASE_PREFILL][gemms[i]].time_s;
            gemm_slow += slow.ranks[0].op[PHASE_PREFILL][gemms[i]].time_s;
        }
        CHECK(slow.metric[MET_TTFT_S] > base.metric[MET_TTFT_S], "half the efficiency: ttft %g <= %g",
              slow.metric[MET_TTFT_S], base.metric[MET_TTFT_S]);
        CHECK(gemm_slow > 1.6 * gemm_base, "half the efficiency: GEMMs %g s against %g s", gemm_slow, gemm_base);
        for (int i = 0; i < c.n_gemm; i++) c.gemm[i].efficiency *= 2;
        for (int i = 0; i < c.n_coll; i++) c.coll[i].bus_bandwidth *= 0.5;
        CHECK(price(&m, &t, tp2, &c, &comm) == 0, "pricing at half the bus bandwidth");
        double ar_base = base.ranks[0].op[PHASE_PREFILL][OP_MLP_ALLREDUCE].time_s;
        double ar_half = comm.ranks[0].op[PHASE_PREFILL][OP_MLP_ALLREDUCE].time_s;
        CHECK(ar_half > 1.5 * ar_base && comm.metric[MET_TTFT_S] > base.metric[MET_TTFT_S],
              "half the bus bandwidth: all-reduce %g s against %g s", ar_half, ar_base);
        report_free(&slow);
        report_free(&comm);
    }
    if (ok) {
        report_free(&none);
        report_free(&base);
    }
    cost_calibration_free(&c);
    topology_free(&t);
}

/* The GEMM table's reuse key (batch entries sharing one B operand, as the runtime batches
 * query heads of one kv head): reuse.yaml loads with it, a lookup picks the matching reuse,
 * a table without it prices every reuse as 1, and pricing GQA's decode uses the reuse-4
 * points while MHA's uses the reuse-1 ones. */
static void test_reuse(void) {
    char cp[1200], gp[1200], tp[1200], mp[1200];
    path_of(cp, sizeof cp, "tests/calibration/reuse.yaml");
    path_of(gp, sizeof gp, "tests/calibration/good.yaml");
    path_of(tp, sizeof tp, "topologies/cpu-local-2.yaml");
    attn_diag d;
    attn_diag_init(&d);
    attn_topology t;
    if (topology_load(tp, &t, &d) != 0) {
        CHECK(0, "cannot load %s", tp);
        return;
    }
    const attn_device_type *dt = &t.dev_types[0];
    cost_calibration c, old;
    if (cost_calibration_load(cp, &t, &c, NULL, &d) != 0) {
        CHECK(0, "reuse.yaml must load");
        topology_free(&t);
        return;
    }
    CHECK(c.n_gemm == 5, "%d GEMM points", c.n_gemm);
    if (c.n_gemm == 5) CHECK(c.gemm[0].reuse == 1 && c.gemm[1].reuse == 1 && c.gemm[2].reuse == 4, "reuse fields");
    CHECK(cost_gemm_efficiency_reuse(dt, 1, 257, 32, 4, &c) == 0.2, "reuse 4: %g",
          cost_gemm_efficiency_reuse(dt, 1, 257, 32, 4, &c));
    CHECK(cost_gemm_efficiency_reuse(dt, 1, 257, 32, 1, &c) == 0.05, "reuse 1: %g",
          cost_gemm_efficiency_reuse(dt, 1, 257, 32, 1, &c));
    CHECK(cost_gemm_efficiency(dt, 1, 32, 257, &c) == 0.04, "no reuse is reuse 1");
    /* reuse 2 lies between the two measurements (interpolated, not either one) */
    double r2 = cost_gemm_efficiency_reuse(dt, 1, 257, 32, 2, &c);
    CHECK(r2 > 0.05 && r2 < 0.2, "reuse 2: %g", r2);
    if (cost_calibration_load(gp, &t, &old, NULL, &d) == 0) {
        /* a file without reuse: the axis is clamped to 1, the figures are the old ones */
        CHECK(cost_gemm_efficiency_reuse(dt, 200, 256, 32, 4, &old) == cost_gemm_efficiency(dt, 200, 256, 32, &old),
              "a table without reuse ignores it");
        cost_calibration_free(&old);
    } else CHECK(0, "good.yaml against cpu-local-2");

    /* small-llama TP2 (4 query heads on one kv head per rank) against small (MHA): making the
     * reuse-4 points twice as fast must speed up small-llama's decode attention GEMMs by 2x
     * and leave small's untouched (the unfused attention: the fused op's calls are no GEMMs) */
    static const char *const models[2] = {"models/small-llama.yaml", "models/small.yaml"};
    for (int mi = 0; mi < 2; mi++) {
        attn_model m;
        path_of(mp, sizeof mp, models[mi]);
        if (model_load(mp, &m, &d) != 0) {
            CHECK(0, "cannot load %s", mp);
            continue;
        }
        attn_report a, b;
        /* the first decode step alone: the mean step (the default) also prices the last
         * step's longer-context GEMMs, whose entries do not all scale with reuse 4 */
        decode_first_step = 1;
        int ok = price_attention(&m, &t, "dp=1,pp=1,n=2,m=1", &c, 0, &a) == 0;
        for (int i = 0; i < c.n_gemm; i++)
            if (c.gemm[i].reuse == 4) c.gemm[i].efficiency *= 2;
        ok = ok && price_attention(&m, &t, "dp=1,pp=1,n=2,m=1", &c, 0, &b) == 0;
        decode_first_step = 0;
        for (int i = 0; i < c.n_gemm; i++)
            if (c.gemm[i].reuse == 4) c.gemm[i].efficiency /= 2;
        CHECK(ok, "pricing %s", models[mi]);
        if (ok) {
            double ta = a.ranks[0].op[PHASE_DECODE][OP_SCORES].time_s + a.ranks[0].op[PHASE_DECODE][OP_PV].time_s;
            double tb = b.ranks[0].op[PHASE_DECODE][OP_SCORES].time_s + b.ranks[0].op[PHASE_DECODE][OP_PV].time_s;
            if (mi == 0)
                CHECK(fabs(ta / tb - 2) < 1e-9, "small-llama decode attention GEMMs: %g s then %g s", ta, tb);
            else
                CHECK(ta == tb && ta > 0, "small decode attention GEMMs: %g s then %g s", ta, tb);
            report_free(&a);
            report_free(&b);
        }
    }
    cost_calibration_free(&c);
    topology_free(&t);
}

/* --load FILE [TOPOLOGY]: load one file (the smoke test's check), print what it holds. */
static int load_one(const char *path, const char *topo) {
    attn_diag d;
    attn_diag_init(&d);
    attn_topology t;
    if (topo && topology_load(topo, &t, &d) != 0) return 2;
    cost_calibration c;
    attn_calibration info; /* what the file says (calibration_io.h) */
    int rc = cost_calibration_load(path, topo ? &t : NULL, &c, &info, &d);
    if (rc == 0) {
        printf("%s: %s, %d ranks, %d GEMM shapes, %d collectives, elementwise %.3g B/s, launch %.3g s\n", path,
               info.name, info.ranks, c.n_gemm, c.n_coll, c.elementwise_bandwidth, c.launch_overhead_s);
        cost_calibration_free(&c);
        calibration_free(&info);
    }
    if (topo) topology_free(&t);
    return rc == 0 ? 0 : 2;
}

/* The synchronization wait: cost_sync_wait interpolates the wait/work ratio in log(work)
 * and holds it beyond the ends; with a constant ratio r, a TP2 plan's all-reduces (its
 * only synchronizations, after every stretch of work) grow by exactly r times the rank's
 * other ops, and a DP2 plan (replicas that never synchronize) by r times its ttft. */
static void test_sync(void) {
    cost_calibration s;
    memset(&s, 0, sizeof s);
    s.launch_overhead_s = -1;
    s.n_sync = 2;
    s.sync_work_s[0] = 1e-5, s.sync_wait_s[0] = 1e-6;  /* ratio 0.1 */
    s.sync_work_s[1] = 1e-3, s.sync_wait_s[1] = 3e-4;  /* ratio 0.3 */
    CHECK(cost_sync_wait(&s, 0) == 0 && cost_sync_wait(NULL, 1e-3) == 0, "no work or no table: no wait");
    CHECK(fabs(cost_sync_wait(&s, 1e-6) - 1e-7) < 1e-15, "below the table: its first ratio");
    CHECK(fabs(cost_sync_wait(&s, 1e-1) - 3e-2) < 1e-12, "above the table: its last ratio");
    CHECK(fabs(cost_sync_wait(&s, 1e-4) - 0.2 * 1e-4) < 1e-12, "halfway in log(work): the mean ratio, got %g",
          cost_sync_wait(&s, 1e-4));

    attn_model m;
    attn_topology t;
    if (load_on_cpu_local_2("small", &m, &t) != 0) return;
    const double r = 0.125;
    s.sync_work_s[0] = 1e-9, s.sync_wait_s[0] = r * 1e-9;
    s.sync_work_s[1] = 1e3, s.sync_wait_s[1] = r * 1e3;
    cost_calibration none;
    memset(&none, 0, sizeof none);
    none.launch_overhead_s = -1;
    attn_report a, b;
    if (price(&m, &t, "dp=1,pp=1,n=2,m=1", &none, &a) == 0 && price(&m, &t, "dp=1,pp=1,n=2,m=1", &s, &b) == 0) {
        for (int ph = 0; ph < PHASE_COUNT; ph++) {
            double other = 0, grown = 0;
            for (int op = 0; op < OP_COUNT; op++) {
                double x = a.ranks[0].op[ph][op].time_s, y = b.ranks[0].op[ph][op].time_s;
                if (op == OP_O_PROJ_ALLREDUCE || op == OP_MLP_ALLREDUCE) grown += y - x;
                else {
                    other += x;
                    CHECK(x == y, "phase %d op %s changed with the sync table", ph, attn_op_table[op].key);
                }
            }
            CHECK(other > 0 && fabs(grown - r * other) <= 1e-9 * other, "phase %d: all-reduces grew %g, want %g", ph,
                  grown, r * other);
        }
        report_free(&a);
        report_free(&b);
    } else
        CHECK(0, "pricing TP2");
    /* attnplan price's collectives table: transfer + wait of each line is the op's time */
    {
        attn_strategy st;
        char err[256];
        cost_options o;
        cost_options_default(&o);
        o.calibration = &s;
        cost_detail det;
        attn_plan plan;
        memset(&plan, 0, sizeof plan);
        if (strategy_parse("dp=1,pp=1,n=2,m=1", &st, err, sizeof err) == 0 &&
            cost_price_strategy(&m, &t, &st, &o, &plan, &det, err, sizeof err) == 0) {
            CHECK(det.n_coll == 4, "TP2: %d collective lines, want 4", det.n_coll);
            for (int i = 0; i < det.n_coll; i++) {
                const cost_coll_line *l = &det.coll[i];
                double op = plan.predicted.ranks[0].op[l->phase][l->op].time_s;
                CHECK(l->wait_s > 0 && fabs(l->time_s + l->wait_s - op) <= 1e-9 * op,
                      "line %d: transfer %g + wait %g against the op's %g", i, l->time_s, l->wait_s, op);
            }
            plan_free(&plan);
        } else
            CHECK(0, "pricing TP2 with a detail: %s", err);
    }
    if (price(&m, &t, "dp=2,pp=1,n=1,m=1", &none, &a) == 0 && price(&m, &t, "dp=2,pp=1,n=1,m=1", &s, &b) == 0) {
        CHECK(fabs(b.metric[MET_TTFT_S] - (1 + r) * a.metric[MET_TTFT_S]) <= 1e-9 * a.metric[MET_TTFT_S] &&
                  fabs(b.metric[MET_TPOT_S] - (1 + r) * a.metric[MET_TPOT_S]) <= 1e-9 * a.metric[MET_TPOT_S],
              "DP2: ttft %g -> %g, tpot %g -> %g, want x%g", a.metric[MET_TTFT_S], b.metric[MET_TTFT_S],
              a.metric[MET_TPOT_S], b.metric[MET_TPOT_S], 1 + r);
        report_free(&a);
        report_free(&b);
    } else
        CHECK(0, "pricing DP2");
    if (price(&m, &t, "dp=1,pp=1,n=1,m=1", &none, &a) == 0 && price(&m, &t, "dp=1,pp=1,n=1,m=1", &s, &b) == 0) {
        CHECK(a.metric[MET_TTFT_S] == b.metric[MET_TTFT_S] && a.metric[MET_TPOT_S] == b.metric[MET_TPOT_S],
              "one rank: nothing to wait for");
        report_free(&a);
        report_free(&b);
    } else
        CHECK(0, "pricing one rank");
    topology_free(&t);
}

int main(int argc, char **argv) {
    if (argc >= 3 && argc <= 4 && !strcmp(argv[1], "--load")) return load_one(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc != 2) {
        fprintf(stderr, "usage: test_calibration SOURCE_DIR | --load FILE [TOPOLOGY]\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    test_good();
    test_bad();
    test_direction();
    test_reuse();
    test_sync();
    if (check_failures) fprintf(stderr, "test_calibration: %d check(s) failed\n", check_failures);
    else printf("test_calibration: ok\n");
    return check_failures ? 1 : 0;
}
