/**
 * Pieces the plugins of the reference libraries' methods share (`rkd`, `sp`, `at`, `nst`, `vid`,
 * `cc`, `crd`, `dkd`, `dist`): the cross-entropy term their recipes add and the weighted compute
 * around it, named student/teacher layer pairs (teacher maps arrive flattened from the features
 * node and are reshaped like the student's), and PyTorch-style seeded initialisation of the
 * terms' own parameters (CC's and CRD's embeddings).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  crossEntropy,
  KtError,
  type LossInputs,
  type LossTerm,
  type Rng,
  scaled,
  studentLayer,
  teacherFeatures,
  teacherLayer,
  weightOption,
  z,
} from "../../mod.ts";

/**
 * `crossEntropy`: weight γ of the cross-entropy term the reference recipes add to the transfer
 * term (RepDistiller: γ = 1 for every method, `-r 1`; mdistiller: CE_WEIGHT 1).
 */
export const crossEntropyOption = {
  crossEntropy: z.number().min(0).default(1).describe(
    "weight γ of the cross-entropy term added (library recipe: 1; 0 = the transfer term alone)",
  ),
};

/** The weights every method's loss has: γ of its cross-entropy and the whole term's. */
export interface MethodWeights {
  crossEntropy: number;
  weight: number;
}

/**
 * A method's `compute`: weight·(γ·CE + transfer(inputs)), in one `tf.tidy` (so `transfer` may
 * create tensors freely).
 */
export function methodCompute(
  o: MethodWeights,
  transfer: (inputs: LossInputs) => tf.Scalar,
): (inputs: LossInputs) => tf.Scalar {
  return (inputs) =>
    tf.tidy(() => scaled(plusCrossEntropy(transfer(inputs), inputs, o.crossEntropy), o.weight));
}

/** `γ·CE(z_s, y) + transfer`, skipping the cross-entropy for γ = 0. */
export function plusCrossEntropy(
  transfer: tf.Scalar,
  inputs: LossInputs,
  gamma: number,
): tf.Scalar {
  if (gamma === 0) return transfer;
  return tf.add(tf.mul(crossEntropy(inputs.studentLogits, inputs.labels), gamma), transfer);
}

/** `seed` of the terms with their own parameters (default: the node's seed). */
export const initSeedOption = {
  seed: z.number().int().optional().describe(
    "seed of the term's own parameters (and CRD's negatives); default: the node's",
  ),
};

/** The name that means the transferred layer (the batch's `student` / `teacher` features). */
const REPRESENTATION = "representation";

/** Options naming the student/teacher layer pairs of a method on intermediate layers. */
export const layerPairOptions = {
  studentLayers: z.array(z.string().min(1)).min(1).describe(
    "student layers, e.g. [pool1, pool2, pool3] (`representation` = the transferred layer)",
  ),
  teacherLayers: z.array(z.string().min(1)).min(1).describe(
    "teacher layers, paired by position (extract them in the features node's `layers:`)",
  ),
  teacherShapes: z.array(z.array(z.number().int().positive()).length(3)).optional().describe(
    "[H, W, C] of each teacher map, needed only when its H×W differs from its student map's",
  ),
};

/** What {@linkcode layerPairOptions} parse to. */
export interface LayerPairOptions {
  studentLayers: string[];
  teacherLayers: string[];
  teacherShapes?: number[][];
}

/** Zod refinement: one teacher layer (and shape, if given) per student layer. */
export function checkLayerPairs(o: LayerPairOptions, ctx: z.RefinementCtx): void {
  const n = o.studentLayers.length;
  if (o.teacherLayers.length !== n) {
    ctx.addIssue({
      code: "custom",
      path: ["teacherLayers"],
      message:
        `${o.teacherLayers.length} teacher layers for ${n} student layers: pair them one to one`,
    });
  }
  if (o.teacherShapes && o.teacherShapes.length !== n) {
    ctx.addIssue({
      code: "custom",
      path: ["teacherShapes"],
      message: `${o.teacherShapes.length} teacher shapes for ${n} layer pairs: give one per pair`,
    });
  }
}

/** The layers a term on `o`'s pairs needs from the trainer. */
export function layerPairNeeds(o: LayerPairOptions): NonNullable<LossTerm["needs"]> {
  const named = (names: string[]) => [...new Set(names.filter((n) => n !== REPRESENTATION))];
  return {
    teacher: o.teacherLayers.includes(REPRESENTATION),
    studentLayers: named(o.studentLayers),
    teacherLayers: named(o.teacherLayers),
  };
}

/** One student/teacher pair of the batch: the teacher shaped like the student's layer. */
export interface LayerPair {
  student: tf.Tensor;
  teacher: tf.Tensor;
}

/**
 * The batch's layer pairs. kt stores teacher layers flattened (B × H·W·C); a teacher layer paired
 * with a student NHWC map is reshaped to `teacherShapes[i]`, or else to the student map's H×W with
 * the channels that leaves (the teacher's and student's spatial sizes agree).
 */
