/**
 * `at`: Attention Transfer (Zagoruyko & Komodakis, ICLR 2017) on named conv layers,
 * RepDistiller's recipe: γ·CE + β·Σ_pairs L_AT, β = 1000, γ = 1, p = 2; RepDistiller pairs every
 * block's output.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { attentionTransferLoss, checkMap, defineLoss, z } from "../../mod.ts";
import { layerPairMethodOptions, layerPairTerm } from "./_methods.ts";

export default defineLoss({
  name: "at",
  description: "AT (Zagoruyko & Komodakis, ICLR 2017): spatial attention maps of named conv " +
    "layers (RepDistiller: every block); γ·CE + β·AT, β = 1000, p = 2",
  version: "1",
  paper: "Zagoruyko & Komodakis, ICLR 2017",
  reads: ["layers", "labels"],
  options: layerPairMethodOptions("AT", 1000, {
    p: z.number().positive().default(2).describe("exponent of the attention map mean_c |f|^p"),
  }),
  create: (o) =>
    layerPairTerm(o, "at", (pair, i) => {
      checkMap(pair.student, `student layer "${o.studentLayers[i]}"`, 'loss "at"');
      return attentionTransferLoss(pair.student as tf.Tensor4D, pair.teacher as tf.Tensor4D, o);
    }),
});
