#!/usr/bin/env python3
"""Independent PyTorch reference of the PKT paper's MNIST / Fashion-MNIST protocol.

What it is for
    kt's results (experiments/mnist_pkt.yaml, experiments/fashion_mnist_pkt.yaml) are
    cross-checked against this script: a second, independent implementation of the same protocol
    in plain PyTorch (its own models, losses, training loop and retrieval evaluation, written from
    the formulas of the project's design notes, DESIGN.md section 1, and the documented semantics
    of kt's plugins). kt never imports, runs or depends on it; nothing here is part of kt.

How to run it (from the kt repository root)
    deno run -A experiments/reference/export_data.ts /tmp/kt-reference-data && \\
      /usr/bin/python3 experiments/reference/pkt_protocol.py --dataset mnist

    export_data.ts writes the datasets exactly as kt feeds them to its networks (kt's own dataset
    plugins: pixels scaled to [0, 1], kt's fixed Fashion-MNIST split, optional stratified `limit`
    subsets via --limit-train / --limit-test), so both implementations see identical inputs.
    Smoke test: add --quick (1 epoch everywhere, seed 0 only, a 2,000 / 500 subset);
    --self-test checks the retrieval code (fast path against a plain stable argsort, tie-heavy
    data) and the losses on toy inputs. Use Debian's /usr/bin/python3 (python3-torch); other
    interpreters need torch + numpy. On a busy machine --threads 1 is as fast as 2.

Protocol (kt's experiments/mnist_pkt.yaml semantics)
    teacher  conv3x3 'same' 32-64-128 (each + BatchNorm + ReLU + maxpool 2, as the yaml's teacher;
             --no-teacher-batchnorm for the quick files' teacher without BN), fc 256 ReLU (the teacher's
             representation), fc 10. 5 epochs cross-entropy, Adam 1e-3, batch 128, seed 0
             (--teacher-seed; with --paired-teachers one teacher per student seed, trained with
             that seed, so the table averages over teacher draws too).
    plain    conv 8-16-32 + BN + ReLU + maxpool 2, fc 64 ReLU (the representation), fc 10;
    student  5 epochs cross-entropy, Adam 1e-3, batch 128, one per seed.
    transfer from each seed's plain student, 5 epochs of ONE loss (Adam 1e-4, fresh optimiser
             state, batch 128, student in train mode), teacher frozen (its eval-mode outputs on the
             training set, computed once):
               pkt              official PKT: cosine kernel, eps 1e-7, KL(teacher||student),
                                mean over the B^2 entries; no cross-entropy
               hinton-library   0.1 * CE + 0.9 * T^2 * KL(softmax(zt/T) || softmax(zs/T)),
                                batchmean, T = 4 (kt's `hinton` default form)
               hinton-official  -(1/B) sum softmax(zt/T) . log_softmax(zs/T), T = 2, no labels
               hint-optimized   learned W (64x256, init N(0, 1/256), trained with the student at
                                the same lr): (1/B) sum ||s W - t||^2
               hint-random      fixed R (256x64, N(0, 1/64)): (1/B) sum ||s - t R||^2
               fitnets          (optional; kt's yaml row) CE + 100 * MSE(r(pool3_s), pool3_t),
                                r a learned 1x1 conv 32->128 (init N(0, 1/128), bias 0)
               none             cross-entropy (5 more epochs at the transfer lr)
    PyTorch default initialisation everywhere; BatchNorm momentum 0.1, eps 1e-5.
    Evaluation: cosine retrieval of every test image (queries) against every train image
    (database) on the representation; relevant = same label; exact AP per query (mean over the
    relevant items of the precision at each one's rank), mAP = mean over queries that have a
    relevant item; P@k = relevant among the top k, divided by k. Ties in similarity: a stable
    sort by descending (float32) similarity, i.e. equal scores rank by database index, lower
    first (kt's convention). A zero representation has cosine 0 with everything. Accuracy of the
    head on the test split, and QMI (cosine information potentials) of the test representation.

Output: a markdown table (mean +- sample std over seeds of mAP %, P@10 %, P@100 %, accuracy %,
QMI, and each seed's mAP), per-epoch timings on stderr, and with --json every per-seed value.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# OpenMP threads that sleep instead of spinning while they wait: on a shared machine, spinning
# threads made --threads 2 up to 10x slower than one thread (measured). Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Methods in kt's table order; DEFAULT_METHODS is the list (fitnets is opt-in).
ALL_METHODS = [
    "pkt",
    "hinton-library",
    "hinton-official",
    "hint-optimized",
    "hint-random",
    "fitnets",
    "none",
]
DEFAULT_METHODS = [m for m in ALL_METHODS if m != "fitnets"]
ROW_NAMES = {
    "teacher": "teacher",
    "plain": "plain student (CE baseline, no transfer epochs)",
    "pkt": "pkt",
    "hinton-library": "hinton (form library)",
    "hinton-official": "hinton (form official)",
    "hint-optimized": "hint-optimized",
    "hint-random": "hint-random",
    "fitnets": "fitnets (pool3 -> pool3, one-stage)",
    "none": "none",
}

PKT_EPS = 1e-7
HINTON_LIBRARY_T, HINTON_LIBRARY_ALPHA = 4.0, 0.1
HINTON_OFFICIAL_T = 2.0
FITNETS_HINT_WEIGHT = 100.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Models


class ConvNet(nn.Module):
    """Conv blocks (3x3 'same' conv, optional BN, ReLU, 2x2 max-pool) then dense ReLU layers and
    a linear head. forward() returns (last pooled conv map, representation, logits)."""

    def __init__(self, filters, dense, batch_norm, in_shape=(1, 28, 28), num_classes=10):
        super().__init__()
        channels, height, width = in_shape
        blocks: list[nn.Module] = []
        for f in filters:
            # With batch-norm the conv's bias is redundant (kt's cnn model drops it too).
            blocks.append(nn.Conv2d(channels, f, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(f, eps=1e-5, momentum=0.1))
            blocks.append(nn.ReLU())
            if height >= 2 and width >= 2:
                blocks.append(nn.MaxPool2d(2))  # floor: 28 -> 14 -> 7 -> 3
                height, width = height // 2, width // 2
            channels = f
        self.conv = nn.Sequential(*blocks)
        layers: list[nn.Module] = []
        size = channels * height * width
        for units in dense:
            layers += [nn.Linear(size, units), nn.ReLU()]
            size = units
        self.dense = nn.Sequential(*layers)
        self.head = nn.Linear(size, num_classes)
        self.hint_channels = channels

    def forward(self, x):
        hint = self.conv(x)
        rep = self.dense(torch.flatten(hint, 1))
        return hint, rep, self.head(rep)


def teacher_net(batch_norm: bool) -> ConvNet:
    return ConvNet([32, 64, 128], [256], batch_norm)


def student_net() -> ConvNet:
    return ConvNet([8, 16, 32], [64], True)


@torch.no_grad()
def forward_all(model: ConvNet, x: torch.Tensor, want_hint=False, batch=1000):
    """Eval-mode outputs for every row of x: (hint or None, representation, logits)."""
    model.eval()
    hints, reps, logits = [], [], []
    for start in range(0, len(x), batch):
        h, r, z = model(x[start:start + batch])
        if want_hint:
            hints.append(h)
        reps.append(r)
        logits.append(z)
    return (torch.cat(hints) if want_hint else None), torch.cat(reps), torch.cat(logits)


# ---------------------------------------------------------------------------------------------
# Losses (each returns a scalar; s = student representation, t = teacher representation)


def pkt_probabilities(f: torch.Tensor, eps: float) -> torch.Tensor:
    # Unit rows the official way, f / (||f|| + eps) with NaN -> 0. The norm's square is floored
    # at 1e-30 only so an all-zero row (dead ReLUs) has a finite gradient; its value is unchanged.
    norm = torch.sqrt(torch.clamp_min((f * f).sum(dim=1, keepdim=True), 1e-30))
    u = torch.nan_to_num(f / (norm + eps), nan=0.0)
    kernel = (u @ u.t() + 1.0) / 2.0  # cosine shifted into [0, 1], diagonal kept
    return kernel / kernel.sum(dim=1, keepdim=True)


def pkt_loss(s: torch.Tensor, t: torch.Tensor, eps: float = PKT_EPS) -> torch.Tensor:
    p = pkt_probabilities(t, eps)  # teacher
    q = pkt_probabilities(s, eps)  # student
    return (p * torch.log((p + eps) / (q + eps))).mean()


def hinton_library_loss(zs, zt, y, temperature=HINTON_LIBRARY_T, alpha=HINTON_LIBRARY_ALPHA):
    log_q = F.log_softmax(zs / temperature, dim=1)
    log_p = F.log_softmax(zt / temperature, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum() / zs.shape[0]
    return alpha * F.cross_entropy(zs, y) + (1 - alpha) * temperature**2 * kl


def hinton_official_loss(zs, zt, temperature=HINTON_OFFICIAL_T):
    p = F.softmax(zt / temperature, dim=1)
    return -(p * F.log_softmax(zs / temperature, dim=1)).sum() / zs.shape[0]


def squared_error_per_sample(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).sum() / a.shape[0]


class Targets:
    """The frozen teacher's eval-mode outputs on the training set, row-aligned with it."""

    def __init__(self, rep, logits, hint=None):
        self.rep, self.logits, self.hint = rep, logits, hint


