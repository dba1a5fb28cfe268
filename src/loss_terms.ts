/**
 * Helpers for writing loss terms, as the built-in loss plugins use them: the `weight` option every
 * loss takes and {@linkcode scaled} to apply it, lookups of the batch's inputs that fail with an
 * actionable {@linkcode KtError} (teacher features and logits, named layers), and small tensor
 * chores.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { defineLoss, scaled, teacherFeatures, weightOption, z } from "../mod.ts";
 * export default defineLoss({
 *   name: "l2",
 *   description: "mean squared distance between student and teacher features",
 *   options: z.object({ ...weightOption }).strict(),
 *   create: (opts) => ({
 *     needs: { teacher: true },
 *     compute: (inputs) =>
 *       scaled(tf.losses.meanSquaredError(teacherFeatures(inputs, "l2"), inputs.student), opts.weight),
 *   }),
 * });
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import type { LossInputs } from "./api.ts";
import { KtError } from "./errors.ts";

/**
 * `weight`, accepted by every built-in loss: the term is multiplied by it. This is what lets a
 * `sum` list its terms as `{ use: pkt, weight: 30000 }`.
 */
export const weightOption = {
  weight: z.number().finite().default(1).describe("multiplier of this loss term"),
};

/** `loss · weight`, skipping the multiply for weight 1. */
export function scaled(loss: tf.Scalar, weight: number): tf.Scalar {
  return weight === 1 ? loss : tf.mul(loss, weight);
}

/** The batch's teacher features, or a KtError saying how to provide them. */
export function teacherFeatures(inputs: LossInputs, loss: string): tf.Tensor2D {
  if (!inputs.teacher) {
    throw new KtError(`loss "${loss}" needs teacher features but this batch has none`, {
      hint: "give the training node `targets: <features node>`",
    });
  }
  return inputs.teacher;
}

/** The batch's teacher logits, or a KtError saying how to provide them. */
export function teacherLogits(inputs: LossInputs, loss: string): tf.Tensor2D {
  if (!inputs.teacherLogits) {
    throw new KtError(`loss "${loss}" needs teacher logits but this batch has none`, {
      hint: "use targets from a features node that also extracts the teacher's logits",
    });
  }
  return inputs.teacherLogits;
}

/** A named student layer output of the batch, or a KtError listing the available ones. */
export function studentLayer(inputs: LossInputs, name: string, loss: string): tf.Tensor {
  const t = inputs.studentLayers[name];
  if (!t) {
    const known = Object.keys(inputs.studentLayers);
    throw new KtError(`loss "${loss}": the student has no layer output "${name}" in this batch`, {
      hint: known.length > 0 ? `available: ${known.join(", ")}` : "check the layer name",
    });
  }
  return t;
}

/** A named teacher target of the batch, or a KtError listing the available ones. */
export function teacherLayer(inputs: LossInputs, name: string, loss: string): tf.Tensor2D {
  const t = inputs.teacherLayers[name];
  if (!t) {
    const known = Object.keys(inputs.teacherLayers);
    throw new KtError(`loss "${loss}": the teacher targets have no layer "${name}"`, {
      hint: known.length > 0
        ? `available: ${known.join(", ")}`
        : "extract that teacher layer in the features node",
    });
  }
  return t;
}

/** `x` reshaped to B×(everything else). */
export function flatRows(x: tf.Tensor): tf.Tensor2D {
  return (x.rank === 2 ? x : tf.reshape(x, [x.shape[0], -1])) as tf.Tensor2D;
}

/** Disposes the variables that are not disposed yet (safe to call twice). */
export function disposeVariables(vars: tf.Variable[]): void {
  for (const v of vars) if (!v.isDisposed) v.dispose();
}
