/**
 * `dkd`: Decoupled Knowledge Distillation (Zhao et al., CVPR 2022) on logits, mdistiller's
 * recipe: γ·CE + min(epoch/warmup, 1)·(α·TCKD + β·NCKD), α = 1, β = 8, T = 4, warm-up 20 epochs
 * (mdistiller counts epochs from 1, so kt's first epoch gets 1/20).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineLoss, dkdLoss, teacherLogits, weightOption, z } from "../../mod.ts";
import { crossEntropyOption, methodCompute } from "./_methods.ts";

export default defineLoss({
  name: "dkd",
  description: "DKD (Zhao et al., CVPR 2022): target and non-target parts of KD on the logits; " +
    "γ·CE + min(epoch/20, 1)·(α·TCKD + β·NCKD), mdistiller α = 1, β = 8, T = 4",
  version: "1",
  paper: "Zhao et al., CVPR 2022",
  reads: ["logits", "labels"],
  options: z.object({
    alpha: z.number().min(0).default(1).describe("weight α of TCKD (mdistiller CIFAR-100: 1)"),
    beta: z.number().min(0).default(8).describe("weight β of NCKD (mdistiller CIFAR-100: 8)"),
    temperature: z.number().positive().default(4).describe("softmax temperature T"),
    warmup: z.number().positive().default(20).describe(
      "epochs over which the DKD term ramps up linearly (factor min(epoch/warmup, 1), epochs from 1)",
    ),
    ...crossEntropyOption,
    ...weightOption,
  }).strict(),
  create: (o) => ({
    needs: { teacherLogits: true },
    compute: methodCompute(o, (inputs) => {
      const dkd = dkdLoss(inputs.studentLogits, teacherLogits(inputs, "dkd"), inputs.labels, o);
      return tf.mul(dkd, Math.min((inputs.epoch + 1) / o.warmup, 1));
    }),
  }),
});
