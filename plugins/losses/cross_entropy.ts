/**
 * `cross-entropy`: sparse softmax cross-entropy of the student's logits, mean over the batch.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { crossEntropy, defineLoss, scaled, weightOption, z } from "../../mod.ts";

export default defineLoss({
  name: "cross-entropy",
  description: "softmax cross-entropy on the labels",
  version: "1",
  reads: ["logits", "labels"],
  options: z.object({ ...weightOption }).strict(),
  create: (o) => ({
    compute: (inputs) =>
      tf.tidy(() => scaled(crossEntropy(inputs.studentLogits, inputs.labels), o.weight)),
  }),
});