def make_loss(method: str, seed: int, targets: Targets, student: ConvNet):
    """Returns (loss(idx, hint, rep, logits, y), extra trainable parameters) for one method."""
    gen = torch.Generator().manual_seed(seed)
    if method == "pkt":
        return (lambda idx, h, s, z, y: pkt_loss(s, targets.rep[idx])), []
    if method == "hinton-library":
        return (lambda idx, h, s, z, y: hinton_library_loss(z, targets.logits[idx], y)), []
    if method == "hinton-official":
        return (lambda idx, h, s, z, y: hinton_official_loss(z, targets.logits[idx])), []
    if method == "hint-optimized":
        ds, dt = student.head.in_features, targets.rep.shape[1]
        w = nn.Parameter(torch.randn(ds, dt, generator=gen) / math.sqrt(dt))
        return (lambda idx, h, s, z, y: squared_error_per_sample(s @ w, targets.rep[idx])), [w]
    if method == "hint-random":
        dt, ds = targets.rep.shape[1], student.head.in_features
        r = torch.randn(dt, ds, generator=gen) / math.sqrt(ds)
        return (lambda idx, h, s, z, y: squared_error_per_sample(s, targets.rep[idx] @ r)), []
    if method == "fitnets":
        cin, cout = student.hint_channels, targets.hint.shape[1]
        kernel = nn.Parameter(torch.randn(cout, cin, 1, 1, generator=gen) / math.sqrt(cout))
        bias = nn.Parameter(torch.zeros(cout))

        def fitnets(idx, h, s, z, y):
            mse = ((F.conv2d(h, kernel, bias) - targets.hint[idx]) ** 2).mean()
            return F.cross_entropy(z, y) + FITNETS_HINT_WEIGHT * mse

        return fitnets, [kernel, bias]
    if method == "none":
        return (lambda idx, h, s, z, y: F.cross_entropy(z, y)), []
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(ALL_METHODS)}")


