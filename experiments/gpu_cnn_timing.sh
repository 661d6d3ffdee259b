#!/usr/bin/env bash
# Part II on a GPU, alone on it (nothing else running): epoch time and accuracy of the reduced VGG's
# best recipe with bf16 autocast and the whole data set held on the GPU (the data layer keeps the
# uint8 splits on the training device and augments whole batches there). Then the ablation of the
# best recipe at full length (python -m cs324.cnn.ablation: 8,800 steps of 128, one ingredient out at
# a time) into RESULTS_DIR/ablation. Between the two, test-time translations on the best run's best.pt
# (python -m cs324.cnn.tta).
# Usage: CIFAR10_DIR=<folder with cifar10.npz> bash experiments/gpu_cnn_timing.sh [RESULTS_DIR] [quick|gpu] [STAGE]
#   RESULTS_DIR defaults to results/part2_cnn_gpu; "quick" is a 4-step dry run on the CPU ("gpu", the default: the
#   real thing). STAGE: all (default), best (the best run and its TTA; the committed best run trained in 64 s on
#   an H200) or ablation (12 runs of 4,800 steps; not yet timed, estimated 6-10 minutes). The device tool allows
#   10 minutes a command, so run the two stages as two calls. The ablation keeps the variants already finished
#   in RESULTS_DIR/ablation (their metrics.jsonl), so a call cut short can be rerun and continues.
set -eu
W=${1:-results/part2_cnn_gpu}
QUICK=${2:-}
case "$QUICK" in "" | gpu) QUICK= ;; quick) ;; *) echo "error: the 2nd argument must be quick or gpu, got '$QUICK'" >&2; exit 2 ;; esac
STAGE=${3:-all}
case "$STAGE" in all | best | ablation) ;; *) echo "error: STAGE must be all, best or ablation, got '$STAGE'" >&2; exit 2 ;; esac
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
PY=${PY:-python3}
mkdir -p "$W"
if [ -n "$QUICK" ]; then
  FLAGS="--device cpu --dry_run"
  ABLATION="--device cpu --dry_run"
else
  FLAGS="--device cuda --amp"
  ABLATION="--device cuda"
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no GPU"
  $PY -c "import torch, platform; print('torch', torch.__version__, 'python', platform.python_version())"; } > "$W/machine.txt"
if [ "$STAGE" != ablation ]; then
  $PY -m cs324.cnn.cnn_train --recipe best $FLAGS --out "$W/best" --overwrite --quiet | tee "$W/best.log"
  $PY -m cs324.results "$W"
  echo "python -m cs324.cnn.cnn_train --recipe best $FLAGS --out $W/best --overwrite --quiet" > "$W/COMMAND.txt"
  # Test-time translations on its best.pt, the scheme chosen on validation (writes $W/best/tta.json)
  $PY -m cs324.cnn.tta "$W/best" | tee "$W/tta.log"
  echo "python -m cs324.cnn.tta $W/best" >> "$W/COMMAND.txt"
fi
if [ "$STAGE" != best ]; then
  $PY -m cs324.cnn.ablation --out "$W/ablation" $ABLATION | tee -a "$W/ablation.log"
  $PY -m cs324.results "$W/ablation"
fi
