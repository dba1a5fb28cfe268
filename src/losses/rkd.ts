/**
 * Relational Knowledge Distillation (RKD, Park et al., CVPR 2019) in RepDistiller's form: the
 * student keeps the teacher's pairwise distances and triplet angles. See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { checkMatrix } from "./pkt.ts";
import { batchGram, checkNumber, gram, l2Normalize, smoothL1, stopGradient } from "./tensor.ts";

/** Options of {@linkcode rkdLoss}. */
export interface RkdOptions {
  /** Weight of the distance term (RepDistiller: 25). */
  distanceWeight?: number;
  /** Weight of the angle term (RepDistiller: 50). */
  angleWeight?: number;
}

/** Squared distances are clamped here before the square root (RepDistiller's `pdist` eps). */
const DISTANCE_CLAMP = 1e-12;

/**
 * Pairwise euclidean distances d_ij = sqrt(max(‖e_i‖² + ‖e_j‖² − 2 e_iᵀe_j, 1e-12)), diagonal 0,
 * divided by the mean of the off-diagonal (non-zero) entries. The clamp makes every off-diagonal
 * entry ≥ 1e-6 > 0, so "the non-zero ones" are exactly the B(B−1) off-diagonal entries.
 */
function normalisedDistances(e: tf.Tensor2D): tf.Tensor2D {
  const b = e.shape[0];
  const sq = tf.sum(tf.square(e), 1, true);
  const squared = tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(gram(e), 2));
  const d = tf.mul(tf.sqrt(tf.maximum(squared, DISTANCE_CLAMP)), tf.sub(1, tf.eye(b)));
  return tf.div(d, tf.div(tf.sum(d), b * (b - 1)));
}

/** Cosines of the angle at i between j and k: ⟨unit(e_j − e_i), unit(e_k − e_i)⟩, B×B×B. */
function angles(e: tf.Tensor2D): tf.Tensor3D {
  const [b, d] = e.shape;
  const diff = tf.sub(tf.reshape(e, [1, b, d]), tf.reshape(e, [b, 1, d])) as tf.Tensor3D;
  const unit = l2Normalize(diff, 2);
  return batchGram(unit, unit);
}

/**
 * RKD loss between student (B×ds) and teacher (B×dt) features of one batch (RepDistiller's
 * `RKDLoss`):
 * - distance: ψ_D = pairwise distances (squared distances clamped ≥ 1e-12 before the square
 *   root, diagonal 0) divided by the mean of the non-zero ones; smooth-L1 (β = 1) between the
 *   student's and teacher's B×B matrices, mean over entries;
 * - angle: ψ_A(i, j, k) = cosine between the unit vectors e_j − e_i and e_k − e_i over all B³
 *   triples (F.normalize, so a zero difference gives 0); smooth-L1, mean over entries;
 * - L = distanceWeight·L_D + angleWeight·L_A; the teacher side is a constant (no gradient).
 *
 * With B = 1 there are no pairs: the distance term is 0 (the reference divides by an empty mean).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { rkdLoss } from "./rkd.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor2d([[0, 0], [1, 0], [0, 1]]);
 * console.log(rkdLoss(s, tf.mul(s, 3) as tf.Tensor2D).dataSync()[0]); // 0: same relations
 * ```
 */
export function rkdLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  options: RkdOptions = {},
): tf.Scalar {
  const where = "rkdLoss()";
  checkMatrix(student, "student features", where);
  checkMatrix(teacher, "teacher features", where, student.shape[0]);
  const distanceWeight = options.distanceWeight ?? 25;
  const angleWeight = options.angleWeight ?? 50;
  checkNumber(distanceWeight, "distanceWeight", where);
  checkNumber(angleWeight, "angleWeight", where);
  return tf.tidy(() => {
    const b = student.shape[0];
    const distance = b < 2
      ? tf.scalar(0)
      : smoothL1(normalisedDistances(student), stopGradient(normalisedDistances(teacher)));
    const angle = smoothL1(angles(student), stopGradient(angles(teacher)));
    return tf.add(tf.mul(distance, distanceWeight), tf.mul(angle, angleWeight)) as tf.Scalar;
  });
}