def cross_entropy_loss(idx, h, s, z, y):
    return F.cross_entropy(z, y)


# ---------------------------------------------------------------------------------------------
# Training


def train(model, x, y, *, epochs, lr, seed, loss_fn, extra=(), batch_size, adam_eps, label):
    """Adam on model + extra parameters; a shuffle seeded with `seed` per epoch; the last partial
    batch is kept. Returns per-epoch records."""
    opt = torch.optim.Adam(list(model.parameters()) + list(extra), lr=lr, eps=adam_eps)
    gen = torch.Generator().manual_seed(seed)
    n = len(y)
    history = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        t0 = time.perf_counter()
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            hint, rep, logits = model(x[idx])
            loss = loss_fn(idx, hint, rep, logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = loss.item()
            if not math.isfinite(value):
                raise RuntimeError(f"{label}: loss became {value} in epoch {epoch + 1}")
            total += value * len(idx)
        seconds = time.perf_counter() - t0
        history.append({"epoch": epoch + 1, "loss": total / n, "seconds": seconds})
        log(f"  {label} epoch {epoch + 1}/{epochs}: loss {total / n:.6g}, {seconds:.1f} s "
            f"({n / seconds:.0f} samples/s)")
    return history


# ---------------------------------------------------------------------------------------------
# Evaluation


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    norm = x.norm(dim=1, keepdim=True)
    return x / torch.where(norm > 0, norm, torch.ones_like(norm))  # zero rows stay zero


def as_images(database: torch.Tensor) -> torch.Tensor:
    """N x d rows as N one-pixel images with d channels (the layout `similarities` takes)."""
    return database.contiguous().reshape(database.shape[0], database.shape[1], 1, 1)


def similarities(queries: torch.Tensor, database_images: torch.Tensor) -> torch.Tensor:
    """c x N dot products of queries (c x d) with the database (N x d x 1 x 1, `as_images`), as
    a 1x1 convolution: it runs on oneDNN, several times faster than a matmul on the reference
    BLAS that Debian's python3-torch is linked with by default."""
    c, d = queries.shape
    out = F.conv2d(database_images, queries.reshape(c, d, 1, 1))  # N x c x 1 x 1
    return out.reshape(-1, c).t().contiguous()


def _sort_rows(scores: np.ndarray, workers: int) -> np.ndarray:
    """Each row sorted ascending (values only: several times faster than an argsort). NumPy
    releases the GIL while sorting, so row ranges sort in parallel threads."""
    if workers <= 1 or len(scores) < 2 * workers:
        return np.sort(scores, axis=1)
    out = np.empty_like(scores)
    bounds = np.linspace(0, len(scores), workers + 1).astype(int)

    def sort_range(a, b):
        out[a:b] = np.sort(scores[a:b], axis=1)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(sort_range, bounds[:-1], bounds[1:]))
    return out


