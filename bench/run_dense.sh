#!/usr/bin/env bash
# The dense-prediction benchmark of issue 18 in one command: builds
# //bench:dense_bench and runs, in one process, neuro3d (fixed random
# weights) predicting a random (1, 48, 300, 300) volume densely with
# pad_raw the way `neuromancer predict` does (densify_stream: its blocks,
# without the files), by predict_dense's densify, mfp and stitch strategies
# (ELEKTRONN2's tiles) and by PyTorch (Debian python3-torch, when installed:
# the hand-written dilated network on the same blocks and on ELEKTRONN2's
# tiles, and ELEKTRONN2-style stitching), at 1 and 2 threads. Ends with
#   RATIO dense threads=<n> neuromancer_densify_stream/<peer>=<time ratio>
#
#   bash bench/run_dense.sh                      # the issue's setting
#   bash bench/run_dense.sh --quick              # smoke run: one tile, 1 thread,
#                                                # densify and stitch (minutes)
#   bash bench/run_dense.sh --threads 2 --strategies densify,stitch --no-torch
#   bash bench/run_dense.sh --torch-variants dilated_stream,dilated   # skip the
#       # slow PyTorch stitching
#   bash bench/run_dense.sh --memory-line [--volume 1024,1024,1024] [--budget 512M]
#       # instead: `neuromancer predict` of a small model on a uint8 volume
#       # (default about 1 GiB) under --memory, and its peak RSS:
#       #   MEMORY peak_rss=<MiB> budget=<MiB> limit=<budget + 10 %> ok|OVER
#
# The full output is also written to $NM_BENCH_LOG (default
# /tmp/neuromancer-dense-bench.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--memory-line" ]; then
  shift
  volume=1024,1024,1024
  budget=512M
  while [ $# -gt 0 ]; do
    case "$1" in
      --volume) volume="$2"; shift 2 ;;
      --budget) budget="$2"; shift 2 ;;
      *) echo "run_dense.sh: unknown argument $1" >&2; exit 2 ;;
    esac
  done
  bazel build ${BAZEL_FLAGS:-} //tools/neuromancer //tests/predict:tiny_model
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
  ./bazel-bin/tests/predict/tiny_model "$dir/model.h5" "$dir/raw.h5" --big "$volume"
  NEUROMANCER_LOG_LEVEL=warning /usr/bin/time -v -o "$dir/time" \
    ./bazel-bin/tools/neuromancer/neuromancer predict "$dir/model.h5" "$dir/raw.h5:big" \
    -o "$dir/out.h5" --as-uint8 --memory "$budget"
  rss_kib=$(awk -F: '/Maximum resident/ {print $2 + 0}' "$dir/time")
  budget_mib=$(numfmt --from=iec "$budget" | awk '{printf "%d", $1 / 1048576}')
  awk -v r="$rss_kib" -v b="$budget_mib" 'BEGIN {
    limit = b * 1.1; mib = r / 1024;
    printf "MEMORY peak_rss=%.0f budget=%d limit=%.0f %s\n", mib, b, limit, mib <= limit ? "ok" : "OVER" }'
  exit 0
fi
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
