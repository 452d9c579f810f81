/* calibration_load.h: reads a calibration file (docs/calibration.md; written by
 * `attnrun --calibrate`) into the cost model's cost_calibration, strictly: unknown or
 * duplicate keys, wrong types, values out of range, a GEMM shape or a collective listed
 * twice are errors reported as FILE:LINE:COL. */
#ifndef ATTN_CALIBRATION_LOAD_H
#define ATTN_CALIBRATION_LOAD_H
#include "cost.h"
#include "diag.h"
#include "topology.h"
#ifdef __cplusplus
extern "C" {
#endif

/* What the file says beyond what the cost model reads. */
typedef struct calibration_info {
    char name[128];
    char device_type[64];
    double peak_flops;             /* the peak the file's efficiencies are fractions of */
    double rescale;                /* applied to the efficiencies: file peak / topology peak (1: none) */
    int ranks, threads;
} calibration_info;

/* Loads path into cal (allocating its tables; calibration_free releases them). When t is
 * given, the file's device_type must be one of t's device types, and the efficiencies are
 * rescaled from the file's peak_flops to that device type's peak for the file's dtype (so
 * the measured FLOP/s are kept when a topology states another peak). info may be NULL.
 * Returns 0, or -1 with the errors reported through d (cal then holds nothing to free). */
int calibration_load(const char *path, const attn_topology *t, cost_calibration *cal, calibration_info *info,
                     attn_diag *d);
void calibration_free(cost_calibration *cal);

#ifdef __cplusplus
}
#endif
#endif
