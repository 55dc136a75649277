#!/usr/bin/env bash
# The main example, one command (installs what is missing first):
#   1. builds ELEKTRONN2's 3-D CNN of its examples page and prints its node
#      reprs, prediction properties and totals;
#   2. makes the small synthetic EM data set (neuromancer make-data);
#   3. trains neuro3d_lite on it on the CPU for a few minutes (nm::Trainer,
#      examples/neuro3d_train.cpp: ELEKTRONN2's neuro3d.py), writes plots,
#      previews and checkpoints, predicts the validation cube densely and
#      prints its error next to the majority-class baseline.
#
#   bash scripts/run_example.sh [--save model.h5]      (--save: the 3-D CNN)
# Environment: NM_EXAMPLE_DIR (default ~/neuromancer_example),
# NM_EXAMPLE_MINUTES (training time, default 3), NM_EXAMPLE_SKIP_TRAINING=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir="${NM_EXAMPLE_DIR:-$HOME/neuromancer_example}"
minutes="${NM_EXAMPLE_MINUTES:-3}"
echo "run_example: building the examples and the neuromancer tool (the first build takes a few minutes)"
# Errors still show; progress and per-action info lines do not.
bazel build --noshow_progress --ui_event_filters=-info \
  //examples:cnn3d //examples:neuro3d_train //tools/neuromancer
echo "run_example: running bazel-bin/examples/cnn3d $*"
echo
./bazel-bin/examples/cnn3d "$@"
if [ "${NM_EXAMPLE_SKIP_TRAINING:-0}" = 1 ]; then
  exit 0
fi

echo
if [ -f "$dir/data/raw_2.h5" ]; then
  echo "run_example: using the synthetic data in $dir/data"
else
  echo "run_example: making the small synthetic EM data set in $dir/data"
  ./bazel-bin/tools/neuromancer/neuromancer make-data "$dir/data" --size small --seed 0
fi
echo
echo "run_example: training neuro3d_lite for $minutes minutes on the CPU (seed 0)"
./bazel-bin/examples/neuro3d_train --model neuro3d_lite --data "$dir/data" \
  --save-path "$dir/runs" --max-runtime $((minutes * 60)) --history-freq 50 \
  --lr 0.001 --seed 0
