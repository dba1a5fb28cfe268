/**
 * DIST (Huang et al., NeurIPS 2022, "Knowledge Distillation from A Stronger Teacher"): the
 * student matches the teacher's predictions by Pearson correlation, across classes for each
 * sample (inter-class) and across samples for each class (intra-class). See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkLogitPair, checkNumber } from "./tensor.ts";

/** Options of {@linkcode distLoss}. */
export interface DistOptions {
  /** Weight β of the inter-class term (default 1). */
  beta?: number;
  /** Weight γ of the intra-class term (default 1). */
  gamma?: number;
  /** Softmax temperature τ (default 4). */
  temperature?: number;
}

/** The reference's guard in the cosine's denominator. */
const EPS = 1e-8;

/** Mean over rows of the Pearson correlation of a and b: cosine of the centred rows. */
function meanPearson(a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar {
  const ca = tf.sub(a, tf.mean(a, 1, true));
  const cb = tf.sub(b, tf.mean(b, 1, true));
  // ‖x‖ as sqrt(max(Σx², 1e-30)): the same number next to the 1e-8 guard, and a finite gradient
  // for a constant row (a single sample's column, a uniform prediction).
  const norm = (x: tf.Tensor) => tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1), 1e-30));
  const cos = tf.div(tf.sum(tf.mul(ca, cb), 1), tf.add(tf.mul(norm(ca), norm(cb)), EPS));
  return tf.mean(cos);
}

/**
 * DIST loss between student and teacher logits (B×C): y = softmax(z/τ);
 * inter = 1 − mean over samples of Pearson(y_s,i, y_t,i); intra = 1 − mean over classes of
 * Pearson(y_s,·c, y_t,·c); Pearson(a, b) = cosine of the centred vectors, Σab / (‖a‖‖b‖ + 1e-8);
 * L = τ²·(β·inter + γ·intra).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { distLoss } from "./dist.ts";
 * await tf.setBackend("cpu");
 * const z = tf.tensor2d([[2, 0, 1], [0, 3, 1]]);
 * console.log(distLoss(z, z).dataSync()[0] < 1e-5); // true: perfectly correlated
 * ```
 */
export function distLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  options: DistOptions = {},
): tf.Scalar {
  const where = "distLoss()";
  checkLogitPair(studentLogits, teacherLogits, where);
  const { beta = 1, gamma = 1, temperature = 4 } = options;
  checkNumber(beta, "beta", where);
  checkNumber(gamma, "gamma", where);
  checkNumber(temperature, "temperature", where, true);
  return tf.tidy(() => {
    const ys = tf.softmax(tf.div<tf.Tensor2D>(studentLogits, temperature));
    const yt = tf.softmax(tf.div<tf.Tensor2D>(teacherLogits, temperature));
    const inter = tf.sub(1, meanPearson(ys, yt));
    const intra = tf.sub(1, meanPearson(tf.transpose(ys), tf.transpose(yt)));
    const t2 = temperature * temperature;
    return tf.add(tf.mul(inter, beta * t2), tf.mul(intra, gamma * t2)) as tf.Scalar;
  });
}
