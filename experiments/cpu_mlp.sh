#!/usr/bin/env bash
# Part I Task 3 on this 2-core CPU.
#   best:     the best recipe at full length (the default of `python -m cs324.mlp.cifar_mlp`), alone on
#             the machine with both cores: the run whose wall time is the "60 minutes on this CPU" figure.
#   ablation: the skeleton-style MLP, then a wide BN-GELU AdamW one-cycle MLP with one ingredient added
#             per row, each row at the same short budget (1,760 steps of 256 = 10 epochs), one thread,
#             so that another single-threaded job can use the other core (their wall times are not
#             comparable with the best run's).
# Usage: CIFAR10_DIR=<folder with cifar10.npz> bash experiments/cpu_mlp.sh [RESULTS_DIR] [best|ablation|all] [quick]
#   ONLY=<regex>: run only the ablation rows whose names match (two such invocations can share the machine)
set -u
W=${1:-results/part1_cifar_mlp}
PART=${2:-all}
QUICK=${3:-}
ONLY=${ONLY:-.}
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
PY=${PY:-python3}
mkdir -p "$W"
if [ -n "$QUICK" ]; then
  BEST="--dry_run"; ROW="$BEST"; PLAIN="$BEST"
else
  BEST=""; ROW="--max_steps 1760 --eval_freq 880"; PLAIN=""
fi

mlp() {  # mlp NAME FLAGS...
  local name=$1; shift
  [[ $name =~ $ONLY ]] || return 0
  $PY -m cs324.mlp.cifar_mlp --out "$W/$name" --overwrite "$@" > "$W/$name.log" 2>&1
  echo "mlp $name rc=$? $(tail -1 "$W/$name.log")"
}

if [ "$PART" = best ] || [ "$PART" = all ]; then
  ( unset OMP_NUM_THREADS MKL_NUM_THREADS; mlp best $BEST )  # all cores
fi
if [ "$PART" = ablation ] || [ "$PART" = all ]; then
  export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
  base="--recipe best --no-tta --augment none --label_smoothing 0 --dropout 0 --weight_decay 0"
  mlp 0_plain --recipe plain $PLAIN
  mlp 1_wide_bn_gelu_adamw_onecycle $base $ROW
  mlp 2_weight_decay $base --weight_decay 0.05 $ROW
  mlp 3_dropout $base --weight_decay 0.05 --dropout 0.2 $ROW
  mlp 4_label_smoothing $base --weight_decay 0.05 --dropout 0.2 --label_smoothing 0.1 $ROW
  mlp 5_flip $base --weight_decay 0.05 --dropout 0.2 --label_smoothing 0.1 --augment flip $ROW
  mlp 6_flipcrop $base --weight_decay 0.05 --dropout 0.2 --label_smoothing 0.1 --augment flipcrop $ROW
  mlp 7_tta --recipe best $ROW
fi
$PY -m cs324.results "$W"
