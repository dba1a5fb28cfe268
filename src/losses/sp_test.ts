import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { similarityPreservingLoss } from "./sp.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  dot,
  type M,
  matrixFiniteDifference,
  normalize,
  randomMatrix,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

/** Float64 SP (RepDistiller's Similarity.similarity_loss) on flattened samples. */
function refSp(s: M, t: M): number {
  const g = (f: M) => f.map((a) => normalize(f.map((b) => dot(a, b))));
  const gs = g(s);
  const gt = g(t);
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = 0; j < s.length; j++) total += (gt[i][j] - gs[i][j]) ** 2;
  }
  return total / (s.length * s.length);
}

function value(s: M, t: M): number {
  return valueOf(() => similarityPreservingLoss(tf.tensor2d(s), tf.tensor2d(t)));
}

function grad(s: M, t: M): Float32Array {
  return tf.tidy(() => {
    const tt = tf.tensor2d(t);
    return tf.grad((x) => similarityPreservingLoss(x, tt))(tf.tensor2d(s))
      .dataSync() as Float32Array;
  });
}

Deno.test("similarityPreservingLoss() matches the hand-worked value: orthogonal vs parallel pair", () => {
  // G_s = I; G_t = all ones, rows normalised to 1/√2: ‖G_t − G_s‖² = 2(1/√2 − 1)² + 2·½ = 4 − 2√2.
  const expected = (4 - 2 * Math.SQRT2) / 4;
  assertClose(value([[1, 0], [0, 1]], [[1, 0], [1, 0]]), expected, 1e-6, "SP");
  assertClose(refSp([[1, 0], [0, 1]], [[1, 0], [1, 0]]), expected, 1e-12, "reference");
});

Deno.test("similarityPreservingLoss() flattens maps per sample and matches the float64 reference", () => {
  const s = randomMatrix(5, 2 * 3 * 4, 1);
  const t = randomMatrix(5, 3 * 3 * 2, 2);
  const got = valueOf(() =>
    similarityPreservingLoss(
      tf.tensor4d(s.flat(), [5, 2, 3, 4]),
      tf.tensor4d(t.flat(), [5, 3, 3, 2]),
    )
  );
  assertClose(got, refSp(s, t), 1e-5, "4-d maps");
  assertClose(value(s, t), refSp(s, t), 1e-5, "flat");
});

Deno.test("similarityPreservingLoss() gradient matches central finite differences", () => {
  const s = randomMatrix(5, 4, 3);
  const t = randomMatrix(5, 6, 4);
  const expected = matrixFiniteDifference((x) => refSp(x, t), s);
  assertAllClose(grad(s, t), expected, 2e-3, "d sp / d student");
});

Deno.test("similarityPreservingLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMatrix(4, 3, 5);
  const cases: Record<string, [M, M]> = {
    "identical samples": [[base[0], base[0], base[0], base[0]], base],
    "zero vectors": [base.map((r) => r.map(() => 0)), base],
    "some zero rows": [[[0, 0, 0], base[1], [0, 0, 0], base[3]], base],
    "zero teacher": [base, base.map((r) => r.map(() => 0))],
    "B = 1": [[base[0]], [base[1]]],
  };
  assertFiniteOnCases(cases, value, grad);
  assertClose(value([[1, 2]], [[3]]), 0, 1e-7, "B = 1 is zero");
});

Deno.test("similarityPreservingLoss() rejects mismatched batches with a KtError", () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  assert.throws(() => similarityPreservingLoss(a, tf.tensor2d([[1, 2]])), KtError);
  assert.throws(() => similarityPreservingLoss(a, tf.tensor1d([1, 2])), KtError);
  a.dispose();
});

Deno.test("similarityPreservingLoss() leaks no tensors across gradient steps", () => {
  assertPairLeaksNothing(
    similarityPreservingLoss,
    tf.tensor2d(randomMatrix(8, 4, 6)),
    tf.tensor2d(randomMatrix(8, 6, 7)),
  );
});
