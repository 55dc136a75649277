#!/usr/bin/env bash
# `neuromancer compile --dense` end to end, the way a user streams a volume
# through an AOT object with no compiler around:
#   1. the small model of the CLI tests (tests/predict/TinyModel.cpp:
#      strides (2, 4, 4), fov (3, 8, 8)) is compiled densely for a tile of
#      (4, 16, 12); the header's FOV, OFFSETS and NUM_LABELS macros equal
#      the model's (read through the library), TILE is the tile and
#      INPUT_BOX = tile + fov - 1.
#   2. examples/embed/stream_dense.c, built with the system C compiler,
#      streams the (10, 40, 40) volume (no axis a multiple of the tile, so
#      every axis has a shifted last block) and a (3, 40, 40) one (smaller
#      than the tile in z); its output equals predict_dense(raw,
#      {.pad_raw = true}) of the same model file within 1e-5 relative, on
#      1 and 2 threads; a different volume does not (the check can fail).
#   3. a model with stride 1 (no pooling) compiles and streams the same way.
#   4. --classes/--as-uint8 change the entry point's output (uint8_t, the
#      selected classes); stream_dense.c built with -DSTREAM_OUTPUT_UINT8
#      streams the uint8 entry point to predict_dense's as_uint8 (within one
#      step); bad classes and the options without --dense are refused.
set -euo pipefail

NEUROMANCER=tools/neuromancer/neuromancer
TINY=tests/predict/tiny_model
HELPER=tests/aot/aot_helper
STREAM_C=examples/embed/stream_dense.c
CC=${CC:-cc}
HDF5_CFLAGS="-I/usr/include/hdf5/serial"
HDF5_LIBS="-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5"

T=${TEST_TMPDIR:-$(mktemp -d)}
export NEUROMANCER_CACHE_DIR=$T/cache
rm -rf "$NEUROMANCER_CACHE_DIR"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== $*"; }

step "model, volumes, references (predict_dense with pad_raw)"
$TINY "$T/model.h5" "$T/raw.h5" 2> /dev/null
$HELPER input "$T/small.h5" 3,40,40 5
$HELPER input "$T/other.h5" 10,40,40 9
for v in raw small; do
  $HELPER dense "$T/model.h5" "$T/$v.h5" "$T/$v.ref.h5" 2> /dev/null
done

step "neuromancer compile --dense --tile 4,16,12"
$NEUROMANCER compile "$T/model.h5" --dense --tile 4,16,12 -o "$T/build/tiny" \
  2> /dev/null | tee "$T/compile.log"
D=$T/build/tiny
H=$D/tiny.h
grep -q "compiled tiny_prediction_dense" "$T/compile.log" \
  || fail "the entry point is not tiny_prediction_dense"
grep -q "int tiny_prediction_dense(const float \*raw, float \*softmax)" "$H" \
  || fail "tiny.h lacks the entry point"

step "the header's geometry is the model's"
$HELPER geometry "$T/model.h5" 2> /dev/null > "$T/geometry"
cat "$T/geometry"
fov=$(sed -n 's/^fov //p' "$T/geometry")
offsets=$(sed -n 's/^offsets //p' "$T/geometry")
labels=$(sed -n 's/^labels //p' "$T/geometry")
[ "$fov" = "{3, 8, 8}" ] || fail "the model's fov is $fov, not the tiny model's"
expect_macro() { # expect_macro NAME VALUE
  local line="#define TINY_PREDICTION_DENSE_$1 $2"
  grep -qxF "$line" "$H" || fail "tiny.h lacks '$line': $(grep "DENSE_$1 " "$H")"
  echo "$line"
}
expect_macro FOV "$fov"
expect_macro OFFSETS "$offsets"
expect_macro NUM_LABELS "$labels"
expect_macro TILE "{4, 16, 12}"
# tile + fov - 1
expect_macro INPUT_BOX "{6, 23, 19}"
expect_macro INPUT0_SHAPE "TINY_PREDICTION_DENSE_RAW_SHAPE"
expect_macro RAW_SHAPE "{1, 1, 6, 23, 19}"
expect_macro SOFTMAX_SHAPE "{1, $labels, 4, 16, 12}"

step "stream_dense.c, built with the system cc"
$CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$D" $HDF5_CFLAGS \
  -DSTREAM_HEADER='"tiny.h"' '-DSTREAM(x)=TINY_PREDICTION_DENSE_##x' \
  -DSTREAM_ENTRY=tiny_prediction_dense "$STREAM_C" "$D/tiny.o" -L"$D" \
  -lneuromancer_runtime $HDF5_LIBS -Wl,-rpath,"$D" -o "$T/stream_dense"

step "streamed = predict_dense(pad_raw) on volumes that are no multiple of the tile"
for v in raw small; do
  for threads in 1 2; do
    "$T/stream_dense" "$T/$v.h5" "$T/$v.$threads.h5" --threads $threads
    $HELPER compare "$T/$v.ref.h5" "$T/$v.$threads.h5" 1e-5 relative
  done
