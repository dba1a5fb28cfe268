"""PyTorch reference figures for `deno task bench` (optional; kt does not depend on PyTorch).

Trains the same models as bench/bench.ts on the CPU with synthetic data and prints samples/s:
the MNIST CNN (conv 16-32 3×3 same + ReLU + 2×2 max-pool, fc 64, 10 logits), the MLP
784-256-128-10 and the tiny student (conv 8-16-32 + BN, fc 64, 32×32×3), batch 128, Adam 1e-3,
plus a 10k×60k×64 retrieval ranking with a full sort per query (numpy), as in DESIGN.md §3.

    apt-get install python3-torch   # Debian
    python3 bench/reference_pytorch.py [--threads 2] [--steps 300] [--json] [--no-retrieval]

`deno task bench --pytorch` runs it first and prints its figures beside kt's. `--json` ends the
output with one JSON line using bench.ts's keys.
"""
import json
import argparse
import time

import numpy as np
import torch
import torch.nn as nn


def cnn(filters, bn, dense, in_shape, classes=10):
    h, w, c = in_shape
    layers = []
    for f in filters:
        layers.append(nn.Conv2d(c, f, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(f, momentum=0.1, eps=1e-5))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = f, h // 2, w // 2
    layers.append(nn.Flatten())
    d = c * h * w
    for u in dense:
        layers += [nn.Linear(d, u), nn.ReLU()]
        d = u
    layers.append(nn.Linear(d, classes))
    return nn.Sequential(*layers)


def mlp(hidden, d=784, classes=10):
    layers = [nn.Flatten()]
    for u in hidden:
        layers += [nn.Linear(d, u), nn.ReLU()]
        d = u
    layers.append(nn.Linear(d, classes))
    return nn.Sequential(*layers)


def throughput(model, shape, batch, steps):
    h, w, c = shape
    x = torch.rand(batch * steps, c, h, w)
    y = torch.arange(batch * steps) % 10
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def epoch(n):
        for s in range(n):
            xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()

    epoch(5)  # warm-up (oneDNN builds its primitives on the first steps)
    t0 = time.perf_counter()
    epoch(steps)
    return batch * steps / (time.perf_counter() - t0)


def retrieval(nq=10000, nd=60000, d=64):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((nq, d), dtype=np.float32)
    db = rng.standard_normal((nd, d), dtype=np.float32)
    ql, dl = rng.integers(0, 10, nq), rng.integers(0, 10, nd)
    t0 = time.perf_counter()
    aps = []
    for i in range(nq):
        sims = db @ q[i]
        order = np.argsort(-sims, kind="stable")
        rel = dl[order] == ql[i]
        hits = np.cumsum(rel)
        ranks = np.nonzero(rel)[0] + 1
        aps.append(np.mean(hits[rel] / ranks))
    return time.perf_counter() - t0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    # Timed steps of batch 128 per figure (the same number of samples at batches 32 and 512);
    # timed over 60 steps (< 0.3 s for the MLP) the figures spread by up to 6x between runs.
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-retrieval", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    cases = [
        ("mnist_cnn_samples_per_s", "MNIST CNN conv16-32 fc64",
         cnn([16, 32], False, [64], (28, 28, 1)), (28, 28, 1)),
        ("mlp_samples_per_s", "MLP 784-256-128-10", mlp([256, 128]), (28, 28, 1)),
        ("tiny_student_samples_per_s", "tiny student conv8-16-32+BN fc64",
         cnn([8, 16, 32], True, [64], (32, 32, 3)), (32, 32, 3)),
    ]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for key, label, model, shape in cases:
        out[key] = round(throughput(model, shape, 128, args.steps))
        print(f"{label}: {out[key]} samples/s (batch 128)")
    for batch in (32, 512):
        model = cnn([16, 32], False, [64], (28, 28, 1))
        sps = throughput(model, (28, 28, 1), batch, max(4, round(args.steps * 128 / batch)))
        out[f"mnist_cnn_batch{batch}_samples_per_s"] = round(sps)
        print(f"MNIST CNN batch {batch}: {sps:.0f} samples/s")
    if not args.no_retrieval:
        out["retrieval_10k_60k_s"] = round(retrieval(), 2)
        print(f"retrieval 10k x 60k x 64 (full sort per query): {out['retrieval_10k_60k_s']} s")
    if args.json:
        print(json.dumps(out))
