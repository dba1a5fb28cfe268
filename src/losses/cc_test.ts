import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { ccLoss } from "./cc.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  type M,
  matrixFiniteDifference,
  mean,
  randomMatrix,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

/** Float64 CC (RepDistiller's Correlation): mean_i Σ_d |Δ_i,d|·|Δ_i+1,d|. */
function refCc(s: M, t: M): number {
  if (s.length < 2) return 0;
  const delta = s.map((r, i) => r.map((v, d) => Math.abs(v - t[i][d])));
  return mean(delta.slice(0, -1).map((r, i) => r.reduce((a, v, d) => a + v * delta[i + 1][d], 0)));
}

function value(s: M, t: M): number {
  return valueOf(() => ccLoss(tf.tensor2d(s), tf.tensor2d(t)));
}

function grad(s: M, t: M): Float32Array {
  return tf.tidy(() => {
    const tt = tf.tensor2d(t);
    return tf.grad((x) => ccLoss(x as tf.Tensor2D, tt))(tf.tensor2d(s)).dataSync() as Float32Array;
  });
}

Deno.test("ccLoss() matches the hand-worked value on three samples", () => {
  // Δ = |s − t| = (1, 0), (0, 2), (1, 1): pairs (1·0 + 0·2) = 0 and (0·1 + 2·1) = 2 → mean 1.
  const t = [[1, 1], [2, -1], [0, 0]];
  const s = [[2, 1], [2, 1], [-1, 1]];
  assertClose(value(s, t), 1, 1e-6, "CC");
  assertClose(refCc(s, t), 1, 1e-12, "reference");
});

Deno.test("ccLoss() matches the float64 reference and its finite-difference gradient", () => {
  const s = randomMatrix(6, 5, 1);
  const t = randomMatrix(6, 5, 2);
  assertClose(value(s, t), refCc(s, t), 1e-5, "value");
  const expected = matrixFiniteDifference((x) => refCc(x, t), s);
  assertAllClose(grad(s, t), expected, 2e-3, "d cc / d student");
});

Deno.test("ccLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMatrix(4, 3, 3);
  const cases: Record<string, [M, M]> = {
    "identical samples": [[base[0], base[0], base[0], base[0]], base],
    "student equals teacher": [base, base],
    "zero vectors": [base.map((r) => r.map(() => 0)), base.map((r) => r.map(() => 0))],
    "B = 1": [[base[0]], [base[1]]],
  };
  assertFiniteOnCases(cases, value, grad);
  assert.equal(value([[1, 2]], [[3, 4]]), 0);
});

Deno.test("ccLoss() rejects embeddings of different widths with a KtError", () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  assert.throws(() => ccLoss(a, tf.tensor2d([[1, 2, 3], [4, 5, 6]])), /width/);
  assert.throws(() => ccLoss(a, tf.tensor2d([[1, 2]])), KtError);
  a.dispose();
});

Deno.test("ccLoss() leaks no tensors across gradient steps", () => {
  assertPairLeaksNothing(
    ccLoss,
    tf.tensor2d(randomMatrix(8, 4, 4)),
    tf.tensor2d(randomMatrix(8, 4, 5)),
  );
});
