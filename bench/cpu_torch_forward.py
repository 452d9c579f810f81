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

--verify DUMP checks that this forward computes what attnrun computes: the weights and
inputs come from the contract's seeded generator (docs/model-contract.md, "Seeded random
weights and inputs", --seed), the prefill and the first decode step run once, and their
outputs are compared with `attnrun PLAN --dump DUMP` (hidden_states, decode_output[:, 0])
by relative error ||torch - attnrun|| / ||attnrun||; exit 1 above 1e-4 (attnrun --check's
fp32 tolerance).

usage: cpu_torch_forward.py MODEL.yaml [--repeat N] [--warmup N] [--verify DUMP [--seed S]]"""
import argparse
import json
import math
import struct
import sys
import time

import yaml

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def splitmix64(x):  # x: a numpy uint64 array (wraps mod 2^64) or a Python int
    import numpy as np

    if isinstance(x, int):
        x = (x + GOLDEN) & MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
        return x ^ (x >> 31)
    x = x + np.uint64(GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & MASK
    return h


def seeded(seed, name, shape):
    """The seeded value of every element of tensor `name`, as fp32 (as attnrun stores it).
    As runtime/tensors.c computes it: element i is splitmix64(key + (i - 1) golden), one
    index before what docs/model-contract.md writes (splitmix64(key + i golden))."""
    import numpy as np
    import torch

    n, cols = math.prod(shape), shape[-1]
    key = splitmix64((seed ^ fnv1a64(name)) & MASK)
    bits = splitmix64(np.uint64((key - GOLDEN) & MASK) + np.arange(n, dtype=np.uint64) * np.uint64(GOLDEN))
    r = 2.0 * (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53 - 1.0
    if name.endswith("layernorm.weight"):
        v = 1.0 + 0.1 * r
    elif name.endswith(".bias"):
        v = 0.1 * r
    elif name.endswith("_proj.weight"):
        v = r * math.sqrt(3.0 / cols)
    else:
        v = r
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def read_safetensors(path):
    """name -> float32 torch tensor, for the F32 tensors attnrun --dump writes."""
    import numpy as np
    import torch

    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError("%s: tensor %s is %s, not F32" % (path, name, e["dtype"]))
        b, end = e["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(end - b) // 4, offset=8 + hlen + b)
        out[name] = torch.from_numpy(arr.copy().reshape(e["shape"]))
    return out


def load_model(path):
    with open(path) as f:
        m = yaml.safe_load(f)
    wl = m["workload"]
    return dict(arch=m["arch"], layers=m["layers"], NH=m["heads"], NKV=m.get("kv_heads", m["heads"]),
                D=m["head_dim"], C=m["hidden"], F=m["ffn_hidden"], eps=float(m.get("norm_eps", 1e-5)),
                theta=float(m.get("rope_theta", 10000)), B=wl["batch"], L=wl["seq_len"],
                TD=max(int(wl.get("decode_tokens", 0)), 1), dtype=m.get("dtype", "fp32"))


def build(w, seed=None):
    """The prefill and decode-step closures. seed None: torch's random values at the
    contract's scales; else the contract's seeded weights and inputs."""
    import torch
    import torch.nn.functional as Fn

    torch.manual_seed(0)
    C, F, NH, NKV, D, B, L = w["C"], w["F"], w["NH"], w["NKV"], w["D"], w["B"], w["L"]
    llama = w["arch"] == "llama"
    cap = L + w["TD"]

    def tensor(name, *shape):
        if seed is not None:
            return seeded(seed, name, shape)
        r = torch.rand(*shape) * 2 - 1
        if name.endswith("layernorm.weight"):
            return 1 + 0.1 * r
        if name.endswith(".bias"):
            return 0.1 * r
        return r * math.sqrt(3.0 / shape[-1]) if name.endswith("_proj.weight") else r

    layers = []
    for i in range(w["layers"]):
        p = "model.layers.%d." % i
        ly = dict(q=tensor(p + "self_attn.q_proj.weight", NH * D, C), k=tensor(p + "self_attn.k_proj.weight", NKV * D, C),
                  v=tensor(p + "self_attn.v_proj.weight", NKV * D, C), o=tensor(p + "self_attn.o_proj.weight", C, NH * D),
                  up=tensor(p + "mlp.up_proj.weight", F, C), down=tensor(p + "mlp.down_proj.weight", C, F),
                  n1=tensor(p + "input_layernorm.weight", C), n2=tensor(p + "post_attention_layernorm.weight", C))
        if llama:
            ly["gate"] = tensor(p + "mlp.gate_proj.weight", F, C)
        else:
            ly["b1"], ly["b2"] = tensor(p + "input_layernorm.bias", C), tensor(p + "post_attention_layernorm.bias", C)
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

    x_prefill = tensor("hidden_states", B, L, C)
    x_decode = tensor("decode_hidden_states", B, w["TD"], C)[:, :1].contiguous()

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
    ap.add_argument("--verify", metavar="DUMP")
    ap.add_argument("--seed", type=int, default=1)
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
    if a.verify:
        try:
            dump = read_safetensors(a.verify)
            want_p, want_d = dump["hidden_states"], dump["decode_output"][:, :1]
        except (OSError, KeyError, ValueError, struct.error) as e:
            print("%s: error: cannot read attnrun's dump: %s" % (a.verify, e), file=sys.stderr)
            return 2
        prefill, decode_step = build(w, seed=a.seed)
        with torch.inference_mode():
            got_p = prefill()
            got_d = decode_step()
        ep = float((got_p - want_p).norm() / want_p.norm())
        ed = float((got_d - want_d).norm() / want_d.norm())
        ok = ep <= 1e-4 and ed <= 1e-4
        print("verify: prefill relative error %.3e, decode step %.3e against %s: %s"
              % (ep, ed, a.verify, "ok" if ok else "FAILED (above 1e-4)"))
        return 0 if ok else 1
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
