#!/usr/bin/env bash
# The compile cache's build id covers every source that can change generated
# code: the id of a copy of the sources equals the one compiled in
# (BuildId.h); editing one geometry rule (core/), one verifier (dialect/),
# one lowering rule (compiler/conversion) or the code generator gives a new
# id each time; undoing the edit gives the first id back.
#   build_id_test.sh BUILD_ID_SH BUILD_ID_H SOURCE...
set -euo pipefail
script=$1
header=$2
shift 2
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
for f in "$@"; do
  mkdir -p "$copy/$(dirname "$f")"
  cp "$f" "$copy/$f"
done
id() { bash "$script" "$copy" "$@"; }

original=$(id "$@")
[[ $original =~ ^[0-9a-f]{32}$ ]] || fail "malformed id '$original'"
grep -q "\"$original\"" "$header" ||
  fail "BuildId.h ($(cat "$header")) is not the id of its sources ($original)"

# Edits one line of the first file matching the glob and checks that the id
# differs from every id seen so far, then undoes the edit.
seen=("$original")
edit_changes_id() {
  local pattern=$1 file edited s
  shift
  file=$(cd "$copy" && ls $pattern 2>/dev/null | head -n 1)
  [[ -n $file ]] || fail "no source matches $pattern"
  cp "$copy/$file" "$copy/$file.orig"
  # The first `return` of the file: a rule's result.
  sed -i '0,/return /s/return /return 1 + /' "$copy/$file"
  cmp -s "$copy/$file" "$copy/$file.orig" && fail "could not edit $file"
  edited=$(id "$@")
  for s in "${seen[@]}"; do
    [[ $edited != "$s" ]] || fail "editing $file left the id at $s"
  done
  seen+=("$edited")
  mv "$copy/$file.orig" "$copy/$file"
  echo "edited $file: $original -> $edited"
}

edit_changes_id "core/Geometry.cpp" "$@"
edit_changes_id "dialect/IR/NmOps.cpp" "$@"
edit_changes_id "compiler/conversion/*.cpp" "$@"
edit_changes_id "compiler/codegen/*.cpp" "$@"
[[ $(id "$@") == "$original" ]] || fail "restoring the sources did not restore the id"

# Files outside the id's inputs (the frontend, the runtime) do not count.
printf '// unrelated\n' > "$copy/unrelated.cpp"
[[ $(id "$@") == "$original" ]] || fail "a file not listed changed the id"
echo "PASS: build id $original"
