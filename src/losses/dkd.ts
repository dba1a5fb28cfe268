/**
 * Decoupled Knowledge Distillation (DKD, Zhao et al., CVPR 2022) in mdistiller's form: KD split
 * into a target-class term (TCKD) and a non-target-class term (NCKD), weighted separately.
 * See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkLabels, checkLogitPair, checkNumber } from "./tensor.ts";

/** Options of {@linkcode dkdLoss}. */
export interface DkdOptions {
  /** Weight α of TCKD (mdistiller's CIFAR-100 default 1). */
  alpha?: number;
  /** Weight β of NCKD (mdistiller's CIFAR-100 default 8). */
  beta?: number;
  /** Softmax temperature T (default 4). */
  temperature?: number;
}

/** What mdistiller subtracts from the target logit to take it out of the NCKD softmax. */
const TARGET_SHIFT = 1000;

/** log p_target and log(1 − p_target) of softmax(z), B×2, in log space (exact, never log 0). */
function binaryLogProbs(z: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor2D {
  const all = tf.logSumExp(z, 1, true);
  const others = tf.logSumExp(
    tf.where(tf.cast(target, "bool"), tf.fill(z.shape, -Infinity), z),
    1,
    true,
  );
  const gt = tf.sum(tf.mul(z, target), 1, true);
  return tf.sub(tf.concat([gt, others], 1), all);
}

/** Σ p·(log p − log q) / B with p = exp(log p) (a zero p contributes 0, as PyTorch's kl_div). */
function klPerSample(logP: tf.Tensor2D, logQ: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ))), logP.shape[0]);
}

/**
 * DKD loss (mdistiller's `dkd_loss`) between student and teacher logits (B×C, C ≥ 2) with integer
 * labels (B): with p = softmax(z/T),
 * - TCKD = KL([p_t,gt, 1 − p_t,gt] ‖ [p_s,gt, 1 − p_s,gt]) · T² / B (summed over the batch);
 * - NCKD = KL(softmax(z_t/T − 1000·gt) ‖ softmax(z_s/T − 1000·gt)) · T² / B, i.e. over the
 *   non-target classes (the target logit minus 1000);
 * - L = α·TCKD + β·NCKD. The `dkd` plugin adds cross-entropy and the warm-up factor.
 *
 * The binary probabilities are taken in log space (log(1 − p_gt) = logsumexp of the non-target
 * logits − logsumexp of all), the same numbers as the reference's log of summed softmax entries
 * but finite when p_gt rounds to 1 in fp32 (where the reference gives inf / NaN gradients).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { dkdLoss } from "./dkd.ts";
 * await tf.setBackend("cpu");
 * const z = tf.tensor2d([[2, 0, 1], [0, 3, 1]]);
 * const y = tf.tensor1d([0, 1], "int32");
 * console.log(dkdLoss(z, z, y).dataSync()[0]); // 0: identical logits
 * ```
 */
export function dkdLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: DkdOptions = {},
): tf.Scalar {
  const where = "dkdLoss()";
  checkLogitPair(studentLogits, teacherLogits, where, 2);
  const [b, c] = studentLogits.shape;
  checkLabels(labels, b, where);
  const { alpha = 1, beta = 8, temperature = 4 } = options;
  checkNumber(alpha, "alpha", where);
  checkNumber(beta, "beta", where);
  checkNumber(temperature, "temperature", where, true);
  return tf.tidy(() => {
    const gt = tf.cast(tf.oneHot(tf.cast(labels, "int32"), c), "float32") as tf.Tensor2D;
    const zs = tf.div<tf.Tensor2D>(studentLogits, temperature);
    const zt = tf.div<tf.Tensor2D>(teacherLogits, temperature);
    const tckd = klPerSample(binaryLogProbs(zt, gt), binaryLogProbs(zs, gt));
    const shift = tf.mul(gt, TARGET_SHIFT);
    const nckd = klPerSample(tf.logSoftmax(tf.sub(zt, shift)), tf.logSoftmax(tf.sub(zs, shift)));
    const t2 = temperature * temperature;
    return tf.add(tf.mul(tckd, alpha * t2), tf.mul(nckd, beta * t2)) as tf.Scalar;
  });
}
