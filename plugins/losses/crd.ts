/**
 * `crd`: Contrastive Representation Distillation (Tian et al., ICLR 2020) on the representation
 * layer, RepDistiller's form and recipe: linear embeddings of student and teacher features
 * (128-d, L2-normalised, trained with the student), two memory banks of one 128-d row per
 * training sample (momentum 0.5), K = 16384 negatives per sample drawn from other classes
 * (`exact`), NCE at T = 0.07 with Z fixed from the first batch; γ·CE + β·(L_s + L_t), β = 0.8.
 *
 * State: the banks are N×128 each (N = training samples; 2 × 30.7 MB of float32 for 60k), built in `init` and
 * updated in every `compute` after the loss is taken (the reference updates them in its forward).
 * Each step scores every bank row (B×N), which costs less memory than the reference's gather of
 * B×(K+1)×128 rows whenever N < 128·(K+1).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  assignState,
  contrastSample,
  contrastSampler,
  CRD_MODES,
  crdContrastLoss,
  crdEmbed,
  crdNormalizer,
  crdUpdateMemory,
  createRng,
  defineLoss,
  disposeVariables,
  KtError,
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
  linearWeights,
  methodCompute,
  torchUniform,
} from "./_methods.ts";

/**
 * Everything a CRD term holds once the first batch has been seen: the embeddings (linear layers,
 * followed by L2 normalisation), the memory banks, the negatives' sampler and Z.
 */
interface State extends Embeddings {
  /** RepDistiller's memory_v1 (student embeddings) and memory_v2 (teacher embeddings). */
  memoryStudent: tf.Variable;
  memoryTeacher: tf.Variable;
  draw: (indices: Int32Array) => Int32Array;
  size: number;
  /** Z of the student-anchor and teacher-anchor sides, set on the first training batch. */
  z?: [number, number];
  /** `z` as a tensor, for {@linkcode LossTerm.state}. */
  zTensor?: tf.Tensor1D;
}

/** The variables of a CRD state by the names they are saved under. */
function named(st: State): Record<string, tf.Variable> {
  return {
    "student.kernel": st.student.kernel,
    "student.bias": st.student.bias,
    "teacher.kernel": st.teacher.kernel,
    "teacher.bias": st.teacher.bias,
    "memory.student": st.memoryStudent,
    "memory.teacher": st.memoryTeacher,
  };
}

function needDataset(inputs: LossInputs): { indices: Int32Array; labels: Int32Array } {
  if (!inputs.indices || !inputs.datasetLabels) {
    throw new KtError('loss "crd" needs each batch\'s dataset indices and the dataset labels', {
      hint: "train with kt's trainer (transfer / trainModel), which passes them",
    });
  }
  return { indices: inputs.indices, labels: inputs.datasetLabels };
}

export default defineLoss({
  name: "crd",
  description: "CRD (Tian et al., ICLR 2020): contrastive NCE between 128-d embeddings of the " +
    "representation with two memory banks sized to the dataset; γ·CE + β·CRD, β = 0.8, K = 16384",
  version: "2",
  paper: "Tian et al., ICLR 2020",
  reads: ["representation", "labels"],
  options: z.object({
    ...embeddingOption,
    negatives: z.number().int().positive().default(16384).describe("negatives K per sample"),
    temperature: z.number().positive().default(0.07).describe("NCE temperature T"),
    momentum: z.number().min(0).max(1).default(0.5).describe("memory bank momentum"),
    mode: z.enum(CRD_MODES).default("exact").describe(
      "positive: the sample itself (exact) or a random same-class sample (relax)",
    ),
    beta: z.number().min(0).default(0.8).describe("weight β of the CRD term (RepDistiller: 0.8)"),
    ...crossEntropyOption,
    ...initSeedOption,
    ...weightOption,
  }).strict(),
  create: (o, ctx) => {
    let state: State | undefined;
    const ensure = (inputs: LossInputs): State => {
      if (!state) {
        const { labels } = needDataset(inputs);
        const rng = createRng(o.seed ?? ctx.seed);
        const d = o.embedding;
        // RepDistiller: uniform(−stdv, stdv) with stdv = 1/√(d/3), not normalised.
        const bank = () => {
          const v = torchUniform([labels.length, d], d / 3, rng);
          const m = tf.variable(v, false);
          v.dispose();
          return m;
        };
        state = {
          ...embeddings(inputs, d, rng, "crd"),
          memoryStudent: bank(),
          memoryTeacher: bank(),
          draw: contrastSampler(labels, o.negatives, o.mode, createRng(rng.seed())),
          size: labels.length,
        };
      }
      return state;
    };
    const trainables = () => embeddingVariables(state);
    const term: LossTerm = {
      needs: { teacher: true },
      get variables() {
        return trainables();
      },
      init: (inputs) => void ensure(inputs),
      // Saved with the student: embeddings, both memory banks and Z (once a batch has set it).
      state: () => {
        if (!state) return {};
        if (state.z && !state.zTensor) state.zTensor = tf.tensor1d(state.z);
        return state.zTensor ? { ...named(state), z: state.zTensor } : named(state);
      },
      restore: (saved) => {
        if (!state) {
          throw new KtError('loss "crd": restore() before init()', {
            hint: "trainers call init with the first batch, then restore",
          });
        }
        const { z: zSaved, ...rest } = saved;
        assignState(named(state), rest);
        if (zSaved) {
          const [a, b] = zSaved.dataSync();
          state.z = [a, b];
        }
      },
      compute: methodCompute(o, (inputs) => {
        const st = ensure(inputs);
        const { indices } = needDataset(inputs);
        const vs = crdEmbed(inputs.student, linearWeights(st.student));
        const vt = crdEmbed(teacherFeatures(inputs, "crd"), linearWeights(st.teacher));
        const sample = contrastSample(st.draw(indices), indices.length, st.size);
        const memS = st.memoryStudent as tf.Tensor as tf.Tensor2D;
        const memT = st.memoryTeacher as tf.Tensor as tf.Tensor2D;
        st.z ??= [
          crdNormalizer(vs, memT, sample, o.temperature),
          crdNormalizer(vt, memS, sample, o.temperature),
        ];
        const crd = tf.add(
          crdContrastLoss(vs, memT, sample, { temperature: o.temperature, normalizer: st.z[0] }),
          crdContrastLoss(vt, memS, sample, { temperature: o.temperature, normalizer: st.z[1] }),
        ) as tf.Scalar;
        // The banks take this batch's embeddings; the loss above used the old rows.
        st.memoryStudent.assign(crdUpdateMemory(memS, indices, vs, o.momentum));
        st.memoryTeacher.assign(crdUpdateMemory(memT, indices, vt, o.momentum));
        return tf.mul(crd, o.beta);
      }),
      dispose: () => {
        if (state) {
          disposeVariables([...trainables(), state.memoryStudent, state.memoryTeacher]);
          state.zTensor?.dispose();
        }
        state = undefined;
      },
    };
    return term;
  },
});
