/**
 * Tensor pieces the relation and feature-map losses share: PyTorch's `F.normalize`, a
 * stop-gradient, adaptive average pooling of NHWC maps (`F.adaptive_avg_pool2d`), smooth-L1, and
 * shape checks with actionable errors.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchMatMul } from "../backend/batch_matmul.ts";
import { KtError } from "../errors.ts";
import { checkMatrix } from "./pkt.ts";

/** PyTorch's `F.normalize` floor on the norm. */
export const NORM_EPS = 1e-12;

/** Identity whose gradient is zero (tfjs has no stop-gradient op): PyTorch's `.detach()`. */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

/**
 * `x / max(‖x‖₂, 1e-12)` along `axis` (PyTorch's `F.normalize`). The norm is taken as
 * `sqrt(max(Σx², 1e-24))`, the same value, so an all-zero slice maps to zeros with a zero (not
 * NaN) gradient.
 */
export function l2Normalize<T extends tf.Tensor>(x: T, axis: number): T {
  const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(x), axis, true), NORM_EPS * NORM_EPS));
  return tf.div(x, norm);
}

/** `x xᵀ` of a B×d matrix via an explicit transpose (the wasm backend's transposed matmul is slow). */
export function gram(x: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(x, tf.transpose(x));
}

/**
 * Batched `a bᵀ` of B×m×d and B×n×d: B×m×n, by {@linkcode batchMatMul} (on wasm, kt's
 * slice-by-slice kernel; its rounding differs from the stock `BatchMatMul`'s).
 */
export function batchGram(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return batchMatMul(a, b, false, true);
}

/**
 * Mean over all entries of smooth-L1 with β = 1 (PyTorch's `F.smooth_l1_loss` defaults), written
 * as ½·min(|d|, 1)² + (|d| − min(|d|, 1)): the same function, without a comparison op on the
 * gradient path (tfjs has no gradient for `Less`).
 */
export function smoothL1(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  const ad = tf.abs(tf.sub(a, b));
  const inner = tf.minimum(ad, tf.onesLike(ad)); // full-shape bound: see squaredDistances in pkt.ts
  return tf.mean(tf.add(tf.mul(tf.square(inner), 0.5), tf.sub(ad, inner)));
}

/** PyTorch's adaptive pooling bins of `size` inputs into `out` outputs, as an out×size matrix. */
function poolingMatrix(size: number, out: number): tf.Tensor2D {
  const m = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) m[i * size + j] = 1 / (end - start);
  }
  return tf.tensor2d(m, [out, size]);
}

/**
 * Adaptive average pooling of an NHWC map to `height × width` with PyTorch's bins
 * (`F.adaptive_avg_pool2d`: output i averages inputs ⌊i·H/h⌋ … ⌈(i+1)·H/h⌉ − 1), as two matmuls.
 */
export function adaptiveAvgPool(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h === height && w === width) return x;
  return tf.tidy(() => {
    // Pool rows: (H, B·W·C) → (height, B·W·C).
    let y = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, b * w * c]);
    y = tf.matMul(poolingMatrix(h, height), y);
    // Pool columns: (W, B·height·C) → (width, B·height·C).
    y = tf.transpose(tf.reshape(y, [height, b, w, c]), [2, 1, 0, 3]);
    y = tf.matMul(poolingMatrix(w, width), tf.reshape(y, [w, b * height * c]));
    return tf.transpose(tf.reshape(y, [width, b, height, c]), [1, 2, 0, 3]);
  });
}

/**
 * Student and teacher maps at one spatial size: the larger is average-pooled to the smaller
 * (RepDistiller's AT/NST/VID rule, which compares heights and pools to a square; the same for the
 * square maps it uses). Height and width are matched independently here.
 */
export function matchSpatial(s: tf.Tensor4D, t: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const h = Math.min(s.shape[1], t.shape[1]);
  const w = Math.min(s.shape[2], t.shape[2]);
  return [adaptiveAvgPool(s, h, w), adaptiveAvgPool(t, h, w)];
}

/** Throws a {@linkcode KtError} unless `x` is a non-empty NHWC map (with `rows` samples if given). */
export function checkMap(x: tf.Tensor, name: string, where: string, rows?: number): void {
  if (x.rank !== 4) {
    throw new KtError(
      `${where}: ${name} must be an NHWC feature map (B×H×W×C), got shape [${x.shape.join(", ")}]`,
      { hint: "pass a convolutional layer's output, not a flattened or dense one" },
    );
  }
  checkBatch(x, name, where, rows);
}

/** Throws a {@linkcode KtError} unless `x` has rank ≥ 2, no empty axis, and `rows` rows if given. */
export function checkBatch(x: tf.Tensor, name: string, where: string, rows?: number): void {
  if (x.rank < 2 || x.shape.some((n) => n === 0)) {
    throw new KtError(
      `${where}: ${name} must be a non-empty batch (B×…), got shape [${x.shape.join(", ")}]`,
      { hint: "pass at least one sample with at least one feature" },
    );
  }
  if (rows !== undefined && x.shape[0] !== rows) {
    throw new KtError(
      `${where}: ${name} has ${x.shape[0]} samples but the student batch has ${rows}`,
      { hint: "student and teacher inputs must come from the same mini-batch, row for row" },
    );
  }
}

/** Throws a {@linkcode KtError} unless `labels` is a vector of `rows` class indices. */
export function checkLabels(labels: tf.Tensor, rows: number, where: string): void {
  if (labels.rank !== 1 || labels.shape[0] !== rows) {
    throw new KtError(
      `${where}: labels must have shape [${rows}], got [${labels.shape.join(", ")}]`,
      { hint: "pass one integer class index per logit row" },
    );
  }
}

/** Throws a {@linkcode KtError} unless `value` is a finite number (> 0 when `positive`). */
export function checkNumber(value: number, name: string, where: string, positive = false): void {
  if (!Number.isFinite(value) || (positive && value <= 0)) {
    throw new KtError(
      `${where}: ${name} must be a finite number${positive ? " > 0" : ""}, got ${value}`,
      { hint: `leave ${name} out to use its default` },
    );
  }
}

/**
 * Throws a {@linkcode KtError} unless student and teacher logits are B×C matrices of the same
 * batch and the same C ≥ `minClasses` classes.
 */
export function checkLogitPair(
  student: tf.Tensor,
  teacher: tf.Tensor,
  where: string,
  minClasses = 1,
): void {
  checkMatrix(student, "student logits", where);
  checkMatrix(teacher, "teacher logits", where, student.shape[0]);
  const c = student.shape[1]!;
  if (teacher.shape[1] !== c || c < minClasses) {
    throw new KtError(`${where}: student has ${c} classes, teacher ${teacher.shape[1]}`, {
      hint: `distil between networks trained on the same classes (at least ${minClasses})`,
    });
  }
}
