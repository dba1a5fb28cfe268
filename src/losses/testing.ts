/**
 * Test helpers of the loss tests (the pure functions' here, the loss plugins' in
 * `plugins/losses/`): seeded inputs as plain arrays (matrices and NHWC maps), central finite
 * differences of a float64 reference, PyTorch's adaptive average pooling in float64, tolerance
 * checks, tfjs value/gradient reads and a tensor-leak check. Not part of kt's API (`mod.ts`).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { createRng } from "../rng.ts";

/** A matrix as rows of float64 numbers. */
export type M = number[][];

/** rows×cols standard normal numbers (times `scale`) from `seed`. */
export function randomMatrix(rows: number, cols: number, seed: number, scale = 1): M {
  const rng = createRng(seed);
  return Array.from(
    { length: rows },
    () => Array.from({ length: cols }, () => rng.normal() * scale),
  );
}

/** `n` standard normal numbers from `seed`. */
export function randomArray(n: number, seed: number, scale = 1): number[] {
  return randomMatrix(1, n, seed, scale)[0];
}

/** ⟨a, b⟩ in float64. */
export function dot(a: number[], b: number[]): number {
  return a.reduce((s, v, k) => s + v * b[k], 0);
}

/** PyTorch's F.normalize of one vector in float64: v / max(‖v‖, 1e-12). */
export function normalize(v: number[]): number[] {
  const n = Math.max(Math.sqrt(dot(v, v)), 1e-12);
  return v.map((x) => x / n);
}

/** Mean of the numbers in float64. */
export function mean(xs: number[]): number {
  return xs.reduce((a, v) => a + v, 0) / xs.length;
}

