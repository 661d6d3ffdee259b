#!/usr/bin/env bash
# Rerun every experiment and rebuild the report.   make reproduce [QUICK=1]
#
#   bash experiments/reproduce.sh RESULTS_DIR [quick]
#
# Full size on a 2-core CPU (no GPU): Part I Task 2 comparison ~8 min; Part III sweep ~1-2 h
# (2 workers) and its goal runs ~1.5 h; the CIFAR-10 MLP (best recipe + ablation) ~1.5 h; each CNN
# spec run (5,000 steps of 32) ~30 min, the CNN best recipe (25 epochs) ~3 h; on an H200 GPU the CIFAR-10 runs take 30-70 s each (see results/part2_cnn/table.md).
# "quick" runs every command with --dry_run (seconds each; the test suite runs it) and writes to RESULTS_DIR only.
set -euo pipefail
R=${1:?results folder}
QUICK=${2:-}
PY=${PY:-python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$R"
if [ -n "$QUICK" ]; then
  C=(--dry_run --device cpu)
else
  C=()
fi
$PY -m cs324.mlp.compare --out "$R/part1_compare" ${QUICK:+--dry_run} --datasets moons circles blobs gaussian_quantiles
$PY -m cs324.rnn.sweep --out "$R/part3_rnn" ${QUICK:+--dry_run} \
  --workers 2 --device cpu  # defaults: T=5..60, 4 variants, 3 seeds, 6,000 steps, patience 8
$PY -m cs324.rnn.analysis --sweep "$R/part3_rnn"
[ -z "$QUICK" ] && PY=$PY bash experiments/cpu_rnn_goals.sh "$R/part3_rnn_goals"
if $PY -c "from cs324.data.cifar10 import load_cifar10; load_cifar10()" 2>/dev/null; then
  # the best MLP (alone, both cores) then its ablation; quick: the best recipe only, a few steps
  PY=$PY bash experiments/cpu_mlp.sh "$R/part1_cifar_mlp" ${QUICK:+best quick}
  $PY -m cs324.cnn.cnn_train --out "$R/part2_cnn/spec_adam_lr1e-4" --overwrite --quiet "${C[@]}"
  if [ -z "$QUICK" ]; then
    $PY -m cs324.cnn.cnn_train --out "$R/part2_cnn/spec_adam_lr1e-3" --learning_rate 1e-3 --overwrite --quiet
    $PY -m cs324.cnn.cnn_train --recipe best --out "$R/part2_cnn/best" --overwrite --quiet
  fi
  $PY -m cs324.results "$R/part2_cnn"
else
  echo "CIFAR-10 not found (set CIFAR10_DIR): Parts I Task 3 and II skipped" >&2
fi
$PY -m cs324.report --results "$R" --out "$R/report"
echo "reproduced into $R"
