#!/usr/bin/env bash
# Builds and runs the main example: ELEKTRONN2's 3-D CNN, printing its node
# reprs, prediction properties and totals. Installs what is missing first.
#   bash scripts/run_example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bazel build //examples:cnn3d
./bazel-bin/examples/cnn3d "$@"
