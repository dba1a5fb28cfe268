/**
 * `sp`: Similarity-Preserving KD (Tung & Mori, ICCV 2019) on named layers, RepDistiller's recipe:
 * γ·CE + β·Σ_pairs L_SP, β = 3000, γ = 1; RepDistiller uses the last conv block's output.
 * @module
 */
import { defineLoss, similarityPreservingLoss } from "../../mod.ts";
import { layerPairMethodOptions, layerPairTerm } from "./_methods.ts";

export default defineLoss({
  name: "sp",
  description: "SP (Tung & Mori, ICCV 2019): batch similarity matrices of named layers " +
    "(RepDistiller: the last conv block); γ·CE + β·SP, β = 3000",
  version: "1",
  paper: "Tung & Mori, ICCV 2019",
  reads: ["layers", "labels"],
  options: layerPairMethodOptions("SP", 3000, {}),
  create: (o) =>
    layerPairTerm(o, "sp", (pair) => similarityPreservingLoss(pair.student, pair.teacher)),
});
