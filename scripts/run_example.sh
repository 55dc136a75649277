#!/usr/bin/env bash
# Builds and runs the main example: ELEKTRONN2's 3-D CNN, printing its node
# reprs, prediction properties and totals. Installs what is missing first.
#   bash scripts/run_example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "run_example: building //examples:cnn3d (the first build takes a few minutes)"
# Errors still show; progress and per-action info lines do not.
bazel build --noshow_progress --ui_event_filters=-info //examples:cnn3d
echo "run_example: running bazel-bin/examples/cnn3d $*"
echo
./bazel-bin/examples/cnn3d "$@"
