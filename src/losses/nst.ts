/**
 * Neuron Selectivity Transfer (NST, Huang & Wang, 2017) in RepDistiller's form: the student's
 * channel activation patterns match the teacher's distribution under a polynomial-kernel MMD.
 * See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchGram, checkMap, l2Normalize, matchSpatial, stopGradient } from "./tensor.ts";

/** Each channel's spatial map of an NHWC map, L2-normalised over H·W: B×C×(H·W). */
function channelPatterns(map: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = map.shape;
  return l2Normalize(tf.transpose(tf.reshape(map, [b, h * w, c]), [0, 2, 1]) as tf.Tensor3D, 2);
}

/** Mean over B·C_a·C_b of the polynomial kernel k(a, b) = (aᵀb)². */
function meanKernel(a: tf.Tensor3D, b: tf.Tensor3D): tf.Scalar {
  return tf.mean(tf.square(batchGram(a, b)));
}

/**
 * NST loss between student and teacher NHWC maps of one batch (RepDistiller's `NSTLoss`, full
 * form): the larger map is average-pooled to the smaller when the spatial sizes differ; each
 * channel's H·W pattern is L2-normalised (F.normalize, eps 1e-12); with k(a, b) = (aᵀb)²,
 * L = mean K_tt + mean K_ss − 2 mean K_st, each mean over the batch and all channel pairs
 * (the squared MMD; channel counts may differ). K_tt is a constant.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { nstLoss } from "./nst.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * console.log(nstLoss(s, tf.mul(s, 5) as tf.Tensor4D).dataSync()[0] < 1e-6); // true
 * ```
 */
export function nstLoss(student: tf.Tensor4D, teacher: tf.Tensor4D): tf.Scalar {
  const where = "nstLoss()";
  checkMap(student, "student map", where);
  checkMap(teacher, "teacher map", where, student.shape[0]);
  return tf.tidy(() => {
    const [sMap, tMap] = matchSpatial(student, teacher);
    const s = channelPatterns(sMap);
    const t = channelPatterns(tMap);
    const tt = stopGradient(meanKernel(t, t));
    return tf.sub(tf.add(tt, meanKernel(s, s)), tf.mul(meanKernel(s, t), 2)) as tf.Scalar;
  });
}
