/**
 * `spkt`: PKT plus the supervised S-PKT term, L = L_PKT + supervisedWeight · L_sup, where L_sup
 * matches the student's similarity distribution to the label target
 * P^y_ij = 1[y_i = y_j] / Σ_k 1[y_i = y_k]. Set `teacher: false` for the supervised term alone.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  defineLoss,
  pktLoss,
  scaled,
  supervisedPktLoss,
  teacherFeatures,
  weightOption,
  z,
} from "../../mod.ts";
import { pktOptions } from "./_common.ts";

export default defineLoss({
  name: "spkt",
  description: "PKT plus the supervised (label-similarity) PKT term",
  version: "1",
  paper: "Passalis & Tefas, ECCV 2018 (supervised term)",
  reads: ["representation", "labels"],
  options: z.object({
    ...pktOptions,
    supervisedWeight: z.number().min(0).default(1).describe("weight w of the S-PKT term"),
    teacher: z.boolean().default(true).describe("include the teacher PKT term"),
    ...weightOption,
  }).strict(),
  create: (o) => ({
    needs: { teacher: o.teacher },
    compute: (inputs) =>
      tf.tidy(() => {
        const sup = tf.mul(supervisedPktLoss(inputs.student, inputs.labels, o), o.supervisedWeight);
        const total = o.teacher
          ? tf.add(pktLoss(inputs.student, teacherFeatures(inputs, "spkt"), o), sup)
          : sup;
        return scaled(total as tf.Scalar, o.weight);
      }),
  }),
});
