#!/usr/bin/env python3
"""Lockstep cross-check, PyTorch side: replays kt's training steps and compares.

lockstep.ts (next to this file) trained one of the protocol's networks with kt and wrote its
initial weights, training samples, batch order and results into OUT_DIR. This script builds the
same network in plain PyTorch (pkt_protocol.py's ConvNet: conv 3x3 'same', BatchNorm momentum 0.1
eps 1e-5, ReLU, max-pool 2; dense ReLU; linear head), loads kt's initial weights (converted from
kt's NHWC layouts), trains on the same batches in the same order with torch.optim.Adam (same lr,
betas, eps) or plain SGD, with cross-entropy or (lockstep.ts --loss pkt) pkt_protocol.py's PKT loss
against the teacher features kt wrote. It replays twice, in float32 and in float64, and measures
kt and the float32 replay against the float64 one ("exact": the same steps up to float64 rounding),
each as ||a - exact|| / ||exact||: each epoch's mean loss, what training changed in every weight and
batch-norm running statistic (final minus kt's initial values), and the eval-mode logits of the
test images; also how many test predictions equal float64's.

    /usr/bin/python3 experiments/reference/lockstep.py OUT_DIR [--threads 1] [--ratio 10]
        [--floor 1e-4]

Exit 0 when, quantity by quantity, kt's difference from exact is at most --ratio times PyTorch
float32's or below --floor (rounding-sized whatever PyTorch does), 1 otherwise. Two float32
implementations differ in rounding (summation order in convolutions and reductions) and training
amplifies rounding step by step, so both drift from exact as steps accumulate; a difference of
semantics (a variance estimator, an epsilon, an initial state, an optimiser detail) shows up in
some quantity orders of magnitude above PyTorch float32's rounding, from the first step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pkt_protocol import ConvNet, pkt_loss  # noqa: E402


def kt_to_torch(name: str, value: np.ndarray, flat_hwc: tuple[int, int, int] | None) -> np.ndarray:
    """One kt weight in PyTorch's layout. Conv kernels [kh, kw, in, out] -> [out, in, kh, kw];
    dense kernels [in, out] -> [out, in], and the first dense layer's inputs reordered from kt's
    NHWC flatten (h, w, c) to PyTorch's NCHW flatten (c, h, w)."""
    if name.endswith("/kernel") and value.ndim == 4:
        return value.transpose(3, 2, 0, 1)
    if name.endswith("/kernel") and value.ndim == 2:
        if flat_hwc is not None:
            h, w, c = flat_hwc
            value = value.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
        return value.T
    return value


def torch_params(model: ConvNet, filters: list[int], dense: list[int]) -> dict[str, torch.Tensor]:
    """kt's weight names -> the PyTorch tensors that hold them."""
    out: dict[str, torch.Tensor] = {}
    for i in range(len(filters)):
        conv, bn = model.conv[4 * i], model.conv[4 * i + 1]
        out[f"conv{i + 1}/kernel"] = conv.weight
        out[f"bn{i + 1}/gamma"] = bn.weight
        out[f"bn{i + 1}/beta"] = bn.bias
        out[f"bn{i + 1}/moving_mean"] = bn.running_mean
        out[f"bn{i + 1}/moving_variance"] = bn.running_var
    for i in range(len(dense)):
        out[f"fc{i + 1}/kernel"] = model.dense[2 * i].weight
        out[f"fc{i + 1}/bias"] = model.dense[2 * i].bias
    out["logits/kernel"] = model.head.weight
    out["logits/bias"] = model.head.bias
    return out


def load_weights(directory: Path, meta: dict, flat_hwc) -> dict[str, np.ndarray]:
    weights = {}
    for w in meta["weights"]:
        value = np.load(directory / w["file"]).astype(np.float32)
        first_dense = w["name"] == "fc1/kernel"
        weights[w["name"]] = kt_to_torch(w["name"], value, flat_hwc if first_dense else None)
    return weights


