#!/usr/bin/env python3
"""cpu_torch_forward.py: PyTorch's CPU forward of the model attnrun computes
(docs/model-contract.md), for bench/cpu_vs_torch.sh: pre-norm blocks (LayerNorm with
bias / RMSNorm), q, k, v, o and the MLP as separate linears with Hugging Face's [out, in]
weights (y = x W^T, no biases), RoPE in rotate-half layout (cos/sin formed each forward,
as Hugging Face's LlamaRotaryEmbedding does), GQA through scaled_dot_product_attention's
enable_gqa (no copies of K/V), gelu tanh / SwiGLU, and a KV cache preallocated for
seq_len + decode_tokens positions that the prefill writes and the decode step appends to.

One thread (torch.set_num_threads(1)), no autograd. Timed as attnrun times: the prefill
of the whole batch (ttft) and the first decode step at context seq_len (tpot), after
--warmup untimed runs; prints the median and the range of --repeat runs as YAML lines.
Random weights of the contract's scale (the timing does not depend on the values).

usage: cpu_torch_forward.py MODEL.yaml [--repeat N] [--warmup N]"""
import argparse
import math
import sys
import time

import yaml


def load_model(path):
    with open(path) as f:
        m = yaml.safe_load(f)
    wl = m["workload"]
    return dict(arch=m["arch"], layers=m["layers"], NH=m["heads"], NKV=m.get("kv_heads", m["heads"]),
                D=m["head_dim"], C=m["hidden"], F=m["ffn_hidden"], eps=float(m.get("norm_eps", 1e-5)),
                theta=float(m.get("rope_theta", 10000)), B=wl["batch"], L=wl["seq_len"],
                TD=max(int(wl.get("decode_tokens", 0)), 1), dtype=m.get("dtype", "fp32"))


def build(w):
    import torch
    import torch.nn.functional as Fn

    torch.manual_seed(0)
    C, F, NH, NKV, D, B, L = w["C"], w["F"], w["NH"], w["NKV"], w["D"], w["B"], w["L"]
    llama = w["arch"] == "llama"
    cap = L + w["TD"]

    def proj(rows, cols):  # the contract's scale: uniform r * sqrt(3 / cols), variance 1/cols
        return (torch.rand(rows, cols) * 2 - 1) * math.sqrt(3.0 / cols)

    layers = []
    for _ in range(w["layers"]):
        ly = dict(q=proj(NH * D, C), k=proj(NKV * D, C), v=proj(NKV * D, C), o=proj(C, NH * D),
                  up=proj(F, C), down=proj(C, F), n1=1 + 0.1 * (torch.rand(C) * 2 - 1),
                  n2=1 + 0.1 * (torch.rand(C) * 2 - 1))
        if llama:
            ly["gate"] = proj(F, C)
        else:
            ly["b1"], ly["b2"] = 0.1 * (torch.rand(C) * 2 - 1), 0.1 * (torch.rand(C) * 2 - 1)
        ly["kc"] = torch.zeros(B, NKV, cap, D)  # the preallocated KV cache
        ly["vc"] = torch.zeros(B, NKV, cap, D)
        layers.append(ly)
    inv_freq = w["theta"] ** (-torch.arange(0, D // 2, dtype=torch.float32) * 2.0 / D)
    scale = 1.0 / math.sqrt(D)

    def norm(x, wt, b):
        return Fn.rms_norm(x, (C,), wt, w["eps"]) if llama else Fn.layer_norm(x, (C,), wt, b, w["eps"])

    def rope(t, cos, sin):  # t [B, H, T, D], rotate-half: dim i pairs with i + D/2
        t1, t2 = t[..., : D // 2], t[..., D // 2:]
        return torch.cat((t1 * cos - t2 * sin, t2 * cos + t1 * sin), dim=-1)

    def block(x, ly, p0, T):
        """x [B, T, C] at positions p0 .. p0 + T - 1; appends k, v to the cache."""
        h = norm(x, ly["n1"], ly.get("b1"))
        q = Fn.linear(h, ly["q"]).view(B, T, NH, D).transpose(1, 2)
        k = Fn.linear(h, ly["k"]).view(B, T, NKV, D).transpose(1, 2)
        v = Fn.linear(h, ly["v"]).view(B, T, NKV, D).transpose(1, 2)
        if llama:
            ang = torch.arange(p0, p0 + T, dtype=torch.float32)[:, None] * inv_freq[None, :]
            cos, sin = ang.cos(), ang.sin()
            q, k = rope(q, cos, sin), rope(k, cos, sin)
        ly["kc"][:, :, p0:p0 + T] = k
        ly["vc"][:, :, p0:p0 + T] = v
        kk, vv = ly["kc"][:, :, : p0 + T], ly["vc"][:, :, : p0 + T]
        # prefill (p0 = 0): causal; decode (T = 1): the one query sees every cached key
        o = Fn.scaled_dot_product_attention(q, kk, vv, is_causal=T > 1, scale=scale, enable_gqa=NH != NKV)
        x = x + Fn.linear(o.transpose(1, 2).reshape(B, T, NH * D), ly["o"])
        h = norm(x, ly["n2"], ly.get("b2"))
        up = Fn.linear(h, ly["up"])
        act = Fn.silu(Fn.linear(h, ly["gate"])) * up if llama else Fn.gelu(up, approximate="tanh")
        return x + Fn.linear(act, ly["down"])

    x_prefill = torch.rand(B, L, C) * 2 - 1
    x_decode = torch.rand(B, 1, C) * 2 - 1

    def prefill():
        x = x_prefill
        for ly in layers:
            x = block(x, ly, 0, L)
        return x

    def decode_step():  # the first decode step: position L, context L + 1
        x = x_decode
        for ly in layers:
            x = block(x, ly, L, 1)
        return x

    return prefill, decode_step


def timed(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], times[0], times[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    if a.repeat < 1 or a.warmup < 0:
        print("cpu_torch_forward.py: error: --repeat must be >= 1 and --warmup >= 0", file=sys.stderr)
        return 2
    try:
        w = load_model(a.model)
    except (OSError, KeyError, TypeError, yaml.YAMLError) as e:
        print("%s: error: cannot read the model: %s" % (a.model, e), file=sys.stderr)
        return 2
    if w["dtype"] != "fp32":
        print("%s: error: the CPU benchmark runs fp32 models only (dtype %s)" % (a.model, w["dtype"]), file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    prefill, decode_step = build(w)
    with torch.inference_mode():
        ttft = timed(prefill, a.warmup, a.repeat)
        tpot = timed(decode_step, max(a.warmup, 1), a.repeat)  # the cache is filled by the prefills
    print("torch_version: %s" % torch.__version__)
    print("torch_threads: %d" % torch.get_num_threads())
    print("ttft_s: %.6g\nttft_min_s: %.6g\nttft_max_s: %.6g" % ttft)
    print("tpot_s: %.6g\ntpot_min_s: %.6g\ntpot_max_s: %.6g" % tpot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
