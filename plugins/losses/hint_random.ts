/**
 * `hint-random`: the official PKT repository's random-hint baseline. A fixed, seeded Gaussian
 * matrix maps the teacher features to the student's width; L = (1/B) Σ_i ‖s_i − t_i R‖².
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  defineLoss,
  hintLoss,
  type LossInputs,
  randomProjection,
  scaled,
  teacherFeatures,
  weightOption,
  z,
} from "../../mod.ts";
import { seedOption } from "./_common.ts";

export default defineLoss({
  name: "hint-random",
  description: "match a fixed random projection of the teacher features (MSE)",
  version: "1",
  paper: "Passalis & Tefas, ECCV 2018 (baseline)",
  reads: ["representation"],
  options: z.object({
    ...seedOption,
    ...weightOption,
  }).strict(),
  create: (o, ctx) => {
    let projection: tf.Tensor2D | undefined;
    const ensure = (inputs: LossInputs): tf.Tensor2D => {
      if (!projection) {
        const dt = teacherFeatures(inputs, "hint-random").shape[1];
        projection = tf.keep(randomProjection(dt, inputs.student.shape[1], o.seed ?? ctx.seed));
      }
      return projection;
    };
    return {
      needs: { teacher: true },
      init: (inputs) => void ensure(inputs),
      compute: (inputs) =>
        tf.tidy(() =>
          scaled(
            hintLoss(inputs.student, teacherFeatures(inputs, "hint-random"), ensure(inputs), {
              mode: "random",
            }),
            o.weight,
          )
        ),
      dispose: () => {
        projection?.dispose();
        projection = undefined;
      },
    };
  },
});