def _ranks_plain(scores_row: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based ranks of the `relevant` database items: a stable sort by descending score, so
    equal scores rank by database index, lower first."""
    order = np.argsort(-scores_row, kind="stable")
    rank_of = np.empty(len(order), dtype=np.int64)
    rank_of[order] = np.arange(1, len(order) + 1)
    return rank_of[relevant]


def _equal_before(scores_row: np.ndarray, items: np.ndarray) -> np.ndarray:
    """For each of `items` (ascending database indices), how many items with the same score
    have a lower index."""
    values = np.unique(scores_row[items])  # sorted
    if len(values) <= 16:  # the usual case: a few float32 collisions
        same = scores_row == values[0]
        for v in values[1:]:
            same |= scores_row == v
    else:
        at = np.minimum(np.searchsorted(values, scores_row), len(values) - 1)
        same = values[at] == scores_row
    candidates = np.flatnonzero(same)  # ascending index
    cand_values = scores_row[candidates]
    order = np.argsort(cand_values, kind="stable")  # by value, then by index
    sorted_values = cand_values[order]
    before = np.empty(len(candidates), dtype=np.int64)
    before[order] = np.arange(len(candidates)) - np.searchsorted(sorted_values, sorted_values)
    return before[np.searchsorted(candidates, items)]


def _ranks_fast(scores: np.ndarray, relevant: np.ndarray, workers: int) -> np.ndarray:
    """The same ranks as `_ranks_plain` for a block of queries sharing one relevant set (b x R,
    `relevant` ascending): rank = 1 + (items scoring higher) + (items scoring equal with a lower
    index). The first count comes from a values-only sort and a binary search; the second is 0
    unless a relevant item's score is tied, and is then counted exactly for the tied items."""
    n = scores.shape[1]
    ordered = torch.from_numpy(_sort_rows(scores, workers))
    rel_scores = torch.from_numpy(np.ascontiguousarray(scores[:, relevant]))
    upto = torch.searchsorted(ordered, rel_scores, right=True)  # items scoring <= the item
    # Tied iff the item is not alone at its score: the next lower sorted value equals it too.
    tied = ((upto >= 2) & (ordered.gather(1, (upto - 2).clamp_min(0)) == rel_scores)).numpy()
    ranks = (n - upto + 1).numpy()
    for row in np.flatnonzero(tied.any(axis=1)):
        cols = np.flatnonzero(tied[row])
        ranks[row, cols] += _equal_before(scores[row], relevant[cols])
    return ranks


@torch.no_grad()
def retrieval(q, q_labels, d, d_labels, ks=(10, 100), block=256, workers=1, plain=False):
    """Exact mAP and P@k of cosine retrieval (conventions in the module docstring). Queries are
    taken class by class, so a block shares its relevant set; `plain` ranks with a full stable
    argsort per query instead (slow; used by --self-test to check the fast path)."""
    qn, dn = unit_rows(q.float()), unit_rows(d.float())
    if not (torch.isfinite(qn).all() and torch.isfinite(dn).all()):
        raise ValueError("retrieval: non-finite features")
    database_images = as_images(dn)
    q_labels, d_labels = q_labels.long(), d_labels.long()
    ap = torch.zeros(len(q), dtype=torch.float64)
    prec = {k: torch.zeros(len(q), dtype=torch.float64) for k in ks}
    valid = torch.zeros(len(q), dtype=torch.bool)
    for label in torch.unique(q_labels).tolist():
        relevant = torch.nonzero(d_labels == label).flatten().numpy()
        queries = torch.nonzero(q_labels == label).flatten()
        if len(relevant) == 0:
            continue  # no relevant item: left out of every mean
        valid[queries] = True
        hits = np.arange(1, len(relevant) + 1, dtype=np.float64)
        for b0 in range(0, len(queries), block):
            rows = queries[b0:b0 + block]
            scores = similarities(qn[rows], database_images).numpy()
            if plain:
                ranks = np.stack([_ranks_plain(s, relevant) for s in scores])
            else:
                ranks = _ranks_fast(scores, relevant, workers)
            ranks = np.sort(ranks, axis=1)  # the i-th relevant item found is at ranks[:, i-1]
            ap[rows] = torch.from_numpy((hits / ranks).mean(axis=1))
            for k in ks:
                prec[k][rows] = torch.from_numpy((ranks <= k).sum(axis=1) / k)
    if not bool(valid.any()):
        return {"mAP": 0.0, **{f"P@{k}": 0.0 for k in ks}}
    out = {"mAP": float(ap[valid].mean())}
    for k in ks:
        out[f"P@{k}"] = float(prec[k][valid].mean())
    return out


def self_test() -> None:
    """Checks the fast retrieval path against the plain one on tie-heavy synthetic features
    (zero rows, duplicated and rescaled rows, quantised values) and the losses on a toy case."""
    gen = torch.Generator().manual_seed(0)
    d = torch.randint(0, 3, (3000, 6), generator=gen).float()
    d[:50] = 0
    d[200:400] = 2 * d[400:600]
    q = torch.cat([d[:300:3], torch.randint(0, 3, (200, 6), generator=gen).float()])
    dy = torch.randint(0, 9, (3000,), generator=gen)
    qy = torch.randint(0, 10, (300,), generator=gen)  # label 9 has no relevant item
    fast = retrieval(q, qy, d, dy, block=64, workers=2)
    plain = retrieval(q, qy, d, dy, plain=True)
    assert all(abs(fast[k] - plain[k]) < 1e-12 for k in fast), (fast, plain)
    # Brute force on a tiny case: database scores 1, 1, 0 (tie broken by index), query label 0.
    r = retrieval(torch.tensor([[1.0, 0.0]]), torch.tensor([0]),
                  torch.tensor([[2.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 0, 0]),
                  ks=(1, 2))
    assert abs(r["mAP"] - (1 / 2 + 2 / 3) / 2) < 1e-12 and r["P@1"] == 0 and r["P@2"] == 0.5, r
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert pkt_loss(s, s).abs() < 1e-6
    assert pkt_loss(s, torch.tensor([[1.0, 0.0], [1.0, 0.0]])) > 0
    print(f"self-test passed: fast and plain retrieval agree ({fast})")


@torch.no_grad()
def quadratic_mutual_information(x: torch.Tensor, labels: torch.Tensor, block=1024) -> float:
    """QMI = V_IN + V_ALL - 2 V_BTW with the cosine kernel K = (cos + 1) / 2, summed explicitly
    block by block over the N x N kernel."""
    xn = unit_rows(x.float())
    n = xn.shape[0]
    classes = int(labels.max()) + 1
    onehot = F.one_hot(labels.long(), classes).double()  # N x C
    prior = onehot.mean(dim=0)  # N_c / N
    x_images = as_images(xn)
    v_in = v_all = v_btw = 0.0
    for start in range(0, n, block):
        k = (similarities(xn[start:start + block], x_images).double() + 1.0) / 2.0  # b x N
        per_class = k @ onehot  # b x C: sum of K_ij over j of each class
        lab = labels[start:start + block].long()
        row_sum = per_class.sum(dim=1)
        v_in += float(per_class.gather(1, lab[:, None]).sum())
        v_all += float(row_sum.sum())
        v_btw += float((prior[lab] * row_sum).sum())
    v_in /= n * n
    v_all *= float((prior**2).sum()) / (n * n)
    v_btw /= n * n
    return v_in + v_all - 2 * v_btw


def evaluate(model, data, label, workers=1, train_rep=None):
    """Retrieval (test queries vs train database), accuracy and QMI of one model; `train_rep`:
    the model's eval-mode train representation when already computed."""
    t0 = time.perf_counter()
    _, q_rep, q_logits = forward_all(model, data["test_x"])
    d_rep = forward_all(model, data["train_x"])[1] if train_rep is None else train_rep
    out = retrieval(q_rep, data["test_y"], d_rep, data["train_y"], workers=workers)
    out["accuracy"] = float((q_logits.argmax(dim=1) == data["test_y"]).double().mean())
    out["qmi"] = quadratic_mutual_information(q_rep, data["test_y"])
    out["eval_seconds"] = time.perf_counter() - t0
    log(f"  {label}: mAP {100 * out['mAP']:.2f}  P@10 {100 * out['P@10']:.2f}  "
        f"P@100 {100 * out['P@100']:.2f}  acc {100 * out['accuracy']:.2f}  "
        f"QMI {out['qmi']:.4f}  ({out['eval_seconds']:.1f} s)")
    return out


# ---------------------------------------------------------------------------------------------
# Data, table, main


def load_npy_split(directory: Path, split: str):
    x = np.load(directory / f"{split}_x.npy")
    y = np.load(directory / f"{split}_y.npy")
    if x.ndim != 4 or x.shape[0] != y.shape[0]:
        raise SystemExit(f"{directory}: bad shapes {x.shape} / {y.shape}")
    # kt's tensors are NHWC; PyTorch convolutions want NCHW.
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(0, 3, 1, 2)
    return xt.contiguous(), torch.from_numpy(y.astype(np.int64))


def seeded_subset(x, y, size, seed):
    if size >= len(y):
        return x, y
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:size]
    idx = idx.sort().values
    return x[idx], y[idx]


def mean_std(values):
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), (float(a.std(ddof=1)) if len(a) > 1 else 0.0)


