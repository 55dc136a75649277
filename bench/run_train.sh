#!/usr/bin/env bash
# One neuro3d training step (Adam, batch 1, 1x1x23x185x185) through
# model.trainingstep at 1 and 2 threads, side by side with PyTorch (Debian
# python3-torch, when installed) and oneDNN 2.6 called directly (Debian
# libdnnl-dev, installed when missing) in one run. First checks oneDNN's
# loss and gradients against neuromancer's (CHECK line; exit status 1 when
# they differ); per thread count ends with
#   RATIO train threads=<n> neuromancer/torch=<time ratio>
#   RATIO train threads=<n> neuromancer/onednn=<time ratio>
#
#   bash bench/run_train.sh                 # 5 steps per thread count
#   bash bench/run_train.sh --reps 2        # smoke run
#   bash bench/run_train.sh --reps 7 --threads 2 --no-torch --no-onednn
#   bash bench/run_train.sh --layers        # per-layer forward/backward tables
#
# The output is also written to $NM_BENCH_LOG (default
# /tmp/neuromancer-train-bench.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash bench/install_dnnl.sh
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "bench: python3-torch is not installed; PyTorch is skipped (apt-get install python3-torch to include it)"
fi
bazel build //bench:train_bench
log="${NM_BENCH_LOG:-/tmp/neuromancer-train-bench.txt}"
{
  if git rev-parse --git-dir >/dev/null 2>&1; then
    echo "source: commit $(git rev-parse --short HEAD), $(git status --porcelain --untracked-files=no | wc -l) modified tracked files"
  fi
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  ./bazel-bin/bench/train_bench --torch-script bench/torch_train.py "$@" 2>&1
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$log"
exit "${PIPESTATUS[0]}"
