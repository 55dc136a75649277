#!/usr/bin/env bash
# The dense-prediction benchmark of issue 18 in one command: builds
# //bench:dense_bench and runs, in one process, neuro3d (fixed random
# weights) predicting a random (1, 48, 300, 300) volume densely with
# pad_raw by neuromancer's densify, mfp and stitch strategies and by PyTorch
# (Debian python3-torch, when installed: the hand-written dilated network and
# ELEKTRONN2-style stitching), at 1 and 2 threads. Ends with
#   RATIO dense threads=<n> neuromancer/<peer>=<densify time / peer time>
#
#   bash bench/run_dense.sh                      # the issue's setting
#   bash bench/run_dense.sh --quick              # smoke run: one tile, 1 thread,
#                                                # densify and stitch (minutes)
#   bash bench/run_dense.sh --threads 2 --strategies densify,stitch --no-torch
#
# The full output is also written to $NM_BENCH_LOG (default
# /tmp/neuromancer-dense-bench.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for a in "$@"; do
  if [ "$a" = "--quick" ]; then
    args+=(--shape 1,8,40,40 --threads 1 --strategies densify,stitch)
  else
    args+=("$a")
  fi
done
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "bench: python3-torch is not installed; PyTorch is skipped (apt-get install python3-torch to include it)"
fi
bazel build ${BAZEL_FLAGS:-} //bench:dense_bench
log="${NM_BENCH_LOG:-/tmp/neuromancer-dense-bench.txt}"
{
  if git rev-parse --git-dir >/dev/null 2>&1; then
    echo "source: commit $(git rev-parse --short HEAD), $(git status --porcelain --untracked-files=no | wc -l) modified tracked files"
  fi
  ./bazel-bin/bench/dense_bench --torch-script bench/torch_dense.py "${args[@]}" 2>&1
} | tee "$log"
exit "${PIPESTATUS[0]}"