done
grep -q "36 blocks of (4, 16, 12) over (10, 40, 40)" <("$T/stream_dense" \
  "$T/raw.h5" "$T/again.h5") || fail "not 3 x 3 x 4 blocks over (10, 40, 40)"

step "the comparison sees a different volume"
"$T/stream_dense" "$T/other.h5" "$T/other.out.h5"
if $HELPER compare "$T/raw.ref.h5" "$T/other.out.h5" 1e-5 relative; then
  fail "the prediction of another volume passed the comparison"
fi

step "a stride-1 model: densifying changes nothing, streaming still works"
$HELPER flat "$T/flat.h5" 2> /dev/null
$HELPER dense "$T/flat.h5" "$T/raw.h5" "$T/flat.ref.h5" 2> /dev/null
$NEUROMANCER compile "$T/flat.h5" --dense --tile 3,16,16 --name flat \
  -o "$T/build/flat" 2> /dev/null
grep -qxF "#define FLAT_PREDICTION_DENSE_STRIDES {1, 1, 1}" "$T/build/flat/flat.h" \
  || fail "the flat model has strides"
grep -qxF "#define FLAT_PREDICTION_DENSE_INPUT_BOX {5, 20, 20}" "$T/build/flat/flat.h" \
  || fail "the flat model's box is not tile + (3, 5, 5) - 1"
$CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$T/build/flat" $HDF5_CFLAGS \
  -DSTREAM_HEADER='"flat.h"' '-DSTREAM(x)=FLAT_PREDICTION_DENSE_##x' \
  -DSTREAM_ENTRY=flat_prediction_dense "$STREAM_C" "$T/build/flat/flat.o" \
  -L"$D" -lneuromancer_runtime $HDF5_LIBS -Wl,-rpath,"$D" -o "$T/stream_flat"
"$T/stream_flat" "$T/raw.h5" "$T/flat.out.h5"
$HELPER compare "$T/flat.ref.h5" "$T/flat.out.h5" 1e-5 relative

step "--classes 1 --as-uint8: the output epilogue in the entry point"
$NEUROMANCER compile "$T/model.h5" --dense --tile 4,16,12 --classes 1 \
  --as-uint8 --name bytes -o "$T/build/bytes" 2> /dev/null
B=$T/build/bytes/bytes.h
grep -q "int bytes_prediction_dense(const float \*raw, uint8_t \*softmax)" "$B" \
  || fail "bytes.h: $(grep "int bytes_prediction_dense(" "$B")"
for line in "NUM_LABELS 1" "CLASSES {1}" "SOFTMAX_SHAPE {1, 1, 4, 16, 12}"; do
  grep -qxF "#define BYTES_PREDICTION_DENSE_$line" "$B" || fail "bytes.h lacks $line"
done
$NEUROMANCER compile "$T/model.h5" --dense --tile 4,16,12 --as-uint8 \
  --name bytes -o "$T/build/bytes8" 2> /dev/null
$CC -std=c99 -Wall -Wextra -Werror -pedantic -I"$T/build/bytes8" $HDF5_CFLAGS \
  -DSTREAM_OUTPUT_UINT8 -DSTREAM_HEADER='"bytes.h"' \
  '-DSTREAM(x)=BYTES_PREDICTION_DENSE_##x' -DSTREAM_ENTRY=bytes_prediction_dense \
  "$STREAM_C" "$T/build/bytes8/bytes.o" -L"$D" -lneuromancer_runtime $HDF5_LIBS \
  -Wl,-rpath,"$D" -o "$T/stream_bytes"
"$T/stream_bytes" "$T/raw.h5" "$T/raw.bytes.h5"
$HELPER dense "$T/model.h5" "$T/raw.h5" "$T/raw.ref8.h5" uint8 2> /dev/null
# One step apart at most where the two computations' last bits differ.
$HELPER compare "$T/raw.ref8.h5" "$T/raw.bytes.h5" 1
if $NEUROMANCER compile "$T/model.h5" --dense --tile 4,16,12 --classes 0,$labels \
  -o "$T/build/bad" 2> "$T/err"; then
  fail "compiled class $labels of $labels"
fi
grep -q "class $labels does not exist" "$T/err" || fail "$(cat "$T/err")"
if $NEUROMANCER compile "$T/model.h5" --as-uint8 -o "$T/build/bad" 2> "$T/err"; then
  fail "--as-uint8 without --dense accepted"
fi
grep -q "add --dense" "$T/err" || fail "$(cat "$T/err")"

step "stream_dense refuses what it cannot read"
if "$T/stream_dense" "$T/raw.h5" "$T/x.h5" --input-dataset nope 2> "$T/err"; then
  fail "stream_dense read a missing dataset"
fi
grep -q "has no dataset 'nope'" "$T/err" || fail "$(cat "$T/err")"

echo; echo "PASS"
