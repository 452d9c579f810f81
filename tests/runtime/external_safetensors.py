#!/usr/bin/env python3
"""external_safetensors.py MAKE_PLAN ATTNRUN WORKDIR

Files from outside: weights and inputs written with Python's safetensors package (F32, F16
and BF16 tensors mixed), run by attnrun under mpirun with --check and --dump; the dump is
compared with an independent numpy (float64) implementation of docs/model-contract.md.
Models with a vocabulary take token ids (I64 and I32) through the embedding and return the
logits of the final norm and LM head (tied or not), under Hugging Face's tensor names.
Exits 77 (skipped) when numpy or safetensors are not installed (scripts/pydeps.sh)."""
import os
import subprocess
import sys

try:
    import numpy as np
    from safetensors import serialize_file
    from safetensors.numpy import TensorSpec, load_file
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e} (run scripts/pydeps.sh)")
    sys.exit(77)

make_plan, attnrun, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
rng = np.random.default_rng(20261125)


def encode(arr, dtype):
    """(bytes holder, safetensors dtype name, the float64 values the runtime must see)"""
    a32 = np.ascontiguousarray(arr, dtype=np.float32)
    if dtype == "F32":
        return a32, "float32", a32.astype(np.float64)
    if dtype == "F16":
        h = a32.astype(np.float16)
        return h, "float16", h.astype(np.float64)
    bits = a32.view(np.uint32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    seen = (rounded.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return np.ascontiguousarray(rounded), "bfloat16", seen


def save(path, tensors):
    """tensors: name -> (array, 'F32'|'F16'|'BF16'|'I64'|'I32'); returns name -> values as stored"""
    specs, keep, seen = {}, [], {}
    for name, (arr, dtype) in tensors.items():
        if dtype in ("I64", "I32"):  # token ids
            holder = np.ascontiguousarray(arr, dtype=np.int64 if dtype == "I64" else np.int32)
            tname, values = "int64" if dtype == "I64" else "int32", holder.astype(np.int64)
        else:
            holder, tname, values = encode(arr, dtype)
        keep.append(holder)
        specs[name] = TensorSpec(dtype=tname, shape=holder.shape, data_ptr=holder.ctypes.data, data_len=holder.nbytes)
        seen[name] = values.reshape(arr.shape)
    serialize_file(specs, path, metadata={"writer": "external_safetensors.py"})
    return seen


def norm(x, w, b, eps, layer_norm):
    mu = x.mean(-1, keepdims=True) if layer_norm else 0.0
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + (b if b is not None else 0.0)


def rope(x, theta):  # x [B, T, H, D], positions 0..T-1, rotate-half
    D = x.shape[-1]
    ang = np.arange(x.shape[1])[:, None] * theta ** (-2.0 * np.arange(D // 2) / D)
    c, s = np.cos(ang)[None, :, None, :], np.sin(ang)[None, :, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def forward(cfg, W, x):  # x [B, T, C]: prompt then decode tokens (given inputs, causal)
    B, T, C = x.shape
    H, KV, D, gpt = cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["arch"] == "gpt"
    for l in range(cfg["layers"]):
        p = lambda n: W.get(f"model.layers.{l}.{n}")
        h = norm(x, p("input_layernorm.weight"), p("input_layernorm.bias"), cfg["eps"], gpt)
        q = (h @ p("self_attn.q_proj.weight").T).reshape(B, T, H, D)
        k = (h @ p("self_attn.k_proj.weight").T).reshape(B, T, KV, D)
        v = (h @ p("self_attn.v_proj.weight").T).reshape(B, T, KV, D)
        if not gpt:
            q, k = rope(q, cfg["theta"]), rope(k, cfg["theta"])
        k, v = np.repeat(k, H // KV, axis=2), np.repeat(v, H // KV, axis=2)
        s = np.einsum("bihd,bjhd->bhij", q, k) / np.sqrt(D)
        s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
        pr = np.exp(s - s.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        att = np.einsum("bhij,bjhd->bihd", pr, v).reshape(B, T, H * D)
        x = x + att @ p("self_attn.o_proj.weight").T
        h = norm(x, p("post_attention_layernorm.weight"), p("post_attention_layernorm.bias"), cfg["eps"], gpt)
        up = h @ p("mlp.up_proj.weight").T
        if gpt:
            a = 0.5 * up * (1 + np.tanh(np.sqrt(2 / np.pi) * (up + 0.044715 * up ** 3)))
        else:
            g = h @ p("mlp.gate_proj.weight").T
            a = g / (1 + np.exp(-g)) * up
        x = x + a @ p("mlp.down_proj.weight").T
    return x


def case(name, cfg, strategy):
    H, KV, D, F, C = cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["ffn"], cfg["heads"] * cfg["head_dim"]
    B, L, TD = cfg["batch"], cfg["seq_len"], cfg["decode"]
    model = os.path.join(work, f"{name}.yaml")
    with open(model, "w") as f:
        f.write(f"name: {name}\narch: {cfg['arch']}\nlayers: {cfg['layers']}\nheads: {H}\nkv_heads: {KV}\n"
                f"head_dim: {D}\nffn_hidden: {F}\nnorm_eps: {cfg['eps']}\ndtype: fp32\n"
                + (f"rope_theta: {cfg['theta']}\n" if cfg["arch"] == "llama" else "")
                + (f"vocab_size: {cfg['vocab']}\ntie_word_embeddings: {'true' if cfg['tied'] else 'false'}\n"
                   if "vocab" in cfg else "")
                + f"workload: {{batch: {B}, seq_len: {L}, decode_tokens: {TD}}}\n")
    plan = os.path.join(work, f"{name}.plan.yaml")
    subprocess.run([make_plan, model, strategy, plan], check=True)
    world = int([ln.split()[1] for ln in open(plan) if ln.startswith("world:")][0])

    dtypes = ["F32", "F16", "BF16"]
    tensors, i = {}, 0
    for l in range(cfg["layers"]):
        shapes = {"input_layernorm.weight": (C,), "post_attention_layernorm.weight": (C,),
                  "self_attn.q_proj.weight": (H * D, C), "self_attn.k_proj.weight": (KV * D, C),
                  "self_attn.v_proj.weight": (KV * D, C), "self_attn.o_proj.weight": (C, H * D),
                  "mlp.up_proj.weight": (F, C), "mlp.down_proj.weight": (C, F)}
        if cfg["arch"] == "gpt":
            shapes.update({"input_layernorm.bias": (C,), "post_attention_layernorm.bias": (C,)})
        else:
            shapes["mlp.gate_proj.weight"] = (F, C)
        for n, shp in shapes.items():
            if n.endswith("layernorm.weight"):
                arr = 1 + 0.1 * rng.standard_normal(shp)
            elif n.endswith(".bias"):
                arr = 0.1 * rng.standard_normal(shp)
            else:
                arr = rng.standard_normal(shp) / np.sqrt(shp[1])
            tensors[f"model.layers.{l}.{n}"] = (arr, dtypes[i % 3])
            i += 1
    V = cfg.get("vocab", 0)
    if V:  # the ends, Hugging Face names; a tied model has no lm_head.weight
        tensors["model.embed_tokens.weight"] = (rng.standard_normal((V, C)), "BF16")
        tensors["model.norm.weight"] = (1 + 0.1 * rng.standard_normal(C), "F16")
        if cfg["arch"] == "gpt":
            tensors["model.norm.bias"] = (0.1 * rng.standard_normal(C), "F32")
        if not cfg["tied"]:
            tensors["lm_head.weight"] = (rng.standard_normal((V, C)) / np.sqrt(C), "F32")
    weights = os.path.join(work, f"{name}.weights.safetensors")
    W = save(weights, tensors)
    inputs = os.path.join(work, f"{name}.inputs.safetensors")
    if V:
        X = save(inputs, {"input_ids": (rng.integers(0, V, (B, L)), "I64"),
                          "decode_input_ids": (rng.integers(0, V, (B, TD)), "I32")})
    else:
        X = save(inputs, {"hidden_states": (rng.standard_normal((B, L, C)), "BF16"),
                          "decode_hidden_states": (rng.standard_normal((B, TD, C)), "F16")})
    dump = os.path.join(work, f"{name}.out.safetensors")
    cmd = ["mpirun", "-np", str(world), attnrun, plan, "--weights", weights, "--input", inputs,
           "--check", "--dump", dump, "--repeat", "1", "--warmup", "0"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    print(r.stdout + r.stderr)
    if r.returncode != 0:
        raise SystemExit(f"FAILED {name}: attnrun exit {r.returncode}")
    out = load_file(dump)
    if V:
        E = W["model.embed_tokens.weight"]
        ids = np.concatenate([X["input_ids"], X["decode_input_ids"]], axis=1)
        y = forward(cfg, W, E[ids])
        y = norm(y, W["model.norm.weight"], W.get("model.norm.bias"), cfg["eps"], cfg["arch"] == "gpt")
        logits = y @ (E if cfg["tied"] else W["lm_head.weight"]).T
        wants = (("logits", logits[:, L - 1]), ("decode_logits", logits[:, L:]))
    else:
        ref = forward(cfg, W, np.concatenate([X["hidden_states"], X["decode_hidden_states"]], axis=1))
        wants = (("hidden_states", ref[:, :L]), ("decode_output", ref[:, L:]))
    for key, want in wants:
        got = out[key].astype(np.float64)
        if got.shape != want.shape:
            raise SystemExit(f"FAILED {name}: {key} shape {got.shape}, expected {want.shape}")
        err = np.linalg.norm(got - want) / np.linalg.norm(want)
        print(f"{name}: {key} vs numpy: relative error {err:.3e}")
        if not err <= 1e-4:
            raise SystemExit(f"FAILED {name}: {key} differs from the numpy contract")


case("ext-llama", dict(arch="llama", layers=2, heads=6, kv_heads=2, head_dim=8, ffn=40, eps=1e-6, theta=10000.0,
                       batch=2, seq_len=9, decode=3), "dp=1,pp=1,n=2,m=2,scheme=qk-allgather")
case("ext-gpt", dict(arch="gpt", layers=3, heads=4, kv_heads=4, head_dim=10, ffn=36, eps=1e-5, batch=3, seq_len=7,
                     decode=2), "dp=1,pp=2,n=2,m=1,mb=3")
case("ext-llama-lm", dict(arch="llama", layers=2, heads=4, kv_heads=2, head_dim=8, ffn=24, eps=1e-6, theta=10000.0,
                          batch=2, seq_len=6, decode=2, vocab=53, tied=False), "dp=1,pp=2,n=2,m=1,mb=2")
case("ext-gpt-lm", dict(arch="gpt", layers=2, heads=4, kv_heads=4, head_dim=8, ffn=24, eps=1e-5, batch=3, seq_len=5,
                        decode=2, vocab=37, tied=True), "dp=1,pp=1,n=2,m=2,scheme=score-allreduce")
# a token id outside the vocabulary is a bad input: exit 2, the tensor and the id named
bad = os.path.join(work, "bad-ids.safetensors")
save(bad, {"input_ids": (np.array([[1, 2, 3, 4, 5, 53], [0, 0, 0, 0, 0, 0]]), "I64"),
           "decode_input_ids": (np.zeros((2, 2)), "I32")})
r = subprocess.run(["mpirun", "-np", "4", attnrun, os.path.join(work, "ext-llama-lm.plan.yaml"), "--weights",
                    os.path.join(work, "ext-llama-lm.weights.safetensors"), "--input", bad, "--repeat", "1", "--warmup", "0"],
                   env=env, capture_output=True, text=True, timeout=120)
if r.returncode != 2 or "'input_ids': token id 53 at element 5 is outside the vocabulary [0, 53)" not in r.stderr:
    raise SystemExit(f"FAILED bad ids: exit {r.returncode}, stderr: {r.stderr}")
print("bad ids: exit 2:", r.stderr.strip().splitlines()[0])
print("external_safetensors.py: all passed")
