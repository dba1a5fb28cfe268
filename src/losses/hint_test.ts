import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { fitnetsLoss, hintLoss, randomProjection } from "./hint.ts";

await tf.setBackend("cpu");

function value(f: () => tf.Scalar): number {
  return tf.tidy(() => f().dataSync()[0]);
}

const s = [[1, 2], [0, 1], [3, 0]]; // B=3, ds=2
const t = [[1, 0, 2], [0, 1, 0], [1, 1, 1]]; // B=3, dt=3

Deno.test("hintLoss() random mode maps the teacher to ds and sums squared errors over B", () => {
  const r = [[1, 0], [0, 1], [1, 1]]; // dt×ds
  // tR = [1+2, 0+2] = [3, 2]; [0, 1]; [1+1, 1+1] = [2, 2]
  // s − tR = [-2, 0], [0, 0], [1, -2] → squares 4 + 0 + 1 + 4 = 9 → 9/3
  const got = value(() =>
    hintLoss(tf.tensor2d(s), tf.tensor2d(t), tf.tensor2d(r), { mode: "random" })
  );
  assert.ok(Math.abs(got - 3) < 1e-6, `${got}`);
});

Deno.test("hintLoss() optimized mode maps the student to dt and sums squared errors over B", () => {
  const w = [[1, 0, 1], [0, 1, 0]]; // ds×dt
  // sW = [1, 2, 1], [0, 1, 0], [3, 0, 3]
  // sW − t = [0, 2, -1], [0, 0, 0], [2, -1, 2] → 0+4+1 + 0 + 4+1+4 = 14 → 14/3
  const got = value(() =>
    hintLoss(tf.tensor2d(s), tf.tensor2d(t), tf.tensor2d(w), { mode: "optimized" })
  );
  assert.ok(Math.abs(got - 14 / 3) < 1e-6, `${got}`);
});

Deno.test("hintLoss() rejects a projection of the wrong shape", () => {
  const w = tf.tensor2d([[1, 0], [0, 1]]);
  assert.throws(
    () => hintLoss(tf.tensor2d(s), tf.tensor2d(t), w, { mode: "optimized" }),
    /projection must be 2×3/,
  );
  assert.throws(
    () => hintLoss(tf.tensor2d(s), tf.tensor2d(t), w, { mode: "random" }),
    /projection must be 3×2/,
  );
});

Deno.test("randomProjection() is seeded and has entry variance 1/dOut", () => {
  const a = randomProjection(200, 50, 42);
  const b = randomProjection(200, 50, 42);
  const c = randomProjection(200, 50, 43);
  assert.deepEqual(a.dataSync(), b.dataSync());
  assert.notDeepEqual(a.dataSync(), c.dataSync());
  const v = Array.from(a.dataSync());
  const mean = v.reduce((x, y) => x + y, 0) / v.length;
  const variance = v.reduce((x, y) => x + (y - mean) ** 2, 0) / v.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 50) < 0.002, `variance ${variance}`);
  assert.deepEqual(a.shape, [200, 50]);
  tf.dispose([a, b, c]);
  assert.throws(() => randomProjection(0, 3, 1), KtError);
});

Deno.test("fitnetsLoss() is the mean squared error of the linearly regressed student hint", () => {
  const kernel = [[1, 0, 1], [0, 1, 0]];
  const bias = [0, 0, 1];
  // sW + b = [1, 2, 2], [0, 1, 1], [3, 0, 4]; minus t = [0, 2, 0], [0, 0, 1], [2, -1, 3]
  // squares: 0+4+0 + 0+0+1 + 4+1+9 = 19 over 9 elements
  const got = value(() =>
    fitnetsLoss(tf.tensor2d(s), tf.tensor2d(t), {
      kernel: tf.tensor2d(kernel),
      bias: tf.tensor1d(bias),
    })
  );
  assert.ok(Math.abs(got - 19 / 9) < 1e-6, `${got}`);
});

Deno.test("fitnetsLoss() applies a 1×1 convolution to NHWC hints (flattened teacher too)", () => {
  // Student hint B=1, H=1, W=2, C=2: pixels (1, 2) and (3, 4); regressor 2→1 with weights (1, -1).
  const hs = tf.tensor4d([[[[1, 2], [3, 4]]]]);
  const kernel = tf.tensor2d([[1], [-1]]);
  // r(hs) = pixels -1 and -1; teacher pixels 1 and -3 → errors -2, 2 → MSE 4
  const ht4 = tf.tensor4d([[[[1], [-3]]]]);
  assert.ok(Math.abs(value(() => fitnetsLoss(hs, ht4, { kernel })) - 4) < 1e-6);
  const htFlat = tf.tensor2d([[1, -3]]);
  assert.ok(Math.abs(value(() => fitnetsLoss(hs, htFlat, { kernel })) - 4) < 1e-6);
  assert.throws(() => fitnetsLoss(hs, tf.tensor2d([[1, 2, 3]]), { kernel }), /regressed student/);
  assert.throws(() => fitnetsLoss(hs, ht4, { kernel: tf.tensor2d([[1, 2, 3]]) }), KtError);
  tf.dispose([hs, kernel, ht4, htFlat]);
});
