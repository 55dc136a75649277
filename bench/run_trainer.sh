#!/usr/bin/env bash
# The trainer loop's own overhead (issue 21): neuro3d_lite trained by
# nm::Trainer on the small synthetic EM set for a fixed number of steps with
# background batch workers, ELEKTRONN2's neuro3d.py settings otherwise.
# Prints the time of the training steps and, apart, what the loop adds:
# waiting for batches, bookkeeping (timeline, schedules, logging) and
# checkpoint writes ("overhead ... % of the step time"; goal <= 5 %), then
# the monitor and pictures, which are reported separately.
#   bash bench/run_trainer.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-400}"
bash scripts/setup.sh >/dev/null
bazel build --noshow_progress --ui_event_filters=-info //examples:neuro3d_train //tools/neuromancer
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
./bazel-bin/tools/neuromancer/neuromancer make-data "$work/data" --size small --seed 0 >/dev/null
echo "trainer_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
./bazel-bin/examples/neuro3d_train --model neuro3d_lite --data "$work/data" \
  --save-path "$work/runs" --n-steps "$steps" --history-freq 100 --lr 0.001 \
  --eval-slices 4 | grep -E "^Loop timings|^Validation"
