/* cost_gemm.c: the time of one dense GEMM kernel by its shape, when the device type states
 * how its GEMMs run (lib/topology.h: sms, gemm_tile, gemm_latency,
 * gemm_bandwidth_efficiency; docs/cost-model.md, "GEMMs by shape"). Three things the plain
 * roofline misses decide the small and skinny GEMMs of a forward pass:
 *   - waves: the output is computed in gemm_tile x gemm_tile tiles, one per SM at a time,
 *     so a GEMM of t tiles runs ceil(t / sms) waves and the last one is partly idle: the
 *     compute time is divided by the occupied fraction t / (ceil(t / sms) * sms);
 *   - bandwidth: a GEMM bound by its operands (decode's m = 1..64 rows against a weight
 *     matrix) streams them at gemm_bandwidth_efficiency of the bandwidth, which public
 *     sweeps put below a plain copy's;
 *   - latency: every kernel takes gemm_latency beyond the launch overhead whatever its size
 *     (prologue, pipeline fill, epilogue), the floor of the smallest shapes.
 * A figure the device type leaves out (0) leaves that term as the plain roofline has it. */
#include <math.h>
#include "cost_private.h"

double cost_gemm_wave_fraction(const attn_device_type *dt, double gm, double gn) {
    if (dt->sms <= 0 || dt->gemm_tile <= 0 || gm <= 0 || gn <= 0) return 1;
    double tiles = ceil(gm / dt->gemm_tile) * ceil(gn / dt->gemm_tile);
    double waves = ceil(tiles / dt->sms);
    return tiles / (waves * dt->sms);
}

double cost_gemm_bandwidth(const attn_device_type *dt) {
    double eff = dt->gemm_bandwidth_efficiency > 0 ? dt->gemm_bandwidth_efficiency : dt->memory_efficiency;
    return dt->memory_bandwidth * eff;
}

double cost_gemm_kernel_time(const attn_device_type *dt, double peak, double eff, double gm, double gn,
                             double flops, double bytes) {
    double rate = peak * (eff > 0 ? eff : 1) * cost_gemm_wave_fraction(dt, gm, gn);
    double bw = cost_gemm_bandwidth(dt);
    double t_compute = flops > 0 && rate > 0 ? flops / rate : 0;
    double t_memory = bytes > 0 && bw > 0 ? bytes / bw : 0;
    return (t_compute > t_memory ? t_compute : t_memory) + dt->gemm_latency_s;
}
