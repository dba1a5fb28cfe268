/**
 * `fitnets`: FitNets hints (Romero et al., 2015). A learned regressor r (linear, or a 1×1
 * convolution for NHWC hints; seeded init) maps the student's hint layer to the teacher's.
 * - `stage: hint` — MSE(r(h_s), h_t) alone (stage 1; which student layers train is up to the
 *   trainer);
 * - `stage: kd` — stage 2, Hinton KD (library form, `temperature`, `alpha`);
 * - `stage: one-stage` (default) — the library shortcut CE + hintWeight·MSE (hintWeight 100).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  crossEntropy,
  defineLoss,
  disposeVariables,
  fitnetsLoss,
  hintonLoss,
  KtError,
  type LossInputs,
  type LossTerm,
  randomProjection,
  type Regressor,
  scaled,
  studentLayer,
  teacherLayer,
  teacherLogits,
  weightOption,
  z,
} from "../../mod.ts";
import { seedOption } from "./_common.ts";

const STAGES = ["hint", "kd", "one-stage"] as const;

/** Output channels the regressor needs so r(h_s) has the teacher hint's shape (or size). */
function outputChannels(hs: tf.Tensor, ht: tf.Tensor): number {
  const cin = hs.shape[hs.rank - 1];
  if (ht.rank === hs.rank) return ht.shape[ht.rank - 1];
  const positions = hs.size / (hs.shape[0] * cin);
  const perSample = ht.size / ht.shape[0];
  if (perSample % positions !== 0) {
    throw new KtError(
      `loss "fitnets": the teacher hint has ${perSample} values per sample, not a multiple of ` +
        `the student hint's ${positions} positions (shape [${hs.shape.join(", ")}])`,
      { hint: "pick hint layers with the same spatial size" },
    );
  }
  return perSample / positions;
}

export default defineLoss({
  name: "fitnets",
  description: "FitNets hints: regress the student's hint layer onto the teacher's",
  version: "2",
  paper: "Romero et al., ICLR 2015",
  reads: ["layers", "logits", "labels"],
  options: z.object({
    studentLayer: z.string().min(1).optional().describe("student hint layer (guided layer)"),
    teacherLayer: z.string().min(1).optional().describe("teacher hint target name"),
    stage: z.enum(STAGES).default("one-stage"),
    hintWeight: z.number().min(0).default(100).describe("MSE weight of the one-stage form"),
    temperature: z.number().positive().default(4).describe("KD temperature (stage kd)"),
    alpha: z.number().min(0).max(1).default(0.1).describe("KD cross-entropy weight (stage kd)"),
    ...seedOption,
    ...weightOption,
  }).strict().superRefine((o, issue) => {
    if (o.stage === "kd") return;
    for (const key of ["studentLayer", "teacherLayer"] as const) {
      if (!o[key]) {
        issue.addIssue({
          code: "custom",
          path: [key],
          message: `stage "${o.stage}" needs ${key} (the hint layer name)`,
        });
      }
    }
  }),
  create: (o, ctx) => {
    let regressor: { kernel: tf.Variable; bias: tf.Variable } | undefined;
    const hints = (inputs: LossInputs) => ({
      hs: studentLayer(inputs, o.studentLayer!, "fitnets"),
      ht: teacherLayer(inputs, o.teacherLayer!, "fitnets"),
    });
    const ensure = (inputs: LossInputs): Regressor => {
      if (!regressor) {
        const { hs, ht } = hints(inputs);
        const cin = hs.shape[hs.rank - 1];
        const cout = outputChannels(hs, ht);
        const init = randomProjection(cin, cout, o.seed ?? ctx.seed);
        regressor = { kernel: tf.variable(init, true), bias: tf.variable(tf.zeros([cout]), true) };
        init.dispose();
      }
      return {
        kernel: regressor.kernel as tf.Tensor as tf.Tensor2D,
        bias: regressor.bias as tf.Tensor as tf.Tensor1D,
      };
    };
    const mse = (inputs: LossInputs) => {
      const { hs, ht } = hints(inputs);
      return fitnetsLoss(hs, ht, ensure(inputs));
    };
    const usesHint = o.stage !== "kd";
    const term: LossTerm = {
      needs: usesHint
        ? { studentLayers: [o.studentLayer!], teacherLayers: [o.teacherLayer!] }
        : { teacherLogits: true },
      get variables() {
        return regressor ? [regressor.kernel, regressor.bias] : [];
      },
      init: usesHint ? (inputs) => void ensure(inputs) : undefined,
      compute: (inputs) =>
        tf.tidy(() => {
          let loss: tf.Scalar;
          if (o.stage === "hint") loss = mse(inputs);
          else if (o.stage === "kd") {
            loss = hintonLoss(inputs.studentLogits, teacherLogits(inputs, "fitnets"), {
              temperature: o.temperature,
              alpha: o.alpha,
              labels: inputs.labels,
            });
          } else {
            loss = tf.add(
              crossEntropy(inputs.studentLogits, inputs.labels),
              tf.mul(mse(inputs), o.hintWeight),
            );
          }
          return scaled(loss, o.weight);
        }),
      dispose: () => {
        if (regressor) disposeVariables([regressor.kernel, regressor.bias]);
        regressor = undefined;
      },
    };
    return term;
  },
});
