/**
 * Hinton knowledge distillation in its library form (RepDistiller / mdistiller / torchdistill) and
 * the official PKT repository's form.
 * See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";
import { crossEntropy } from "./cross_entropy.ts";
import { checkMatrix } from "./pkt.ts";
import { checkLabels } from "./tensor.ts";

/** Options of {@linkcode hintonLoss}. */
export interface HintonOptions {
  /** Softmax temperature T (default 4 for `library`, 2 for `official`). */
  temperature?: number;
  /** Labels for the cross-entropy part of the `library` form (ignored by `official`). */
  labels?: tf.Tensor1D;
  /** Weight α of the cross-entropy part; the KD part gets 1 − α (default 0.1, `library` only). */
  alpha?: number;
  /** `library` (default) or `official`; see {@linkcode hintonLoss}. */
  form?: "library" | "official";
}

/** The forms {@linkcode hintonLoss} offers. */
export const HINTON_FORMS = ["library", "official"] as const;

/**
 * Hinton knowledge distillation between student and teacher logits (B×C each).
 *
 * - `library` (default, T = 4, α = 0.1):
 *   L = α·CE(z_s, y) + (1 − α)·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)), the KL averaged over the
 *   batch (batchmean). Without `labels` the CE part is dropped and the KD part keeps its weight
 *   1 − α, so the loss with labels is always α·CE plus the loss without them.
 * - `official` (the PKT repository's unsupervised baseline, T = 2):
 *   L = −(1/B) Σ_i Σ_c softmax(z_t/T)_ic · log_softmax(z_s/T)_ic — no labels, no T², α ignored.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { hintonLoss } from "./hinton.ts";
 * await tf.setBackend("cpu");
 * const zs = tf.tensor2d([[1, 2, 0]]);
 * const zt = tf.tensor2d([[0, 3, 1]]);
 * console.log(hintonLoss(zs, zs).dataSync()[0]); // 0 (KL of identical distributions)
 * console.log(hintonLoss(zs, zt, { form: "official" }).dataSync()[0] > 0); // true
 * ```
 */
export function hintonLoss(
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  options: HintonOptions = {},
): tf.Scalar {
  const where = "hintonLoss()";
  checkMatrix(studentLogits, "student logits", where);
  checkMatrix(teacherLogits, "teacher logits", where, studentLogits.shape[0]);
  if (teacherLogits.shape[1] !== studentLogits.shape[1]) {
    throw new KtError(
      `${where}: student has ${studentLogits.shape[1]} classes, teacher ${teacherLogits.shape[1]}`,
      { hint: "distil between networks trained on the same classes" },
    );
  }
  const form = options.form ?? "library";
  if (!(HINTON_FORMS as readonly string[]).includes(form)) {
    throw new KtError(`${where}: unknown form "${form}"`, {
      hint: `choose one of: ${HINTON_FORMS.join(", ")}`,
    });
  }
  const t = options.temperature ?? (form === "library" ? 4 : 2);
  if (!(Number.isFinite(t) && t > 0)) {
    throw new KtError(`${where}: temperature must be a finite number > 0, got ${t}`, {
      hint: "typical values are 1–20 (library default 4, official 2)",
    });
  }
  const alpha = options.alpha ?? 0.1;
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1)) {
    throw new KtError(`${where}: alpha must be in [0, 1], got ${alpha}`, {
      hint: "alpha weighs cross-entropy, 1 − alpha the distillation term",
    });
  }
  if (options.labels) checkLabels(options.labels, studentLogits.shape[0], where);
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(studentLogits, t));
    const logP = tf.logSoftmax(tf.div(teacherLogits, t));
    const p = tf.exp(logP);
    const b = studentLogits.shape[0];
    if (form === "official") {
      return tf.div(tf.neg(tf.sum(tf.mul(p, logQ))), b) as tf.Scalar;
    }
    const kl = tf.div(tf.sum(tf.mul(p, tf.sub(logP, logQ))), b);
    const kd = tf.mul(kl, (1 - alpha) * t * t);
    if (!options.labels) return kd as tf.Scalar;
    return tf.add(tf.mul(crossEntropy(studentLogits, options.labels), alpha), kd) as tf.Scalar;
  });
}
