/**
 * `multi-pkt`: PKT over several (student layer, teacher layer) pairs,
 * L = Σ_l w_l · decay^epoch · L_PKT(student_l, teacher_l). Layer outputs of any rank are flattened
 * to one row per sample.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  defineLoss,
  flatRows,
  multiLayerPktLoss,
  scaled,
  studentLayer,
  teacherLayer,
  weightOption,
  z,
} from "../../mod.ts";
import { pktOptions } from "./_common.ts";

export default defineLoss({
  name: "multi-pkt",
  description: "PKT summed over paired student/teacher layers, weights decaying per epoch",
  version: "1",
  paper: "Passalis & Tefas, ECCV 2018 (multi-layer form of the authors' later code)",
  reads: ["layers"],
  options: z.object({
    pairs: z.array(
      z.object({
        student: z.string().min(1).describe("student layer name"),
        teacher: z.string().min(1).describe("teacher target (layer) name"),
        weight: z.number().finite().default(1),
      }).strict(),
    ).min(1),
    decay: z.number().positive().max(1).default(1).describe("per-epoch factor on every weight"),
    ...pktOptions,
    ...weightOption,
  }).strict(),
  create: (o) => ({
    needs: {
      studentLayers: [...new Set(o.pairs.map((p) => p.student))],
      teacherLayers: [...new Set(o.pairs.map((p) => p.teacher))],
    },
    compute: (inputs) =>
      tf.tidy(() => {
        const factor = o.decay ** inputs.epoch;
        const pairs = o.pairs.map((p) => ({
          student: flatRows(studentLayer(inputs, p.student, "multi-pkt")),
          teacher: flatRows(teacherLayer(inputs, p.teacher, "multi-pkt")),
          weight: p.weight * factor,
        }));
        return scaled(multiLayerPktLoss(pairs, o), o.weight);
      }),
  }),
});
