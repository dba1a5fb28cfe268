/**
 * Variational Information Distillation (VID, Ahn et al., CVPR 2019) in RepDistiller's form (the
 * authors' code): a regressor predicts the teacher's activations from the student's as the mean of
 * a Gaussian with a learned per-channel variance; the loss is its negative log-likelihood.
 * See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";
import { applyRegressor } from "./hint.ts";
import { checkBatch, checkNumber, matchSpatial } from "./tensor.ts";

/** The regressor's parameters and the variance parameters of {@linkcode vidLoss}. */
export interface VidParams {
  /**
   * The three 1×1 convolutions (no bias) of the regressor, input → mid → mid → teacher channels,
   * each in-channels × out-channels; ReLU between them.
   */
  weights: [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  /** Per teacher channel s; the variance is softplus(s) + eps. */
  logScale: tf.Tensor1D;
}

/** Options of {@linkcode vidLoss}. */
export interface VidOptions {
  /** Variance floor added after the softplus (RepDistiller: 1e-5). */
  eps?: number;
}

/**
 * The initial value of every log-scale entry so the variance starts at `initVariance`:
 * log(exp(initVariance − eps) − 1) (RepDistiller: init_pred_var 5, eps 1e-5).
 *
 * @example
 * ```ts
 * import { vidInitialLogScale } from "./vid.ts";
 * const s = vidInitialLogScale();
 * console.log(Math.log1p(Math.exp(s)) + 1e-5); // ≈ 5
 * ```
 */
export function vidInitialLogScale(initVariance = 5, eps = 1e-5): number {
  checkNumber(initVariance - eps, "initVariance − eps", "vidInitialLogScale()", true);
  return Math.log(Math.expm1(initVariance - eps));
}

/**
 * VID loss (RepDistiller's `VIDLoss.forward`) between a student and a teacher layer of one batch:
 * NHWC maps (the larger average-pooled to the smaller when the spatial sizes differ) or B×d
 * matrices (a 1×1 convolution is then a linear map). μ = W₃·relu(W₂·relu(W₁·h_s)) per position,
 * σ² = softplus(s) + eps per teacher channel, and
 * L = mean over every element of ½((μ − h_t)² / σ² + log σ²).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { vidLoss } from "./vid.ts";
 * await tf.setBackend("cpu");
 * const eye = tf.eye(2) as tf.Tensor2D;
 * const x = tf.tensor2d([[1, 2], [3, 4]]);
 * const loss = vidLoss(x, x, { weights: [eye, eye, eye], logScale: tf.tensor1d([0, 0]) });
 * console.log(loss.dataSync()[0]); // ½·log(softplus(0) + 1e-5) ≈ −0.1833: a perfect prediction
 * ```
 */
export function vidLoss(
  student: tf.Tensor,
  teacher: tf.Tensor,
  params: VidParams,
  options: VidOptions = {},
): tf.Scalar {
  const where = "vidLoss()";
  checkBatch(student, "student layer", where);
  checkBatch(teacher, "teacher layer", where, student.shape[0]);
  const eps = options.eps ?? 1e-5;
  checkNumber(eps, "eps", where, true);
  const spatial = student.rank === 4 && teacher.rank === 4;
  if (!spatial && (student.rank !== 2 || teacher.rank !== 2)) {
    throw new KtError(
      `${where}: student [${student.shape.join(", ")}] and teacher [${
        teacher.shape.join(", ")
      }] must both be NHWC maps or both B×d matrices`,
      { hint: "pair a conv layer with a conv layer, or a dense layer with a dense layer" },
    );
  }
  const ct = teacher.shape[teacher.rank - 1];
  if (params.logScale.rank !== 1 || params.logScale.shape[0] !== ct) {
    throw new KtError(`${where}: logScale must have ${ct} entries (teacher channels)`, {
      hint: "create one variance parameter per teacher channel",
    });
  }
  return tf.tidy(() => {
    const [s, t] = spatial
      ? matchSpatial(student as tf.Tensor4D, teacher as tf.Tensor4D)
      : [student, teacher];
    const [w1, w2, w3] = params.weights;
    const hidden = tf.relu(
      applyRegressor(tf.relu(applyRegressor(s, { kernel: w1 })), { kernel: w2 }),
    );
    const mu = applyRegressor(hidden, { kernel: w3 });
    const variance = tf.add(tf.softplus(params.logScale), eps);
    const nll = tf.add(tf.div(tf.square(tf.sub(mu, t)), variance), tf.log(variance));
    return tf.mul(tf.mean(nll), 0.5) as tf.Scalar;
  });
}
