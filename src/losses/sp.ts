/**
 * Similarity-Preserving knowledge distillation (SP, Tung & Mori, ICCV 2019) in RepDistiller's
 * form: the student keeps the teacher's batch similarity (Gram) matrix. See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkBatch, gram, l2Normalize } from "./tensor.ts";

/** The row-normalised Gram matrix of a batch flattened per sample: normalize(F Fᵀ), B×B. */
function similarity(f: tf.Tensor): tf.Tensor2D {
  const flat = tf.reshape(f, [f.shape[0], -1]) as tf.Tensor2D;
  return l2Normalize(gram(flat), 1);
}

/**
 * SP loss between student and teacher activations of one batch, any shapes B×… (each sample is
 * flattened; widths may differ): G = F Fᵀ with each row L2-normalised (F.normalize, eps 1e-12),
 * L = ‖G_t − G_s‖²_F / B².
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { similarityPreservingLoss } from "./sp.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor2d([[1, 0], [0, 1]]);
 * const t = tf.tensor4d([1, 0, 0, 0, 0, 0, 0, 2], [2, 2, 2, 1]);
 * console.log(similarityPreservingLoss(s, t).dataSync()[0]); // 0: both batches are orthogonal
 * ```
 */
export function similarityPreservingLoss(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  const where = "similarityPreservingLoss()";
  checkBatch(student, "student activations", where);
  checkBatch(teacher, "teacher activations", where, student.shape[0]);
  const b = student.shape[0];
  return tf.tidy(() =>
    tf.div(tf.sum(tf.square(tf.sub(similarity(teacher), similarity(student)))), b * b) as tf.Scalar
  );
}
