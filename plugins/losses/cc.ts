/**
 * `cc`: Correlation Congruence (Peng et al., ICCV 2019) on the representation layer,
 * RepDistiller's form and recipe: learned linear embeddings (student and teacher, 128-d, trained
 * with the student) and γ·CE + β·L_CC, β = 0.02, γ = 1. The embeddings are created from the first
 * batch's widths with PyTorch's default initialisation (seeded).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  applyRegressor,
  ccLoss,
  createRng,
  defineLoss,
  disposeVariables,
  type LossInputs,
  type LossTerm,
  teacherFeatures,
  weightOption,
  z,
} from "../../mod.ts";
import {
  crossEntropyOption,
  embeddingOption,
  type Embeddings,
  embeddings,
  embeddingVariables,
  initSeedOption,
  type Linear,
  linearWeights,
  methodCompute,
} from "./_methods.ts";

function apply(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  return applyRegressor(x, linearWeights(l)) as tf.Tensor2D;
}

export default defineLoss({
  name: "cc",
  description: "CC (Peng et al., ICCV 2019): correlation congruence of learned 128-d embeddings " +
    "of the representation (RepDistiller's form); γ·CE + β·CC, β = 0.02",
  version: "2",
  paper: "Peng et al., ICCV 2019",
  reads: ["representation", "labels"],
  options: z.object({
    ...embeddingOption,
    beta: z.number().min(0).default(0.02).describe("weight β of the CC term (RepDistiller: 0.02)"),
    ...crossEntropyOption,
    ...initSeedOption,
    ...weightOption,
  }).strict(),
  create: (o, ctx) => {
    let embeds: Embeddings | undefined;
    const ensure = (inputs: LossInputs) =>
      embeds ??= embeddings(inputs, o.embedding, createRng(o.seed ?? ctx.seed), "cc");
    const all = () => embeddingVariables(embeds);
    const term: LossTerm = {
      needs: { teacher: true },
      get variables() {
        return all();
      },
      init: (inputs) => void ensure(inputs),
      compute: methodCompute(o, (inputs) => {
        const e = ensure(inputs);
        const cc = ccLoss(
          apply(inputs.student, e.student),
          apply(teacherFeatures(inputs, "cc"), e.teacher),
        );
        return tf.mul(cc, o.beta);
      }),
      dispose: () => {
        disposeVariables(all());
        embeds = undefined;
      },
    };
    return term;
  },
});
