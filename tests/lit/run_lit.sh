#!/bin/bash
# Runs every lit test under tests/lit with the nm-opt built by Bazel.
# Usage (from sh_test): run_lit.sh <path to nm-opt> <tests dir>
set -euo pipefail
nm_opt="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
exec /usr/lib/llvm-22/bin/lit -v \
  --param nm_opt="$nm_opt" \
  --param exec_root="${TEST_TMPDIR:-/tmp}/lit" \
  "$2"
