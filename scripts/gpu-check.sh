#!/usr/bin/env bash
# gpu-check.sh: everything issue 6 asks of one H100 or H200, in one run of under six
# minutes, on a machine with the CUDA toolkit, cmake and PyTorch but no Debian packages
# and no network (libyaml, GLPK and OpenBLAS come static in .carry/, made beforehand on a
# Debian machine by scripts/prepare-gpu-carry.sh; NCCL from the toolkit or PyTorch's wheel):
#   1. builds attnplan/attnrun with the CUDA backend (-DATTN_MPI=OFF)
#   2. runs the GPU tests (ctest -L gpu: kernels against the CPU reference, the whole
#      forward against the CPU backend)
#   3. measures the device's ceilings (fp16 cuBLAS GEMM TFLOP/s, device-to-device copy GB/s),
#      and the fused attention kernels (bench/gpu/attention_bench.cu: causal prefill
#      TFLOP/s, decode K/V GB/s against a copy) beside PyTorch's scaled_dot_product_attention
#      on the same shapes (bench/gpu/attention_compare.py), against issue 13's targets
#   4. runs the one-GPU plan of single-h100/single-h200 (seed model, batch 8) and rank 0's
#      share of the seed's plans on dgx-h100-x2 (batch 32 of the seed's 128: time), writes
#      measured reports, prints attnplan compare for each
#   5. runs the same per-rank work with PyTorch, and prints the summary table (achieved
#      TFLOP/s and GB/s against the ceilings, attnrun over PyTorch)
#   6. attnrun --calibrate on the card (calibration-single-CARD.yaml in the results) and the
#      one-GPU plan re-priced with it against its measurement (issue 7)
# --cpu-only (alias --dry-run), or no GPU found: builds (unless --no-build), generates
# and validates every plan, checks the PyTorch script's plan parsing, and runs the whole
# pipeline (attnrun on the CPU backend, compare, summary) on tiny stand-in plans, so the
# script cannot rot on machines without a GPU. Exit 0 when every step passed.
# usage: scripts/gpu-check.sh [--cpu-only|--dry-run] [--no-build] [--build-dir DIR]
#                             [--out DIR] [--archive FILE.tgz]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=gpu nobuild=0 build="" out="" archive=""
while [ $# -gt 0 ]; do
  case $1 in
    --cpu-only|--dry-run) mode=cpu ;;
    --no-build) nobuild=1 ;;
    --build-dir) build=$2; shift ;;
    --out) out=$2; shift ;;
    --archive) archive=$2; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
build=${build:-$root/build-gpucheck}
mkdir -p "$build" && build=$(cd "$build" && pwd) || exit 1
out=${out:-$build/gpu-check}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
SECONDS=0
fails=0
log() { printf '[%3ds] %s\n' "$SECONDS" "$*"; }
fail() { printf '[%3ds] FAIL: %s\n' "$SECONDS" "$*"; fails=$((fails + 1)); }

# --- the card ---------------------------------------------------------------------------
card=h100
if [ $mode = gpu ]; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
  case "$gpu_name" in
    *H200*) card=h200 ;;
    *H100*) card=h100 ;;
    "") log "no GPU found (nvidia-smi): running the CPU-side parts only"; mode=cpu ;;
    *) log "card '$gpu_name' is neither H100 nor H200: comparing against single-h100" ;;
  esac
fi
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mode: $mode"
  echo "host: $(uname -n) $(uname -m)"
  echo "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  echo "nvcc: $( (command -v nvcc >/dev/null && nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>/dev/null | tail -1)"
  echo "cmake: $(cmake --version 2>/dev/null | head -1)"
  echo "torch: $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>/dev/null || echo none)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null) $(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo '(with local changes)')"
} > "$out/env.txt"
cat "$out/env.txt"

