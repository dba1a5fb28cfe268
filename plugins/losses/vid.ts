/**
 * `vid`: Variational Information Distillation (Ahn et al., CVPR 2019) on named layer pairs,
 * RepDistiller's form and recipe: per pair a regressor of three 1×1 convolutions (no bias, ReLU
 * between, mid width = the teacher's channels) predicts the teacher map's mean, with a learned
 * per-channel variance softplus(s) + 1e-5 starting at 5; γ·CE + β·Σ_pairs NLL, β = 1, γ = 1.
 * Regressors and variances train with the student, created from the first batch's shapes with
 * PyTorch's default initialisation (seeded).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  createRng,
  defineLoss,
  disposeVariables,
  type LossInputs,
  type LossTerm,
  vidInitialLogScale,
  vidLoss,
  weightOption,
  z,
} from "../../mod.ts";
import {
  checkLayerPairs,
  crossEntropyOption,
  initSeedOption,
  layerPairNeeds,
  layerPairOptions,
  layerPairs,
  methodCompute,
  torchUniform,
  trainable,
} from "./_methods.ts";

/** One pair's regressor weights and log-scales. */
interface PairParams {
  weights: [tf.Variable, tf.Variable, tf.Variable];
  logScale: tf.Variable;
}

export default defineLoss({
  name: "vid",
  description: "VID (Ahn et al., CVPR 2019): Gaussian likelihood of named teacher layers under " +
    "learned regressors of the student's (RepDistiller: every block); γ·CE + β·VID, β = 1",
  version: "2",
  paper: "Ahn et al., CVPR 2019",
  reads: ["layers", "labels"],
  options: z.object({
    ...layerPairOptions,
    beta: z.number().min(0).default(1).describe("weight β of the VID term (RepDistiller: 1)"),
    midChannels: z.number().int().positive().optional().describe(
      "regressor hidden width (default: the teacher layer's channels, as RepDistiller)",
    ),
    initVariance: z.number().positive().default(5).describe("initial predicted variance"),
    eps: z.number().positive().default(1e-5).describe("variance floor after the softplus"),
    ...crossEntropyOption,
    ...initSeedOption,
    ...weightOption,
  }).strict().superRefine(checkLayerPairs),
  create: (o, ctx) => {
    let params: PairParams[] | undefined;
    const ensure = (inputs: LossInputs): PairParams[] => {
      if (!params) {
        const rng = createRng(o.seed ?? ctx.seed);
        const s0 = vidInitialLogScale(o.initVariance, o.eps);
        params = layerPairs(inputs, o, "vid").map(({ student, teacher }) => {
          const cs = student.shape[student.rank - 1];
          const ct = teacher.shape[teacher.rank - 1];
          const mid = o.midChannels ?? ct;
          return {
            weights: [
              trainable(torchUniform([cs, mid], cs, rng)),
              trainable(torchUniform([mid, mid], mid, rng)),
              trainable(torchUniform([mid, ct], mid, rng)),
            ],
            logScale: trainable(tf.fill([ct], s0)),
          };
        });
      }
      return params;
    };
    const all = () => (params ?? []).flatMap((p) => [...p.weights, p.logScale]);
    const term: LossTerm = {
      needs: layerPairNeeds(o),
      get variables() {
        return all();
      },
      init: (inputs) => void ensure(inputs),
      compute: methodCompute(o, (inputs) => {
        const p = ensure(inputs);
        const terms = layerPairs(inputs, o, "vid").map((pair, i) =>
          vidLoss(pair.student, pair.teacher, {
            weights: p[i].weights as tf.Tensor[] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D],
            logScale: p[i].logScale as tf.Tensor as tf.Tensor1D,
          }, { eps: o.eps })
        );
        return tf.mul(tf.addN(terms), o.beta) as tf.Scalar;
      }),
      dispose: () => {
        disposeVariables(all());
        params = undefined;
      },
    };
    return term;
  },
});
