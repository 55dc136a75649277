#!/usr/bin/python3
"""PyTorch side of bench/cnn_bench: the same conv stack with random weights.

Called by cnn_bench (one process per workload and thread count):

    /usr/bin/python3 bench/torch_bench.py --threads 2 --reps 5 \
        --input 1x1x23x185x185 --layers '20:1,6,6:1,2,2:relu;...;2:1,1,1:1,1,1:lin'

Each layer is Conv3d (bias) -> ReLU (unless lin) -> max_pool3d, then softmax
over channels. The model runs under torch.no_grad with oneDNN's blocked
layout (torch.utils.mkldnn.to_mkldnn, no reorders between layers; the input
reorder and the final to_dense are timed); if that fails, channels_last_3d.
Prints one line: TORCH_RESULT <variant> <version> <median> <min> <max> <load>
(seconds; load = mean cores used by other processes), or TORCH_SKIP <why>.
"""
import argparse
import os
import statistics
import sys
import time


def cpu_sample():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    t = os.times()
    tick = os.sysconf("SC_CLK_TCK")
    return time.perf_counter(), busy / tick, t.user + t.system


def other_load(a, b):
    wall = b[0] - a[0]
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / wall) if wall > 0 else 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--input", required=True)
    p.add_argument("--layers", required=True)
    p.add_argument("--variant", default="to_mkldnn",
                   choices=["to_mkldnn", "channels_last_3d", "ncdhw"])
    a = p.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print("TORCH_SKIP python3-torch is not installed (%s)" % e)
        return 0

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    shape = [int(x) for x in a.input.split("x")]
    layers = []
    c = shape[1]
    for spec in a.layers.split(";"):
        f, k, pool, act = spec.split(":")
        f = int(f)
        k = tuple(int(x) for x in k.split(","))
        pool = tuple(int(x) for x in pool.split(","))
        conv = torch.nn.Conv3d(c, f, k, bias=True).eval()
        layers.append((conv, pool, act == "relu"))
        c = f
    x0 = torch.rand(shape)

    def build(variant):
        convs = [l[0] for l in layers]
        if variant == "to_mkldnn":
            from torch.utils import mkldnn as mkldnn_utils
            convs = [mkldnn_utils.to_mkldnn(m) for m in convs]
        elif variant == "channels_last_3d":
            convs = [m.to(memory_format=torch.channels_last_3d) for m in convs]

        def forward(x):
            if variant == "to_mkldnn":
                x = x.to_mkldnn()
            elif variant == "channels_last_3d":
                x = x.contiguous(memory_format=torch.channels_last_3d)
            for conv, (_, pool, relu) in zip(convs, layers):
                x = conv(x)
                if relu:
                    x = torch.relu(x)
                if pool != (1, 1, 1):
                    x = F.max_pool3d(x, pool, pool)
            if variant == "to_mkldnn":
                x = x.to_dense()
            return torch.softmax(x, 1)
        return forward

    variants = [a.variant] + [v for v in ("channels_last_3d", "ncdhw")
                              if v != a.variant]
    with torch.no_grad():
        for variant in variants:
            try:
                fwd = build(variant)
                for _ in range(a.warmup):
                    fwd(x0)
            except Exception as e:  # unsupported op in this variant
                print("variant %s failed: %s" % (variant, e), file=sys.stderr)
                continue
            times, load = [], 0.0
            for _ in range(a.reps):
                s0 = cpu_sample()
                fwd(x0)
                s1 = cpu_sample()
                times.append(s1[0] - s0[0])
                load += other_load(s0, s1) / a.reps
            print("TORCH_RESULT %s %s %.6f %.6f %.6f %.3f" % (
                variant, torch.__version__.split("+")[0],
                statistics.median(times), min(times), max(times), load))
            return 0
    print("TORCH_SKIP no variant ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
