/**
 * `none`: no knowledge transfer — the student trains on cross-entropy alone (the baseline every
 * transfer method is compared with).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { crossEntropy, defineLoss, z } from "../../mod.ts";

export default defineLoss({
  name: "none",
  description: "no transfer: plain cross-entropy (the baseline student)",
  version: "1",
  reads: ["logits", "labels"],
  options: z.object({}).strict(),
  create: () => ({
    compute: (inputs) => tf.tidy(() => crossEntropy(inputs.studentLogits, inputs.labels)),
  }),
});
