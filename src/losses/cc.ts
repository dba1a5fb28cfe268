/**
 * Correlation Congruence (CC, Peng et al., ICCV 2019) in RepDistiller's form: after learned
 * linear embeddings of both representations, the student's per-sample differences from the
 * teacher should be uncorrelated between neighbouring samples of the batch. See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";
import { checkMatrix } from "./pkt.ts";

/**
 * CC loss (RepDistiller's `Correlation`, the code the authors sent) between the student's and
 * teacher's embedded features of one batch, both B×d: with Δ = |e_s − e_t|,
 * L = mean over i < B − 1 of Σ_d Δ_i,d · Δ_i+1,d (consecutive pairs of the batch). With B = 1
 * there is no pair and the loss is 0 (the reference averages an empty batch).
 *
 * (torchdistill's form instead compares Taylor-expanded RBF correlation matrices of the embedded
 * features; kt ships RepDistiller's, the one its CIFAR weight 0.02 belongs to.)
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ccLoss } from "./cc.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor2d([[1, 0], [0, 2], [1, 1]]);
 * const t = tf.tensor2d([[0, 0], [0, 0], [0, 0]]);
 * console.log(ccLoss(s, t).dataSync()[0]); // 1: mean of (1·0 + 0·2) and (0·1 + 2·1)
 * ```
 */
export function ccLoss(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
  const where = "ccLoss()";
  checkMatrix(student, "student embedding", where);
  checkMatrix(teacher, "teacher embedding", where, student.shape[0]);
  const [b, d] = student.shape;
  if (teacher.shape[1] !== d) {
    throw new KtError(`${where}: student embedding has width ${d}, teacher ${teacher.shape[1]}`, {
      hint: "embed both representations to the same width first",
    });
  }
  return tf.tidy(() => {
    const delta = tf.abs(tf.sub(student, teacher));
    if (b < 2) return tf.mul(tf.sum(delta), 0) as tf.Scalar; // 0, still a function of the student
    const pairs = tf.mul(tf.slice(delta, [0, 0], [b - 1, d]), tf.slice(delta, [1, 0], [b - 1, d]));
    return tf.mean(tf.sum(pairs, 1));
  });
}