def relative_diff(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| over all entries (0 when both are zero)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    scale = float(np.linalg.norm(b64))
    diff = float(np.linalg.norm(a64 - b64))
    return diff / scale if scale > 0 else diff


def replay(meta: dict, data: dict, init: dict[str, np.ndarray], dtype: torch.dtype):
    """kt's steps in PyTorch at `dtype`: (epoch mean losses, final weights by kt name, eval-mode
    test logits)."""
    arch = meta["architecture"]
    x, y, order, test_x = data["x"].to(dtype), data["y"], data["order"], data["test_x"].to(dtype)
    teacher = data.get("teacher")
    teacher = teacher.to(dtype) if teacher is not None else None
    n, c, h, w = x.shape
    model = ConvNet(arch["filters"], arch["dense"], arch["batchNorm"], in_shape=(c, h, w),
                    num_classes=meta["weights"][-1]["shape"][-1]).to(dtype)
    params = torch_params(model, arch["filters"], arch["dense"])
    missing = sorted(set(params) ^ set(init))
    if missing:
        raise SystemExit(f"weights do not match the network ({', '.join(missing)})")
    with torch.no_grad():
        for name, tensor in params.items():
            if tuple(tensor.shape) != init[name].shape:
                raise SystemExit(f"{name}: kt shape {init[name].shape}, PyTorch {tuple(tensor.shape)}")
            tensor.copy_(torch.from_numpy(init[name]).to(dtype))
    o = meta["optimizer"]
    opt = (torch.optim.Adam(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                            eps=o["epsilon"]) if o["type"] == "adam"
           else torch.optim.SGD(model.parameters(), lr=o["lr"]))
    batch = meta["batchSize"]
    losses = []
    for epoch in range(meta["epochs"]):
        model.train()
        total = 0.0
        for start in range(0, n, batch):
            idx = order[epoch, start:start + batch]
            _, rep, logits = model(x[idx])
            loss = pkt_loss(rep, teacher[idx]) if teacher is not None else F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / n)
    model.eval()
    with torch.no_grad():
        test_logits = model(test_x)[2].double().numpy()
    final = {name: t.detach().double().numpy() for name, t in params.items()}
    return losses, final, test_logits


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir", help="the directory lockstep.ts wrote")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--ratio", type=float, default=10.0,
                   help="accepted ratio, per quantity, of kt's difference from the float64 replay "
                        "to PyTorch float32's (both measure rounding; a semantic difference is far "
                        "above it)")
    p.add_argument("--floor", type=float, default=1e-4,
                   help="a relative difference from float64 below this passes whatever PyTorch "
                        "float32's is")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    d = Path(args.out_dir)
    if not (d / "meta.json").exists():
        raise SystemExit(f"{d}/meta.json not found; run experiments/reference/lockstep.ts {d} first")
    meta = json.loads((d / "meta.json").read_text())
    arch = meta["architecture"]
    o = meta["optimizer"]
    if o["type"] not in ("adam", "sgd") or o.get("momentum"):
        raise SystemExit(f"{d}: optimizer {o} (this script replays Adam or plain SGD)")
    data = {
        "x": torch.from_numpy(np.load(d / "x.npy")).permute(0, 3, 1, 2).contiguous(),
        "y": torch.from_numpy(np.load(d / "y.npy").astype(np.int64)),
        "order": torch.from_numpy(np.load(d / "order.npy").astype(np.int64)),
        "test_x": torch.from_numpy(np.load(d / "test_x.npy")).permute(0, 3, 1, 2).contiguous(),
    }
    loss_name = meta.get("loss", "cross-entropy")
    if loss_name == "pkt":
        data["teacher"] = torch.from_numpy(np.load(d / "teacher_features.npy"))
    elif loss_name != "cross-entropy":
        raise SystemExit(f"{d}: loss {loss_name} (this script replays cross-entropy or pkt)")
    n, c, h, w = data["x"].shape
    # The flattened map before the first dense layer: h, w halved (floor) per pooled block.
    fh, fw = h, w
    for _ in arch["filters"]:
        if fh >= 2 and fw >= 2:
            fh, fw = fh // 2, fw // 2
    flat_hwc = (fh, fw, arch["filters"][-1])
    init = load_weights(d / "init", meta, flat_hwc)
    kt_final = load_weights(d / "final", meta, flat_hwc)
    kt_logits = np.load(d / "test_logits.npy").astype(np.float64)
    f32 = replay(meta, data, init, torch.float32)
    f64 = replay(meta, data, init, torch.float64)

    # Each quantity: kt and PyTorch float32, each against the float64 replay (the exact steps up
    # to float64 rounding). Weights compare by what training changed (final - initial), so the
    # shared start does not hide a difference in the steps.
    rows = []
    for epoch, kt_loss in enumerate(meta["ktEpochLosses"]):
        exact = f64[0][epoch]
        rows.append((f"epoch {epoch + 1} mean loss", abs(kt_loss - exact) / abs(exact),
                     abs(f32[0][epoch] - exact) / abs(exact)))
    for name in init:
        start = init[name].astype(np.float64)
        exact = f64[1][name] - start
        rows.append((f"{name} (change)", relative_diff(kt_final[name] - start, exact),
                     relative_diff(f32[1][name] - start, exact)))
    rows.append(("test logits (eval mode)", relative_diff(kt_logits, f64[2]),
                 relative_diff(f32[2], f64[2])))
    agree = float((kt_logits.argmax(1) == f64[2].argmax(1)).mean())
    agree32 = float((f32[2].argmax(1) == f64[2].argmax(1)).mean())
    steps = meta["epochs"] * -(-n // meta["batchSize"])
    print(f"{meta['model']} on {n} {meta['dataset']} samples, {meta['epochs']} epoch(s) = {steps} "
          f"{'Adam' if o['type'] == 'adam' else 'SGD'} steps of {loss_name}, lr {o['lr']:g}; kt backend "
          f"{meta['backend']}, torch {torch.__version__}. Each cell: ||a - exact|| / ||exact||, "
          f"exact = the same steps in PyTorch float64.\n")
    print("| quantity | kt (float32) | PyTorch float32 | ratio |")
    print("| --- | ---: | ---: | ---: |")
    tiny = 1e-12
    failed = []
    for name, kt_diff, pt_diff in rows:
        ratio = kt_diff / max(pt_diff, tiny)
        passed = kt_diff <= args.floor or ratio <= args.ratio
        if not passed:
            failed.append(name)
        print(f"| {name} | {kt_diff:.2e} | {pt_diff:.2e} | {ratio:.1f}{'' if passed else ' ✗'} |")
    print(f"\ntest predictions equal to float64's: kt {100 * agree:.2f} %, PyTorch float32 "
          f"{100 * agree32:.2f} % of {len(kt_logits)}")
    # The weights' summary over the tensors training changed (PKT leaves the head alone).
    changed = [r for r in rows if r[0].endswith("(change)") and np.isfinite(r[1]) and r[2] > 0]
    if changed:
        print(f"weight changes over {len(changed)} tensors, median / largest difference from "
              f"float64: kt {np.median([r[1] for r in changed]):.1e} / "
              f"{max(r[1] for r in changed):.1e}, PyTorch float32 "
              f"{np.median([r[2] for r in changed]):.1e} / {max(r[2] for r in changed):.1e}")
    if failed:
        print(f"ABOVE PyTorch float32's rounding ({args.ratio:g}x, floor {args.floor:g}): "
              f"{', '.join(failed)}")
        return 1
    print(f"every quantity within {args.ratio:g}x PyTorch float32's difference from float64 or "
          f"below {args.floor:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
