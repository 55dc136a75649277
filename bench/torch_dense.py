#!/usr/bin/python3
"""PyTorch side of bench/dense_bench: dense prediction of the same network.

Called by dense_bench once per thread count:

    /usr/bin/python3 bench/torch_dense.py --threads 2 --shape 1,48,300,300 \
        --patch 23,185,185 --strides 2,4,4 --offsets 7,52,52 \
        --layers '20:1,6,6:1,2,2:relu;...;2:1,1,1:1,1,1:lin'

Random weights of the same shapes; the volume mirrored (numpy 'symmetric')
by the offsets and cut into ELEKTRONN2's tiles (patch + strides - 1). The
variants, each timed over the whole volume after one warm-up tile:
  dilated_stream (with --stream-tile): the dilated network on
           `neuromancer predict`'s blocks of that many dense voxels;
  dilated: the hand-written dilated equivalent network (every max-pool with
           stride 1 and the dilation of the strides before it, every later
           conv dilated likewise), one call per tile;
  stitch:  ELEKTRONN2's strategy, prod(strides) calls of the strided network
           per tile, interleaved.
Prints TORCH_DENSE <variant> <seconds>, or TORCH_SKIP <why>.
"""
import argparse
import itertools
import time


def ints(text):
    return [int(x) for x in text.split(",")]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shape", type=ints, required=True)
    p.add_argument("--patch", type=ints, required=True)
    p.add_argument("--strides", type=ints, required=True)
    p.add_argument("--offsets", type=ints, required=True)
    p.add_argument("--stream-tile", type=ints, default=None)
    p.add_argument("--variants", default="dilated_stream,dilated,stitch")
    p.add_argument("--layers", required=True)
    a = p.parse_args()
    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print("TORCH_SKIP python3-torch is not installed (%s)" % e)
        return 0
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    layers, c = [], a.shape[0]
    for spec in a.layers.split(";"):
        f, k, pool, act = spec.split(":")
        w = torch.randn(int(f), c, *ints(k)) * 0.05
        layers.append((w, torch.zeros(int(f)), ints(pool), act == "relu"))
        c = int(f)

    def forward(x, dilated):
        d = [1, 1, 1]
        for w, b, pool, relu in layers:
            x = F.conv3d(x, w, b, dilation=tuple(d) if dilated else 1)
            if relu:
                x = F.relu(x)
            if pool != [1, 1, 1]:
                if dilated:
                    x = F.max_pool3d(x, pool, stride=1, dilation=tuple(d))
                else:
                    x = F.max_pool3d(x, pool)
            d = [d[i] * pool[i] for i in range(3)]
        return F.softmax(x, dim=1)

    raw = np.random.RandomState(1).rand(*a.shape).astype(np.float32)
    off, st, patch = a.offsets, a.strides, a.patch
    padded = np.pad(raw, [(0, 0)] + [(o, o) for o in off], mode="symmetric")
    pred = a.shape[1:]
    tile = [patch[i] + st[i] - 1 for i in range(3)]
    out = [None] * 3
    with torch.no_grad():
        o = forward(torch.zeros(1, a.shape[0], *patch), False)
        out = list(o.shape[2:])
    prob = [out[i] * st[i] for i in range(3)]
    ntiles = [-(-pred[i] // prob[i]) for i in range(3)]
    need = [ntiles[i] * prob[i] + tile[i] - prob[i] for i in range(3)]
    vol = np.zeros((a.shape[0],) + tuple(max(need[i], padded.shape[i + 1])
                                         for i in range(3)), np.float32)
    vol[:, :padded.shape[1], :padded.shape[2], :padded.shape[3]] = padded
    vol = torch.from_numpy(vol)

    def tiles():
        for t in itertools.product(*[range(n) for n in ntiles]):
            lo = [t[i] * prob[i] for i in range(3)]
            yield vol[None, :, lo[0]:lo[0] + tile[0], lo[1]:lo[1] + tile[1],
                      lo[2]:lo[2] + tile[2]]

    def dilated(x):
        return forward(x, True)

    def stitch(x):
        res = torch.empty(1, layers[-1][0].shape[0], *prob)
        for z, xx, y in itertools.product(*[range(s) for s in st]):
            o = forward(x[:, :, z:z + patch[0], xx:xx + patch[1],
                          y:y + patch[2]], False)
            res[:, :, z::st[0], xx::st[1], y::st[2]] = o
        return res

    def stream_blocks(t):
        """neuromancer predict's blocks: t dense voxels each, the last one
        of an axis shifted inward; the dilated network on each."""
        fov = [tile[i] - prob[i] + 1 for i in range(3)]
        starts = [sorted({min(k * t[i], pred[i] - t[i])
                          for k in range(-(-pred[i] // t[i]))})
                  for i in range(3)]
        for lo in itertools.product(*starts):
            yield padded_t[None, :, lo[0]:lo[0] + t[0] + fov[0] - 1,
                           lo[1]:lo[1] + t[1] + fov[1] - 1,
                           lo[2]:lo[2] + t[2] + fov[2] - 1]

    padded_t = torch.from_numpy(np.ascontiguousarray(padded))
    variants = [("dilated", dilated, tiles), ("stitch", stitch, tiles)]
    if a.stream_tile:
        variants.insert(0, ("dilated_stream", dilated,
                            lambda: stream_blocks(a.stream_tile)))
    wanted = a.variants.split(",")
    variants = [v for v in variants if v[0] in wanted]
    with torch.no_grad():
        for name, fn, blocks in variants:
            fn(next(blocks()))  # warm-up
            start = time.perf_counter()
            for x in blocks():
                fn(x)
            print("TORCH_DENSE %s %.4f" % (name, time.perf_counter() - start),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
