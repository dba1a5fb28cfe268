/**
 * Attention Transfer (AT, Zagoruyko & Komodakis, ICLR 2017) in the authors' code form, as
 * RepDistiller ships it: the student matches the teacher's spatial attention maps. See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkMap, checkNumber, l2Normalize, matchSpatial } from "./tensor.ts";

/** Options of {@linkcode attentionTransferLoss}. */
export interface AttentionOptions {
  /** Exponent p of the attention map mean_c |f|^p (default 2). */
  p?: number;
}

/**
 * The attention map of an NHWC map: mean over channels of |f|^p, flattened to B×(H·W) and
 * L2-normalised per sample (F.normalize, eps 1e-12).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { attentionMap } from "./at.ts";
 * await tf.setBackend("cpu");
 * const f = tf.tensor4d([2, 2, 0, 4], [1, 1, 2, 2]); // two positions, two channels
 * console.log(attentionMap(f).arraySync()); // ≈ [[0.447, 0.894]]: means of squares 4 and 8
 * ```
 */
export function attentionMap(map: tf.Tensor4D, p = 2): tf.Tensor2D {
  checkMap(map, "feature map", "attentionMap()");
  checkNumber(p, "p", "attentionMap()", true);
  return tf.tidy(() => {
    const powered = p === 2 ? tf.square(map) : tf.pow(tf.abs(map), p);
    const m = tf.mean(powered, 3);
    return l2Normalize(tf.reshape(m, [map.shape[0], -1]) as tf.Tensor2D, 1);
  });
}

/**
 * AT loss between student and teacher NHWC maps of one batch (RepDistiller's `Attention.at_loss`):
 * when the spatial sizes differ, the larger map is average-pooled to the smaller
 * (F.adaptive_avg_pool2d); then L = mean over B·H·W of (A_s − A_t)² with A the
 * {@linkcode attentionMap}. Channel counts may differ. (The paper's form sums over channels and
 * takes an unsquared norm; the authors' code and the libraries use this one.)
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { attentionTransferLoss } from "./at.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const t = tf.tensor4d([2, 0, 4, 0, 6, 0, 8, 0], [1, 2, 2, 2]); // channels 2·s and 0
 * console.log(attentionTransferLoss(s, t).dataSync()[0] < 1e-7); // true: same attention
 * ```
 */
export function attentionTransferLoss(
  student: tf.Tensor4D,
  teacher: tf.Tensor4D,
  options: AttentionOptions = {},
): tf.Scalar {
  const where = "attentionTransferLoss()";
  checkMap(student, "student map", where);
  checkMap(teacher, "teacher map", where, student.shape[0]);
  const p = options.p ?? 2;
  checkNumber(p, "p", where, true);
  return tf.tidy(() => {
    const [s, t] = matchSpatial(student, teacher);
    return tf.mean(tf.square(tf.sub(attentionMap(s, p), attentionMap(t, p)))) as tf.Scalar;
  });
}
