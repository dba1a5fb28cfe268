import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { vidInitialLogScale, vidLoss, type VidParams } from "./vid.ts";
import {
  assertAllClose,
  assertClose,
  assertFinite,
  assertGradientsLeakNothing,
  finiteDifference,
  type M,
  type Map4,
  mapFiniteDifference,
  matrixFiniteDifference,
  mean,
  randomArray,
  randomMap,
  randomMatrix,
  refMatch,
  shapeOf,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

// ------------------------------------------- float64 reference (RepDistiller's VIDLoss.forward)

interface RefParams {
  w: [M, M, M];
  s: number[];
}

const relu = (v: number[]) => v.map((x) => Math.max(x, 0));
const apply = (v: number[], w: M) => w[0].map((_, o) => v.reduce((a, x, i) => a + x * w[i][o], 0));
const softplus = (x: number) => Math.log1p(Math.exp(x));

/** Mean NLL over the positions (rows of channel vectors) of student and teacher. */
function refNll(student: number[][], teacher: number[][], p: RefParams, eps = 1e-5): number {
  const variance = p.s.map((s) => softplus(s) + eps);
  const terms = student.flatMap((h, n) => {
    const mu = apply(relu(apply(relu(apply(h, p.w[0])), p.w[1])), p.w[2]);
    return mu.map((m, c) => 0.5 * ((m - teacher[n][c]) ** 2 / variance[c] + Math.log(variance[c])));
  });
  return mean(terms);
}

function refVidMaps(s: Map4, t: Map4, p: RefParams): number {
  const [ps, pt] = refMatch(s, t);
  return refNll(ps.flat(2), pt.flat(2), p);
}

function params(ci: number, ct: number, seed: number): RefParams {
  return {
    w: [randomMatrix(ci, ct, seed), randomMatrix(ct, ct, seed + 1), randomMatrix(ct, ct, seed + 2)],
    s: randomArray(ct, seed + 3),
  };
}

function tensors(p: RefParams): VidParams {
  return {
    weights: p.w.map((w) => tf.tensor2d(w)) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D],
    logScale: tf.tensor1d(p.s),
  };
}

function tensor(x: Map4): tf.Tensor4D {
  return tf.tensor4d(x.flat(3), shapeOf(x));
}

function mapValue(s: Map4, t: Map4, p: RefParams): number {
  return valueOf(() => vidLoss(tensor(s), tensor(t), tensors(p)));
}

// ------------------------------------------------------------------------------------- tests

Deno.test("vidInitialLogScale() gives RepDistiller's initial variance of 5", () => {
  assertClose(softplus(vidInitialLogScale()) + 1e-5, 5, 1e-12, "σ²₀");
  assertClose(vidInitialLogScale(), Math.log(Math.exp(5 - 1e-5) - 1), 1e-12, "formula");
});

Deno.test("vidLoss() matches the hand-worked value of a perfect and an off-by-one prediction", () => {
  const eye = [[1, 0], [0, 1]];
  const p: RefParams = { w: [eye, eye, eye], s: [0, vidInitialLogScale()] };
  // μ = relu(relu(x)) = x for positive x. Channel 0: σ² = ln 2 + 1e-5, channel 1: σ² = 5.
  const v0 = Math.LN2 + 1e-5;
  const x = [[1, 2], [3, 4]];
  const perfect = 0.5 * (Math.log(v0) + Math.log(5)) / 2;
  const got = valueOf(() => vidLoss(tf.tensor2d(x), tf.tensor2d(x), tensors(p)));
  assertClose(got, perfect, 1e-6, "μ = target");
  const off = x.map((r) => r.map((v) => v + 1)); // every residual is 1
  const expected = perfect + 0.5 * (1 / v0 + 1 / 5) / 2;
  const got2 = valueOf(() => vidLoss(tf.tensor2d(x), tf.tensor2d(off), tensors(p)));
  assertClose(got2, expected, 1e-6, "residual 1");
  assertClose(refNll(x, off, p), expected, 1e-12, "reference");
});

