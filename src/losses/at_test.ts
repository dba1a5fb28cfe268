import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { attentionMap, attentionTransferLoss } from "./at.ts";
import { adaptiveAvgPool } from "./tensor.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  type Map4,
  mapFiniteDifference,
  mean,
  normalize,
  randomMap,
  refAdaptivePool,
  refMatch,
  shapeOf,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

/** Float64 attention map: normalize(mean_c |f|^p) per sample, positions in row-major order. */
function refAttention(x: Map4, p: number): number[][] {
  return x.map((img) => normalize(img.flat().map((px) => mean(px.map((v) => Math.abs(v) ** p)))));
}

/** Float64 AT (RepDistiller's Attention.at_loss). */
function refAt(s: Map4, t: Map4, p = 2): number {
  const [ps, pt] = refMatch(s, t);
  const as = refAttention(ps, p).flat();
  const at = refAttention(pt, p).flat();
  return mean(as.map((v, i) => (v - at[i]) ** 2));
}

function tensor(x: Map4): tf.Tensor4D {
  return tf.tensor4d(x.flat(3), shapeOf(x));
}

function value(s: Map4, t: Map4, p?: number): number {
  return valueOf(() => attentionTransferLoss(tensor(s), tensor(t), { p }));
}

function grad(s: Map4, t: Map4, p?: number): Float32Array {
  return tf.tidy(() => {
    const tt = tensor(t);
    return tf.grad((x) => attentionTransferLoss(x as tf.Tensor4D, tt, { p }))(tensor(s))
      .dataSync() as Float32Array;
  });
}

Deno.test("attentionTransferLoss() matches the hand-worked value on a 2×2 map", () => {
  // Student squares 1, 4, 9, 16 → /√354; teacher all ones → ½ each.
  // mean((x/√354 − ½)²) = (Σx²/354 − Σx/√354 + 1)/4 = (2 − 30/√354)/4.
  const expected = (2 - 30 / Math.sqrt(354)) / 4;
  const s = [[[[1], [2]], [[3], [4]]]];
  const t = [[[[1], [1]], [[1], [1]]]];
  assertClose(value(s, t), expected, 1e-6, "AT");
  assertClose(refAt(s, t), expected, 1e-12, "reference");
});

Deno.test("attentionMap() averages |f|^p over channels and normalises per sample", () => {
  // Two positions, two channels: means of squares (6 + 0)/2 = 3 and (0 + 8)/2 = 4 → (0.6, 0.8).
  const x = [Math.sqrt(6), 0, 0, Math.sqrt(8)];
  const m = tf.tidy(() => attentionMap(tf.tensor4d(x, [1, 1, 2, 2])).arraySync());
  assertAllClose(m.flat(), [0.6, 0.8], 1e-6, "p = 2");
  // p = 1: means of |f| are 2 and 1 → (2, 1)/√5.
  const m1 = tf.tidy(() => attentionMap(tf.tensor4d([-3, 1, 0, 2], [1, 1, 2, 2]), 1).arraySync());
  assertAllClose(m1.flat(), [2 / Math.sqrt(5), 1 / Math.sqrt(5)], 1e-6, "p = 1 uses |f|");
});

Deno.test("adaptiveAvgPool() uses PyTorch's bins, also when sizes do not divide", () => {
  for (const [h, w, oh, ow] of [[4, 4, 2, 2], [5, 5, 3, 3], [7, 6, 3, 4], [3, 3, 3, 3]]) {
    const x = randomMap(2, h, w, 3, h * 10 + w);
    const got = tf.tidy(() => adaptiveAvgPool(tensor(x), oh, ow).dataSync());
    assertAllClose(got, refAdaptivePool(x, oh, ow).flat(3), 1e-6, `${h}×${w} → ${oh}×${ow}`);
  }
  // 1-D bins of 5 → 3: [0, 2), [1, 4), [3, 5)
  const row = [[[[1], [2], [3], [4], [5]]]];
  const pooled = tf.tidy(() => adaptiveAvgPool(tensor(row), 1, 3).dataSync());
  assertAllClose(pooled, [1.5, 3, 4.5], 1e-6, "bins");
});

Deno.test("attentionTransferLoss() matches the float64 reference, pooling the larger map", () => {
  const cases: [Map4, Map4, number][] = [
    [randomMap(3, 4, 4, 2, 1), randomMap(3, 4, 4, 5, 2), 2],
    [randomMap(3, 6, 6, 2, 3), randomMap(3, 3, 3, 4, 4), 2], // student pooled
    [randomMap(2, 3, 3, 2, 5), randomMap(2, 5, 5, 3, 6), 2], // teacher pooled, uneven bins
    [randomMap(2, 4, 4, 3, 7), randomMap(2, 4, 4, 3, 8), 3],
  ];
  for (const [s, t, p] of cases) {
    const what = `${shapeOf(s)} vs ${shapeOf(t)}, p=${p}`;
    assertClose(value(s, t, p), refAt(s, t, p), 1e-5, what);
  }
});

Deno.test("attentionTransferLoss() gradient matches central finite differences", () => {
  for (
    const [s, t] of [
      [randomMap(2, 3, 3, 2, 9), randomMap(2, 3, 3, 4, 10)],
      [randomMap(2, 4, 4, 2, 11), randomMap(2, 2, 2, 3, 12)],
    ]
  ) {
    const shape = shapeOf(s);
    const expected = mapFiniteDifference((x) => refAt(x, t), s);
    assertAllClose(grad(s, t), expected, 2e-3, `d at / d student ${shape}`);
  }
});

Deno.test("attentionTransferLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMap(3, 3, 3, 2, 13);
  const zero = base.map((img) => img.map((r) => r.map((px) => px.map(() => 0))));
  const cases: Record<string, [Map4, Map4]> = {
    "identical samples": [[base[0], base[0], base[0]], base],
    "zero maps": [zero, base],
    "zero teacher": [base, zero],
    "B = 1": [[base[0]], [base[1]]],
  };
  assertFiniteOnCases(cases, value, grad);
  assertFiniteOnCases(cases, value, (s, t) => grad(s, t, 1));
});

Deno.test("attentionTransferLoss() rejects flat inputs and a bad p with a KtError", () => {
  const m = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  assert.throws(
    () => attentionTransferLoss(tf.tensor2d([[1, 2]]) as unknown as tf.Tensor4D, m),
    KtError,
  );
  assert.throws(() => attentionTransferLoss(m, m, { p: 0 }), /p must be/);
  m.dispose();
});

Deno.test("attentionTransferLoss() leaks no tensors across gradient steps", () => {
  assertPairLeaksNothing(
    attentionTransferLoss,
    tensor(randomMap(4, 6, 6, 3, 14)),
    tensor(randomMap(4, 3, 3, 5, 15)),
  );
});
