import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import {
  assertAllClose,
  assertClose,
  assertNoLeak,
  finiteDifference,
  gradOf,
  randomArray,
  rows,
  valueOf,
} from "./testing.ts";
import { crossEntropy } from "./cross_entropy.ts";

await tf.setBackend("cpu");

const { exp, log, max } = Math;

/** −(1/B) Σ_i log softmax(z_i)[y_i] in float64. */
function reference(flat: number[], cols: number, labels: number[]): number {
  return rows(flat, cols).reduce((sum, z, i) => {
    const m = max(...z);
    const lse = m + log(z.reduce((s, v) => s + exp(v - m), 0));
    return sum - (z[labels[i]] - lse);
  }, 0) / labels.length;
}

Deno.test("crossEntropy() matches the hand-computed mean negative log-likelihood", () => {
  // softmax rows: [1/82, 81/82], [16/17, 1/17], [1/2, 1/2]
  const z = [[0, 4 * log(3)], [4 * log(2), 0], [0, 0]];
  const expected = (log(82 / 81) + log(17 / 16) + log(2)) / 3;
  assertClose(
    valueOf(() => crossEntropy(tf.tensor2d(z), tf.tensor1d([1, 0, 0], "int32"))),
    expected,
    1e-6,
    "int32 labels",
  );
  assertClose(
    valueOf(() => crossEntropy(tf.tensor2d(z), tf.tensor1d([1, 0, 0]))),
    expected,
    1e-6,
    "float labels",
  );
});

Deno.test("crossEntropy() matches a float64 reference and its finite-difference gradient", () => {
  const [b, c] = [5, 4];
  const z = randomArray(b * c, 11, 3);
  const labels = [0, 3, 1, 1, 2];
  const y = () => tf.tensor1d(labels, "int32");
  assertClose(
    valueOf(() => crossEntropy(tf.tensor2d(z, [b, c]), y())),
    reference(z, c, labels),
    1e-6,
    "value",
  );
  const grad = gradOf((x) => crossEntropy(x as tf.Tensor2D, y()), z, [b, c]);
  assertAllClose(grad, finiteDifference((x) => reference(x, c, labels), z), 1e-5, "gradient");
});

Deno.test("crossEntropy() keeps a confident row's small loss exact at large logits", () => {
  // ln(1 + e^−4.6) ≈ 0.0100017: log softmax as (z − max) − log Σ keeps it to float32 precision,
  // where z − (max + log Σ) rounds max + log Σ to 100's spacing and loses ~5e-5 of it.
  const value = valueOf(() => crossEntropy(tf.tensor2d([[100, 95.4]]), tf.tensor1d([0], "int32")));
  assertClose(value, log(1 + exp(-(100 - Math.fround(95.4)))), 1e-6, "confident row");
});

Deno.test("crossEntropy() counts a label outside [0, C) as 0 and rejects bad shapes", () => {
  const z = tf.tensor2d([[0, 0], [1, 2]]);
  assertClose(
    valueOf(() => crossEntropy(z, tf.tensor1d([5, 1], "int32"))),
    reference([1, 2], 2, [1]) / 2,
    1e-6,
    "out of range",
  );
  assert.throws(() => crossEntropy(z, tf.tensor1d([0, 1, 0])), KtError);
  assert.throws(
    () => crossEntropy(tf.tensor1d([0, 1]) as unknown as tf.Tensor2D, tf.tensor1d([0])),
    KtError,
  );
  z.dispose();
});

Deno.test("crossEntropy() gradient steps leak no tensors", () => {
  const w = tf.variable(tf.tensor2d(randomArray(12, 3), [4, 3]));
  const labels = tf.tensor1d([0, 1, 2, 0], "int32");
  assertNoLeak(() => {
    const { value, grads } = tf.variableGrads(() =>
      crossEntropy(w as tf.Variable<tf.Rank.R2>, labels)
    );
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([w, labels]);
});
