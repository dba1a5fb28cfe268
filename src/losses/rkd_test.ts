import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { rkdLoss } from "./rkd.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  dot,
  type M,
  matrixFiniteDifference,
  mean,
  normalize,
  randomMatrix,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

// ------------------------------------------------------ float64 reference (RepDistiller's RKDLoss)

function smoothL1(a: number, b: number): number {
  const d = Math.abs(a - b);
  return d < 1 ? 0.5 * d * d : d - 0.5;
}

/** Distances sqrt(max(‖x_i − x_j‖², 1e-12)), diagonal 0, over the mean of the positive ones. */
function refDistances(x: M): M {
  const d = x.map((a, i) =>
    x.map((
      b,
      j,
    ) => (i === j ? 0 : Math.sqrt(Math.max(a.reduce((s, v, k) => s + (v - b[k]) ** 2, 0), 1e-12))))
  );
  const m = mean(d.flat().filter((v) => v > 0));
  return d.map((r) => r.map((v) => v / m));
}

/** angle[i][j][k] = ⟨normalize(x_j − x_i), normalize(x_k − x_i)⟩. */
function refAngles(x: M): number[] {
  const out: number[] = [];
  for (const xi of x) {
    const u = x.map((xj) => normalize(xj.map((v, k) => v - xi[k])));
    for (const uj of u) for (const uk of u) out.push(dot(uj, uk));
  }
  return out;
}

function refRkd(s: M, t: M, dw = 25, aw = 50): number {
  const ds = refDistances(s).flat();
  const dt = refDistances(t).flat();
  const as = refAngles(s);
  const at = refAngles(t);
  const lossD = s.length < 2 ? 0 : mean(ds.map((v, i) => smoothL1(v, dt[i])));
  const lossA = mean(as.map((v, i) => smoothL1(v, at[i])));
  return dw * lossD + aw * lossA;
}

function value(s: M, t: M, o = {}): number {
  return valueOf(() => rkdLoss(tf.tensor2d(s), tf.tensor2d(t), o));
}

function grad(s: M, t: M, o = {}): Float32Array {
  return tf.tidy(() => {
    const tt = tf.tensor2d(t);
    return tf.grad((x) => rkdLoss(x as tf.Tensor2D, tt, o))(tf.tensor2d(s))
      .dataSync() as Float32Array;
  });
}

// ------------------------------------------------------------------------------------- tests

Deno.test("rkdLoss() matches the hand-worked value on a right triangle vs three collinear points", () => {
  // Student (0,0), (1,0), (0,1): distances 1, 1, √2, mean (2 + √2)/3 → 3 − 1.5√2, 3 − 1.5√2, 3√2 − 3.
  // Teacher 0, 1, 2 on a line: distances 1, 2, 1, mean 4/3 → 3/4, 3/2, 3/4.
  const r2 = Math.SQRT2;
  const diffs = [3 - 1.5 * r2 - 0.75, 3 - 1.5 * r2 - 1.5, 3 * r2 - 3 - 0.75]; // all |·| < 1
  const lossD = (2 * diffs.reduce((a, d) => a + 0.5 * d * d, 0)) / 9;
  // Angles (cosines) at vertex 0, 1, 2: student 0, 1/√2, 1/√2; teacher 1, −1, 1. Each appears
  // twice among the 27 triples; the rest (j = k or a zero side) agree.
  const lossA = (2 * (smoothL1(0, 1) + smoothL1(1 / r2, -1) + smoothL1(1 / r2, 1))) / 27;
  assertClose(lossA, 3.5 / 27, 1e-12, "angle arithmetic"); // 2·(0.5 + (1/√2 + 0.5) + (1 − 1/√2)²/2)
  assertClose(lossD, 0.0716992, 1e-6, "distance arithmetic");
  const got = value([[0, 0], [1, 0], [0, 1]], [[0], [1], [2]]);
  assertClose(got, 25 * lossD + 50 * lossA, 1e-5, "rkdLoss");
  assertClose(got, refRkd([[0, 0], [1, 0], [0, 1]], [[0], [1], [2]]), 1e-5, "reference");
});

Deno.test("rkdLoss() matches the float64 reference on random batches of different widths", () => {
  for (const [b, ds, dt, seed] of [[5, 3, 4, 1], [8, 6, 2, 2], [2, 3, 3, 3]]) {
    const s = randomMatrix(b, ds, seed);
    const t = randomMatrix(b, dt, seed + 100);
    assertClose(value(s, t), refRkd(s, t), 1e-5, `B=${b}`);
    const o = { distanceWeight: 2, angleWeight: 0.5 };
    assertClose(value(s, t, o), refRkd(s, t, 2, 0.5), 1e-5, `B=${b} weights`);
  }
});

Deno.test("rkdLoss() gradient matches central finite differences of the float64 reference", () => {
  const s = randomMatrix(5, 3, 4);
  const t = randomMatrix(5, 4, 5);
  const expected = matrixFiniteDifference((x) => refRkd(x, t), s);
  assertAllClose(grad(s, t), expected, 2e-3, "d rkd / d student");
});

Deno.test("rkdLoss() is zero for a scaled copy and passes no gradient to the teacher", () => {
  const s = randomMatrix(6, 3, 6);
  assert.ok(Math.abs(value(s, s.map((r) => r.map((v) => 7 * v)))) < 1e-5);
  const gT = tf.tidy(() => {
    const ss = tf.tensor2d(s);
    return tf.grad((t) => rkdLoss(ss, t as tf.Tensor2D))(tf.tensor2d(randomMatrix(6, 2, 7)))
      .dataSync();
  });
  assert.ok(gT.every((v) => v === 0), `teacher gradient ${gT}`);
});

Deno.test("rkdLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMatrix(4, 3, 8);
  const cases: Record<string, [M, M]> = {
    "identical samples": [[base[0], base[0], base[0], base[0]], base],
    "identical teacher samples": [base, [base[1], base[1], base[1], base[1]]],
    "zero vectors": [base.map((r) => r.map(() => 0)), base],
    "some zero rows": [[[0, 0, 0], [0, 0, 0], base[2], base[3]], base],
    "B = 1": [[base[0]], [base[1]]],
    "B = 2": [base.slice(0, 2), base.slice(2)],
  };
  assertFiniteOnCases(cases, value, grad);
  assert.equal(value([[1, 2]], [[3]]), 0);
});

Deno.test("rkdLoss() rejects bad shapes and weights with a KtError", () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  assert.throws(() => rkdLoss(a, tf.tensor2d([[1, 2, 3]])), KtError);
  assert.throws(() => rkdLoss(a, a, { angleWeight: NaN }), /angleWeight/);
  a.dispose();
});

Deno.test("rkdLoss() leaks no tensors across gradient steps", () => {
  assertPairLeaksNothing(
    rkdLoss,
    tf.tensor2d(randomMatrix(8, 4, 9)),
    tf.tensor2d(randomMatrix(8, 6, 10)),
  );
});
