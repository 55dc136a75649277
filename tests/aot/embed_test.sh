#!/usr/bin/env bash
# `neuromancer compile` end to end, the way a user embeds a model:
#   1. neuro3d (saved at 23x185x185) is compiled for --input-shape
#      1,1,17,109,109 (a rebuild to a smaller valid patch, so the test runs
#      in seconds); examples/embed/embed.c is built with the system C
#      compiler against the header, the object and libneuromancer_runtime,
#      run on an HDF5 volume, and its probability map is compared with the
#      JIT's (model.predict) for the same model and input: max abs diff
#      <= 1e-6. Shared and static runtime.
#   2. --params-as-args gives the JIT's own cache entry: loaded from the
#      compile cache with the JIT's key, sections byte-identical; a C
#      program loads the weights by the header's dataset names, calls the
#      packed entry point and matches the JIT too.
#   3. Headers compile with -std=c99 -Wall -Wextra -Werror -pedantic and as
#      C++; two objects of one model link into one program.
#   4. Out of memory: an entry point returns NM_ERROR_OUT_OF_MEMORY when
#      refused (NEUROMANCER_MAX_TEMP_BYTES) or when an allocation fails
#      under a capped address space (out_of_memory.c), and works after.
#   5. Errors: wrong --input-shape (axis and valid sizes), missing model
#      file, unknown function.
set -euo pipefail

NEUROMANCER=tools/neuromancer/neuromancer
NEURO3D=examples/neuro3d
HELPER=tests/aot/aot_helper
EMBED_C=examples/embed/embed.c
HERE=tests/aot
CC=${CC:-cc}
CXX=${CXX:-c++}
HDF5_CFLAGS="-I/usr/include/hdf5/serial"
HDF5_LIBS="-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5"

T=${TEST_TMPDIR:-$(mktemp -d)}
export NEUROMANCER_CACHE_DIR=$T/cache
rm -rf "$NEUROMANCER_CACHE_DIR"
SHAPE=1,1,17,109,109

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== $*"; }

step "model and input"
$NEURO3D --save "$T/neuro3d.h5" > /dev/null
$HELPER input "$T/in.h5" $SHAPE 7

step "JIT reference (model.predict through the compile cache)"
$HELPER jit "$T/neuro3d.h5" "$T/in.h5" "$T/jit.h5" --patch 17,109,109
jit_keys=$(cd "$NEUROMANCER_CACHE_DIR" && ls *.json | sed 's/\.json$//')
[ "$(echo "$jit_keys" | wc -l)" = 1 ] || fail "expected one JIT cache entry, got: $jit_keys"
jit_key=$jit_keys

step "neuromancer compile (frozen parameters)"
$NEUROMANCER compile "$T/neuro3d.h5" --function prediction --input-shape $SHAPE \
  -o "$T/build/neuro3d" | tee "$T/compile.log"
D=$T/build/neuro3d
for f in neuro3d.o neuro3d.h neuromancer_runtime.h libneuromancer_runtime.so \
         libneuromancer_runtime.a; do
  [ -s "$D/$f" ] || fail "compile did not write $f"
done
for f in libneuromancer_runtime.so libneuromancer_runtime.a; do
  cmp "runtime/$f" "$D/$f" || fail "the tool's $f is not the one just built"
done
grep -q "int neuro3d_prediction(const float \*raw, float \*softmax)" "$D/neuro3d.h" \
  || fail "neuro3d.h lacks the entry point"
grep -q "NEURO3D_PREDICTION_RAW_SHAPE {1, 1, 17, 109, 109}" "$D/neuro3d.h" \
  || fail "neuro3d.h lacks the input shape"
grep -q "axes b,f,z,x,y" "$D/neuro3d.h" || fail "neuro3d.h lacks the axis tags"

step "embed.c with the shared runtime: cc app.c neuro3d.o -L... -lneuromancer_runtime"
$CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$D" $HDF5_CFLAGS "$EMBED_C" \
  "$D/neuro3d.o" -L"$D" -lneuromancer_runtime $HDF5_LIBS -Wl,-rpath,"$D" \
  -o "$T/embed"
"$T/embed" "$T/in.h5" "$T/aot.h5"
$HELPER compare "$T/jit.h5" "$T/aot.h5" 1e-6

