#!/usr/bin/env bash
# The CPU benchmark of issue 6 in one command: builds //bench:cnn_bench and
# runs, in one process, neuromancer side by side with oneDNN (and PyTorch where
# Debian's python3-torch is installed) on the seed 3-D CNN, neuro3d and
# neuro3d at prediction size, at 1 and 2 threads. Ends with one line per
# workload and thread count:
#   RATIO <workload> threads=<n> neuromancer/onednn=<time ratio>
#
#   bash bench/run.sh            # everything (about 10 minutes when quiet)
#   bash bench/run.sh --quick    # smoke run: neuro3d only, 3 reps
#   bash bench/run.sh --workloads seed --threads 2 --reps 7 --no-torch ...
#
# Installs what is missing (scripts/setup.sh, libdnnl-dev) as root. The full
# output is also written to $NM_BENCH_LOG (default /tmp/neuromancer-bench.txt).
set -euo pipefail
exec bash "$(dirname "$0")/run_peers.sh" cnn_bench bench/torch_bench.py \
  "${NM_BENCH_LOG:-/tmp/neuromancer-bench.txt}" "$@"
