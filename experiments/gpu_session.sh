#!/usr/bin/env bash
# One prepared GPU session (the device tool's H200), everything in parallel streams:
#   A: Part III sweep (accuracy against palindrome length), 10 worker processes on the GPU
#   B: Part II spec runs (Adam 1e-4 and 1e-3), optimizer comparison, best recipe and its ablation
#   (C, the Part I Task 3 MLP ablation, did not finish on the shared GPU; it now runs on the CPU:
#    experiments/cpu_mlp.sh)
#   D: RNN step benchmark on CUDA
# Usage: CIFAR10_DIR=<folder with cifar10.npz> bash experiments/gpu_session.sh RESULTS_DIR [BUDGET_S] [quick]
# With "quick" every run is cut to a few steps (a dry run of the script on CPU).
set -u
W=${1:?results folder}
BUDGET=${2:-480}
QUICK=${3:-}
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
PY=${PY:-python3}
mkdir -p "$W"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$W/gpu.txt" 2>&1 || echo "no GPU" > "$W/gpu.txt"
$PY -c "import torch, platform; print(torch.__version__, platform.python_version())" >> "$W/gpu.txt"

if [ -n "$QUICK" ]; then
  SWEEP="--dry_run --workers 2 --device cpu"; CNN_STEPS="--dry_run --device cpu"
  BEST_STEPS=$CNN_STEPS
else
  SWEEP="--workers 10 --device cuda --lengths 5 10 15 20 25 30 40 50 60 80 100"; CNN_STEPS=""; BEST_STEPS=""
fi

stream_a() {
  $PY -m cs324.rnn.sweep --out "$W/part3_rnn" $SWEEP
}

cnn() {  # cnn NAME FLAGS...
  local name=$1; shift
  $PY -m cs324.cnn.cnn_train --out "$W/part2_cnn/$name" --overwrite --quiet "$@"
  echo "cnn $name rc=$?"
}
stream_b() {
  cnn spec_adam_lr1e-4 $CNN_STEPS
  cnn spec_adam_lr1e-3 --learning_rate 1e-3 $CNN_STEPS
  cnn best --recipe best $BEST_STEPS
  cnn opt_sgd_momentum --optimizer sgd --learning_rate 0.01 --momentum 0.9 $CNN_STEPS
  cnn opt_rmsprop --optimizer rmsprop --learning_rate 1e-4 --momentum 0 $CNN_STEPS
  cnn best_no_tta --recipe best --no-tta $BEST_STEPS
  cnn best_no_label_smoothing --recipe best --label_smoothing 0 $BEST_STEPS
  cnn best_flip_only --recipe best --augment flip $BEST_STEPS
  cnn best_cutout --recipe best --augment flipcrop_cutout $BEST_STEPS
  cnn best_adamw --recipe best --optimizer adamw --learning_rate 2e-3 --weight_decay 0.05 $BEST_STEPS
  cnn best_2x --recipe best --max_steps 17600 --eval_freq 1760 $BEST_STEPS
}

stream_d() {
  $PY benchmarks/bench_rnn.py --out "$W/benchmarks" --name rnn_gpu_host
}

( timeout "$BUDGET" bash -c "$(declare -f stream_a); PY=$PY W=$W SWEEP='$SWEEP'; stream_a" > "$W/stream_a.log" 2>&1 ) &
( timeout "$BUDGET" bash -c "$(declare -f cnn stream_b); PY=$PY W=$W CNN_STEPS='$CNN_STEPS' BEST_STEPS='$BEST_STEPS'; stream_b" > "$W/stream_b.log" 2>&1 ) &
( timeout "$BUDGET" bash -c "$(declare -f stream_d); PY=$PY W=$W; stream_d" > "$W/stream_d.log" 2>&1 ) &
wait
echo "all streams ended"