def summarise(per_seed: list[dict]) -> dict:
    keys = ["mAP", "P@10", "P@100", "accuracy", "qmi"]
    return {k: dict(zip(("mean", "std"), mean_std([r[k] for r in per_seed]))) for k in keys}


def print_table(rows, seeds):
    def pct(summary, key):
        return f"{100 * summary[key]['mean']:.2f} ± {100 * summary[key]['std']:.2f}"

    header = ["method", "mAP %", "P@10 %", "P@100 %", "accuracy %", "QMI"]
    header += [f"mAP % seed {s}" for s in seeds]
    lines = []
    for name, per_seed in rows:
        s = summarise(per_seed)
        cells = [name, pct(s, "mAP"), pct(s, "P@10"), pct(s, "P@100"), pct(s, "accuracy"),
                 f"{s['qmi']['mean']:.4f} ± {s['qmi']['std']:.4f}"]
        if len(per_seed) == len(seeds):  # (a teacher per seed with --paired-teachers too)
            cells += [f"{100 * r['mAP']:.2f}" for r in per_seed]
        else:  # the teacher: one seed-independent run
            cells += [f"{100 * per_seed[0]['mAP']:.2f}"] + ["—"] * (len(seeds) - 1)
        lines.append(cells)
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]

    def fmt(cells):
        out = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "| " + " | ".join(out) + " |"

    print(fmt(header))
    print("| " + " | ".join(["-" * widths[0]] + ["-" * (w - 1) + ":" for w in widths[1:]]) + " |")
    for cells in lines:
        print(fmt(cells))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Independent PyTorch reference of the PKT protocol (cross-check for kt).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data-dir", default="/tmp/kt-reference-data",
                   help="output dir of export_data.ts (holds <dataset>/{train,test}_{x,y}.npy)")
    p.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    p.add_argument("--seeds", default="0,1,2", help="student seeds, comma-separated")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                   help=f"comma-separated subset of: {', '.join(ALL_METHODS)}")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--epochs-teacher", type=int, default=5)
    p.add_argument("--epochs-student", type=int, default=5, help="plain student (CE) epochs")
    p.add_argument("--epochs-transfer", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="teacher and plain student lr")
    p.add_argument("--lr-transfer", type=float, default=1e-4)
    p.add_argument("--adam-eps", type=float, default=1e-8,
                   help="Adam epsilon (PyTorch's and kt's default; tfjs's own is 1e-7)")
    p.add_argument("--teacher-seed", type=int, default=None,
                   help="the teacher's seed (default 0)")
    p.add_argument("--paired-teachers", action="store_true",
                   help="train one teacher per student seed, with that seed (kt: `seed: ${seed}` "
                        "on the teacher node); --teacher-seed is then unused")
    p.add_argument("--teacher-batchnorm", action=argparse.BooleanOptionalAction, default=True,
                   help="BN in the teacher's conv blocks (as experiments/mnist_pkt.yaml)")
    p.add_argument("--limit-train", type=int, help="seeded random subset of the exported train")
    p.add_argument("--limit-test", type=int, help="seeded random subset of the exported test")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 epoch each, first seed only, 2,000 train / 500 test")
    p.add_argument("--json", help="write every per-seed value, the means/stds and timings here")
    p.add_argument("--save-teacher", metavar="DIR",
                   help="write the trained teacher's eval-mode outputs on the training set, in the "
                        "exported order: DIR/representation.npy (N x 256, float32, for kt's "
                        "`precomputed` teacher), DIR/logits.npy and DIR/labels.npy")
    p.add_argument("--teacher-only", action="store_true",
                   help="stop after training and evaluating the teacher (with --save-teacher)")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="combine --json files of runs that split the seeds (same dataset, teacher "
                        "and settings) into the one --json names, then exit")
    p.add_argument("--self-test", action="store_true",
                   help="check the retrieval and loss code on synthetic data, then exit")
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip() != ""]
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip() != ""]
    for m in args.methods:
        if m not in ALL_METHODS:
            p.error(f"unknown method {m!r}; choose from {', '.join(ALL_METHODS)}")
    if not args.seeds:
        p.error("--seeds needs at least one seed")
    if args.paired_teachers and (args.save_teacher or args.teacher_only):
        p.error("--paired-teachers trains a teacher per seed; --save-teacher and --teacher-only "
                "take the one teacher of --teacher-seed")
    if args.paired_teachers and args.teacher_seed is not None:
        p.error("--paired-teachers trains each seed's teacher with that seed; drop --teacher-seed")
    if not args.paired_teachers and args.teacher_seed is None:
        args.teacher_seed = 0
    if args.quick:
        args.epochs_teacher = args.epochs_student = args.epochs_transfer = 1
        args.seeds = args.seeds[:1]
        args.limit_train = min(args.limit_train or 2000, 2000)
        args.limit_test = min(args.limit_test or 500, 500)
    return args


