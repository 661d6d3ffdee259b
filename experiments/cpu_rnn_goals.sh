#!/usr/bin/env bash
# Part III goal runs on this CPU (one core): the three goals of the assignment's Task 2 at the lengths
# they name, 3 seeds each, with a longer budget than the sweep: 10,000 steps of 128, stopped after 3
# evaluations in a row at 100%; the vanilla RNNs never stop for lack of progress (they sit on plateaus
# for thousands of steps before they learn), the LSTM (5x slower a step) stops after 16 evaluations
# = 4,000 steps without a better validation accuracy:
#   vanilla RNN, course defaults, T=20 | vanilla RNN, best recipe, T=30 | LSTM, T=60 |
#   vanilla RNN, best recipe + curriculum over lengths (rnn_curriculum), T=30, 40, 50
# Usage: bash experiments/cpu_rnn_goals.sh [RESULTS_DIR] [quick]
set -eu
W=${1:-results/part3_rnn_goals}
QUICK=${2:-}
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=${PY:-python3}
COMMON="--max_steps 10000 --eval_freq 250 --workers 1 --device cpu"
[ -n "$QUICK" ] && COMMON="--max_steps 20 --eval_freq 10 --data_size 2000 --workers 1 --device cpu"
$PY -m cs324.rnn.sweep --out "$W" --variants rnn_default --lengths 20 --patience 0 $COMMON
$PY -m cs324.rnn.sweep --out "$W" --variants rnn_best --lengths 30 --patience 0 $COMMON
$PY -m cs324.rnn.sweep --out "$W" --variants lstm --lengths 60 --patience 16 $COMMON
$PY -m cs324.rnn.sweep --out "$W" --variants rnn_curriculum --lengths 30 40 50 --patience 0 $COMMON
$PY -m cs324.rnn.analysis --sweep "$W"