Deno.test("vidLoss() matches the float64 reference on maps (pooled) and matrices", () => {
  const cases: [Map4, Map4][] = [
    [randomMap(2, 3, 3, 2, 1), randomMap(2, 3, 3, 4, 2)],
    [randomMap(2, 6, 6, 3, 3), randomMap(2, 3, 3, 2, 4)],
    [randomMap(2, 2, 2, 2, 5), randomMap(2, 5, 5, 3, 6)],
  ];
  for (const [s, t] of cases) {
    const p = params(shapeOf(s)[3], shapeOf(t)[3], 7);
    assertClose(mapValue(s, t, p), refVidMaps(s, t, p), 1e-5, `${shapeOf(s)} vs ${shapeOf(t)}`);
  }
  const s = randomMatrix(5, 3, 8);
  const t = randomMatrix(5, 4, 9);
  const p = params(3, 4, 10);
  const got = valueOf(() => vidLoss(tf.tensor2d(s), tf.tensor2d(t), tensors(p)));
  assertClose(got, refNll(s, t, p), 1e-5, "matrices");
});

Deno.test("vidLoss() gradients (student, regressor, variance) match finite differences", () => {
  const s = randomMap(2, 4, 4, 2, 11);
  const t = randomMap(2, 2, 2, 3, 12);
  const p = params(2, 3, 13);
  const [gS, gW1, gScale] = tf.tidy(() => {
    const tp = tensors(p);
    const tt = tensor(t);
    const f = (x: tf.Tensor, w1: tf.Tensor, scale: tf.Tensor) =>
      vidLoss(x, tt, {
        weights: [w1 as tf.Tensor2D, tp.weights[1], tp.weights[2]],
        logScale: scale as tf.Tensor1D,
      });
    return tf.grads(f)([tensor(s), tp.weights[0], tp.logScale]).map((g) => g.dataSync());
  });
  const fdS = mapFiniteDifference((x) => refVidMaps(x, t, p), s);
  assertAllClose(gS, fdS, 2e-3, "d vid / d student");
  const fdW = matrixFiniteDifference(
    (x) => refVidMaps(s, t, { ...p, w: [x, p.w[1], p.w[2]] }),
    p.w[0],
  );
  assertAllClose(gW1, fdW, 2e-3, "d vid / d W1");
  const fdScale = finiteDifference((x) => refVidMaps(s, t, { ...p, s: x }), p.s);
  assertAllClose(gScale, fdScale, 2e-3, "d vid / d log-scale");
});

Deno.test("vidLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMap(3, 3, 3, 2, 14);
  const zero = base.map((img) => img.map((r) => r.map((px) => px.map(() => 0))));
  const p = params(2, 2, 15);
  const cases: Record<string, [Map4, Map4]> = {
    "identical samples": [[base[0], base[0], base[0]], base],
    "zero maps": [zero, base],
    "B = 1": [[base[0]], [base[1]]],
  };
  for (const [name, [s, t]] of Object.entries(cases)) {
    assert.ok(Number.isFinite(mapValue(s, t, p)), `${name}: loss`);
    const g = tf.tidy(() => {
      const tt = tensor(t);
      return tf.grad((x) => vidLoss(x, tt, tensors(p)))(tensor(s)).dataSync();
    });
    assertFinite(g, `${name}: gradient`);
  }
});

Deno.test("vidLoss() rejects mixed ranks and a wrong variance size with a KtError", () => {
  const p = tensors(params(2, 2, 16));
  const map = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  assert.throws(() => vidLoss(map, tf.tensor2d([[1, 2]]), p), KtError);
  assert.throws(
    () => vidLoss(map, tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]), p),
    /logScale must have 3 entries/,
  );
  tf.dispose([map, ...p.weights, p.logScale]);
});

Deno.test("vidLoss() leaks no tensors across gradient steps", () => {
  const s = tf.variable(tensor(randomMap(4, 6, 6, 3, 17)));
  const t = tensor(randomMap(4, 3, 3, 5, 18));
  const p = tensors(params(3, 5, 19));
  const vars = [...p.weights, p.logScale].map((x) => tf.variable(x));
  assertGradientsLeakNothing(() =>
    vidLoss(s, t, {
      weights: vars.slice(0, 3) as tf.Tensor[] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D],
      logScale: vars[3] as tf.Tensor as tf.Tensor1D,
    })
  );
  tf.dispose([s, t, ...p.weights, p.logScale, ...vars]);
});
