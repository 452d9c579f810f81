#!/usr/bin/env python3
"""summarize.py: the table scripts/gpu-check.sh prints last. For each run (a plan, the
rank that ran, attnrun's measured report and PyTorch's times for the same rank) it shows
the predicted and measured compute time of the rank's prefill and of one decode step,
the achieved TFLOP/s against the GEMM ceiling and the achieved bytes/s against the copy
ceiling (both measured in the same run by gpu_ceilings), and attnrun's time over
PyTorch's. Collectives are not measured in rank shares, so every figure here is the
rank's compute (the sum of its op times); whole-plan metrics come from attnplan compare.

usage: summarize.py CEILINGS.yaml NAME:PLAN:RANK:MEASURED:TORCH_OUT ...
Missing files (a run that failed or was skipped) show as '-'."""
import os
import sys

import yaml

COMM_OPS = {"attn_comm", "o_proj_allreduce", "mlp_allreduce", "pipe_p2p"}


def load(path):
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return yaml.safe_load(f)


def rank_ops(section, rank):
    ranks = (section or {}).get("ranks") or []
    for r in ranks:
        if r.get("rank") == rank:
            return r.get("ops")
    return ranks[0].get("ops") if len(ranks) == 1 else None


def totals(ops, phase):
    """(seconds, flops, bytes) over the compute and memory ops of a phase; seconds None
    when any of them was not measured."""
    t = f = b = 0.0
    for name, (secs, flops, nbytes) in (ops or {}).get(phase, {}).items():
        if name in COMM_OPS:
            continue
        if float(secs) < 0:
            return None, None, None
        t, f, b = t + float(secs), f + float(flops), b + float(nbytes)
    return (t, f, b) if ops else (None, None, None)


def fmt(v, spec):
    return "-" if v is None else spec % v


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ceil = load(argv[1]) or {}
    gemm = float(ceil["gemm_fp16_tflops"]) * 1e12 if "gemm_fp16_tflops" in ceil else None
    copy = float(ceil["copy_gbytes_per_s"]) * 1e9 if "copy_gbytes_per_s" in ceil else None
    print("ceilings: GEMM %s TFLOP/s, copy %s GB/s (%s)" % (fmt(gemm and gemm / 1e12, "%.0f"),
                                                          fmt(copy and copy / 1e9, "%.0f"), ceil.get("device", "no GPU")))
    head = ("run", "rank", "pred pf s", "meas pf s", "TFLOP/s", "%gemm", "torch pf s", "x torch",
            "pred dec ms", "meas dec ms", "GB/s", "%copy", "torch dec ms", "x torch")
    rows = [head]
    for spec in argv[2:]:
        name, plan_path, rank, meas_path, torch_path = spec.split(":")
        rank = int(rank)
        plan, meas = load(plan_path), load(meas_path)
        pred_ops = rank_ops((plan or {}).get("predicted"), rank)
        meas_ops = rank_ops((meas or {}).get("measured"), rank)
        pp_t, pp_f, _ = totals(pred_ops, "prefill")
        pd_t, _, pd_b = totals(pred_ops, "decode")
        mp_t, mp_f, _ = totals(meas_ops, "prefill")
        md_t, _, _ = totals(meas_ops, "decode")
        flops = mp_f if mp_f else pp_f
        tflops = flops / mp_t if flops and mp_t else None
        gbps = pd_b / md_t if pd_b and md_t else None
        tor = {}
        if torch_path and os.path.exists(torch_path):
            for line in open(torch_path):
                k, _, v = line.partition(":")
                if k.startswith("torch_") and k not in ("torch_shapes", "torch_rank"):
                    tor[k] = float(v)
        t_pf, t_dec = tor.get("torch_ttft_s"), tor.get("torch_tpot_s")
        rows.append((name, str(rank), fmt(pp_t, "%.4f"), fmt(mp_t, "%.4f"), fmt(tflops and tflops / 1e12, "%.0f"),
                     fmt(tflops and gemm and 100 * tflops / gemm, "%.0f%%"), fmt(t_pf, "%.4f"),
                     fmt(mp_t and t_pf and t_pf > 0 and mp_t / t_pf, "%.2f"), fmt(pd_t and pd_t * 1e3, "%.3f"),
                     fmt(md_t and md_t * 1e3, "%.3f"), fmt(gbps and gbps / 1e9, "%.0f"),
                     fmt(gbps and copy and 100 * gbps / copy, "%.0f%%"), fmt(t_dec and t_dec > 0 and t_dec * 1e3, "%.3f"),
                     fmt(md_t and t_dec and t_dec > 0 and md_t / t_dec, "%.2f")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print("targets (issue 6): seed rank-share prefill >= 60% of the GEMM ceiling, decode >= 70% of the copy "
          "bandwidth; 'x torch' is attnrun's time over PyTorch's (below 1: attnrun faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
