#!/usr/bin/env python3
"""attention_compare.py: reads attention_bench's lines (bench/gpu/attention_bench.cu), times
PyTorch's torch.nn.functional.scaled_dot_product_attention on each same shape (bf16,
Q/O [B, H, Tq, d], K/V [B, Hkv, Tk, d]; causal prefill; decode: one query row that sees the
whole context, GQA through enable_gqa where this torch has it, else K/V repeated per query
head, which the line then says), with CUDA events (3 warm-ups, the median of --reps), and
prints each figure beside issue 13's targets:
  - causal prefill, head_dim 128, L >= 4096: >= 300 TFLOP/s (FlashAttention-2's published
    level on H100: Dao 2023, arXiv:2307.08691, figure 6) and >= 0.8x PyTorch's;
  - decode: K/V bytes read at >= 70% of the device copy bandwidth of the same run.
The TFLOP/s of both use the bench's causal convention 4 * Tq * Tk / 2 * d * heads * batch.
Targets are reported (met / MISSED), not failed: exit 0 unless the input is bad (2) or
PyTorch fails (1).
usage: attention_compare.py BENCH_OUTPUT [--reps N] [--dry-run]
  --dry-run: parse and print the table without importing torch (the CPU-side check)."""
import argparse
import sys

TARGET_TFLOPS, TARGET_TORCH_RATIO, TARGET_COPY_FRACTION = 300.0, 0.8, 0.70


def bad_input(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


def parse(path):
    """the bench's lines as (kind, {key: value}); FILE:LINE: error on a malformed one"""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0] not in ("copy", "prefill", "decode"):
                continue
            kv = {}
            for p in parts[1:]:
                if "=" not in p:
                    bad_input("%s:%d:1: error: expected key=value, got '%s'" % (path, n, p))
                k, v = p.split("=", 1)
                try:
                    kv[k] = float(v)
                except ValueError:
                    bad_input("%s:%d:1: error: %s: not a number '%s'" % (path, n, k, v))
            rows.append((parts[0], kv))
    return rows


def torch_time(torch, kind, s, reps):
    """median seconds of SDPA at shape s, and a note on how GQA was run"""
    import torch.nn.functional as F
    B, H, Hkv, Tq, Tk, d = (int(s[k]) for k in ("batch", "heads", "kv_heads", "Tq", "Tk", "d"))
    dev, dt = "cuda", torch.bfloat16
    q = torch.rand(B, H, Tq, d, device=dev, dtype=dt) * 2 - 1
    k = torch.rand(B, Hkv, Tk, d, device=dev, dtype=dt) * 2 - 1
    v = torch.rand(B, Hkv, Tk, d, device=dev, dtype=dt) * 2 - 1
    note = ""
    kw = {}
    if H != Hkv:
        try:
            F.scaled_dot_product_attention(q[:, :, :1], k[:, :, :1], v[:, :, :1], enable_gqa=True)
            kw["enable_gqa"] = True
        except TypeError:
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
            note = " (K/V repeated per query head: this torch has no enable_gqa)"
    causal = kind == "prefill" and Tq == Tk  # decode: the one row sees every key

    def call():
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, **kw)

    for _ in range(3):
        call()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for a, b in ev:
        a.record()
        call()
        b.record()
    torch.cuda.synchronize()
    ms = sorted(a.elapsed_time(b) for a, b in ev)
    return ms[len(ms) // 2] * 1e-3, note


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    ap = argparse.ArgumentParser(description="attention_bench beside PyTorch SDPA, against issue 13's targets")
    ap.add_argument("bench_output")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    if a.reps < 1:
        bad_input("attention_compare.py: error: --reps: bad value '%d' (>= 1)" % a.reps)
    rows = parse(a.bench_output)
    torch = None
    if not a.dry_run:
        try:
            import torch as t
            torch = t if t.cuda.is_available() else None
        except ImportError:
            torch = None
        if torch is None:
            print("torch: not importable or no CUDA device: PyTorch columns skipped")
    copy = next((kv["gbps"] for k, kv in rows if k == "copy" and "gbps" in kv), None)
    for kind, s in rows:
        if kind == "copy":
            print("copy: %.1f GB/s (bytes read + written)" % s["gbps"])
            continue
        shape = "batch %d, %d heads / %d kv heads, Tq %d, Tk %d, d %d" % tuple(
            int(s[k]) for k in ("batch", "heads", "kv_heads", "Tq", "Tk", "d"))
        if "ms" not in s:  # --shapes lines: nothing measured
            print("%s %s: not measured (no GPU)" % (kind, shape))
            continue
        t_ours = s["ms"] * 1e-3
        t_torch, note = torch_time(torch, kind, s, a.reps) if torch else (None, "")
        if kind == "prefill":
            flops = 4.0 * s["Tq"] * s["Tk"] / 2.0 * s["d"] * s["heads"] * s["batch"]
            ours = flops / t_ours / 1e12
            line = "prefill %s: %.1f TFLOP/s (target >= %.0f: %s)" % (shape, ours, TARGET_TFLOPS,
                                                                    verdict(ours >= TARGET_TFLOPS))
            if t_torch:
                r = t_torch / t_ours
                line += "; torch %.1f TFLOP/s%s, attnrun/torch %.2fx (target >= %.1fx: %s)" % (
                    flops / t_torch / 1e12, note, r, TARGET_TORCH_RATIO, verdict(r >= TARGET_TORCH_RATIO))
        else:
            gbps = s["kv_bytes"] / t_ours / 1e9
            line = "decode %s: K/V %.1f GB/s" % (shape, gbps)
            if copy:
                frac = gbps / copy
                line += " = %.0f%% of copy (target >= %.0f%%: %s)" % (100 * frac, 100 * TARGET_COPY_FRACTION,
                                                                     verdict(frac >= TARGET_COPY_FRACTION))
            if t_torch:
                line += "; torch K/V %.1f GB/s%s, attnrun/torch %.2fx" % (s["kv_bytes"] / t_torch / 1e9, note,
                                                                         t_torch / t_ours)
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
