#!/bin/bash
# Runs every lit test under tests/lit with tools built by Bazel.
# Usage (from sh_test): run_lit.sh <tests dir> <tool>...
# Each tool's directory goes on the tests' PATH. When Bazel asks for a JUnit
# file (XML_OUTPUT_FILE), lit writes one entry per test into it.
set -euo pipefail
tests="$1"
shift
dirs=""
for tool in "$@"; do
  dirs="${dirs:+$dirs:}$(cd "$(dirname "$tool")" && pwd)"
done
xml=()
if [ -n "${XML_OUTPUT_FILE:-}" ]; then
  xml=(--xunit-xml-output "$XML_OUTPUT_FILE")
fi
exec /usr/lib/llvm-22/bin/lit -v "${xml[@]}" \
  --param tool_dirs="$dirs" \
  --param exec_root="${TEST_TMPDIR:-/tmp}/lit" \
  "$tests"