# Settings that may differ between runs merged with --merge (how, not what, was computed).
MERGE_FREE = {"seeds", "threads", "data_dir", "merge", "self_test", "save_teacher", "teacher_only"}


def merge_json(paths: list[str], out: str) -> None:
    """One --json payload from runs of the same protocol over different seeds (see --merge)."""
    def load(path: str) -> dict:
        """A --json file of this script, or one line saying why it is not."""
        try:
            run = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: cannot read it as JSON ({e})")
        missing = [k for k in ("dataset", "config", "teacher", "rows", "timings", "totalSeconds")
                   if not isinstance(run, dict) or k not in run]
        if missing:
            raise SystemExit(f"{path}: not a pkt_protocol.py --json file (no {', '.join(missing)})")
        return run

    runs = [load(p) for p in paths]
    for run in runs:  # files written before --paired-teachers existed
        run["config"].setdefault("paired_teachers", False)
    first = runs[0]
    same = {k: v for k, v in first["config"].items() if k not in MERGE_FREE}
    paired = bool(first["config"]["paired_teachers"])
    if paired:
        for path, run in zip(paths, runs):
            seeds = run["teacher"].get("seeds")
            if seeds != run["rows"]["plain"]["seeds"]:
                raise SystemExit(f"{path}: a --paired-teachers file needs one teacher per seed "
                                 f"(teacher seeds {seeds}, student seeds "
                                 f"{run['rows']['plain']['seeds']})")

    def teacher_metrics(run: dict) -> list[dict]:
        """The teacher's results without its evaluation time (which differs between runs)."""
        return [{k: v for k, v in x.items() if k != "eval_seconds"} for x in run["teacher"]["perSeed"]]

    first_teacher = teacher_metrics(first)
    for path, run in zip(paths[1:], runs[1:]):
        diff = sorted(k for k in set(same) | set(run["config"])
                      if k not in MERGE_FREE and run["config"].get(k) != same.get(k))
        if run["dataset"] != first["dataset"] or diff:
            raise SystemExit(f"{path}: not the protocol of {paths[0]} (differs in "
                             f"{', '.join(diff) or 'dataset'}); merge runs of one protocol only")
        if not paired and teacher_metrics(run) != first_teacher:
            raise SystemExit(f"{path}: its teacher's results differ from {paths[0]}'s, so its "
                             "students learned from another teacher; merge runs of one teacher only")
        if set(run["rows"]) != set(first["rows"]):
            raise SystemExit(f"{path}: rows {sorted(run['rows'])} differ from {sorted(first['rows'])}")
    rows = {}
    for key in first["rows"]:
        by_seed = {}
        for path, run in zip(paths, runs):
            row = run["rows"][key]
            for seed, values in zip(row["seeds"], row["perSeed"]):
                if seed in by_seed:
                    raise SystemExit(f"{path}: seed {seed} of {key} is in two of the files")
                by_seed[seed] = values
        seeds = sorted(by_seed)
        per_seed = [by_seed[s] for s in seeds]
        rows[key] = {"name": first["rows"][key]["name"], "seeds": seeds, "perSeed": per_seed,
                     "summary": summarise(per_seed)}
    teacher = first["teacher"]
    if paired:  # each part's teachers, by seed (seeds are unique: the rows checked that)
        by_seed = {s: v for r in runs for s, v in zip(r["teacher"]["seeds"], r["teacher"]["perSeed"])}
        seeds = sorted(by_seed)
        teacher = {"seeds": seeds, "perSeed": [by_seed[s] for s in seeds],
                   "summary": summarise([by_seed[s] for s in seeds])}
    timings = {"teacher": [t for r in runs for t in r["timings"]["teacher"]] if paired
               else first["timings"]["teacher"],
               "plain": [t for r in runs for t in r["timings"]["plain"]],
               "transfer": {m: [t for r in runs for t in r["timings"]["transfer"].get(m, [])]
                            for m in first["timings"]["transfer"]}}
    merged = {**first, "config": {**first["config"], "seeds": rows["plain"]["seeds"]},
              "teacher": teacher,
              # Complete when the merged seeds cover every seed any part was asked to run.
              "complete": all(set(r["config"]["seeds"]) <= set(rows["plain"]["seeds"])
                              for r in runs), "rows": rows,
              "timings": timings, "totalSeconds": sum(r["totalSeconds"] for r in runs),
              "mergedFrom": [Path(p).name for p in paths]}
    Path(out).write_text(json.dumps(merged, indent=2) + "\n")
    log(f"wrote {out}: seeds {rows['plain']['seeds']} from {len(paths)} files")


