#!/usr/bin/python3
"""PyTorch side of bench/train_bench: one neuro3d training step with Adam.

    /usr/bin/python3 bench/torch_train.py --threads 2 --reps 5 --z 23 --xy 185

The network of examples/neuro3d.py (Conv3d + ReLU + max_pool3d, a linear last
layer, softmax + NLL over every voxel) trained on one random batch, NCDHW
float32 or channels_last_3d (--variant; PyTorch 1.13's oneDNN blocked
tensors are inference only). Each timed step: forward, loss, backward,
Adam update. Prints: TORCH_RESULT <variant> <version> <median> <min> <max>
<peak_rss_mib> (seconds), or TORCH_SKIP <why>.
"""
import argparse
import resource
import statistics
import sys
import time

# (n_f, filter, pool) of examples/neuro3d.py; the last layer is linear.
LAYERS = [(20, (1, 6, 6), (1, 2, 2)), (30, (1, 5, 5), (1, 2, 2)),
          (40, (1, 5, 5), (1, 1, 1)), (80, (4, 4, 4), (2, 1, 1)),
          (100, (3, 4, 4), (1, 1, 1)), (100, (3, 4, 4), (1, 1, 1)),
          (150, (2, 4, 4), (1, 1, 1)), (200, (1, 4, 4), (1, 1, 1)),
          (200, (1, 4, 4), (1, 1, 1)), (200, (1, 1, 1), (1, 1, 1)),
          (2, (1, 1, 1), (1, 1, 1))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--z", type=int, default=23)
    p.add_argument("--xy", type=int, default=185)
    p.add_argument("--variant", default="ncdhw",
                   choices=["ncdhw", "channels_last_3d"])
    a = p.parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        print("TORCH_SKIP python3-torch is not installed (%s)" % e)
        return 0
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    mods = []
    c = 1
    for i, (f, k, pool) in enumerate(LAYERS):
        mods.append(nn.Conv3d(c, f, k))
        if pool != (1, 1, 1):
            mods.append(nn.MaxPool3d(pool))
        if i + 1 < len(LAYERS):
            mods.append(nn.ReLU())
        c = f
    net = nn.Sequential(*mods)
    x = torch.rand(1, 1, a.z, a.xy, a.xy)
    if a.variant == "channels_last_3d":
        net = net.to(memory_format=torch.channels_last_3d)
        x = x.to(memory_format=torch.channels_last_3d)
    with torch.no_grad():
        out_shape = net(x).shape
    t = torch.randint(0, 2, (out_shape[0],) + tuple(out_shape[2:]))
    opt = torch.optim.Adam(net.parameters(), lr=5e-4, betas=(0.9, 0.999),
                           eps=1e-5)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), t)
        loss.backward()
        opt.step()
        return loss

    step()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("TORCH_RESULT %s %s %.4f %.4f %.4f %.0f" % (
        a.variant, torch.__version__, statistics.median(times), min(times), max(times),
        rss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
