#!/usr/bin/env python3
"""fit-exp-poly.py: derives the coefficients of kvec_exp's polynomial (kernels/kernels_cpu_vec.c):
e^r ~ 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4) on |r| <= ln2/2, the c's chosen for
minimal maximum relative error by iteratively reweighted least squares on 20001 points
(a weight grows where the error is large, Lawson's method). Prints the fp32-rounded
coefficients and the maximum relative error of the fit. Needs numpy.

usage: scripts/fit-exp-poly.py [--degree N]   (default 6)"""
import argparse

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--degree", type=int, default=6)
    deg = ap.parse_args().degree
    r = np.linspace(-np.log(2) / 2, np.log(2) / 2, 20001)
    f = np.exp(r)
    A = np.stack([r ** k for k in range(2, deg + 1)], 1)
    w = np.ones_like(r)
    for _ in range(200):
        W = w / f  # relative error
        c, *_ = np.linalg.lstsq(A * W[:, None], (f - 1 - r) * W, rcond=None)
        err = (1 + r + A @ c - f) / f
        w = w * (1 + 0.5 * np.abs(err) / np.abs(err).max())
    c32 = c.astype(np.float32)
    err32 = (1 + r + A @ c32.astype(np.float64) - f) / f
    print("degree %d: max relative error %.3g (fp32 coefficients: %.3g)" % (deg, np.abs(err).max(), np.abs(err32).max()))
    for k, v in enumerate(c32, start=2):
        print("c%d = %.9gf" % (k, v))


if __name__ == "__main__":
    main()
