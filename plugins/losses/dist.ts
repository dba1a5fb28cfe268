/**
 * `dist`: DIST (Huang et al., NeurIPS 2022) on logits, the CIFAR recipe: γ·CE + kdWeight·DIST with
 * kdWeight = 2, γ = 1, β = γ_intra = 1, τ = 4.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineLoss, distLoss, teacherLogits, weightOption, z } from "../../mod.ts";
import { crossEntropyOption, methodCompute } from "./_methods.ts";

export default defineLoss({
  name: "dist",
  description: "DIST (Huang et al., NeurIPS 2022): inter- and intra-class Pearson correlation " +
    "of softened logits; γ·CE + 2·τ²(β·inter + γ_intra·intra), β = γ_intra = 1, τ = 4",
  version: "1",
  paper: "Huang et al., NeurIPS 2022",
  reads: ["logits", "labels"],
  options: z.object({
    beta: z.number().min(0).default(1).describe("weight β of the inter-class term"),
    gamma: z.number().min(0).default(1).describe("weight γ of the intra-class term"),
    temperature: z.number().positive().default(4).describe("softmax temperature τ"),
    kdWeight: z.number().min(0).default(2).describe("weight of the DIST term (CIFAR recipe: 2)"),
    ...crossEntropyOption,
    ...weightOption,
  }).strict(),
  create: (o) => ({
    needs: { teacherLogits: true },
    compute: methodCompute(
      o,
      (inputs) =>
        tf.mul(distLoss(inputs.studentLogits, teacherLogits(inputs, "dist"), o), o.kdWeight),
    ),
  }),
});
