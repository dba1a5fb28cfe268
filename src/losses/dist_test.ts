import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { distLoss, type DistOptions } from "./dist.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  dot,
  type M,
  matrixFiniteDifference,
  mean,
  randomMatrix,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

// ------------------------------------------------- float64 reference, as the DIST code reads

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

/** cosine_similarity(a − mean a, b − mean b, eps = 1e-8) */
function pearson(a: number[], b: number[]): number {
  const ca = a.map((v) => v - mean(a));
  const cb = b.map((v) => v - mean(b));
  return dot(ca, cb) / (Math.sqrt(dot(ca, ca)) * Math.sqrt(dot(cb, cb)) + 1e-8);
}

const transpose = (m: M): M => m[0].map((_, j) => m.map((r) => r[j]));

function refDist(zs: M, zt: M, o: DistOptions = {}): number {
  const { beta = 1, gamma = 1, temperature: T = 4 } = o;
  const ys = zs.map((r) => softmax(r.map((v) => v / T)));
  const yt = zt.map((r) => softmax(r.map((v) => v / T)));
  const inter = 1 - mean(ys.map((r, i) => pearson(r, yt[i])));
  const ysT = transpose(ys);
  const ytT = transpose(yt);
  const intra = 1 - mean(ysT.map((r, i) => pearson(r, ytT[i])));
  return T * T * (beta * inter + gamma * intra);
}

function value(zs: M, zt: M, o: DistOptions = {}): number {
  return valueOf(() => distLoss(tf.tensor2d(zs), tf.tensor2d(zt), o));
}

function grad(zs: M, zt: M, o: DistOptions = {}): Float32Array {
  return tf.tidy(() => {
    const t = tf.tensor2d(zt);
    return tf.grad((x) => distLoss(x as tf.Tensor2D, t, o))(tf.tensor2d(zs))
      .dataSync() as Float32Array;
  });
}

const lg = (m: M) => m.map((r) => r.map(Math.log));

Deno.test("distLoss() matches the hand-worked value at τ = 1", () => {
  // y_s = [[½, ¼, ¼], [¼, ½, ¼]], y_t = [[¼, ½, ¼], [¼, ½, ¼]] (logits = log y).
  // Inter: row 1 centred (1/6, −1/12, −1/12) vs (−1/12, 1/6, −1/12): cos = −(1/48)/(1/24) = −½;
  //   row 2 identical: 1 → inter = 1 − ¼ = ¾.
  // Intra: every teacher column is constant → centred 0 → cos 0 (the 1e-8 guard) → intra = 1.
  const zs = lg([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]);
  const zt = lg([[0.25, 0.5, 0.25], [0.25, 0.5, 0.25]]);
  assertClose(value(zs, zt, { temperature: 1 }), 1.75, 1e-6, "β = γ = 1");
  assertClose(value(zs, zt, { temperature: 1, beta: 2, gamma: 0.5 }), 2, 1e-6, "β = 2, γ = ½");
  assertClose(refDist(zs, zt, { temperature: 1 }), 1.75, 1e-7, "reference");
  // Default τ = 4 on logits ×4: the same y, scaled by τ² = 16.
  const x4 = (m: M) => m.map((r) => r.map((v) => 4 * v));
  assertClose(value(x4(zs), x4(zt)), 28, 1e-5, "τ = 4");
});

Deno.test("distLoss() matches the float64 reference on random logits", () => {
  for (const [b, c, seed] of [[6, 5, 1], [4, 10, 2], [8, 3, 3]]) {
    const zs = randomMatrix(b, c, seed, 3);
    const zt = randomMatrix(b, c, seed + 50, 3);
    assertClose(value(zs, zt), refDist(zs, zt), 1e-5, `${b}×${c}`);
    const o = { beta: 2, gamma: 0.5, temperature: 1 };
    assertClose(value(zs, zt, o), refDist(zs, zt, o), 1e-5, `${b}×${c} options`);
  }
});

Deno.test("distLoss() gradient matches central finite differences", () => {
  const zs = randomMatrix(5, 4, 4, 2);
  const zt = randomMatrix(5, 4, 5, 2);
  for (const o of [{}, { temperature: 1, beta: 2, gamma: 0.5 }]) {
    const expected = matrixFiniteDifference((x) => refDist(x, zt, o), zs);
    assertAllClose(grad(zs, zt, o), expected, 2e-3, `d dist / d student ${JSON.stringify(o)}`);
  }
});

Deno.test("distLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMatrix(4, 5, 6, 2);
  const cases: Record<string, [M, M]> = {
    "identical samples": [[base[0], base[0], base[0], base[0]], base],
    "zero logits (uniform predictions)": [base.map((r) => r.map(() => 0)), base],
    "zero teacher logits": [base, base.map((r) => r.map(() => 0))],
    "B = 1": [[base[0]], [base[1]]],
  };
  assertFiniteOnCases(cases, value, grad, -1e-5);
});

Deno.test("distLoss() rejects bad shapes and options with a KtError", () => {
  const z = tf.tensor2d([[1, 2], [3, 4]]);
  assert.throws(() => distLoss(z, tf.tensor2d([[1, 2, 3], [4, 5, 6]])), KtError);
  assert.throws(() => distLoss(z, tf.tensor2d([[1, 2]])), KtError);
  assert.throws(() => distLoss(z, z, { temperature: -1 }), /temperature/);
  z.dispose();
});

Deno.test("distLoss() leaks no tensors across gradient steps", () => {
  assertPairLeaksNothing(
    distLoss,
    tf.tensor2d(randomMatrix(8, 10, 7)),
    tf.tensor2d(randomMatrix(8, 10, 8)),
  );
});