/** Central differences (f(x + h) − f(x − h)) / 2h of `f` at every entry of the flat `x`. */
export function finiteDifference(f: (x: number[]) => number, x: number[], h = 1e-5): number[] {
  return x.map((_, i) => {
    const plus = [...x];
    const minus = [...x];
    plus[i] += h;
    minus[i] -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** Central differences of `f` at every entry of the matrix `x`, row-major. */
export function matrixFiniteDifference(f: (x: M) => number, x: M, h = 1e-5): number[] {
  return finiteDifference((flat) => f(rows(flat, x[0].length)), x.flat(), h);
}

/** Splits a flat array into rows of `cols`. */
export function rows(flat: number[], cols: number): M {
  return Array.from({ length: flat.length / cols }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
}

/** |actual − expected| ≤ tol · max(1, |expected|). */
export function assertClose(actual: number, expected: number, tol: number, what: string): void {
  const ok = Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
  assert.ok(ok, `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

/** Every |actual_i − expected_i| ≤ tol · max_j |expected_j|. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1e-12, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * scale,
      `${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (scale ${scale})`,
    );
  }
}

/** The value of a scalar loss, with every tensor it made disposed. */
export function valueOf(f: () => tf.Scalar): number {
  return tf.tidy(() => f().dataSync()[0]);
}

/** The gradient of `f` at `x` (a tensor made from `values` with `shape`), as numbers. */
export function gradOf(
  f: (x: tf.Tensor) => tf.Scalar,
  values: number[],
  shape: number[],
): Float32Array {
  return tf.tidy(() => tf.grad(f)(tf.tensor(values, shape)).dataSync() as Float32Array);
}

/** Asserts that every number is finite. */
export function assertFinite(xs: ArrayLike<number>, what: string): void {
  assert.ok(Array.from(xs).every(Number.isFinite), `${what}: ${Array.from(xs)}`);
}

/**
 * Asserts that gradient steps of `loss` with respect to the variables it reads leak no tensors
 * (see {@linkcode assertNoLeak}).
 */
export function assertGradientsLeakNothing(loss: () => tf.Scalar): void {
  assertNoLeak(() => {
    const { value, grads } = tf.variableGrads(loss);
    tf.dispose([value, ...Object.values(grads)]);
  });
}

/**
 * Asserts that gradient steps of `loss(student, teacher)` with respect to the student (made a
 * variable) leak no tensors; disposes both inputs.
 */
export function assertPairLeaksNothing<S extends tf.Tensor, T extends tf.Tensor>(
  loss: (student: S, teacher: T) => tf.Scalar,
  student: S,
  teacher: T,
): void {
  const s = tf.variable(student) as tf.Tensor as S;
  assertGradientsLeakNothing(() => loss(s, teacher));
  tf.dispose([s, student, teacher]);
}

/**
 * For each named case of inputs (degenerate batches): the loss is finite and at least `min`, and
 * its gradient is finite.
 */
export function assertFiniteOnCases<A extends unknown[]>(
  cases: Record<string, A>,
  value: (...inputs: A) => number,
  grad: (...inputs: A) => ArrayLike<number>,
  min = 0,
): void {
  for (const [name, inputs] of Object.entries(cases)) {
    const v = value(...inputs);
    assert.ok(Number.isFinite(v) && v >= min, `${name}: loss ${v}`);
    assertFinite(grad(...inputs), `${name}: gradient`);
  }
}

/**
 * Runs `step` (one gradient step that disposes what it makes) once to warm up, then five more
 * times, and asserts `tf.memory().numTensors` did not grow.
 */
export function assertNoLeak(step: () => void): void {
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before, "tensors leaked across steps");
}

// ---------------------------------------------------------------- NHWC maps in float64

/** An NHWC map as nested float64 arrays: [b][h][w][c]. */
export type Map4 = number[][][][];

/** A seeded B×H×W×C standard normal map. */
export function randomMap(b: number, h: number, w: number, c: number, seed: number): Map4 {
  const rng = createRng(seed);
  return Array.from(
    { length: b },
    () =>
      Array.from(
        { length: h },
        () => Array.from({ length: w }, () => Array.from({ length: c }, () => rng.normal())),
      ),
  );
}

/** The shape of a map. */
export function shapeOf(x: Map4): [number, number, number, number] {
  return [x.length, x[0].length, x[0][0].length, x[0][0][0].length];
}

/** A flat array in NHWC order back into a map of `shape`. */
export function unflatten(flat: number[], [b, h, w, c]: number[]): Map4 {
  let k = 0;
  return Array.from(
    { length: b },
    () =>
      Array.from(
        { length: h },
        () => Array.from({ length: w }, () => Array.from({ length: c }, () => flat[k++])),
      ),
  );
}

/** Central differences of `f` at every entry of the map `x`, in NHWC order. */
export function mapFiniteDifference(f: (x: Map4) => number, x: Map4): number[] {
  return finiteDifference((flat) => f(unflatten(flat, shapeOf(x))), x.flat(3));
}

/** F.adaptive_avg_pool2d: output i averages inputs ⌊i·H/h⌋ … ⌈(i+1)·H/h⌉ − 1 (rows and columns). */
export function refAdaptivePool(x: Map4, oh: number, ow: number): Map4 {
  const [, h, w, c] = shapeOf(x);
  const bins = (n: number, o: number) =>
    Array.from({ length: o }, (_, i) => [Math.floor((i * n) / o), Math.ceil(((i + 1) * n) / o)]);
  const rowsBins = bins(h, oh);
  const colBins = bins(w, ow);
  return x.map((img) =>
    rowsBins.map(([r0, r1]) =>
      colBins.map(([c0, c1]) =>
        Array.from({ length: c }, (_, ch) => {
          let s = 0;
          for (let r = r0; r < r1; r++) for (let q = c0; q < c1; q++) s += img[r][q][ch];
          return s / ((r1 - r0) * (c1 - c0));
        })
      )
    )
  );
}

/** Both maps pooled to the smaller height and width. */
export function refMatch(s: Map4, t: Map4): [Map4, Map4] {
  const [, hs, ws] = shapeOf(s);
  const [, ht, wt] = shapeOf(t);
  const h = Math.min(hs, ht);
  const w = Math.min(ws, wt);
  return [refAdaptivePool(s, h, w), refAdaptivePool(t, h, w)];
}
