#!/usr/bin/env bash
# The GPU checks of the engine and training issues in one call on a lent NVIDIA machine, sized for a
# 15-minute device budget: all steps take about 5 minutes on an H100, and the step timeouts bound each one
# (together 11 minutes, so a call that must stay under the device tool's 10-minute limit names fewer steps
# in DEVICE_STEPS). From the project root, after `bash ../shared/device/prepare.sh` and
# `bash tasks/device_pack.sh` here (the npm packages, packed to fit the transfer limit), call the device tool
# with carry [".device"], timeout_s 590 and
#
#   DIRBENCH_GIT_COMMIT=<commit> bash .device/remote.sh bash tasks/device_check.sh
#
# It writes every figure as JSON under $OUT (default out/device) and prints a summary last:
#   kernels.json            bench:gpu (GEMM 256..8192 f32/f16, model shapes, attention, training steps, overheads)
#   gemmsweep.json          every named tile and the tile candidates at 4096³, f32 and f16, each checked first
#   modelsweep.json         every tile configuration, small-tile and k-group candidate at the paper model's GEMM
#                           shapes (wall time and the kernels' own time from timestamps)
#   splitsweep.json         the mid and small tiles and two k-group tiles at those shapes with 1, 2, 4 and 8
#                           split-K slices
#   train-paper.json        bench:train --config paper with a per-kernel profile (LoRA, as the paper trains)
#   train-paper-full16.json the paper-preset model fully fine-tuned at batch 16 (the PyTorch-eager reference)
#   train-paper-full64.json the same at batch 64
#   cublas.json             cuBLAS through PyTorch at the same GEMMs (tasks/cublas_reference.py), when the
#                           machine has PyTorch with CUDA
#   log.txt                 everything printed (the GPU's name and driver first)
# A failing or timed-out step is reported and the others still run; the kernel benches rewrite their file
# after every result, so a step stopped at its limit keeps what it measured. Steps run most wanted first.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/device}
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1
[ -d node_modules ] || tar -xJf .device/node_modules.tar.xz
# --cached-only: the GPU machine has no network, and node_modules holds every package the checks import.
run=(deno run --cached-only --allow-read --allow-write --allow-env --allow-sys --allow-ffi --allow-run=git)
step() {
  local limit=$1
  shift
  echo "== $* ($(date +%T))"
  timeout "$limit" "$@" || echo "!! failed or timed out (exit $?): $*"
}
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)
echo "gpu: $gpu"
# DEVICE_STEPS picks steps (default all, in this order); GEMMSWEEP_CANDIDATES narrows the gemmsweep and
# SWEEP_CANDIDATES the model and split sweeps (comma-separated labels, e.g. 32x32,32x32kg4,64x64kg2).
steps=" ${DEVICE_STEPS:-kernels cublas train full16 full64 splitsweep gemmsweep modelsweep} "
has() { [[ "$steps" == *" $1 "* ]]; }
has kernels && step 150 "${run[@]}" tasks/bench_kernels.ts --preset gpu --only gemm,model,attention,train \
  --out "$out/kernels.json"
if has cublas; then
  if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    step 60 python3 tasks/cublas_reference.py --out "$out/cublas.json"
  else
    echo "== cublas: skipped (no PyTorch with CUDA here)"
  fi
fi
# 50 timed steps: the run loop reads logs back every 50 steps (one ~11 ms wait), so the figures include it as
# training pays it.
has train && step 90 "${run[@]}" tasks/bench_train.ts --config paper --steps 50 --profile --out "$out/train-paper.json"
has full16 && step 45 "${run[@]}" tasks/bench_train.ts --config paper --set lora.enabled=false --steps 100 \
  --methods sft --out "$out/train-paper-full16.json"
has full64 && step 45 "${run[@]}" tasks/bench_train.ts --config paper --set lora.enabled=false --set sft.batch=64 \
  --steps 100 --methods sft --out "$out/train-paper-full64.json"
has splitsweep && step 60 "${run[@]}" tasks/bench_kernels.ts --preset gpu --only splitsweep \
  ${SWEEP_CANDIDATES:+--candidates "$SWEEP_CANDIDATES"} --out "$out/splitsweep.json"
has gemmsweep && step 150 "${run[@]}" tasks/bench_kernels.ts --preset gpu --only gemmsweep \
  ${GEMMSWEEP_CANDIDATES:+--candidates "$GEMMSWEEP_CANDIDATES"} --out "$out/gemmsweep.json"
has modelsweep && step 60 "${run[@]}" tasks/bench_kernels.ts --preset gpu --only modelsweep \
  ${SWEEP_CANDIDATES:+--candidates "$SWEEP_CANDIDATES"} --out "$out/modelsweep.json"
echo "== summary ($gpu) ($(date +%T))"
"${run[@]}" tasks/device_summary.ts "$out"
sleep 1 # let tee write the last lines before the files are collected
