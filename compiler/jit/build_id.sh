#!/usr/bin/env bash
# Prints the compiler's build id: a hash over the path and contents of every
# file given, in sorted path order, so the id changes with any source of
# core/, dialect/ or compiler/ that can change generated code and with
# nothing else. //compiler/jit:build_id runs it over those packages'
# `sources` filegroups; //tests/jit:build_id_test runs it over an edited
# copy. Paths are taken relative to the first argument (a root directory).
#   build_id.sh ROOT FILE...
set -euo pipefail
root=$1
shift
cd "$root"
printf '%s\n' "$@" | LC_ALL=C sort -u | while IFS= read -r f; do
  printf '%s\0' "$f"
  sha256sum < "$f" | cut -c1-64
done | sha256sum | cut -c1-32
