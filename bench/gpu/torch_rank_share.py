#!/usr/bin/env python3
"""torch_rank_share.py: the same per-rank work as `attnrun PLAN --rank-share R`, written
with PyTorch (torch.matmul and scaled_dot_product_attention), timed with CUDA events, so
scripts/gpu-check.sh can print attnrun's time over PyTorch's. Collectives are skipped as
in the rank share. The rank's share comes from the plan file: its batch rows, layers,
query and kv heads, dimension ranges (the local head width HS), MLP columns, and the
scheme (score-allreduce / none: attention on the local dims; qk-allgather: q and k
gathered to whole heads; head-alltoall: whole heads a2a_heads). Random weights and
inputs (never zeros); warm-up runs, then the median of the timed ones.

usage: torch_rank_share.py PLAN --rank R [--repeat N] [--warmup N] [--decode-steps N]
       [--dry-run]   (prints the rank's shapes without importing torch)
Prints YAML lines: torch_ttft_s (whole prefill of the rank's rows), torch_tpot_s (one
decode step at context seq_len), and the shapes used."""
import argparse
import math
import sys

import yaml


def rank_work(plan, r):
    """The rank's local sizes, as attnrun's forward sees them."""
    m, s = plan["model"], plan["strategy"]
    a = next(x for x in plan["ranks"] if x["rank"] == r)
    wl = m["workload"]
    D = m["head_dim"]
    qpk = m["heads"] // m["kv_heads"]
    hs = sum(e - b for b, e in a["dims"])  # llama: both halves of its rotation pairs are listed
    w = dict(arch=m["arch"], dtype=m["dtype"], C=m["hidden"], D=D, eps=float(m.get("norm_eps", 1e-5)),
             theta=float(m.get("rope_theta", 10000)), B=a["batch"][1] - a["batch"][0], L=wl["seq_len"],
             TD=wl["decode_tokens"], layers=a["layers"][1] - a["layers"][0],
             NQ=a["heads"][1] - a["heads"][0], NKV=a["kv_heads"][1] - a["kv_heads"][0], HS=hs,
             F=a["mlp"][1] - a["mlp"][0], scheme=s.get("scheme", "none"))
    # attention shapes: heads and widths attention runs on
    if w["scheme"] == "head-alltoall":
        h0, h1 = a["a2a_heads"]
        w.update(att_q=h1 - h0, att_kv=(h1 - 1) // qpk + 1 - h0 // qpk if h1 > h0 else 0, qk_w=D, v_w=D)
    elif w["scheme"] == "qk-allgather":
        w.update(att_q=w["NQ"], att_kv=w["NKV"], qk_w=D, v_w=hs)
    else:
        w.update(att_q=w["NQ"], att_kv=w["NKV"], qk_w=hs, v_w=hs)
    return w


def run(w, repeat, warmup, decode_steps):
    import torch
    import torch.nn.functional as Fn

    dev = "cuda"
    dt = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[w["dtype"]]
    C, F, NQ, NKV, HS, L, B = w["C"], w["F"], w["NQ"], w["NKV"], w["HS"], w["L"], w["B"]
    aq, akv, qkw, vw = w["att_q"], w["att_kv"], w["qk_w"], w["v_w"]
    llama = w["arch"] == "llama"
    torch.manual_seed(0)

    def rnd(*shape, scale=0.02):
        return (torch.randn(*shape, device=dev, dtype=torch.float32) * scale).to(dt)

    layers = []
    for _ in range(w["layers"]):
        layers.append(dict(wqkv=rnd((NQ + 2 * NKV) * HS, C), wo=rnd(C, NQ * HS), wup=rnd(F, C),
                           wgate=rnd(F, C) if llama else None, wdown=rnd(C, F),
                           n1=1 + rnd(C), n2=1 + rnd(C), b1=rnd(C), b2=rnd(C)))
    scale = 1.0 / math.sqrt(w["D"])
    gqa = aq != akv

    def norm(x, wt, b):
        return Fn.rms_norm(x, (C,), wt, w["eps"]) if llama else Fn.layer_norm(x, (C,), wt, b, w["eps"])

    def rope(t, pos):  # rotate-half on the last dim; t [..., T, width]
        half = t.shape[-1] // 2
        freq = w["theta"] ** (-2.0 * torch.arange(half, device=dev, dtype=torch.float32) / w["D"])
        ang = pos[:, None].float() * freq[None, :]
        c, s = ang.cos().to(dt), ang.sin().to(dt)
        t1, t2 = t[..., :half], t[..., half:]
        return torch.cat((t1 * c - t2 * s, t2 * c + t1 * s), dim=-1)

    relayout = w["scheme"] in ("qk-allgather", "head-alltoall")
    seqs_per_group = max(1, min(B, 65536 // max(L, 1)))  # prefill groups of at most 64K tokens
    if relayout:  # what the skipped collectives would have delivered, preallocated
        gq = rnd(seqs_per_group, aq, L, qkw, scale=1.0)
        gk = rnd(seqs_per_group, akv, L, qkw, scale=1.0)
        gv = rnd(seqs_per_group, akv, L, vw, scale=1.0)
        gq_dec = rnd(B, aq, 1, qkw, scale=1.0)

    def block(x, ly, q_len, pos, cache=None):
        """x [g*q_len, C]: g sequences of q_len new tokens; cache: (k, v) for decode."""
        g = x.shape[0] // q_len
        h = norm(x, ly["n1"], ly["b1"])
        qkv = torch.matmul(h, ly["wqkv"].t())
        q = qkv[:, : NQ * HS].view(g, q_len, NQ, HS).transpose(1, 2)
        k = qkv[:, NQ * HS:(NQ + NKV) * HS].view(g, q_len, NKV, HS).transpose(1, 2)
        v = qkv[:, (NQ + NKV) * HS:].view(g, q_len, NKV, HS).transpose(1, 2)
        if llama:
            q, k = rope(q, pos), rope(k, pos)
        if relayout:
            q = gq_dec if cache is not None else gq[:g]
            k, v = gk[:g], gv[:g]
        if cache is None:
            o = Fn.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale, enable_gqa=gqa)
        else:  # decode: one new token against the cache (the append itself is negligible)
            o = Fn.scaled_dot_product_attention(q, cache[0], cache[1], scale=scale, enable_gqa=gqa)
        att = o.transpose(1, 2).reshape(g * q_len, aq * vw)
        if att.shape[1] != NQ * HS:  # uneven a2a shares: keep the o_proj input width
            att = Fn.pad(att, (0, NQ * HS - att.shape[1])) if att.shape[1] < NQ * HS else att[:, : NQ * HS]
        x = x + torch.matmul(att, ly["wo"].t())
        h = norm(x, ly["n2"], ly["b2"])
        up = torch.matmul(h, ly["wup"].t())
        act = Fn.silu(torch.matmul(h, ly["wgate"].t())) * up if llama else Fn.gelu(up, approximate="tanh")
        return x + torch.matmul(act, ly["wdown"].t())

    x_all = rnd(B * L, C, scale=1.0)
    pos = torch.arange(L, device=dev)

    def prefill():
        for s0 in range(0, B, seqs_per_group):
            g = min(seqs_per_group, B - s0)
            x = x_all[s0 * L:(s0 + g) * L]
            for ly in layers:
                x = block(x, ly, L, pos)

    def timed(fn, n_warm, n_rep):
        for _ in range(n_warm):
            fn()
        times = []
        for _ in range(n_rep):
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            fn()
            e1.record()
            torch.cuda.synchronize()
            times.append(e0.elapsed_time(e1) * 1e-3)
        return sorted(times)[len(times) // 2]

    with torch.no_grad():
        ttft = timed(prefill, warmup, repeat)
        tpot = -1.0
        if w["TD"] > 0 and B > 0:
            ctx = L + 1
            caches = [(rnd(B, akv, ctx, qkw, scale=1.0), rnd(B, akv, ctx, vw, scale=1.0)) for _ in layers]
            xd = rnd(B, C, scale=1.0)
            dpos = torch.tensor([L], device=dev)

            def step():
                x = xd
                for ly, cache in zip(layers, caches):
                    x = block(x, ly, 1, dpos, cache)

            tpot = timed(step, 2, max(decode_steps, 1))
    return ttft, tpot


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("plan")
    ap.add_argument("--rank", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--decode-steps", type=int, default=8)
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    with open(a.plan) as f:
        plan = yaml.safe_load(f)
    w = rank_work(plan, a.rank)
    print("torch_rank: %d" % a.rank)
    print("torch_shapes: {%s}" % ", ".join("%s: %s" % kv for kv in w.items()))
    if a.dry_run:
        return 0
    ttft, tpot = run(w, a.repeat, a.warmup, a.decode_steps)
    print("torch_ttft_s: %.6g" % ttft)
    print("torch_tpot_s: %.6g" % tpot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