step "embed.c with the static runtime, one thread"
$CC -std=c99 -Wall -Werror -I"$D" $HDF5_CFLAGS "$EMBED_C" "$D/neuro3d.o" \
  "$D/libneuromancer_runtime.a" $HDF5_LIBS -lstdc++ -lm -pthread \
  -o "$T/embed_static"
if readelf -d "$T/embed_static" | grep -q libneuromancer_runtime; then
  fail "the static build needs libneuromancer_runtime.so"
fi
"$T/embed_static" "$T/in.h5" "$T/aot_static.h5" --threads 1
$HELPER compare "$T/jit.h5" "$T/aot_static.h5" 1e-6

step "--params-as-args: the JIT's function as one object, through the cache"
# The JIT splits LLVM code generation over threads (its entry is an archive
# of objects); ahead of time it is one object, under a key of its own.
$NEUROMANCER compile "$T/neuro3d.h5" --input-shape $SHAPE --params-as-args \
  -o "$T/args0/neuro3d" > /dev/null
$NEUROMANCER compile "$T/neuro3d.h5" --input-shape $SHAPE --params-as-args \
  -o "$T/args/neuro3d" | tee "$T/args.log"
args_key=$(sed -n 's/.*loaded from the compile cache), key \([0-9a-f]*\).*/\1/p' "$T/args.log")
[ -n "$args_key" ] || fail "the second --params-as-args compile did not load from the cache"
[ "$args_key" != "${jit_key:0:16}" ] || fail "the one-object entry has the JIT's key"
if [ "$(nproc)" -gt 1 ]; then
  [ "$(head -c 7 "$(ls "$NEUROMANCER_CACHE_DIR/$jit_key".*.o)")" = '!<arch>' ] \
    || fail "the JIT's entry $jit_key is not an archive of objects"
fi
grep -q "const float \*conv_w" "$T/args/neuro3d/neuro3d.h" \
  || fail "the parameters are not arguments"
grep -q 'NEURO3D_PREDICTION_CONV_W_DATASET "/params/conv/w"' "$T/args/neuro3d/neuro3d.h" \
  || fail "the header does not say where conv_w comes from"
cache_obj=$(ls "$NEUROMANCER_CACHE_DIR/$args_key"*.o)
for s in .text .rodata; do
  objcopy -O binary --only-section=$s "$cache_obj" "$T/cache$s.bin"
  objcopy -O binary --only-section=$s "$T/args/neuro3d/neuro3d.o" "$T/aot$s.bin"
  cmp "$T/cache$s.bin" "$T/aot$s.bin" || fail "section $s differs from the cache's"
done
echo "sections .text and .rodata identical to cache entry $args_key"
$CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$T/args/neuro3d" $HDF5_CFLAGS \
  "$HERE/params_as_args.c" "$T/args/neuro3d/neuro3d.o" -L"$D" \
  -lneuromancer_runtime $HDF5_LIBS -Wl,-rpath,"$D" -o "$T/params_as_args"
"$T/params_as_args" "$T/neuro3d.h5" "$T/in.h5" "$T/args.h5"
$HELPER compare "$T/jit.h5" "$T/args.h5" 1e-6

step "headers in C99 and C++"
for h in "$D/neuro3d.h" "$T/args/neuro3d/neuro3d.h"; do
  dir=$(dirname "$h")
  printf '#include "neuro3d.h"\n#include "neuro3d.h"\nint main(void) { return 0; }\n' \
    > "$T/check.c"
  $CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$dir" -c "$T/check.c" -o "$T/check_c.o"
  $CXX -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -I"$dir" -c "$T/check.c" \
    -o "$T/check_cxx.o"
done
echo "ok"

step "two objects, several functions per object, in one program"
$NEUROMANCER compile "$T/neuro3d.h5" --function prediction_ext --function loss \
  --input-shape $SHAPE --name neuro3d_train -o "$T/build/train"
$CC -std=c99 -Wall -Werror -I"$D" -I"$T/build/train" "$HERE/two_models.c" \
  "$D/neuro3d.o" "$T/build/train/neuro3d_train.o" -L"$D" -lneuromancer_runtime \
  -lm -Wl,-rpath,"$D" -o "$T/two_models"
"$T/two_models"

step "a header and an object of two compiles do not link"
if $CC -std=c99 -I"$D" $HDF5_CFLAGS "$EMBED_C" "$T/args/neuro3d/neuro3d.o" \
    -L"$D" -lneuromancer_runtime $HDF5_LIBS -o "$T/mixed" 2> "$T/mixed.err"; then
  fail "neuro3d.h of one compile linked with the neuro3d.o of another"
