/**
 * `sp`: Similarity-Preserving KD (Tung & Mori, ICCV 2019) on named layers, RepDistiller's recipe:
 * γ·CE + β·Σ_pairs L_SP, β = 3000, γ = 1; RepDistiller uses the last conv block's output.
 * @module
 */
import { defineLoss, similarityPreservingLoss, weightOption, z } from "../../mod.ts";
import {
  checkLayerPairs,
  crossEntropyOption,
  layerPairOptions,
  layerPairTerm,
} from "./_methods.ts";

export default defineLoss({
  name: "sp",
  description: "SP (Tung & Mori, ICCV 2019): batch similarity matrices of named layers " +
    "(RepDistiller: the last conv block); γ·CE + β·SP, β = 3000",
  version: "1",
  paper: "Tung & Mori, ICCV 2019",
  reads: ["layers", "labels"],
  options: z.object({
    ...layerPairOptions,
    beta: z.number().min(0).default(3000).describe("weight β of the SP term (RepDistiller: 3000)"),
    ...crossEntropyOption,
    ...weightOption,
  }).strict().superRefine(checkLayerPairs),
  create: (o) =>
    layerPairTerm(o, "sp", (pair) => similarityPreservingLoss(pair.student, pair.teacher)),
});
