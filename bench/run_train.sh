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
exec bash "$(dirname "$0")/run_peers.sh" train_bench bench/torch_train.py \
  "${NM_BENCH_LOG:-/tmp/neuromancer-train-bench.txt}" "$@"