# --- 1. build ---------------------------------------------------------------------------
targets=(attnplan attnrun compare_dumps)
if [ $nobuild = 0 ]; then
  args=(-DATTN_MPI=OFF -DCMAKE_BUILD_TYPE=Release)
  if [ -d "$root/.carry" ]; then  # static libyaml/GLPK carried from Debian (prepare-gpu-carry.sh)
    c=$root/.carry
    export CMAKE_PREFIX_PATH=$c${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
    export PKG_CONFIG_PATH=$c/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    command -v pkg-config >/dev/null || export PATH=$c/bin:$PATH
    args+=(-DGLPK_INCLUDE_DIR="$c/include" "-DGLPK_LIBRARY=$c/lib/libglpk.a;$c/lib/libltdl.a;$c/lib/libz.a;dl;m")
    if [ -f "$c/lib/libopenblas.a.gz" ]; then  # the CPU backend (the GPU tests' reference)
      [ -f "$c/lib/libopenblas.a" ] || gzip -dc "$c/lib/libopenblas.a.gz" > "$c/lib/libopenblas.a"
      args+=(-DCBLAS_INCLUDE_DIR="$c/include" "-DOPENBLAS_LIBRARY=$c/lib/libopenblas.a;pthread;m")
    fi
  fi
  if [ -z "${CUDACXX:-}" ] && ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export CUDACXX=/usr/local/cuda/bin/nvcc
  fi
  if [ $mode = gpu ]; then
    args+=(-DATTN_CUDA=ON)
    cudainc=$(dirname "$(dirname "$(command -v nvcc || echo "${CUDACXX:-/usr/local/cuda/bin/nvcc}")")")/include
    if [ ! -f "$cudainc/nccl.h" ]; then  # NCCL from PyTorch's wheel (nvidia-nccl-cu*)
      nd=$(python3 -c 'import nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null)
      nl=$(ls "$nd"/lib/libnccl.so* 2>/dev/null | head -1)
      if [ -n "$nd" ] && [ -f "$nd/include/nccl.h" ] && [ -n "$nl" ]; then
        args+=(-DNCCL_INCLUDE_DIR="$nd/include" -DNCCL_LIBRARY="$nl")
      fi
    fi
  fi
  log "configure: cmake ${args[*]}"
  if ! cmake -S "$root" -B "$build" "${args[@]}" > "$out/configure.log" 2>&1; then
    tail -30 "$out/configure.log"; fail "configure"; exit 1
  fi
  grep "attnplan: GLPK" "$out/configure.log"
  grep -q "CUDA=ON" "$out/configure.log" && targets+=(test_gpu_kernels test_backend_ops gpu_ceilings gpu_probe attention_bench)
  log "build: ${targets[*]}"
  if ! cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" > "$out/build.log" 2>&1; then
    grep -E "error|Error" "$out/build.log" | head -30; fail "build"; exit 1
  fi
fi
A=$build/planner/attnplan R=$build/runtime/attnrun
# the PyTorch script and the summary need python3 with PyYAML (there on the GPU machines;
# on a CPU machine without it those two steps are skipped, not failed)
py=1
python3 -c 'import yaml' 2> /dev/null || {
  [ $mode = gpu ] && fail "python3 with PyYAML is needed for the PyTorch comparison and the summary"
  log "no python3 with PyYAML: skipping the PyTorch-script and summary steps"; py=0; }
for b in "$A" "$R"; do [ -x "$b" ] || { fail "missing $b (build first)"; exit 1; }; done
if [ $mode = gpu ] && ! "$build/tests/gpu/gpu_probe"; then
  log "the CUDA runtime sees no GPU: running the CPU-side parts only"; mode=cpu
fi

# --- 2. GPU tests -----------------------------------------------------------------------
if [ $mode = gpu ]; then
  log "GPU tests (ctest -L gpu)"
  (cd "$build" && ctest -L gpu --output-on-failure --timeout 300) > "$out/ctest-gpu.log" 2>&1 || fail "GPU tests"
  grep -E "tests passed|Skipped|Failed|FAIL" "$out/ctest-gpu.log" | head -20
else
  log "forward test plumbing on the CPU backend (tests/gpu/forward_gpu.sh, ATTN_TEST_GPU_BACKEND=cpu)"
  ATTN_TEST_GPU_BACKEND=cpu "$root/tests/gpu/forward_gpu.sh" "$root" "$build" > "$out/forward-cpu.log" 2>&1 ||
    { tail -20 "$out/forward-cpu.log"; fail "forward_gpu.sh on the CPU backend"; }
fi

# --- 3. ceilings ------------------------------------------------------------------------
if [ $mode = gpu ]; then
  log "ceilings (gpu_ceilings)"
  "$build/tests/gpu/gpu_ceilings" > "$out/ceilings.yaml" 2> "$out/ceilings.err" || fail "gpu_ceilings"
  cat "$out/ceilings.yaml"
else
  printf 'device: "none (CPU-side check)"\n' > "$out/ceilings.yaml"
fi
# the fused attention kernels beside PyTorch's SDPA (on the CPU-side check: the shapes the
# bench would run, through the comparison's parser, without torch)
ab=$build/tests/gpu/attention_bench
if [ -x "$ab" ]; then
  if [ $mode = gpu ]; then
    log "fused attention (attention_bench, attention_compare.py)"
    "$ab" > "$out/attention-bench.txt" 2> "$out/attention-bench.err" || fail "attention_bench"
    cmpargs=()
  else
    "$ab" --shapes > "$out/attention-bench.txt" 2> "$out/attention-bench.err" || fail "attention_bench --shapes"
    cmpargs=(--dry-run)
  fi
  python3 "$root/bench/gpu/attention_compare.py" "$out/attention-bench.txt" "${cmpargs[@]}" \
    > "$out/attention.txt" 2>&1 || { tail -5 "$out/attention.txt"; fail "attention_compare.py"; }
  cat "$out/attention.txt"
elif [ $mode = gpu ]; then
  fail "missing $ab (build first)"
else
  log "no attention_bench in $build (built only with CUDA): skipping its shapes check"
fi

# --- 4. plans and runs ------------------------------------------------------------------
# run NAME TOPOLOGY MODEL RANK PRICE_ARGS...: RANK -1 runs the whole (one-GPU) plan
runs=()
plan_of() { # NAME TOPOLOGY MODEL ARGS...: writes $out/NAME.plan.yaml (price, or plan when ARGS start with "plan")
  local name=$1 topo=$2 model=$3
  shift 3
  local cmd=price
  [ "${1:-}" = plan ] && { cmd=plan; shift; }
  "$A" $cmd "$root/topologies/$topo.yaml" "$root/models/$model.yaml" "$@" -o "$out/$name.plan.yaml" \
    > "$out/$name.price.txt" 2>&1 || { tail -5 "$out/$name.price.txt"; fail "attnplan $cmd $name"; return 1; }
  "$A" validate "$out/$name.plan.yaml" > /dev/null 2>&1 || { fail "attnplan validate $name"; return 1; }
}
run() { # NAME RANK BACKEND [ATTNRUN_ARGS...]: attnrun, compare, PyTorch
  local name=$1 rank=$2 be=$3 plan=$out/$1.plan.yaml share=()
  shift 3
  [ "$rank" -ge 0 ] && share=(--rank-share "$rank")
  log "run $name (rank ${rank/#-1/all}, $be)"
  if "$R" "$plan" --backend "$be" "${share[@]}" "$@" --repeat 3 --warmup 1 -o "$out/$name.measured.yaml" \
      > "$out/$name.run.log" 2>&1; then
    "$A" compare "$plan" "$out/$name.measured.yaml" > "$out/$name.compare.txt" 2>&1 || fail "attnplan compare $name"
    cat "$out/$name.compare.txt"
  else
    tail -10 "$out/$name.run.log"; fail "attnrun $name"
  fi
  local targ=(--dry-run)
  [ "$be" = cuda ] && targ=()
  if [ $py = 1 ] && ! python3 "$root/bench/gpu/torch_rank_share.py" "$plan" --rank "$((rank < 0 ? 0 : rank))" \
      "${targ[@]}" > "$out/$name.torch.txt" 2> "$out/$name.torch.err"; then
    tail -5 "$out/$name.torch.err"; fail "PyTorch $name"
  fi
  runs+=("$name:$plan:$((rank < 0 ? 0 : rank)):$out/$name.measured.yaml:$out/$name.torch.txt")
}

# Weights and inputs come from files made once with numpy (make_tensors.py): attnrun's
# seeded generator makes values one by one on the host, minutes for the seed at full size.
# The seed's rank shares run with batch 32 (the seed's is 128): every op has the shape of
# the seed's rank but a quarter of its batch rows, to keep the run inside six minutes.
T=$build/gpu-check-tensors
mkdir -p "$T"
tensors() { # PLAN WEIGHTS INPUT: makes the files that do not exist yet
  local w=() i=()
  [ -f "$2" ] || w=(--weights "$2")
  [ -f "$3" ] || i=(--input "$3")
  [ ${#w[@]} -eq 0 ] && [ ${#i[@]} -eq 0 ] && return 0
  python3 "$root/bench/gpu/make_tensors.py" "$1" "${w[@]}" "${i[@]}" || { fail "make_tensors.py $1"; return 1; }
}
# The plans: the same commands in both modes; the GPU runs them, the CPU-side check only
# makes and validates them and parses them with the PyTorch script (no torch needed).
x2=dgx-h100-x2 wl=(--batch 32 --decode-tokens 32)
seed_runs=("tp8pp2 dp=1,pp=2,n=8,m=1" "n8m2-sar dp=1,pp=1,n=8,m=2,scheme=score-allreduce" "planned plan"
           "tp16 dp=1,pp=1,n=16,m=1" "n4m4-sar dp=1,pp=1,n=4,m=4,scheme=score-allreduce"
           "n8m2-qka dp=1,pp=1,n=8,m=2,scheme=qk-allgather" "n8m2-a2a dp=1,pp=1,n=8,m=2,scheme=head-alltoall")
rm -f "$T"/*.safetensors
names=()
plan_of single "single-$card" seed-dense-4l --strategy dp=1,pp=1,n=1,m=1 --batch 8 --decode-tokens 32 &&
  names+=(single)
for s in "${seed_runs[@]}"; do
  how=(--strategy "${s#* }")
  [ "${s#* }" = plan ] && how=(plan)
  plan_of "seed-${s%% *}" $x2 seed-dense-4l "${how[@]}" "${wl[@]}" && names+=("seed-${s%% *}")
done
for name in "${names[@]}"; do
  if [ $mode = gpu ] && [ $SECONDS -gt "${ATTN_GPU_CHECK_BUDGET:-320}" ]; then
    log "skipping $name: past ${ATTN_GPU_CHECK_BUDGET:-320} s (ATTN_GPU_CHECK_BUDGET), keeping the six minutes"
  elif [ $mode = gpu ]; then
    if [ $name = single ]; then w=$T/seed-w.safetensors x=$T/seed-in-b8.safetensors rank=-1
    else w=$T/seed-w.safetensors x=$T/seed-in-b32.safetensors rank=0; fi
    tensors "$out/$name.plan.yaml" "$w" "$x" && run "$name" $rank cuda --weights "$w" --input "$x"
  elif [ $py = 1 ]; then
    python3 "$root/bench/gpu/torch_rank_share.py" "$out/$name.plan.yaml" --rank 0 --dry-run > "$out/$name.torch.txt" ||
      fail "torch_rank_share.py --dry-run $name"
  fi
done
rm -f "$T"/*.safetensors
if [ $mode = cpu ]; then  # the whole pipeline on tiny stand-ins, on the CPU backend
  plan_of tiny-single "single-$card" tiny --strategy dp=1,pp=1,n=1,m=1 && run tiny-single -1 cpu
  if plan_of tiny-share dgx-h100-x1 tiny-llama --strategy dp=1,pp=1,n=2,m=2,scheme=score-allreduce --devices 4; then
    if [ $py = 1 ]; then
      tensors "$out/tiny-share.plan.yaml" "$T/tiny-w.safetensors" "$T/tiny-in.safetensors" &&
        run tiny-share 3 cpu --weights "$T/tiny-w.safetensors" --input "$T/tiny-in.safetensors"
      rm -f "$T"/*.safetensors
    else
      run tiny-share 3 cpu
    fi
  fi
fi

# --- 6. calibration ---------------------------------------------------------------------
# attnrun --calibrate on this card (the one-GPU plan's shapes), then the
# one-GPU plan re-priced with it against what step 4 measured: the single-h100/h200
# calibration issue 7 asks for, and its accuracy. On the CPU-side check: the same on the
# CPU backend with --quick and the tiny stand-in, so the step cannot rot.
cal=$out/calibration-single-$card.yaml
if [ $mode = gpu ]; then
  # the shapes of the plan step 4 ran: the seed model at batch 8, 32 decode tokens
  sed -e 's/^  batch: .*/  batch: 8/' -e 's/^  decode_tokens: .*/  decode_tokens: 32/' \
    "$root/models/seed-dense-4l.yaml" > "$out/seed-dense-4l-b8.yaml"
  calname=single ccal=(--backend cuda --passes 3 --model "$out/seed-dense-4l-b8.yaml")
  climit=$(( ${ATTN_GPU_CHECK_BUDGET:-320} + 25 - SECONDS ))
else
  calname=tiny-single ccal=(--backend cpu --quick --model "$root/models/tiny.yaml") climit=120
fi
if [ "$climit" -lt 20 ]; then
  log "skipping the calibration: past the budget (ATTN_GPU_CHECK_BUDGET), keeping the six minutes"
elif [ -f "$out/$calname.measured.yaml" ]; then
  log "calibration (attnrun --calibrate ${ccal[*]:0:2}, at most ${climit}s)"
  if timeout "$climit" "$R" --calibrate "${ccal[@]}" --topology "$root/topologies/single-$card.yaml" \
      --name "single-$card" -o "$cal" > "$out/calibrate.log" 2>&1; then
    tail -1 "$out/calibrate.log"
    pargs=(--batch 8 --decode-tokens 32) pmodel=seed-dense-4l
    [ $mode = gpu ] || pargs=() pmodel=tiny
    if "$A" price "$root/topologies/single-$card.yaml" "$root/models/$pmodel.yaml" --strategy dp=1,pp=1,n=1,m=1 \
        "${pargs[@]}" --calibration "$cal" -o "$out/$calname-calibrated.plan.yaml" > "$out/$calname-calibrated.price.txt" 2>&1; then
      "$A" compare "$out/$calname-calibrated.plan.yaml" "$out/$calname.measured.yaml" --force \
        > "$out/$calname-calibrated.compare.txt" 2>&1 || fail "attnplan compare (calibrated)"
      log "$calname priced with $cal against its measurement:"
      sed -n '4,8p' "$out/$calname-calibrated.compare.txt"
    else
      tail -5 "$out/$calname-calibrated.price.txt"; fail "attnplan price --calibration"
    fi
  else
    tail -10 "$out/calibrate.log"; fail "attnrun --calibrate"
  fi
else
  log "skipping the calibration: no measured $calname run to compare with"
fi

# --- 5. summary -------------------------------------------------------------------------
if [ $py = 1 ]; then
  log "summary"
  python3 "$root/bench/gpu/summarize.py" "$out/ceilings.yaml" "${runs[@]}" > "$out/summary.txt" 2>&1 ||
    fail "summarize.py"
  cat "$out/summary.txt"
fi
[ -n "$archive" ] && tar -C "$(dirname "$out")" -czf "$archive" "$(basename "$out")" && log "archive: $archive"
log "done in ${SECONDS}s ($mode), $fails failure(s); results in $out"
[ $SECONDS -gt 360 ] && log "note: over the six-minute budget"
[ $fails = 0 ]
