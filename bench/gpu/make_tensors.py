#!/usr/bin/env python3
"""make_tensors.py: random weights and inputs for a plan's model and workload, written as
safetensors files (BF16) with the Hugging Face names attnrun reads (docs/model-contract.md).
attnrun's own seeded generator makes every value on the host one by one, which takes
minutes for the seed model at full size; with numpy this takes seconds, so
scripts/gpu-check.sh makes the files once and passes --weights/--input to every run.
Values follow the contract's distributions (uniform r in [-1, 1): norm weights 1 + 0.1 r,
biases 0.1 r, projections r * sqrt(3 / in), inputs r), not its exact values, which only
matter for comparisons with the reference (the GPU tests use the seeded values). BF16
because attnrun widens it to fp32 with a shift (F16 takes an ldexp per value, 30 ns).
Without numpy it falls back to plain Python (small models only).

usage: make_tensors.py PLAN [--weights W.safetensors] [--input X.safetensors] [--seed S]"""
import argparse
import json
import math
import random
import struct
import sys

import yaml

try:
    import numpy as np
except ImportError:  # plain Python: fine for tiny models
    np = None

CHUNK = 1 << 24  # values generated and written at a time


def weight_tensors(m):
    """(name, shape, kind) of every weight of the model; kind picks the distribution."""
    C, D, F = m["hidden"], m["head_dim"], m["ffn_hidden"]
    H, KV = m["heads"], m.get("kv_heads", m["heads"])
    gpt = m["arch"] == "gpt"
    out = []
    for i in range(m["layers"]):
        p = "model.layers.%d." % i
        for norm in ("input_layernorm", "post_attention_layernorm"):
            out.append((p + norm + ".weight", [C], "norm"))
            if gpt:
                out.append((p + norm + ".bias", [C], "bias"))
        out += [(p + "self_attn.q_proj.weight", [H * D, C], "proj"), (p + "self_attn.k_proj.weight", [KV * D, C], "proj"),
                (p + "self_attn.v_proj.weight", [KV * D, C], "proj"), (p + "self_attn.o_proj.weight", [C, H * D], "proj"),
                (p + "mlp.up_proj.weight", [F, C], "proj"), (p + "mlp.down_proj.weight", [C, F], "proj")]
        if not gpt:
            out.append((p + "mlp.gate_proj.weight", [F, C], "proj"))
    return out


def input_tensors(m):
    wl, C = m["workload"], m["hidden"]
    out = [("hidden_states", [wl["batch"], wl["seq_len"], C], "input")]
    if wl.get("decode_tokens", 0) > 0:
        out.append(("decode_hidden_states", [wl["batch"], wl["decode_tokens"], C], "input"))
    return out


def values(kind, shape, n, rng):
    """n values of a tensor of this kind, as BF16 bytes (fp32 rounded to nearest even)."""
    scale = {"norm": 0.1, "bias": 0.1, "input": 1.0}.get(kind, math.sqrt(3.0 / shape[-1]))
    offset = 1.0 if kind == "norm" else 0.0
    if np is not None:
        r = rng.random(n, dtype=np.float32) * np.float32(2.0) - np.float32(1.0)
        bits = (r * np.float32(scale) + np.float32(offset)).view(np.uint32)
        bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
        return bits.astype("<u2").tobytes()
    out = bytearray()
    for _ in range(n):
        (b,) = struct.unpack("<I", struct.pack("<f", offset + scale * (2.0 * rng.random() - 1.0)))
        out += struct.pack("<H", (b + 0x7FFF + ((b >> 16) & 1)) >> 16)
    return bytes(out)


def write(path, tensors, seed):
    header, off = {}, 0
    for name, shape, _ in tensors:
        n = math.prod(shape)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [off, off + 2 * n]}
        off += 2 * n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the data starts 8-byte aligned
    rng = np.random.default_rng(seed) if np is not None else random.Random(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape, kind in tensors:
            n = math.prod(shape)
            for start in range(0, n, CHUNK):
                f.write(values(kind, shape, min(CHUNK, n - start), rng))
    return off


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("plan")
    ap.add_argument("--weights")
    ap.add_argument("--input")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    with open(a.plan) as f:
        m = yaml.safe_load(f)["model"]
    if a.weights:
        n = write(a.weights, weight_tensors(m), a.seed)
        print("make_tensors: %s: %.2f GB of weights" % (a.weights, n / 1e9))
    if a.input:
        n = write(a.input, input_tensors(m), a.seed + 1)
        print("make_tensors: %s: %.2f GB of inputs" % (a.input, n / 1e9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