export function layerPairs(inputs: LossInputs, o: LayerPairOptions, loss: string): LayerPair[] {
  return o.studentLayers.map((sName, i) => {
    const tName = o.teacherLayers[i];
    const student = sName === REPRESENTATION ? inputs.student : studentLayer(inputs, sName, loss);
    const flat = tName === REPRESENTATION
      ? teacherFeatures(inputs, loss)
      : teacherLayer(inputs, tName, loss);
    if (student.rank !== 4) return { student, teacher: flat };
    const [b, h, w] = student.shape;
    const d = flat.shape[1];
    const shape = o.teacherShapes?.[i];
    if (shape) {
      if (shape[0] * shape[1] * shape[2] !== d) {
        throw new KtError(
          `loss "${loss}": teacherShapes[${i}] = [${shape.join(", ")}] holds ${
            shape[0] * shape[1] * shape[2]
          } values but teacher layer "${tName}" has ${d} per sample`,
          { hint: "give the teacher map's [height, width, channels]" },
        );
      }
      return { student, teacher: tf.reshape(flat, [b, ...shape]) };
    }
    if (d % (h * w) !== 0) {
      throw new KtError(
        `loss "${loss}": teacher layer "${tName}" has ${d} values per sample, not ${h}×${w}×C ` +
          `like student map "${sName}" [${student.shape.slice(1).join(", ")}]`,
        { hint: `give teacherShapes: the [H, W, C] of "${tName}" (pair ${i + 1})` },
      );
    }
    return { student, teacher: tf.reshape(flat, [b, h, w, d / (h * w)]) };
  });
}

/**
 * The options of a method on layer pairs (`at`, `nst`, `sp`): the pairs, its own `extra`
 * options, its weight β (RepDistiller's `default` for it), γ of the cross-entropy and the weight.
 */
export function layerPairMethodOptions<E extends z.ZodRawShape>(
  method: string,
  beta: number,
  extra: E,
) {
  return z.object({
    ...layerPairOptions,
    ...extra,
    beta: z.number().min(0).default(beta).describe(
      `weight β of the ${method} term (RepDistiller: ${beta})`,
    ),
    ...crossEntropyOption,
    ...weightOption,
  }).strict().superRefine((o, ctx) => checkLayerPairs(o as LayerPairOptions, ctx));
}

/** The options every layer-pair method plugin has. */
interface PairTermOptions extends LayerPairOptions, MethodWeights {
  beta: number;
}

/**
 * The term of a method on layer pairs: weight·(γ·CE + β·Σ_pairs f(pair)), RepDistiller's sum
 * over its feature groups.
 */
export function layerPairTerm(
  o: PairTermOptions,
  loss: string,
  f: (pair: LayerPair, i: number) => tf.Scalar,
): LossTerm {
  return {
    needs: layerPairNeeds(o),
    compute: methodCompute(o, (inputs) => {
      const terms = layerPairs(inputs, o, loss).map(f);
      return tf.mul(tf.addN(terms), o.beta) as tf.Scalar;
    }),
  };
}

/**
 * PyTorch's default initialisation of a Linear/Conv weight or bias (kaiming-uniform with a = √5):
 * U(−1/√fanIn, 1/√fanIn), drawn from `rng`.
 */
export function torchUniform(shape: number[], fanIn: number, rng: Rng): tf.Tensor {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * bound), shape);
}

/** A trainable variable from `init` (disposed after). */
export function trainable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, true);
  init.dispose();
  return v;
}

/** A trainable linear layer x·W + b. */
export interface Linear {
  kernel: tf.Variable;
  bias: tf.Variable;
}

/** A trainable linear layer din → dout with PyTorch's default initialisation from `rng`. */
export function linear(din: number, dout: number, rng: Rng): Linear {
  return {
    kernel: trainable(torchUniform([din, dout], din, rng)),
    bias: trainable(torchUniform([dout], din, rng)),
  };
}

/** `embedding`: the width of CC's and CRD's learned embeddings. */
export const embeddingOption = {
  embedding: z.number().int().positive().default(128).describe("embedding width (feat_dim)"),
};

/** The student's and teacher's embeddings of CC and CRD. */
export interface Embeddings {
  student: Linear;
  teacher: Linear;
}

/**
 * Linear embeddings of the batch's student and teacher representations (their widths) to
 * `width`, PyTorch-initialised from `rng`, the student's first (RepDistiller's Embed).
 */
export function embeddings(inputs: LossInputs, width: number, rng: Rng, loss: string): Embeddings {
  return {
    student: linear(inputs.student.shape[1], width, rng),
    teacher: linear(teacherFeatures(inputs, loss).shape[1], width, rng),
  };
}

/** The trainable variables of {@linkcode embeddings}, in their order (none before the first batch). */
export function embeddingVariables(e: Embeddings | undefined): tf.Variable[] {
  return e ? [e.student, e.teacher].flatMap((l) => [l.kernel, l.bias]) : [];
}

/** The kernel and bias of a {@linkcode Linear} as plain tensors. */
export function linearWeights(l: Linear): { kernel: tf.Tensor2D; bias: tf.Tensor1D } {
  return { kernel: l.kernel as tf.Tensor as tf.Tensor2D, bias: l.bias as tf.Tensor as tf.Tensor1D };
}
