/**
 * `hint-optimized`: the official PKT repository's learned-hint baseline. A linear map W (ds×dt,
 * trained with the student, seeded Gaussian init) takes the student features to the teacher's
 * width; L = (1/B) Σ_i ‖s_i W − t_i‖². W is created from the first batch's shapes (`init`).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  defineLoss,
  disposeVariables,
  hintLoss,
  type LossInputs,
  type LossTerm,
  randomProjection,
  scaled,
  teacherFeatures,
  weightOption,
  z,
} from "../../mod.ts";
import { seedOption } from "./_common.ts";

export default defineLoss({
  name: "hint-optimized",
  description: "match the teacher features through a learned linear map of the student's (MSE)",
  version: "2",
  paper: "Passalis & Tefas, ECCV 2018 (baseline)",
  reads: ["representation"],
  options: z.object({
    ...seedOption,
    ...weightOption,
  }).strict(),
  create: (o, ctx) => {
    let map: tf.Variable | undefined;
    const ensure = (inputs: LossInputs): tf.Variable => {
      if (!map) {
        const dt = teacherFeatures(inputs, "hint-optimized").shape[1];
        const init = randomProjection(inputs.student.shape[1], dt, o.seed ?? ctx.seed);
        map = tf.variable(init, true);
        init.dispose();
      }
      return map;
    };
    const term: LossTerm = {
      needs: { teacher: true },
      get variables() {
        return map ? [map] : [];
      },
      init: (inputs) => void ensure(inputs),
      compute: (inputs) =>
        tf.tidy(() =>
          scaled(
            hintLoss(
              inputs.student,
              teacherFeatures(inputs, "hint-optimized"),
              ensure(inputs) as tf.Tensor as tf.Tensor2D,
              { mode: "optimized" },
            ),
            o.weight,
          )
        ),
      dispose: () => {
        if (map) disposeVariables([map]);
        map = undefined;
      },
    };
    return term;
  },
});
