#!/usr/bin/env bash
# ELEKTRONN2's two documented predict_dense examples (reference §5.1):
# block counts, log lines and output shapes.
set -euo pipefail
EXAMPLE=examples/predict_dense
T=${TEST_TMPDIR:-$(mktemp -d)}
export NEUROMANCER_CACHE_DIR=$T/cache
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # expect LOG TEXT
  grep -qF -- "$2" "$1" || { cat "$1"; fail "no '$2' in the output"; }
}

"$EXAMPLE" neuro3d > "$T/neuro3d.log" 2>&1
expect "$T/neuro3d.log" "Predicting img (1, 32, 160, 160) in 2 Blocks: (2, 1, 1)"
expect "$T/neuro3d.log" " Inference speed: "
expect "$T/neuro3d.log" "prediction (2, 18, 56, 56) float32"

"$EXAMPLE" cnn3d-mfp > "$T/mfp.log" 2>&1
expect "$T/mfp.log" "patch_size (23) changed to (22) (size not possible)"
expect "$T/mfp.log" "[(1,b), (5,f), (14,z), (156,x), (156,y)]"
expect "$T/mfp.log" "fov=[9, 27, 27], offsets=[4, 13, 13], strides=[1 1 1], spatial shape=[14, 156, 156]"
expect "$T/mfp.log" "Predicting img (3, 58, 326, 326) in 16 Blocks: (4, 2, 2)"
expect "$T/mfp.log" "prediction (5, 50, 300, 300) float32"
echo PASS
