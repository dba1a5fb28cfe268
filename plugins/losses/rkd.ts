/**
 * `rkd`: Relational Knowledge Distillation (Park et al., CVPR 2019) on the representation layer,
 * RepDistiller's recipe: γ·CE + β·(25·L_distance + 50·L_angle), β = 1, γ = 1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineLoss, rkdLoss, teacherFeatures, weightOption, z } from "../../mod.ts";
import { crossEntropyOption, methodCompute } from "./_methods.ts";

export default defineLoss({
  name: "rkd",
  description: "RKD (Park et al., CVPR 2019): pairwise distances and triplet angles of the " +
    "representation; γ·CE + β·(25·distance + 50·angle), RepDistiller β = 1",
  // 2: the triplet angles by kt's batched-matmul kernel on wasm (float rounding differs from 1).
  version: "2",
  paper: "Park et al., CVPR 2019",
  reads: ["representation", "labels"],
  options: z.object({
    beta: z.number().min(0).default(1).describe("weight β of the RKD term (RepDistiller: 1)"),
    distanceWeight: z.number().min(0).default(25).describe("weight of the distance term"),
    angleWeight: z.number().min(0).default(50).describe("weight of the angle term"),
    ...crossEntropyOption,
    ...weightOption,
  }).strict(),
  create: (o) => ({
    needs: { teacher: true },
    compute: methodCompute(
      o,
      (inputs) => tf.mul(rkdLoss(inputs.student, teacherFeatures(inputs, "rkd"), o), o.beta),
    ),
  }),
});
