/**
 * `pkt`: Probabilistic Knowledge Transfer on the representation layer (Passalis & Tefas, ECCV
 * 2018). Defaults are the official loss; `kernel`/`divergence` select the later variants.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineLoss, pktLoss, scaled, teacherFeatures, weightOption, z } from "../../mod.ts";
import { pktOptions } from "./_common.ts";

export default defineLoss({
  name: "pkt",
  description: "probabilistic knowledge transfer: match the teacher's similarity distribution",
  version: "1",
  paper: "Passalis & Tefas, ECCV 2018",
  reads: ["representation"],
  options: z.object({ ...pktOptions, ...weightOption }).strict(),
  create: (o) => ({
    needs: { teacher: true },
    compute: (inputs) =>
      tf.tidy(() => scaled(pktLoss(inputs.student, teacherFeatures(inputs, "pkt"), o), o.weight)),
  }),
});