def main(argv=None):
    args = parse_args(argv)
    if args.merge:
        if not args.json:
            raise SystemExit("--merge needs --json OUT (where the combined file goes)")
        merge_json(args.merge, args.json)
        return
    torch.set_num_threads(args.threads)
    if args.self_test:
        self_test()
        return
    started = time.perf_counter()
    directory = Path(args.data_dir) / args.dataset
    if not (directory / "train_x.npy").exists():
        raise SystemExit(
            f"{directory}/train_x.npy not found; export the data first:\n"
            f"  deno run -A experiments/reference/export_data.ts {args.data_dir}")
    train_x, train_y = load_npy_split(directory, "train")
    test_x, test_y = load_npy_split(directory, "test")
    if args.limit_train:
        train_x, train_y = seeded_subset(train_x, train_y, args.limit_train, 0)
    if args.limit_test:
        test_x, test_y = seeded_subset(test_x, test_y, args.limit_test, 1)
    data = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
    log(f"{args.dataset}: {len(train_y)} train / {len(test_y)} test, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; methods {', '.join(args.methods)}; "
        f"seeds {args.seeds}")
    common = {"batch_size": args.batch_size, "adam_eps": args.adam_eps}
    timings: dict[str, list] = {"teacher": [], "plain": [], "transfer": {}}

    def train_teacher(seed: int):
        """The teacher of `seed` (cross-entropy), its training history, results and targets."""
        torch.manual_seed(seed)
        teacher = teacher_net(args.teacher_batchnorm)
        label = "teacher" if not args.paired_teachers else f"teacher seed {seed}"
        history = train(teacher, train_x, train_y, epochs=args.epochs_teacher, lr=args.lr,
                        seed=seed, loss_fn=cross_entropy_loss, label=label, **common)
        for p_ in teacher.parameters():
            p_.requires_grad_(False)
        hint, rep, logits = forward_all(teacher, train_x, want_hint="fitnets" in args.methods)
        result = evaluate(teacher, data, label, args.threads, train_rep=rep)
        return history, result, Targets(rep, logits, hint), (rep, logits)

    teacher_results: list[dict] = []
    if not args.paired_teachers:
        # One teacher, fixed seed, for every student seed.
        history, result, targets, (rep, logits) = train_teacher(args.teacher_seed)
        timings["teacher"] = history
        teacher_results.append(result)
        if args.save_teacher:
            out = Path(args.save_teacher)
            out.mkdir(parents=True, exist_ok=True)
            np.save(out / "representation.npy", rep.numpy().astype("<f4"))
            np.save(out / "logits.npy", logits.numpy().astype("<f4"))
            np.save(out / "labels.npy", train_y.numpy().astype("<i4"))
            log(f"teacher outputs on {len(train_y)} training images -> {out}/")
        del rep, logits
    config = {k: v for k, v in vars(args).items() if k != "json"}

    def teacher_json(seeds_done: list[int]) -> dict:
        if not args.paired_teachers:
            return {"perSeed": teacher_results, "summary": summarise(teacher_results)}
        done = teacher_results[:len(seeds_done)]
        return {"seeds": seeds_done, "perSeed": done, "summary": summarise(done) if done else {}}

    if args.teacher_only:
        result = teacher_results[0]
        log(f"teacher: mAP {100 * result['mAP']:.2f} %, accuracy "
            f"{100 * result['accuracy']:.2f} % (--teacher-only: no students)")
        if args.json:
            Path(args.json).write_text(json.dumps({
                "dataset": args.dataset, "trainSize": len(train_y), "testSize": len(test_y),
                "config": config, "torch": torch.__version__, "teacherOnly": True,
                "teacher": teacher_json([]), "timings": timings,
                "totalSeconds": time.perf_counter() - started}, indent=2) + "\n")
            log(f"wrote {args.json} (teacher only)")
        return

    results = {"plain": [], **{m: [] for m in args.methods}}
    def write_json(seeds_done: list[int], total: float) -> None:
        """Writes every per-seed value so far (after each seed, so a stopped run keeps them)."""
        if not args.json:
            return
        done = {key: results[key][:len(seeds_done)] for key in results}
        payload = {
            "dataset": args.dataset,
            "trainSize": len(train_y),
            "testSize": len(test_y),
            "config": config,
            "torch": torch.__version__,
            "complete": seeds_done == list(args.seeds),
            "teacher": teacher_json(seeds_done),
            "rows": {key: {"name": ROW_NAMES[key], "seeds": seeds_done, "perSeed": done[key],
                           "summary": summarise(done[key])} for key in results},
            "timings": timings,
            "totalSeconds": total,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        log(f"wrote {args.json} (seeds {seeds_done})")

    if args.paired_teachers:
        timings["teacher"] = []
    for seed in args.seeds:
        if args.paired_teachers:
            history, result, targets, _ = train_teacher(seed)
            timings["teacher"].append(history)
            teacher_results.append(result)
        torch.manual_seed(seed)
        plain = student_net()
        timings["plain"].append(train(plain, train_x, train_y, epochs=args.epochs_student,
                                      lr=args.lr, seed=seed, loss_fn=cross_entropy_loss,
                                      label=f"plain student seed {seed}", **common))
        results["plain"].append(evaluate(plain, data, f"plain student seed {seed}", args.threads))
        for method in args.methods:
            student = copy.deepcopy(plain)
            loss_fn, extra = make_loss(method, seed, targets, student)
            label = f"{method} seed {seed}"
            history = train(student, train_x, train_y, epochs=args.epochs_transfer,
                            lr=args.lr_transfer, seed=seed, loss_fn=loss_fn, extra=extra,
                            label=label, **common)
            timings["transfer"].setdefault(method, []).append(history)
            results[method].append(evaluate(student, data, label, args.threads))
        write_json(list(args.seeds)[:args.seeds.index(seed) + 1], time.perf_counter() - started)

    rows = [(ROW_NAMES["teacher"], teacher_results), (ROW_NAMES["plain"], results["plain"])]
    rows += [(ROW_NAMES[m], results[m]) for m in args.methods]
    print(f"\n{args.dataset}: {len(train_y)} train (database) / {len(test_y)} test (queries); "
          f"mean ± sample std over seeds {args.seeds}\n")
    print_table(rows, args.seeds)
    total = time.perf_counter() - started
    print(f"\ntotal {total / 60:.1f} min")


if __name__ == "__main__":
    main()
