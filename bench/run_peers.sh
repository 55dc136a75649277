#!/usr/bin/env bash
# What the side-by-side benchmarks share: installs what is missing
# (scripts/setup.sh, libdnnl-dev), notes when PyTorch is absent, builds the
# benchmark, and runs it with the commit, the load average before and after,
# and its output copied to LOG.
#   bash bench/run_peers.sh TARGET TORCH_SCRIPT LOG [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
target="$1" torch_script="$2" log="$3"
shift 3
bash scripts/setup.sh
bash bench/install_dnnl.sh
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "bench: python3-torch is not installed; PyTorch is skipped (apt-get install python3-torch to include it)"
fi
bazel build "//bench:$target"
{
  if git rev-parse --git-dir >/dev/null 2>&1; then
    echo "source: commit $(git rev-parse --short HEAD), $(git status --porcelain --untracked-files=no | wc -l) modified tracked files"
  fi
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "./bazel-bin/bench/$target" --torch-script "$torch_script" "$@" 2>&1
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$log"
exit "${PIPESTATUS[0]}"
