/**
 * Sparse softmax cross-entropy: the one implementation kt trains with — the trainer's default
 * objective (teachers, `crossEntropyTerm`), the `none` baseline and `cross-entropy` loss, the
 * cross-entropy part of Hinton KD and FitNets, and the γ·CE term of the reference methods.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkMatrix } from "./pkt.ts";
import { checkLabels } from "./tensor.ts";

/**
 * Sparse softmax cross-entropy, averaged over the batch: −(1/B) Σ_i log softmax(z_i)[y_i], with
 * log softmax computed as (z − max z) − log Σ exp(z − max z), which keeps the probability of a
 * confident row's label exact (no rounding of max z + log Σ). Labels are class indices (int32 or
 * whole floats); an index outside [0, C) contributes 0.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { crossEntropy } from "./cross_entropy.ts";
 * await tf.setBackend("cpu");
 * const ce = crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32"));
 * console.log(ce.dataSync()[0]); // ln 2 ≈ 0.6931
 * ```
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  checkMatrix(logits, "logits", "crossEntropy()");
  checkLabels(labels, logits.shape[0], "crossEntropy()");
  return tf.tidy(() => {
    const target = tf.oneHot(tf.cast(labels, "int32"), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1)));
  });
}