fi
grep -q "neuro3d_object_" "$T/mixed.err" || { cat "$T/mixed.err"; fail "the link error does not name the object marker"; }
echo "ok: $(grep -o "undefined reference to .neuro3d_object_[0-9a-f]*." "$T/mixed.err" | head -1)"

step "concurrent compiles into one directory leave one compile's pair"
for trial in 1 2 3; do
  $NEUROMANCER compile "$T/neuro3d.h5" --function prediction --input-shape $SHAPE \
    -o "$T/race/neuro3d" > /dev/null &
  $NEUROMANCER compile "$T/neuro3d.h5" --function prediction --input-shape $SHAPE \
    --params-as-args -o "$T/race/neuro3d" > /dev/null &
  wait
  leftovers=$(ls -A "$T/race/neuro3d" | grep -c '\.tmp\.' || true)
  [ "$leftovers" = 0 ] || fail "temporaries left behind: $(ls -A "$T/race/neuro3d")"
  printf '#include "neuro3d.h"\nint main(void) { return 0; }\n' > "$T/race.c"
  $CC -std=c99 -I"$T/race/neuro3d" "$T/race.c" "$T/race/neuro3d/neuro3d.o" \
    -L"$D" -lneuromancer_runtime -Wl,-rpath,"$D" -o "$T/race_app" \
    || fail "trial $trial left a header and an object of different compiles"
done
echo "ok"

step "out of memory: refused over NEUROMANCER_MAX_TEMP_BYTES, failed allocations"
$CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$D" "$HERE/out_of_memory.c" \
  "$D/neuro3d.o" -L"$D" -lneuromancer_runtime -Wl,-rpath,"$D" \
  -o "$T/out_of_memory"
"$T/out_of_memory"
grep -q "NM_ERROR_OUT_OF_MEMORY" "$D/neuro3d.h" \
  || fail "neuro3d.h does not list NM_ERROR_OUT_OF_MEMORY"
if NEUROMANCER_MAX_TEMP_BYTES=64K "$T/embed" "$T/in.h5" "$T/oom.h5" \
    2> "$T/oom.err"; then
  fail "embed ran under a 64K limit"
fi
grep -q "neuro3d_prediction failed: out of memory" "$T/oom.err" \
  || fail "embed under a 64K limit: $(cat "$T/oom.err")"

step "errors"
expect_error() { # expect_error PATTERN ARGS...
  local pattern=$1; shift
  if $NEUROMANCER compile "$@" > "$T/err.out" 2>&1; then
    fail "compile $* succeeded"
  fi
  cat "$T/err.out"
  grep -q -- "$pattern" "$T/err.out" || fail "no '$pattern' in the message"
}
expect_error "size 184 of axis 'x' (axis 3 of input 'raw', b,f,z,x,y)" \
  "$T/neuro3d.h5" --input-shape 1,1,23,184,185 -o "$T/bad"
expect_error "nearest valid sizes are 181 and 185; valid sizes on 'x' are 105 + 4\*k" \
  "$T/neuro3d.h5" --input-shape 1,1,23,184,185 -o "$T/bad"
expect_error "axis 'f' of input 'raw' has size 1 in the model" \
  "$T/neuro3d.h5" --input-shape 1,3,23,185,185 -o "$T/bad"
expect_error "has 4 sizes; input 'raw' has 5 axes" \
  "$T/neuro3d.h5" --input-shape 1,23,185,185 -o "$T/bad"
expect_error "unknown (None) size on axis 'b'" "$T/neuro3d.h5" -o "$T/bad"
expect_error "file '$T/missing.h5' does not exist" "$T/missing.h5" -o "$T/bad"
expect_error "unknown function 'nope': expected prediction, prediction_ext, loss or a node name" \
  "$T/neuro3d.h5" --function nope --input-shape $SHAPE -o "$T/bad"
expect_error "--cpu 'skylakx' is not a CPU LLVM knows" \
  "$T/neuro3d.h5" --input-shape $SHAPE --cpu skylakx -o "$T/bad"
expect_error "closest: skylake" \
  "$T/neuro3d.h5" --input-shape $SHAPE --cpu skylakx -o "$T/bad"
[ ! -e "$T/bad" ] || fail "a failed compile left $T/bad behind"

echo; echo "PASS"
