import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers tfjs-core's gradient functions
import "@tensorflow/tfjs-backend-cpu";
import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { nstLoss } from "./nst.ts";
import {
  assertAllClose,
  assertClose,
  assertFiniteOnCases,
  assertPairLeaksNothing,
  dot,
  type Map4,
  mapFiniteDifference,
  normalize,
  randomMap,
  refMatch,
  shapeOf,
  valueOf,
} from "./testing.ts";

await tf.setBackend("cpu");

/** Each channel's H·W pattern of one sample, normalised: C rows. */
function patterns(img: number[][][]): number[][] {
  const px = img.flat();
  return px[0].map((_, c) => normalize(px.map((p) => p[c])));
}

/** Mean over samples and channel pairs of (aᵀb)². */
function meanKernel(a: number[][][], b: number[][][]): number {
  let total = 0;
  let n = 0;
  a.forEach((ai, k) => {
    for (const u of ai) {
      for (const v of b[k]) {
        total += dot(u, v) ** 2;
        n++;
      }
    }
  });
  return total / n;
}

/** Float64 NST (RepDistiller's NSTLoss, full_loss = True). */
function refNst(s: Map4, t: Map4): number {
  const [ps, pt] = refMatch(s, t);
  const a = ps.map(patterns);
  const b = pt.map(patterns);
  return meanKernel(b, b) + meanKernel(a, a) - 2 * meanKernel(a, b);
}

function tensor(x: Map4): tf.Tensor4D {
  return tf.tensor4d(x.flat(3), shapeOf(x));
}

function value(s: Map4, t: Map4): number {
  return valueOf(() => nstLoss(tensor(s), tensor(t)));
}

function grad(s: Map4, t: Map4): Float32Array {
  return tf.tidy(() => {
    const tt = tensor(t);
    return tf.grad((x) => nstLoss(x as tf.Tensor4D, tt))(tensor(s)).dataSync() as Float32Array;
  });
}

Deno.test("nstLoss() matches the hand-worked value: one student channel vs two one-hot channels", () => {
  // Student pattern (1, 2)/√5; teacher channels (1, 0) and (0, 1).
  // K_tt = mean[[1, 0], [0, 1]] = ½, K_ss = 1, K_st = mean(1/5, 4/5) = ½ → L = ½ + 1 − 1 = ½.
  const s = [[[[1], [2]]]];
  const t = [[[[1, 0], [0, 1]]]];
  assertClose(value(s, t), 0.5, 1e-6, "NST");
  assertClose(refNst(s, t), 0.5, 1e-12, "reference");
});

Deno.test("nstLoss() matches the float64 reference, pooling the larger map", () => {
  const cases: [Map4, Map4][] = [
    [randomMap(3, 3, 3, 2, 1), randomMap(3, 3, 3, 4, 2)],
    [randomMap(2, 6, 6, 3, 3), randomMap(2, 3, 3, 2, 4)],
    [randomMap(2, 3, 3, 2, 5), randomMap(2, 5, 5, 3, 6)],
  ];
  for (const [s, t] of cases) {
    assertClose(value(s, t), refNst(s, t), 1e-5, `${shapeOf(s)} vs ${shapeOf(t)}`);
  }
});

Deno.test("nstLoss() is zero for a positively scaled copy (patterns are normalised)", () => {
  const s = randomMap(2, 3, 3, 3, 7);
  const t = s.map((img) => img.map((r) => r.map((px) => px.map((v) => 4 * v))));
  assert.ok(Math.abs(value(s, t)) < 1e-6);
});

Deno.test("nstLoss() gradient matches central finite differences", () => {
  for (
    const [s, t] of [
      [randomMap(2, 3, 3, 2, 8), randomMap(2, 3, 3, 3, 9)],
      [randomMap(2, 4, 4, 2, 10), randomMap(2, 2, 2, 3, 11)],
    ]
  ) {
    const shape = shapeOf(s);
    const expected = mapFiniteDifference((x) => refNst(x, t), s);
    assertAllClose(grad(s, t), expected, 2e-3, `d nst / d student ${shape}`);
  }
});

Deno.test("nstLoss() stays finite with finite gradients on degenerate batches", () => {
  const base = randomMap(3, 3, 3, 2, 12);
  const zero = base.map((img) => img.map((r) => r.map((px) => px.map(() => 0))));
  const deadChannel = base.map((img) => img.map((r) => r.map(([a]) => [a, 0])));
  const cases: Record<string, [Map4, Map4]> = {
    "identical samples": [[base[0], base[0], base[0]], base],
    "zero maps": [zero, base],
    "a dead (all-zero) channel": [deadChannel, base],
    "zero teacher": [base, zero],
    "B = 1, 1×1 maps": [[[[[1, 2]]]], [[[[3]]]]],
  };
  assertFiniteOnCases(cases, value, grad, -1e-6);
});

Deno.test("nstLoss() rejects flat inputs and mismatched batches with a KtError", () => {
  const m = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  assert.throws(() => nstLoss(tf.tensor2d([[1, 2]]) as unknown as tf.Tensor4D, m), KtError);
  assert.throws(() => nstLoss(m, tf.tensor4d([1, 2, 3, 4], [2, 1, 2, 1])), KtError);
  m.dispose();
});

Deno.test("nstLoss() leaks no tensors across gradient steps", () => {
  assertPairLeaksNothing(
    nstLoss,
    tensor(randomMap(4, 6, 6, 3, 13)),
    tensor(randomMap(4, 3, 3, 5, 14)),
  );
});
