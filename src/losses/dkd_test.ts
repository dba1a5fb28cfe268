import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { dkdLoss, type DkdOptions } from "./dkd.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  type M,
  matrixFiniteDifference,
  randomMatrix,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

const { log } = Math;

// -------------------------------------------- float64 reference, as mdistiller's dkd_loss reads

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

/** F.kl_div(log q, p, sum): Σ p (log p − log q), with 0 where p = 0 (xlogy). */
function klDiv(logQ: number[], p: number[]): number {
  return p.reduce((a, v, i) => a + (v === 0 ? 0 : v * (log(v) - logQ[i])), 0);
}

function refDkd(zs: M, zt: M, y: number[], o: DkdOptions = {}): number {
  const { alpha = 1, beta = 8, temperature: T = 4 } = o;
  let tckd = 0;
  let nckd = 0;
  zs.forEach((s, i) => {
    const ps = softmax(s.map((v) => v / T));
    const pt = softmax(zt[i].map((v) => v / T));
    const cat = (p: number[]) => [p[y[i]], p.reduce((a, v, c) => a + (c === y[i] ? 0 : v), 0)];
    tckd += klDiv(cat(ps).map(log), cat(pt));
    const shifted = (z: number[]) => z.map((v, c) => v / T - (c === y[i] ? 1000 : 0));
    const logQ2 = (() => {
      const z = shifted(s);
      const m = Math.max(...z);
      const lse = m + log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      return z.map((v) => v - lse);
    })();
    nckd += klDiv(logQ2, softmax(shifted(zt[i])));
  });
  const b = zs.length;
  return (alpha * tckd * T * T) / b + (beta * nckd * T * T) / b;
}

function value(zs: M, zt: M, y: number[], o: DkdOptions = {}): number {
  return valueOf(() => dkdLoss(tf.tensor2d(zs), tf.tensor2d(zt), tf.tensor1d(y, "int32"), o));
}

function grad(zs: M, zt: M, y: number[], o: DkdOptions = {}): Float32Array {
  return tf.tidy(() => {
    const t = tf.tensor2d(zt);
    const labels = tf.tensor1d(y, "int32");
    return tf.grad((x) => dkdLoss(x as tf.Tensor2D, t, labels, o))(tf.tensor2d(zs))
      .dataSync() as Float32Array;
  });
}

// ------------------------------------------------------------------------------------- tests

Deno.test("dkdLoss() matches the hand-worked TCKD and NCKD at T = 1", () => {
  // Sample 1 (label 0): student uniform, teacher ∝ (2, 1, 1). TCKD: [½, ½] vs [⅓, ⅔] →
  //   ½ ln(3/2) + ½ ln(3/4) = ½ ln(9/8); NCKD: [½, ½] vs [½, ½] → 0.
  // Sample 2 (label 0): student uniform, teacher ∝ (2, 3, 1). TCKD: [⅓, ⅔] vs [⅓, ⅔] → 0;
  //   NCKD: [¾, ¼] vs [½, ½] → ¾ ln(3/2) + ¼ ln(1/2).
  const zs = [[0, 0, 0], [0, 0, 0]];
  const zt = [[log(2), 0, 0], [log(2), log(3), 0]];
  const tckd = (0.5 * log(9 / 8)) / 2;
  const nckd = (0.75 * log(1.5) + 0.25 * log(0.5)) / 2;
  assertClose(value(zs, zt, [0, 0], { temperature: 1 }), tckd + 8 * nckd, 1e-6, "α=1, β=8");
  assertClose(
    value(zs, zt, [0, 0], { temperature: 1, alpha: 3, beta: 0.5 }),
    3 * tckd + 0.5 * nckd,
    1e-6,
    "α=3, β=0.5",
  );
  assertClose(refDkd(zs, zt, [0, 0], { temperature: 1 }), tckd + 8 * nckd, 1e-12, "reference");
  // At the default T = 4 the same probabilities (logits ×4) give T² = 16 times the loss.
  const x4 = (m: M) => m.map((r) => r.map((v) => 4 * v));
  assertClose(value(x4(zs), x4(zt), [0, 0]), 16 * (tckd + 8 * nckd), 1e-5, "T = 4");
});

Deno.test("dkdLoss() matches the float64 reference on random logits", () => {
  for (const [b, c, seed] of [[6, 5, 1], [4, 10, 2], [3, 2, 3]]) {
    const zs = randomMatrix(b, c, seed, 3);
    const zt = randomMatrix(b, c, seed + 50, 3);
    const y = Array.from({ length: b }, (_, i) => (i * 7 + seed) % c);
    assertClose(value(zs, zt, y), refDkd(zs, zt, y), 1e-5, `${b}×${c}`);
    const o = { alpha: 0.5, beta: 2, temperature: 2 };
    assertClose(value(zs, zt, y, o), refDkd(zs, zt, y, o), 1e-5, `${b}×${c} options`);
  }
});

Deno.test("dkdLoss() gradient matches central finite differences", () => {
  const zs = randomMatrix(4, 5, 4, 2);
  const zt = randomMatrix(4, 5, 5, 2);
  const y = [0, 3, 3, 1];
  for (const o of [{}, { temperature: 1, alpha: 2, beta: 1 }]) {
    const expected = matrixFiniteDifference((x) => refDkd(x, zt, y, o), zs);
    assertAllClose(grad(zs, zt, y, o), expected, 2e-3, `d dkd / d student ${JSON.stringify(o)}`);
  }
});

Deno.test("dkdLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMatrix(4, 5, 6, 2);
  const cases: Record<string, [M, M, number[]]> = {
    "identical samples": [[base[0], base[0], base[0], base[0]], base, [1, 1, 1, 1]],
    "zero logits": [base.map((r) => r.map(() => 0)), base, [0, 1, 2, 3]],
    "a single class": [base, base.map((r) => r.map((v) => -v)), [2, 2, 2, 2]],
    // p_gt rounds to 1 in fp32: log(1 − p_gt) = −inf in the reference's form.
    "saturated target": [[[400, 0, 0, 0, 0]], [[0, 1, 2, 3, 4]], [0]],
    "saturated teacher": [[[0, 1, 2, 3, 4]], [[400, 0, 0, 0, 0]], [0]],
  };
  assertFiniteOnCases(cases, value, grad, -1e-5);
  assertClose(value(base, base, [0, 1, 2, 3]), 0, 1e-5, "identical logits");
});

Deno.test("dkdLoss() rejects bad shapes, labels and options with a KtError", () => {
  const z = tf.tensor2d([[1, 2], [3, 4]]);
  const y = tf.tensor1d([0, 1], "int32");
  assert.throws(() => dkdLoss(z, tf.tensor2d([[1, 2, 3], [4, 5, 6]]), y), KtError);
  assert.throws(() => dkdLoss(z, z, tf.tensor1d([0], "int32")), /labels must have shape/);
  assert.throws(() => dkdLoss(tf.tensor2d([[1]]), tf.tensor2d([[1]]), y), KtError);
  assert.throws(() => dkdLoss(z, z, y, { temperature: 0 }), /temperature/);
  tf.dispose([z, y]);
});

Deno.test("dkdLoss() leaks no tensors across gradient steps", () => {
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32");
  assertPairLeaksNothing(
    (s: tf.Tensor2D, t: tf.Tensor2D) => dkdLoss(s, t, y),
    tf.tensor2d(randomMatrix(8, 10, 7)),
    tf.tensor2d(randomMatrix(8, 10, 8)),
  );
  y.dispose();
});
