#!/usr/bin/env python3
"""emulate.py: rewrites CUDA sources for cuda_emu.h (the CPU stand-in): every launch
`kernel<T>ARGS<<<grid, block[, shmem, stream]>>>(args)` becomes
`emu_launch(dim3(grid), dim3(block), stream, [=] { kernel<T>(args); }, shmem)` (stream 0
when the launch names none; the arguments captured by value, as CUDA copies a kernel's
arguments at the launch, so a launch recorded during stream capture replays with them), a
dynamic shared array `extern __shared__ [__align__(N)] TYPE name[];` becomes a pointer to
cuda_emu.h's buffer, and `#include <cuda_runtime.h>` and `<mma.h>` are dropped (cuda_emu.h,
included first, stands in for both).
usage: emulate.py OUTDIR FILE.cu... (writes OUTDIR/FILE.cpp)"""
import os
import re
import sys


def split_top(s):
    """s split at commas outside (), <>, [] and {}."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def match_close(s, i, open_ch, close_ch):
    """index of the bracket closing the one at s[i]"""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_ch:
            depth += 1
        elif s[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced %s at %d" % (open_ch, i))


def rewrite(src):
    while True:
        i = src.find("<<<")
        if i < 0:
            return src
        j = src.index(">>>", i)
        # the kernel: an identifier, optionally followed by template arguments <...>
        k = i
        if src[k - 1] == ">":
            depth = 0
            while True:
                k -= 1
                if src[k] == ">":
                    depth += 1
                elif src[k] == "<":
                    depth -= 1
                    if depth == 0:
                        break
        m = re.search(r"[A-Za-z_][A-Za-z_0-9]*$", src[:k])
        start = m.start()
        name = src[start:i]
        p = j + 3
        while src[p].isspace():
            p += 1
        assert src[p] == "(", "launch without arguments near %r" % src[start:p + 20]
        q = match_close(src, p, "(", ")")
        cfg = split_top(src[i + 3:j])
        shmem = ", (size_t)(%s)" % cfg[2] if len(cfg) > 2 else ""
        stream = cfg[3] if len(cfg) > 3 else "0"
        call = "emu_launch(dim3(%s), dim3(%s), (cudaStream_t)(%s), [=] { %s%s; }%s)" % (cfg[0], cfg[1], stream, name,
                                                                                  src[p:q + 1], shmem)
        src = src[:start] + call + src[q + 1:]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for path in sys.argv[2:]:
        with open(path) as f:
            src = f.read()
        src = src.replace("#include <cuda_runtime.h>", "/* <cuda_runtime.h>: cuda_emu.h */")
        src = src.replace("#include <mma.h>", "/* <mma.h>: cuda_emu_wmma.h */")
        src = re.sub(r"extern\s+__shared__\s+(?:__align__\(\s*\d+\s*\)\s+)?([A-Za-z_][\w ]*?)\s+(\w+)\s*\[\s*\]\s*;",
                     r"\1 *\2 = (\1 *)emu_dyn_smem;", src)
        base = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(out, base + ".cpp"), "w") as f:
            f.write('#include "cuda_emu.h"\n#line 1 "%s"\n' % path + rewrite(src))


if __name__ == "__main__":
    main()
