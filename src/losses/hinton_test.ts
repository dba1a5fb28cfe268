import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { hintonLoss } from "./hinton.ts";

await tf.setBackend("cpu");

const { log } = Math;
const LN2 = log(2);
const LN3 = log(3);

// Logits picked so the softmaxes are simple fractions at T = 4 (library) and T = 2 (official).
const zs = [[0, 4 * LN3], [4 * LN2, 0], [0, 0]];
const zt = [[0, 0], [0, 4 * LN3], [4 * LN3, 0]];
const labels = [1, 0, 0];

function value(f: () => tf.Scalar): number {
  return tf.tidy(() => f().dataSync()[0]);
}

function close(actual: number, expected: number, tol = 1e-5, what = "") {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

Deno.test("hintonLoss() library form matches the hand-computed value", () => {
  // At T = 4: student q = [1/4, 3/4], [2/3, 1/3], [1/2, 1/2]; teacher p = [1/2, 1/2], [1/4, 3/4], [3/4, 1/4]
  const kl = (0.5 * log(4 / 3) + (0.25 * log(3 / 8) + 0.75 * log(9 / 4)) +
    (0.75 * log(1.5) + 0.25 * log(0.5))) / 3;
  const ce = (log(82 / 81) + log(17 / 16) + LN2) / 3;
  const got = value(() =>
    hintonLoss(tf.tensor2d(zs), tf.tensor2d(zt), { labels: tf.tensor1d(labels, "int32") })
  );
  close(got, 0.1 * ce + 0.9 * 16 * kl, 1e-5, "α=0.1, T=4");
  const custom = value(() =>
    hintonLoss(tf.tensor2d(zs), tf.tensor2d(zt), {
      labels: tf.tensor1d(labels, "int32"),
      alpha: 0.5,
      temperature: 4,
    })
  );
  close(custom, 0.5 * ce + 0.5 * 16 * kl, 1e-5, "α=0.5");
  // without labels: only the KD part, still weighted 1 − α
  close(
    value(() => hintonLoss(tf.tensor2d(zs), tf.tensor2d(zt))),
    0.9 * 16 * kl,
    1e-5,
    "no labels",
  );
});

Deno.test("hintonLoss() official form matches the hand-computed value", () => {
  // At T = 2: student q = [1/10, 9/10], [4/5, 1/5], [1/2, 1/2]; teacher p = [1/2, 1/2], [1/10, 9/10], [9/10, 1/10]
  const expected = -(
    (0.5 * log(0.1) + 0.5 * log(0.9)) + (0.1 * log(0.8) + 0.9 * log(0.2)) + log(0.5)
  ) / 3;
  close(value(() => hintonLoss(tf.tensor2d(zs), tf.tensor2d(zt), { form: "official" })), expected);
  // labels and alpha do not change the official form
  const withLabels = value(() =>
    hintonLoss(tf.tensor2d(zs), tf.tensor2d(zt), {
      form: "official",
      labels: tf.tensor1d(labels),
      alpha: 0.7,
    })
  );
  close(withLabels, expected);
});

Deno.test("hintonLoss() library KD gradient is T·(q − p)/B times (1 − α)", () => {
  const t = 3;
  const softmax = (row: number[]) => {
    const e = row.map((v) => Math.exp(v / t));
    const s = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / s);
  };
  const expected = zs.flatMap((row, i) => {
    const q = softmax(row);
    const p = softmax(zt[i]);
    return q.map((qc, c) => 0.8 * t * (qc - p[c]) / zs.length);
  });
  const got = tf.tidy(() => {
    const teacher = tf.tensor2d(zt);
    return tf.grad((z: tf.Tensor) =>
      hintonLoss(z as tf.Tensor2D, teacher, { temperature: t, alpha: 0.2 })
    )(tf.tensor2d(zs)).dataSync();
  });
  expected.forEach((e, i) => close(got[i], e, 1e-5, `grad[${i}]`));
});

Deno.test("hintonLoss() is zero for identical logits without labels", () => {
  close(value(() => hintonLoss(tf.tensor2d(zs), tf.tensor2d(zs))), 0, 1e-6);
});

Deno.test("hintonLoss() rejects bad inputs with a KtError", () => {
  const a = tf.tensor2d(zs);
  assert.throws(() => hintonLoss(a, tf.tensor2d([[1, 2, 3]])), KtError);
  assert.throws(() => hintonLoss(a, tf.tensor2d([[1, 2, 3], [1, 2, 3], [1, 2, 3]])), /classes/);
  assert.throws(() => hintonLoss(a, a, { temperature: 0 }), /temperature/);
  assert.throws(() => hintonLoss(a, a, { alpha: 1.5 }), /alpha/);
  assert.throws(() => hintonLoss(a, a, { form: "offical" as "official" }), /unknown form/);
  assert.throws(() => hintonLoss(a, a, { labels: tf.tensor1d([0, 1]) }), /labels/);
  a.dispose();
});
