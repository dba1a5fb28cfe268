/**
 * `sp`: Similarity-Preserving KD (Tung & Mori, ICCV 2019) on named layers, RepDistiller's recipe:
 * γ·CE + β·Σ_pairs L_SP, β = 3000, γ = 1; RepDistiller uses the last conv block's output.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineLoss, z } from "../../src/api.ts";
import { similarityPreservingLoss } from "../../src/losses/sp.ts";
import { scaled, weightOption } from "./_common.ts";
import {
  checkLayerPairs,
  crossEntropyOption,
  layerPairNeeds,
  layerPairOptions,
  layerPairs,
  plusCrossEntropy,
} from "./_methods.ts";

export default defineLoss({
  name: "sp",
  description: "SP (Tung & Mori, ICCV 2019): batch similarity matrices of named layers " +
    "(RepDistiller: the last conv block); γ·CE + β·SP, β = 3000",
  version: "1",
  options: z.object({
    ...layerPairOptions,
    beta: z.number().min(0).default(3000).describe("weight β of the SP term (RepDistiller: 3000)"),
    ...crossEntropyOption,
    ...weightOption,
  }).strict().superRefine(checkLayerPairs),
  create: (o) => ({
    needs: layerPairNeeds(o),
    compute: (inputs) =>
      tf.tidy(() => {
        const terms = layerPairs(inputs, o, "sp").map((p) =>
          similarityPreservingLoss(p.student, p.teacher)
        );
        const sp = tf.mul(tf.addN(terms), o.beta) as tf.Scalar;
        return scaled(plusCrossEntropy(sp, inputs, o.crossEntropy), o.weight);
      }),
  }),
});
