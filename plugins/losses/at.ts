/**
 * `at`: Attention Transfer (Zagoruyko & Komodakis, ICLR 2017) on named conv layers,
 * RepDistiller's recipe: γ·CE + β·Σ_pairs L_AT, β = 1000, γ = 1, p = 2; RepDistiller pairs every
 * block's output.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { attentionTransferLoss, checkMap, defineLoss, weightOption, z } from "../../mod.ts";
import {
  checkLayerPairs,
  crossEntropyOption,
  layerPairOptions,
  layerPairTerm,
} from "./_methods.ts";

export default defineLoss({
  name: "at",
  description: "AT (Zagoruyko & Komodakis, ICLR 2017): spatial attention maps of named conv " +
    "layers (RepDistiller: every block); γ·CE + β·AT, β = 1000, p = 2",
  version: "1",
  paper: "Zagoruyko & Komodakis, ICLR 2017",
  reads: ["layers", "labels"],
  options: z.object({
    ...layerPairOptions,
    p: z.number().positive().default(2).describe("exponent of the attention map mean_c |f|^p"),
    beta: z.number().min(0).default(1000).describe("weight β of the AT term (RepDistiller: 1000)"),
    ...crossEntropyOption,
    ...weightOption,
  }).strict().superRefine(checkLayerPairs),
  create: (o) =>
    layerPairTerm(o, "at", (pair, i) => {
      checkMap(pair.student, `student layer "${o.studentLayers[i]}"`, 'loss "at"');
      return attentionTransferLoss(pair.student as tf.Tensor4D, pair.teacher as tf.Tensor4D, o);
    }),
});
