/**
 * `nst`: Neuron Selectivity Transfer (Huang & Wang, 2017) on named conv layers, RepDistiller's
 * recipe: γ·CE + β·Σ_pairs L_NST, β = 50, γ = 1; RepDistiller pairs every block's output.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { checkMap, defineLoss, nstLoss } from "../../mod.ts";
import { layerPairMethodOptions, layerPairTerm } from "./_methods.ts";

export default defineLoss({
  name: "nst",
  description: "NST (Huang & Wang, 2017): polynomial-kernel MMD of channel activation patterns " +
    "of named conv layers (RepDistiller: every block); γ·CE + β·NST, β = 50",
  // 2: the kernel Gram matrices by kt's batched-matmul kernel on wasm (float rounding differs from 1).
  version: "2",
  paper: "Huang & Wang, arXiv 2017",
  reads: ["layers", "labels"],
  options: layerPairMethodOptions("NST", 50, {}),
  create: (o) =>
    layerPairTerm(o, "nst", (pair, i) => {
      checkMap(pair.student, `student layer "${o.studentLayers[i]}"`, 'loss "nst"');
      return nstLoss(pair.student as tf.Tensor4D, pair.teacher as tf.Tensor4D);
    }),
});
